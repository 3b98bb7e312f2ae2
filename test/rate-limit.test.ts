// The rate limit of the operations marked x-rate-limited: logins and account creation.
import { setTimeout as sleep } from 'node:timers/promises'
import { ADMIN, build, newAccount, onEachDatabase, type ApiResponse, type TestApp } from './helper.js'

const LOGIN = '/api/v1/login'
const TOKEN = '/oauth/token/'
const CREATE = '/api/v2/account/create/'
const WRONG_LOGIN = { user: ADMIN.username, password: 'Wrong-Passw0rd!' }
const WRONG_GRANT = { grant_type: 'password', username: ADMIN.username, password: 'Wrong-Passw0rd!' }

async function post (api: TestApp, url: string, payload: unknown, options: { token?: string, remoteAddress?: string } = {}): Promise<ApiResponse> {
  return await api.request({ method: 'POST', url, payload: payload as Record<string, unknown>, ...options })
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
      error: 'Too many requests; retry in 60 seconds [error-too-many-requests]',
      errorType: 'error-too-many-requests'
    })
    t.equal(response.headers['retry-after'], '60')
  })

  t.test('answers the third token request from one address with 429 too_many_requests', async (t) => {
    const api = await build(t, kind, { env: limited })
    t.equal((await post(api, TOKEN, WRONG_GRANT)).statusCode, 400)
    t.equal((await post(api, TOKEN, WRONG_GRANT)).statusCode, 400)
    const response = await post(api, TOKEN, { grant_type: 'password', username: ADMIN.username, password: ADMIN.password })
    t.equal(response.statusCode, 429)
    t.strictSame(response.body, { statusCode: 429, code: 'too_many_requests', message: 'Too many requests; retry in 60 seconds' })
    t.equal(response.headers['retry-after'], '60')
  })

  t.test('answers the third account creation from one address with 429 too_many_requests', async (t) => {
    const api = await build(t, kind, { env: limited })
    const token = await api.adminToken()
    t.equal((await post(api, CREATE, newAccount({ username: 'first', email: 'first@example.com' }), { token })).statusCode, 201)
    t.equal((await post(api, CREATE, newAccount({ username: 'second', email: 'second@example.com' }), { token })).statusCode, 201)
    const response = await post(api, CREATE, newAccount({ username: 'third', email: 'third@example.com' }), { token })
    t.equal(response.statusCode, 429)
    t.equal(response.body.code, 'too_many_requests')
    t.ok(response.headers['retry-after'], 'Retry-After is set')
    t.equal(await api.app.knex('users').where({ username: 'third' }).first(), undefined, 'the refused account was not created')
  })

  t.test('answers the third v1 users.create from one address with 429 error-too-many-requests', async (t) => {
    const api = await build(t, kind, { env: limited })
    const payload = { name: 'Jane', email: 'jane@example.com', password: 'Corr3ct-Horse!', username: 'jane_doe' }
    t.equal((await post(api, '/api/v1/users.create', payload)).statusCode, 401)
    t.equal((await post(api, '/api/v1/users.create', payload)).statusCode, 401)
    const response = await post(api, '/api/v1/users.create', payload)
    t.equal(response.statusCode, 429)
    t.equal(response.body.errorType, 'error-too-many-requests')
  })

  t.test('counts before anything else is checked: a bad request uses up the limit too', async (t) => {
    const api = await build(t, kind, { env: limited })
    t.equal((await post(api, LOGIN, { password: 'x' })).statusCode, 400)
    t.equal((await post(api, LOGIN, { user: 'x', password: 'x', extra: true })).statusCode, 400)
    t.equal((await post(api, LOGIN, { password: 'x' })).statusCode, 429)
  })

  t.test('counts each operation on its own: logins do not use up token requests or creations', async (t) => {
    const api = await build(t, kind, { env: limited })
    await post(api, LOGIN, WRONG_LOGIN)
    await post(api, LOGIN, WRONG_LOGIN)
    t.equal((await post(api, LOGIN, WRONG_LOGIN)).statusCode, 429, 'logins are used up')
    const token = await api.adminToken()
    t.equal((await post(api, CREATE, newAccount(), { token })).statusCode, 201, 'creation is not')
    t.equal((await post(api, TOKEN, WRONG_GRANT)).statusCode, 400, 'token requests are not')
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
      t.equal(health.headers['x-ratelimit-limit'], undefined, 'no rate-limit headers')
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
})
