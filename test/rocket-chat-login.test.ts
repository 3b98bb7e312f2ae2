// POST /api/v1/login and the v1 authentication it leads to: X-Auth-Token + X-User-Id (or a
// bearer token) on Rocket.Chat's surface, and Rocket.Chat's 401 bodies.
import { decodeJwt } from 'jose'
import { generatePrivateKeyPem } from '../config/signing-keys.js'
import { ADMIN, accessTokenClaims, build, createUserWithToken, onEachDatabase, signToken, type TestApp } from './helper.js'

const LOGIN = '/api/v1/login'
const JANE = { username: 'jane_doe', email: 'jane@example.com', password: 'Corr3ct-Horse!' }
const NOT_LOGGED_IN = { success: false, status: 'error', error: 'You must be logged in to do this.', message: 'You must be logged in to do this.' }
const UNAUTHORIZED = { status: 'error', error: 'Unauthorized', message: 'Unauthorized' }
const NOT_ACTIVATED = { status: 'error', error: 'error-user-is-not-activated', message: 'User is not activated' }

async function logIn (api: TestApp, payload: Record<string, unknown>): Promise<Awaited<ReturnType<TestApp['request']>>> {
  return await api.request({ method: 'POST', url: LOGIN, payload })
}

// Jane's account, and a fresh v1 login of hers.
async function loggedInJane (api: TestApp): Promise<{ userId: string, authToken: string }> {
  await createUserWithToken(api)
  const response = await logIn(api, { user: JANE.username, password: JANE.password })
  if (response.statusCode !== 200) throw new Error(`Jane cannot log in: ${response.text}`)
  return response.body.data
}

function usersInfo (userId: string, headers: Record<string, string>): { url: string, headers: Record<string, string> } {
  return { url: `/api/v1/users.info?userId=${userId}`, headers }
}

onEachDatabase('Rocket.Chat login', async (t, kind) => {
  t.test('logs in with every form of naming the user', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const forms: Array<Record<string, unknown>> = [
      { user: JANE.username },
      { user: JANE.email },
      { user: { username: JANE.username } },
      { user: { email: JANE.email } },
      { username: JANE.username },
      { email: JANE.email }
    ]
    for (const form of forms) {
      const response = await logIn(api, { ...form, password: JANE.password })
      t.equal(response.statusCode, 200, JSON.stringify(form))
      t.match(response.body, { status: 'success', data: { userId: String(user.id), authToken: String, me: { _id: String(user.id), username: JANE.username } } }, JSON.stringify(form))
    }
  })

  t.test('matches the username and the email regardless of case', async (t) => {
    const api = await build(t, kind)
    await createUserWithToken(api)
    for (const form of [{ user: 'JANE_DOE' }, { user: 'Jane@Example.COM' }, { username: 'Jane_Doe' }, { email: 'JANE@EXAMPLE.COM' }, { user: { username: 'jAnE_dOe' } }]) {
      const response = await logIn(api, { ...form, password: JANE.password })
      t.equal(response.statusCode, 200, JSON.stringify(form))
    }
  })

  t.test('returns one of our access tokens, for the user it names', async (t) => {
    const api = await build(t, kind)
    const { userId, authToken } = await loggedInJane(api)
    const claims = decodeJwt(authToken) as { sub: string, username: string, roles: string[], exp: number, iat: number }
    t.match(claims, { sub: userId, username: JANE.username, roles: ['user'], scope: 'read write' })
    t.equal(claims.exp - claims.iat, 3600)
    const me = await api.request({ url: '/api/v2/user/me/', token: authToken })
    t.equal(me.statusCode, 200, 'the token works on v2 as a bearer token')
    t.equal(String(me.body.id), userId)
  })

  t.test('returns me in Rocket.Chat\'s shape, with requirePasswordChange and without any secret', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const response = await logIn(api, { user: JANE.username, password: JANE.password })
    t.match(response.body.data.me, {
      _id: String(user.id),
      username: JANE.username,
      emails: [{ address: JANE.email, verified: false }],
      type: 'user',
      status: 'offline',
      active: true,
      roles: ['user'],
      settings: {},
      requirePasswordChange: false
    })
    t.notOk(response.text.includes('$2b$'), 'no password hash')
    t.notOk(response.text.includes(JANE.password), 'no password')
    t.notOk('services' in response.body.data.me)
  })

  t.test('tells in me that the password must be changed', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    await api.app.knex('users').where({ id: user.id }).update({ require_password_change: true })
    const response = await logIn(api, { user: JANE.username, password: JANE.password })
    t.equal(response.statusCode, 200)
    t.equal(response.body.data.me.requirePasswordChange, true)
  })

  t.test('answers a wrong password and an unknown user with the same 401 Unauthorized', async (t) => {
    const api = await build(t, kind)
    await createUserWithToken(api)
    const wrongPassword = await logIn(api, { user: JANE.username, password: 'Wrong-Passw0rd!' })
    const unknownUser = await logIn(api, { user: 'nobody', password: 'Wrong-Passw0rd!' })
    const unknownEmail = await logIn(api, { email: 'nobody@example.com', password: JANE.password })
    t.equal(wrongPassword.statusCode, 401)
    t.strictSame(wrongPassword.body, UNAUTHORIZED)
    t.strictSame(unknownUser.body, UNAUTHORIZED)
    t.equal(unknownEmail.statusCode, 401)
    t.strictSame(unknownEmail.body, UNAUTHORIZED)
  })

  t.test('answers a login no account could have with 401 Unauthorized', async (t) => {
    const api = await build(t, kind)
    for (const user of ['ädmin', 'admin ', 'ADMİN', 'not an email@']) {
      const response = await logIn(api, { user, password: ADMIN.password })
      t.equal(response.statusCode, 401, JSON.stringify(user))
      t.strictSame(response.body, UNAUTHORIZED, JSON.stringify(user))
    }
  })

  t.test('answers an empty password with 401 Unauthorized', async (t) => {
    const api = await build(t, kind)
    const response = await logIn(api, { user: ADMIN.username, password: '' })
    t.equal(response.statusCode, 401)
    t.strictSame(response.body, UNAUTHORIZED)
  })

  t.test('tells a blocked user with the right password that they are not activated, and no one else', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    await api.app.knex('users').where({ id: user.id }).update({ status: 'b' })
    const rightPassword = await logIn(api, { user: JANE.username, password: JANE.password })
    t.equal(rightPassword.statusCode, 401)
    t.strictSame(rightPassword.body, NOT_ACTIVATED)
    const wrongPassword = await logIn(api, { user: JANE.username, password: 'Wrong-Passw0rd!' })
    t.equal(wrongPassword.statusCode, 401)
    t.strictSame(wrongPassword.body, UNAUTHORIZED, 'a wrong password does not reveal the status')
  })

  t.test('tells a user awaiting approval with the right password that they are not activated', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    await api.app.knex('users').where({ id: user.id }).update({ status: 'u' })
    const response = await logIn(api, { email: JANE.email, password: JANE.password })
    t.equal(response.statusCode, 401)
    t.strictSame(response.body, NOT_ACTIVATED)
  })

  t.test('refuses more than one way of naming the user as invalid-params', async (t) => {
    const api = await build(t, kind)
    await createUserWithToken(api)
    const ambiguous: Array<Record<string, unknown>> = [
      { user: JANE.username, username: JANE.username },
      { user: JANE.username, email: JANE.email },
      { username: JANE.username, email: JANE.email },
      { user: { username: JANE.username, email: JANE.email } },
      { user: { username: JANE.username }, username: JANE.username }
    ]
    for (const form of ambiguous) {
      const response = await logIn(api, { ...form, password: JANE.password })
      t.equal(response.statusCode, 400, JSON.stringify(form))
      t.match(response.body, { success: false, errorType: 'invalid-params', error: /\[invalid-params\]$/, details: { field: 'user' } }, JSON.stringify(form))
    }
  })

  t.test('refuses a login that names no user as invalid-params', async (t) => {
    const api = await build(t, kind)
    for (const form of [{}, { user: {} }]) {
      const response = await logIn(api, { ...form, password: ADMIN.password })
      t.equal(response.statusCode, 400, JSON.stringify(form))
      t.match(response.body, { success: false, errorType: 'invalid-params', details: { field: 'user' } }, JSON.stringify(form))
    }
  })

  t.test('refuses a login without a password, naming it', async (t) => {
    const api = await build(t, kind)
    const response = await logIn(api, { user: ADMIN.username })
    t.equal(response.statusCode, 400)
    t.strictSame(response.body, { success: false, error: 'password is required [invalid-params]', errorType: 'invalid-params', details: { field: 'password' } })
  })

  t.test('refuses a user that is neither text nor an object, naming it', async (t) => {
    const api = await build(t, kind)
    const response = await logIn(api, { user: 42, password: ADMIN.password })
    t.equal(response.statusCode, 400)
    t.match(response.body, { success: false, errorType: 'invalid-params', details: { field: 'user' } })
  })

  t.test('names the field at fault inside an object user, not the user as a whole', async (t) => {
    const api = await build(t, kind)
    const response = await logIn(api, { user: { username: 5 }, password: ADMIN.password })
    t.equal(response.statusCode, 400)
    t.strictSame(response.body, { success: false, error: 'user.username must be string [invalid-params]', errorType: 'invalid-params', details: { field: 'user.username' } })
  })

  t.test('refuses an unknown key, naming it', async (t) => {
    const api = await build(t, kind)
    for (const [payload, field] of [
      [{ user: ADMIN.username, password: ADMIN.password, resume: 'token' }, 'resume'],
      [{ user: { username: ADMIN.username, id: '1' }, password: ADMIN.password }, 'user.id']
    ] as const) {
      const response = await logIn(api, payload)
      t.equal(response.statusCode, 400, field)
      t.match(response.body, { success: false, errorType: 'invalid-params', details: { field } }, field)
    }
  })
})

onEachDatabase('Rocket.Chat authentication', async (t, kind) => {
  t.test('accepts the authToken as X-Auth-Token with the userId as X-User-Id on v1', async (t) => {
    const api = await build(t, kind)
    const { userId, authToken } = await loggedInJane(api)
    const response = await api.request(usersInfo(userId, { 'x-auth-token': authToken, 'x-user-id': userId }))
    t.equal(response.statusCode, 200)
    t.match(response.body, { success: true, user: { _id: userId, username: JANE.username } })
  })

  t.test('accepts the authToken as a bearer token on v1', async (t) => {
    const api = await build(t, kind)
    const { userId, authToken } = await loggedInJane(api)
    const response = await api.request({ ...usersInfo(userId, {}), token: authToken })
    t.equal(response.statusCode, 200)
    t.equal(response.body.user._id, userId)
  })

  t.test('accepts an OAuth token as X-Auth-Token on v1', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    const response = await api.request(usersInfo(String(user.id), { 'x-auth-token': token, 'x-user-id': String(user.id) }))
    t.equal(response.statusCode, 200)
  })

  t.test('does not accept X-Auth-Token on v2', async (t) => {
    const api = await build(t, kind)
    const { userId, authToken } = await loggedInJane(api)
    const response = await api.request({ url: '/api/v2/user/me/', headers: { 'x-auth-token': authToken, 'x-user-id': userId } })
    t.equal(response.statusCode, 401)
    t.strictSame(response.body, { statusCode: 401, code: 'unauthorized', message: 'A valid bearer token is required' })
  })

  t.test('refuses an X-User-Id that is not the token\'s user with Rocket.Chat\'s 401', async (t) => {
    const api = await build(t, kind)
    const { userId, authToken } = await loggedInJane(api)
    const adminId = String((await api.app.knex('users').where({ username: ADMIN.username }).first('id')).id)
    for (const claimed of [adminId, `${userId} `, `0${userId}`, '']) {
      const response = await api.request(usersInfo(userId, { 'x-auth-token': authToken, 'x-user-id': claimed }))
      t.equal(response.statusCode, 401, JSON.stringify(claimed))
      t.strictSame(response.body, NOT_LOGGED_IN, JSON.stringify(claimed))
    }
  })

  t.test('refuses X-Auth-Token without X-User-Id with Rocket.Chat\'s 401', async (t) => {
    const api = await build(t, kind)
    const { userId, authToken } = await loggedInJane(api)
    const response = await api.request(usersInfo(userId, { 'x-auth-token': authToken }))
    t.equal(response.statusCode, 401)
    t.strictSame(response.body, NOT_LOGGED_IN)
  })

  t.test('refuses X-User-Id without a token with Rocket.Chat\'s 401', async (t) => {
    const api = await build(t, kind)
    const { userId } = await loggedInJane(api)
    const response = await api.request(usersInfo(userId, { 'x-user-id': userId }))
    t.equal(response.statusCode, 401)
    t.strictSame(response.body, NOT_LOGGED_IN)
  })

  t.test('answers a request without any credentials with Rocket.Chat\'s 401', async (t) => {
    const api = await build(t, kind)
    const response = await api.request(usersInfo('1', {}))
    t.equal(response.statusCode, 401)
    t.strictSame(response.body, NOT_LOGGED_IN)
  })

  t.test('refuses a token that is not a valid JWT of ours with Rocket.Chat\'s 401', async (t) => {
    const api = await build(t, kind)
    const { userId } = await loggedInJane(api)
    const now = Math.floor(Date.now() / 1000)
    const claims = accessTokenClaims(userId, { username: JANE.username })
    const tokens = {
      garbage: 'not-a-token',
      empty: '',
      'signed with another key': await signToken(claims, { privateKey: generatePrivateKeyPem('ES256') }),
      expired: await signToken({ ...claims, iat: now - 7200, exp: now - 3600 })
    }
    for (const [name, token] of Object.entries(tokens)) {
      const viaHeaders = await api.request(usersInfo(userId, { 'x-auth-token': token, 'x-user-id': userId }))
      t.equal(viaHeaders.statusCode, 401, `${name}, as X-Auth-Token`)
      t.strictSame(viaHeaders.body, NOT_LOGGED_IN, `${name}, as X-Auth-Token`)
      const viaBearer = await api.request(usersInfo(userId, { authorization: `Bearer ${token}` }))
      t.equal(viaBearer.statusCode, 401, `${name}, as a bearer token`)
      t.strictSame(viaBearer.body, NOT_LOGGED_IN, `${name}, as a bearer token`)
    }
    const valid = await signToken(claims)
    const accepted = await api.request(usersInfo(userId, { 'x-auth-token': valid, 'x-user-id': userId }))
    t.equal(accepted.statusCode, 200, 'the same claims, validly signed and not expired, are accepted')
  })

  t.test('never logs the password, the authToken or the X-Auth-Token header', async (t) => {
    const api = await build(t, kind)
    const { userId, authToken } = await loggedInJane(api)
    await api.request(usersInfo(userId, { 'x-auth-token': authToken, 'x-user-id': userId }))
    t.ok(api.logs.some((line) => line.includes('"url":"/api/v1/login"')), 'the login is logged')
    t.notOk(api.logs.some((line) => line.includes(JANE.password)), 'no password')
    t.notOk(api.logs.some((line) => line.includes(authToken)), 'no token')
  })

  t.test('stops accepting the token of a user who is blocked since', async (t) => {
    const api = await build(t, kind)
    const { userId, authToken } = await loggedInJane(api)
    await api.app.knex('users').where({ id: Number(userId) }).update({ status: 'b' })
    const response = await api.request(usersInfo(userId, { 'x-auth-token': authToken, 'x-user-id': userId }))
    t.equal(response.statusCode, 401)
    t.strictSame(response.body, NOT_LOGGED_IN)
  })
})
