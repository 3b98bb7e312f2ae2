import { connect } from 'node:net'
import t from 'tap'
import { build } from './helper.js'

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
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))
  t.strictSame(body, { statusCode: 400, code: 'bad_request', message: 'The request is not valid HTTP' })
})

t.test('oversized headers get a 431 with the JSON error body', async (t) => {
  const api = await build(t, 'sqlite')
  await api.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = api.app.server.address() as { port: number }
  const answer = await rawExchange(port, `GET /health/live HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20000)}\r\n\r\n`)
  t.match(answer, /^HTTP\/1\.1 431 /)
  t.match(answer, /"code":"headers_too_large"/)
})
