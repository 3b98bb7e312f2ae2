// The rate limit of the operations marked x-rate-limited: the logins share the bucket `login`,
// v1 users.create has `user-creation`. Counts kept in memory, or in Redis (TEST_REDIS_URL).
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import {
  ADMIN, build, createTestDatabase, newAccount, onEachDatabase, randomRedisKeyPrefix, testRedisUrl,
  type ApiResponse, type TestApp
} from './helper.js'

const LOGIN = '/api/v1/login'
const TOKEN = '/oauth/token/'
const CREATE = '/api/v2/account/create/'
const USERS_CREATE = '/api/v1/users.create'
const WRONG_LOGIN = { user: ADMIN.username, password: 'Wrong-Passw0rd!' }
const WRONG_GRANT = { grant_type: 'password', username: ADMIN.username, password: 'Wrong-Passw0rd!' }
const NEW_USER = { name: 'Jane', email: 'jane@example.com', password: 'Corr3ct-Horse!', username: 'jane_doe' }
const RATE_LIMIT_HEADERS = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']
const needsRedis = { skip: testRedisUrl === undefined ? 'TEST_REDIS_URL is not set' : false }

interface PostOptions { token?: string, remoteAddress?: string, headers?: Record<string, string> }

async function post (api: TestApp, url: string, payload: unknown, options: PostOptions = {}): Promise<ApiResponse> {
  return await api.request({ method: 'POST', url, payload: payload as Record<string, unknown>, ...options })
}

function rateLimitHeadersOf (response: ApiResponse): string[] {
  return RATE_LIMIT_HEADERS.filter((name) => response.headers[name] !== undefined)
}

// A local port nothing listens on.
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

onEachDatabase('rate limit', async (t, kind) => {
  const limited = { RATE_LIMIT_MAX: '2' }

  t.test('answers the third login from one address with 429 error-too-many-requests and Retry-After', async (t) => {
    const api = await build(t, kind, { env: limited })
    t.equal((await post(api, LOGIN, WRONG_LOGIN)).statusCode, 401)
    t.equal((await post(api, LOGIN, { user: ADMIN.username, password: ADMIN.password })).statusCode, 200)
    const response = await post(api, LOGIN, { user: ADMIN.username, password: ADMIN.password })
    t.equal(response.statusCode, 429)
    t.strictSame(response.body, {
      success: false,
      error: 'Too many requests: you must wait 60 seconds before trying this endpoint again [error-too-many-requests]',
      errorType: 'error-too-many-requests'
    })
    t.equal(response.headers['retry-after'], '60')
  })

  t.test('answers the third token request from one address with 429, in OAuth2\'s terms', async (t) => {
    const api = await build(t, kind, { env: limited })
    t.equal((await post(api, TOKEN, WRONG_GRANT)).statusCode, 400)
    t.equal((await post(api, TOKEN, WRONG_GRANT)).statusCode, 400)
    const response = await post(api, TOKEN, { grant_type: 'password', username: ADMIN.username, password: ADMIN.password })
    t.equal(response.statusCode, 429)
    t.strictSame(response.body, { error: 'temporarily_unavailable', error_description: 'Too many requests: you must wait 60 seconds before trying this endpoint again' })
    t.equal(response.headers['retry-after'], '60')
  })

  t.test('sends no rate-limit header but Retry-After, and that only on a refusal', async (t) => {
    const api = await build(t, kind, { env: limited })
    for (const attempt of [1, 2]) {
      const counted = await post(api, LOGIN, WRONG_LOGIN)
      t.equal(counted.statusCode, 401, `attempt ${attempt}`)
      t.strictSame(rateLimitHeadersOf(counted), [], `no rate-limit header on attempt ${attempt}`)
      t.equal(counted.headers['retry-after'], undefined, `no Retry-After on attempt ${attempt}`)
    }
    const refused = await post(api, LOGIN, WRONG_LOGIN)
    t.equal(refused.statusCode, 429)
    t.strictSame(rateLimitHeadersOf(refused), [], 'no rate-limit header on the refusal')
    t.equal(refused.headers['retry-after'], '60')
  })

  t.test('counts both logins in one bucket: a third login through the other door is refused', async (t) => {
    const api = await build(t, kind, { env: limited })
    t.equal((await post(api, LOGIN, WRONG_LOGIN)).statusCode, 401)
    t.equal((await post(api, TOKEN, WRONG_GRANT)).statusCode, 400)
    t.equal((await post(api, LOGIN, WRONG_LOGIN)).statusCode, 429, 'the v1 login is used up')
    t.equal((await post(api, TOKEN, WRONG_GRANT)).statusCode, 429, 'and so is the token endpoint')
  })

  t.test('answers the third v1 users.create from one address with 429 error-too-many-requests', async (t) => {
    const api = await build(t, kind, { env: limited })
    t.equal((await post(api, USERS_CREATE, NEW_USER)).statusCode, 401)
    t.equal((await post(api, USERS_CREATE, NEW_USER)).statusCode, 401)
    const response = await post(api, USERS_CREATE, NEW_USER)
    t.equal(response.statusCode, 429)
    t.equal(response.body.errorType, 'error-too-many-requests')
  })

  t.test('counts users.create apart from the logins', async (t) => {
    const api = await build(t, kind, { env: limited })
    await post(api, LOGIN, WRONG_LOGIN)
    await post(api, TOKEN, WRONG_GRANT)
    t.equal((await post(api, LOGIN, WRONG_LOGIN)).statusCode, 429, 'logins are used up')
    t.equal((await post(api, USERS_CREATE, NEW_USER)).statusCode, 401, 'users.create is not')
    t.equal((await post(api, USERS_CREATE, NEW_USER)).statusCode, 401)
    t.equal((await post(api, USERS_CREATE, NEW_USER)).statusCode, 429, 'users.create has a count of its own')
  })

  t.test('never limits v2 account creation', async (t) => {
    const api = await build(t, kind, { env: { RATE_LIMIT_MAX: '1' } })
    const token = await api.adminToken()
    for (const username of ['first', 'second', 'third']) {
      const response = await post(api, CREATE, newAccount({ username, email: `${username}@example.com` }), { token })
      t.equal(response.statusCode, 201, username)
      t.strictSame(rateLimitHeadersOf(response), [], `no rate-limit header for ${username}`)
    }
  })

  t.test('counts before anything else is checked: a bad request uses up the limit too', async (t) => {
    const api = await build(t, kind, { env: limited })
    t.equal((await post(api, LOGIN, { password: 'x' })).statusCode, 400)
    t.equal((await post(api, LOGIN, { user: 'x', password: 'x', extra: true })).statusCode, 400)
    t.equal((await post(api, LOGIN, { password: 'x' })).statusCode, 429)
  })

  t.test('counts a path with and without its trailing slash as one operation', async (t) => {
    const api = await build(t, kind, { env: limited })
    await post(api, LOGIN, WRONG_LOGIN)
    await post(api, `${LOGIN}/`, WRONG_LOGIN)
    t.equal((await post(api, `${LOGIN}/`, WRONG_LOGIN)).statusCode, 429)
    t.equal((await post(api, LOGIN, WRONG_LOGIN)).statusCode, 429)
  })

  t.test('counts each address on its own', async (t) => {
    const api = await build(t, kind, { env: limited })
    await post(api, LOGIN, WRONG_LOGIN, { remoteAddress: '192.0.2.1' })
    await post(api, LOGIN, WRONG_LOGIN, { remoteAddress: '192.0.2.1' })
    t.equal((await post(api, LOGIN, WRONG_LOGIN, { remoteAddress: '192.0.2.1' })).statusCode, 429)
    t.equal((await post(api, LOGIN, WRONG_LOGIN, { remoteAddress: '192.0.2.2' })).statusCode, 401, 'another address is not limited')
  })

  t.test('counts the addresses of one IPv6 /64 as one address', async (t) => {
    const api = await build(t, kind, { env: limited })
    await post(api, LOGIN, WRONG_LOGIN, { remoteAddress: '2001:db8:1:2::1' })
    await post(api, LOGIN, WRONG_LOGIN, { remoteAddress: '2001:db8:1:2::2' })
    t.equal((await post(api, LOGIN, WRONG_LOGIN, { remoteAddress: '2001:db8:1:2:ffff::3' })).statusCode, 429)
    t.equal((await post(api, LOGIN, WRONG_LOGIN, { remoteAddress: '2001:db8:1:3::1' })).statusCode, 401, 'another /64 is not limited')
  })

  t.test('never limits the operations not marked x-rate-limited', async (t) => {
    const api = await build(t, kind, { env: { RATE_LIMIT_MAX: '1' } })
    const token = await api.adminToken()
    for (let attempt = 1; attempt <= 5; attempt++) {
      const health = await api.request({ url: '/health/live' })
      t.equal(health.statusCode, 200, `health, attempt ${attempt}`)
      t.strictSame(rateLimitHeadersOf(health), [], 'no rate-limit headers')
      t.equal((await api.request({ url: '/api/v2/user/me/', token })).statusCode, 200, `me, attempt ${attempt}`)
    }
  })

  t.test('lets requests in again once the window has passed', async (t) => {
    const api = await build(t, kind, { env: { RATE_LIMIT_MAX: '1', RATE_LIMIT_WINDOW_SECONDS: '1' } })
    t.equal((await post(api, LOGIN, WRONG_LOGIN)).statusCode, 401)
    const refused = await post(api, LOGIN, WRONG_LOGIN)
    t.equal(refused.statusCode, 429)
    t.equal(refused.headers['retry-after'], '1')
    await sleep(1100)
    t.equal((await post(api, LOGIN, WRONG_LOGIN)).statusCode, 401)
  })

  t.test('without TRUST_PROXY, counts the connecting address whatever X-Forwarded-For says', async (t) => {
    const api = await build(t, kind, { env: limited })
    await post(api, LOGIN, WRONG_LOGIN, { headers: { 'x-forwarded-for': '198.51.100.1' } })
    await post(api, LOGIN, WRONG_LOGIN, { headers: { 'x-forwarded-for': '198.51.100.2' } })
    t.equal((await post(api, LOGIN, WRONG_LOGIN, { headers: { 'x-forwarded-for': '198.51.100.3' } })).statusCode, 429)
  })

  t.test('with TRUST_PROXY=true, counts each client named by X-Forwarded-For on its own', async (t) => {
    const api = await build(t, kind, { env: { ...limited, TRUST_PROXY: 'true' } })
    await post(api, LOGIN, WRONG_LOGIN, { headers: { 'x-forwarded-for': '198.51.100.1' } })
    await post(api, LOGIN, WRONG_LOGIN, { headers: { 'x-forwarded-for': '198.51.100.1' } })
    t.equal((await post(api, LOGIN, WRONG_LOGIN, { headers: { 'x-forwarded-for': '198.51.100.1' } })).statusCode, 429)
    t.equal((await post(api, LOGIN, WRONG_LOGIN, { headers: { 'x-forwarded-for': '198.51.100.2' } })).statusCode, 401, 'another client is not limited')
  })

  t.test('with TRUST_PROXY listing proxies, believes X-Forwarded-For only from them', async (t) => {
    const api = await build(t, kind, { env: { ...limited, TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' } })
    await post(api, LOGIN, WRONG_LOGIN, { headers: { 'x-forwarded-for': '198.51.100.1' } })
    await post(api, LOGIN, WRONG_LOGIN, { headers: { 'x-forwarded-for': '198.51.100.1' } })
    t.equal((await post(api, LOGIN, WRONG_LOGIN, { headers: { 'x-forwarded-for': '198.51.100.2' } })).statusCode, 401,
      'another client through the proxy is not limited')
    const stranger = { remoteAddress: '192.0.2.7' }
    await post(api, LOGIN, WRONG_LOGIN, { ...stranger, headers: { 'x-forwarded-for': '198.51.100.3' } })
    await post(api, LOGIN, WRONG_LOGIN, { ...stranger, headers: { 'x-forwarded-for': '198.51.100.4' } })
    t.equal((await post(api, LOGIN, WRONG_LOGIN, { ...stranger, headers: { 'x-forwarded-for': '198.51.100.5' } })).statusCode, 429,
      'a connection from elsewhere is counted by its own address')
  })

  t.test('shares one count between instances that share a Redis', needsRedis, async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const shared = { databaseUrl, env: { ...limited, REDIS_URL: testRedisUrl }, redisKeyPrefix: randomRedisKeyPrefix() }
    const first = await build(t, kind, shared)
    const second = await build(t, kind, shared)
    t.equal((await post(first, LOGIN, WRONG_LOGIN)).statusCode, 401)
    t.equal((await post(second, TOKEN, WRONG_GRANT)).statusCode, 400)
    const refused = await post(first, LOGIN, WRONG_LOGIN)
    t.equal(refused.statusCode, 429, 'the third login, across the two instances, is refused')
    t.equal(refused.headers['retry-after'], '60')
    t.equal((await post(second, LOGIN, WRONG_LOGIN)).statusCode, 429, 'by either instance')
  })

  t.test('keeps each count in Redis under the key prefix, the bucket and the address', needsRedis, async (t) => {
    const redis = new Redis(testRedisUrl as string)
    t.teardown(() => { redis.disconnect() })
    const keyPrefix = randomRedisKeyPrefix()
    const api = await build(t, kind, { env: { ...limited, REDIS_URL: testRedisUrl }, redisKeyPrefix: keyPrefix })
    await post(api, LOGIN, WRONG_LOGIN, { remoteAddress: '192.0.2.1' })
    await post(api, USERS_CREATE, NEW_USER, { remoteAddress: '192.0.2.1' })
    await post(api, TOKEN, WRONG_GRANT, { remoteAddress: '192.0.2.1' })
    t.strictSame((await redis.keys(`${keyPrefix}*`)).sort(), [`${keyPrefix}login:192.0.2.1`, `${keyPrefix}user-creation:192.0.2.1`])
    t.equal(await redis.get(`${keyPrefix}login:192.0.2.1`), '2')
    const ttl = await redis.pttl(`${keyPrefix}login:192.0.2.1`)
    t.ok(ttl > 0 && ttl <= 60000, `the count expires with the window (${ttl} ms left)`)
  })

  t.test('lets requests through uncounted, and logs an error, while Redis does not answer', async (t) => {
    const api = await build(t, kind, { env: { RATE_LIMIT_MAX: '1', REDIS_URL: `redis://127.0.0.1:${await closedPort()}` } })
    for (const attempt of [1, 2, 3]) {
      t.equal((await post(api, LOGIN, WRONG_LOGIN)).statusCode, 401, `attempt ${attempt}`)
    }
    const errors = api.logs.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'rate limit not applied: its store failed')
    t.equal(errors.length, 3, 'one error per request let through')
    t.equal(errors[0].level, 50, 'logged as an error')
  })
})
