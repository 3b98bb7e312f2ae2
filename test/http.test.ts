import { connect } from 'node:net'
import t from 'tap'
import { type ContractResponse, contractViolations } from './contract.js'
import { build, withoutRequestId } from './helper.js'

// What Node's HTTP parser refuses never reaches a route; it must still get the one error body.
async function rawExchange (port: number, request: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request))
    let answer = ''
    socket.on('data', (chunk) => { answer += chunk.toString() })
    socket.on('end', () => resolve(answer))
    socket.on('error', reject)
  })
}

t.test('a request that is not HTTP gets a 400 with the JSON error body', async (t) => {
  const api = await build(t, 'sqlite')
  await api.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = api.app.server.address() as { port: number }
  const answer = await rawExchange(port, 'THIS IS NOT HTTP\r\n\r\n')
  t.match(answer, /^HTTP\/1\.1 400 /)
  t.strictSame(errorBodyOf(answer), { statusCode: 400, code: 'bad_request', message: 'The request is not valid HTTP' })
  const { headers } = parsedAnswer(answer)
  const logged = api.logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.reqId === headers['x-request-id'])
  t.match(logged, { level: 30, statusCode: 400, code: 'bad_request', msg: 'refused a request the HTTP parser could not read' }, 'the refusal is logged with its id')
})

t.test('oversized headers get a 431 with the JSON error body', async (t) => {
  const api = await build(t, 'sqlite')
  await api.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = api.app.server.address() as { port: number }
  const answer = await rawExchange(port, `GET /health/live HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20000)}\r\n\r\n`)
  t.match(answer, /^HTTP\/1\.1 431 /)
  t.match(answer, /"code":"headers_too_large"/)
})

// The error body of a raw answer, without the request id it must share with its X-Request-Id.
function errorBodyOf (answer: string): unknown {
  const { headers, body } = parsedAnswer(answer)
  return withoutRequestId('the raw request', headers['x-request-id'], JSON.parse(body))
}

// A raw answer as the contract checker takes it.
function parsedAnswer (answer: string): ContractResponse {
  const [head = '', body = ''] = answer.split('\r\n\r\n')
  const [statusLine = '', ...headerLines] = head.split('\r\n')
  const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]))
  return { statusCode: Number(statusLine.split(' ')[1]), headers, body }
}

t.test('every HTTP-layer answer keeps the contract of the operation its request line names', async (t) => {
  const api = await build(t, 'sqlite')
  await api.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = api.app.server.address() as { port: number }
  const operations: Array<[string, string]> = [
    ['GET', '/api/v1/users.info'], ['POST', '/oauth/token/'], ['POST', '/api/v2/account/create/'], ['GET', '/health/live'], ['GET', '/.well-known/jwks.json']
  ]
  for (const [method, url] of operations) {
    for (const request of [`${method} ${url} HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20000)}\r\n\r\n`, `${method} ${url} HTTP/1.1\r\nhost x\r\n\r\n`]) {
      const answer = parsedAnswer(await rawExchange(port, request))
      t.strictSame(contractViolations(method, url, answer), [], `${method} ${url} → ${answer.statusCode}`)
    }
  }
})

t.test('on Rocket.Chat\'s and OAuth2\'s surfaces, HTTP-layer refusals come in their error shapes', async (t) => {
  const api = await build(t, 'sqlite')
  await api.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = api.app.server.address() as { port: number }
  const oversized = await rawExchange(port, `GET /api/v1/users.info?username=x HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20000)}\r\n\r\n`)
  t.match(oversized, /^HTTP\/1\.1 431 /)
  t.strictSame(errorBodyOf(oversized),
    { success: false, error: 'The request headers are too large [headers-too-large]', errorType: 'headers-too-large' })
  const malformed = await rawExchange(port, 'POST /api/v1/login HTTP/1.1\r\nhost x\r\n\r\n')
  t.match(malformed, /^HTTP\/1\.1 400 /)
  t.match(errorBodyOf(malformed), { success: false, errorType: 'bad-request' })
  const oauth = await rawExchange(port, `POST /oauth/token/ HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20000)}\r\n\r\n`)
  t.match(oauth, /^HTTP\/1\.1 431 /)
  t.strictSame(errorBodyOf(oauth), { error: 'invalid_request', error_description: 'The request headers are too large' })
  const v2 = await rawExchange(port, 'POST /api/v2/account/create/ HTTP/1.1\r\nhost x\r\n\r\n')
  t.match(errorBodyOf(v2), { statusCode: 400, code: 'bad_request' }, 'elsewhere, the v2 body')
})

t.test('a client that hangs up mid-body is logged once, at info, as a client abort, and raises no database alarm', async (t) => {
  const api = await build(t, 'sqlite')
  await api.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = api.app.server.address() as { port: number }
  await new Promise<void>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write('POST /oauth/token/ HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"grant_type":')
      setTimeout(() => { socket.destroy(); resolve() }, 50)
    })
  })
  const entries = async (): Promise<Array<{ level: number, msg: string }>> => api.logs.map((line) => JSON.parse(line) as { level: number, msg: string })
  for (let attempt = 0; attempt < 100 && !(await entries()).some((entry) => entry.msg === 'client aborted the request'); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const logged = await entries()
  t.equal(logged.filter((entry) => entry.msg === 'client aborted the request' && entry.level === 30).length, 1, 'once, at info')
  t.notOk(logged.some((entry) => entry.level >= 50), 'no error logged')
  t.notOk(logged.some((entry) => entry.msg === 'database unavailable'))
})
