import t from 'tap'
import { build } from './helper.js'

// Whatever a future log statement includes, the logger itself removes the secrets.
t.test('the logger redacts authorization headers, passwords, hashes, tokens, client secrets and signing keys', async (t) => {
  const api = await build(t, 'sqlite')
  api.app.log.info({
    request: { headers: { authorization: 'Bearer header-token', 'x-auth-token': 'rc-token', cookie: 'session=cookie-value' } },
    body: { password: 'body-password', password_hash: '$2b$10$hash', access_token: 'body-token' },
    user: { passwordHash: '$2b$10$otherhash', accessToken: 'camel-token' },
    password: 'top-password',
    grant: { refresh_token: 'rt_refresh', client_secret: 'cs_secret', token: 'introspected-token' },
    client: { clientSecret: 'cs_camel', secretHash: 'client-hash', secret_hash: 'client-hash-2' },
    key: { signingKey: '-----BEGIN PRIVATE KEY-----signing' },
    err: { config: { headers: { authorization: 'Bearer deep-token' } } }
  }, 'something happened')
  const line = api.logs.find((entry) => entry.includes('something happened')) ?? ''
  t.ok(line !== '', 'the line was logged')
  for (const secret of ['header-token', 'rc-token', 'cookie-value', 'body-password', '$2b$10$hash', 'body-token', '$2b$10$otherhash', 'camel-token', 'top-password', 'deep-token',
    'rt_refresh', 'cs_secret', 'introspected-token', 'cs_camel', 'client-hash', 'client-hash-2', 'BEGIN PRIVATE KEY']) {
    t.notOk(line.includes(secret), `${secret} is redacted`)
  }
  t.match(line, /\[redacted\]/)
})

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function entriesOf (logs: string[]): Array<Record<string, unknown>> {
  return logs.map((line) => JSON.parse(line) as Record<string, unknown>)
}

t.test('every answer names its request in X-Request-Id, as every log line of the request does', async (t) => {
  const api = await build(t, 'sqlite')
  for (const [url, status] of [['/api/v2/feature/', 200], ['/api/v2/user/me/', 401], ['/no/such/route', 404]] as const) {
    const token = url === '/api/v2/feature/' ? await api.adminToken() : undefined
    const response = await api.request({ url, token })
    t.equal(response.statusCode, status, url)
    const id = String(response.headers['x-request-id'])
    t.match(id, UUID, `${url}: a new id`)
    const lines = entriesOf(api.logs).filter((entry) => entry.reqId === id)
    t.ok(lines.some((entry) => entry.msg === 'request completed'), `${url}: its log lines carry it`)
  }
})

t.test('every error body names its request as X-Request-Id does, in each surface\'s shape', async (t) => {
  const api = await build(t, 'sqlite', { env: { TRUST_PROXY: '127.0.0.1' } })
  const errors = [
    ['GET', '/api/v2/user/me/', 'requestId'],
    ['GET', '/no/such/route', 'requestId'],
    ['GET', '/api/v1/users.info?username=nobody', 'requestId'],
    ['POST', '/api/v1/users.create', 'requestId'],
    ['POST', '/oauth/token/', 'request_id']
  ] as const
  for (const [method, url, key] of errors) {
    const response = await api.app.inject({ method, url, headers: { 'x-request-id': `edge-${key}` } })
    t.ok(response.statusCode >= 400, `${method} ${url} is refused`)
    t.equal(response.headers['x-request-id'], `edge-${key}`)
    t.equal(response.json()[key], `edge-${key}`, `${method} ${url}: ${key} in the body is the trusted proxy's id`)
  }
})

t.test('takes X-Request-Id only from a trusted proxy, and only a plain one', async (t) => {
  const untrusted = await build(t, 'sqlite')
  t.match(String((await untrusted.request({ url: '/health/live', headers: { 'x-request-id': 'edge-1234' } })).headers['x-request-id']), UUID,
    'a direct client cannot choose its id')
  // app.inject's requests come from 127.0.0.1.
  const behindProxy = await build(t, 'sqlite', { env: { TRUST_PROXY: '127.0.0.1' } })
  const passed = await behindProxy.request({ url: '/health/live', headers: { 'x-request-id': 'edge-1234' } })
  t.equal(passed.headers['x-request-id'], 'edge-1234')
  for (const given of ['has spaces', 'x'.repeat(129), 'quote"d']) {
    t.match(String((await behindProxy.request({ url: '/health/live', headers: { 'x-request-id': given } })).headers['x-request-id']), UUID, given)
  }
})

t.test('logs health probes at debug, every other request at info', async (t) => {
  const api = await build(t, 'sqlite', { env: { LOG_LEVEL: 'info' } })
  await api.request({ url: '/health/live' })
  await api.request({ url: '/health/ready' })
  t.notOk(entriesOf(api.logs).some((entry) => String((entry.req as { url?: string } | undefined)?.url ?? '').startsWith('/health/')), 'no probe line at info')
  t.equal(entriesOf(api.logs).filter((entry) => entry.msg === 'request completed').length, 0)
  await api.request({ url: '/api/v2/feature/', token: await api.adminToken() })
  t.ok(entriesOf(api.logs).some((entry) => entry.msg === 'request completed' && entry.level === 30), 'other requests at info')
  await api.app.knex.destroy()
  const failing = await api.request({ url: '/health/ready' })
  t.equal(failing.statusCode, 503)
  t.ok(entriesOf(api.logs).some((entry) => entry.msg === 'request completed' && entry.level === 30 && entry.reqId === failing.headers['x-request-id']),
    'a probe answered with an error completes at info')
  const verbose = await build(t, 'sqlite', { env: { LOG_LEVEL: 'debug' } })
  await verbose.request({ url: '/health/live' })
  t.ok(entriesOf(verbose.logs).some((entry) => entry.msg === 'incoming request' && entry.level === 20), 'the probe at debug')
})
