import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { projectRoot } from '../paths.js'
import { type ContractResponse, contractViolations } from './contract.js'
import { ADMIN, build, TEST_JWT_PRIVATE_KEY, UNCOVERED_CHILD, withoutRequestId } from './helper.js'

const SERVER_START_TIMEOUT_MS = 30_000
const EXIT_TIMEOUT_MS = 15_000

// One HTTP/1.1 connection driven by hand: requests written in pieces, answers read off the wire,
// so a test can hold a request in flight, or half sent, across a shutdown.
class RawConnection {
  private received = ''
  readonly closed: Promise<void>

  private constructor (private readonly socket: Socket) {
    socket.setEncoding('utf8').on('data', (chunk: string) => { this.received += chunk })
    this.closed = once(socket, 'close').then(() => undefined)
  }

  static async open (port: number): Promise<RawConnection> {
    const socket = connect(port, '127.0.0.1')
    await once(socket, 'connect')
    return new RawConnection(socket)
  }

  write (data: string): void {
    this.socket.write(data)
  }

  // The next whole answer (its body sized by Content-Length), taken off what was received.
  async answer (): Promise<ContractResponse> {
    for (;;) {
      const parsed = parseAnswer(this.received)
      if (parsed !== undefined) {
        this.received = this.received.slice(parsed.length)
        return parsed.response
      }
      if (this.socket.destroyed || this.socket.readableEnded) throw new Error(`the connection closed with ${JSON.stringify(this.received)} unanswered`)
      await Promise.race([once(this.socket, 'data'), this.closed])
    }
  }

  get isClosed (): boolean {
    return this.socket.destroyed || this.socket.readableEnded
  }
}

function parseAnswer (text: string): { response: ContractResponse, length: number } | undefined {
  const headEnd = text.indexOf('\r\n\r\n')
  if (headEnd === -1) return undefined
  const [statusLine = '', ...headerLines] = text.slice(0, headEnd).split('\r\n')
  const headers: Record<string, string> = Object.fromEntries(headerLines.map((line) =>
    [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]))
  const bodyLength = Number(headers['content-length'] ?? 0)
  if (text.length < headEnd + 4 + bodyLength) return undefined
  return {
    response: { statusCode: Number(statusLine.split(' ')[1]), headers, body: text.slice(headEnd + 4, headEnd + 4 + bodyLength) },
    length: headEnd + 4 + bodyLength
  }
}

const KEEP_ALIVE_PROBE = 'GET /health/live HTTP/1.1\r\nhost: localhost\r\nconnection: keep-alive\r\n\r\n'

// A login whose body is sent in two halves: between them the request is in flight.
function loginInTwoHalves (): [string, string] {
  const body = JSON.stringify({ user: ADMIN.username, password: ADMIN.password })
  const head = `POST /api/v1/login HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`
  const middle = Math.floor(body.length / 2)
  return [head + body.slice(0, middle), body.slice(middle)]
}

function checkContract (t: Test, method: string, url: string, response: ContractResponse): void {
  t.strictSame(contractViolations(method, url, response), [], `${method} ${url} → ${response.statusCode} keeps the contract`)
}

// Time for bytes written on loopback to reach the server: no event tells when a connection that
// has sent only part of a request has been read.
async function settle (): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 100))
}

t.test('while the app closes, requests in flight finish, idle connections close at once and late requests get the contract\'s 503', async (t) => {
  const api = await build(t, 'sqlite')
  await api.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = api.app.server.address() as { port: number }

  const idle = await RawConnection.open(port)
  idle.write(KEEP_ALIVE_PROBE)
  t.equal((await idle.answer()).statusCode, 200)
  const busy = await RawConnection.open(port)
  const [firstHalf, secondHalf] = loginInTwoHalves()
  busy.write(firstHalf)
  const late = await RawConnection.open(port)
  late.write('GET /api/v1/users.info?username=admin HTTP/1.1\r\n')
  await settle()

  const closing = api.app.close()
  await idle.closed
  t.pass('the idle keep-alive connection is closed at once')
  // Asked of the server, not by connecting: another process of a busy machine may be given the
  // port as soon as it is free.
  t.notOk(api.app.server.listening, 'no new connection is accepted')
  t.notOk(busy.isClosed, 'the connection with a request in flight stays open')

  late.write('host: localhost\r\nconnection: keep-alive\r\n\r\n')
  const refused = await late.answer()
  t.equal(refused.statusCode, 503)
  t.equal(refused.headers.connection, 'close')
  t.equal(refused.headers['retry-after'], '1')
  t.strictSame(withoutRequestId('GET /api/v1/users.info', refused.headers['x-request-id'], JSON.parse(refused.body)), {
    success: false, error: 'The service is shutting down; retry shortly [shutting-down]', errorType: 'shutting-down'
  }, 'in the body of the surface it arrived on')
  checkContract(t, 'GET', '/api/v1/users.info', refused)
  await late.closed

  busy.write(secondHalf)
  const loggedIn = await busy.answer()
  t.equal(loggedIn.statusCode, 200, 'the request in flight is answered as if nothing happened')
  t.equal(loggedIn.headers.connection, 'close', 'and told that its connection closes')
  checkContract(t, 'POST', '/api/v1/login', loggedIn)
  await busy.closed
  await closing
})

t.test('requests arriving while closing get shutting_down in the v2 and the OAuth2 bodies, on every operation', async (t) => {
  const api = await build(t, 'sqlite')
  await api.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = api.app.server.address() as { port: number }
  const v2Body = { statusCode: 503, code: 'shutting_down', message: 'The service is shutting down; retry shortly' }
  const late: Array<{ method: string, url: string, rest: string, body: unknown }> = [
    { method: 'POST', url: '/api/v2/account/create/', rest: 'host: localhost\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}', body: v2Body },
    {
      method: 'POST',
      url: '/oauth/token/',
      rest: 'host: localhost\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 0\r\n\r\n',
      body: { error: 'temporarily_unavailable', error_description: 'The service is shutting down; retry shortly' }
    },
    ...['/health/live', '/.well-known/jwks.json', '/.well-known/oauth-authorization-server', '/metrics'].map((url) =>
      ({ method: 'GET', url, rest: 'host: localhost\r\n\r\n', body: v2Body }))
  ]
  const connections = await Promise.all(late.map(async ({ method, url }) => {
    const connection = await RawConnection.open(port)
    connection.write(`${method} ${url} HTTP/1.1\r\n`)
    return connection
  }))
  await settle()
  const closing = api.app.close()
  const answers = await Promise.all(connections.map(async (connection, index) => {
    connection.write(late[index]!.rest)
    return await connection.answer()
  }))
  for (const [index, answer] of answers.entries()) {
    const { method, url, body } = late[index]!
    t.equal(answer.statusCode, 503, `${method} ${url}`)
    t.equal(answer.headers.connection, 'close')
    t.strictSame(withoutRequestId(`${method} ${url}`, answer.headers['x-request-id'], JSON.parse(answer.body)), body)
    checkContract(t, method, url, answer)
  }
  await closing
})

interface ServerProcess {
  child: ChildProcess
  port: number
  exit: Promise<{ code: number | null, signal: NodeJS.Signals | null, at: number }>
  logLines: () => Array<Record<string, unknown>>
}

// server.ts as the Dockerfile starts it (through tsx instead of a build), on a free port.
async function startServer (t: Test): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server.ts'], {
    cwd: projectRoot,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      PORT: '0',
      DATABASE_URL: 'sqlite::memory:',
      JWT_PRIVATE_KEY: TEST_JWT_PRIVATE_KEY,
      BCRYPT_COST: '4',
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'info',
      ...UNCOVERED_CHILD
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, at: Date.now() }))
  const logLines = (): Array<Record<string, unknown>> => stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line))
  const started = Date.now()
  for (;;) {
    const listening = logLines().find((line) => typeof line.msg === 'string' && line.msg.startsWith('Server listening at http://127.0.0.1:'))
    if (listening !== undefined) {
      return { child, port: Number(new URL(String(listening.msg).slice('Server listening at '.length)).port), exit, logLines }
    }
    if (child.exitCode !== null || Date.now() - started > SERVER_START_TIMEOUT_MS) throw new Error(`the server did not start: ${stderr}${stdout}`)
    await settle()
  }
}

t.test('on SIGTERM the server drains a keep-alive client\'s request in flight and exits 0 right after it', async (t) => {
  const server = await startServer(t)
  const idle = await RawConnection.open(server.port)
  idle.write(KEEP_ALIVE_PROBE)
  t.equal((await idle.answer()).statusCode, 200)
  const busy = await RawConnection.open(server.port)
  busy.write(KEEP_ALIVE_PROBE)
  t.equal((await busy.answer()).statusCode, 200, 'a keep-alive client, once answered')
  const [firstHalf, secondHalf] = loginInTwoHalves()
  busy.write(firstHalf)
  await settle()

  server.child.kill('SIGTERM')
  await idle.closed
  t.pass('the idle connection is closed at once')
  t.equal(server.child.exitCode, null, 'the process waits for the request in flight')

  busy.write(secondHalf)
  const loggedIn = await busy.answer()
  const answeredAt = Date.now()
  t.equal(loggedIn.statusCode, 200)
  t.equal(loggedIn.headers.connection, 'close')
  const exited = await Promise.race([server.exit, new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('no exit')), EXIT_TIMEOUT_MS))])
  t.strictSame({ code: exited.code, signal: exited.signal }, { code: 0, signal: null }, 'exits 0')
  t.ok(exited.at - answeredAt < 2000, `exits right after the last answer, not at the 10 s ceiling (${exited.at - answeredAt} ms)`)
  t.ok(server.logLines().some((line) => line.level === 30 && line.msg === 'shutting down: draining the requests in flight' && line.signal === 'SIGTERM'),
    'the shutdown is logged at info')
})
