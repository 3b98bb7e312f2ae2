import { decodeJwt, decodeProtectedHeader } from 'jose'
import { ADMIN, TEST_KID, build, createClient, createTestDatabase, createUserWithToken, onEachDatabase } from './helper.js'

const TOKEN = '/oauth/token/'

onEachDatabase('tokens', async (t, kind) => {
  t.test('issues an access token and a refresh token for a JSON password grant, never to be cached', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username: ADMIN.username, password: ADMIN.password } })
    t.equal(response.statusCode, 200)
    t.match(response.body, { access_token: String, token_type: 'Bearer', expires_in: 3600, scope: 'read write', refresh_token: /^rt_[A-Za-z0-9_-]{43}$/ })
    t.equal(response.headers['cache-control'], 'no-store')
    t.equal(response.headers.pragma, 'no-cache')
    t.strictSame(decodeProtectedHeader(response.body.access_token), { alg: 'ES256', typ: 'at+jwt', kid: TEST_KID })
    const claims = decodeJwt(response.body.access_token)
    t.match(claims, {
      iss: 'http://localhost:3000', aud: 'account-service', sub: '1', username: 'admin', roles: ['admin', 'user'], scope: 'read write', jti: String
    })
    t.notOk('client_id' in claims, 'no client asked for it')
    t.equal((claims.exp ?? 0) - (claims.iat ?? 0), 3600)
  })

  t.test('gives every token its own jti', async (t) => {
    const api = await build(t, kind)
    const tokens = [await api.adminToken(), await api.adminToken()]
    t.not(decodeJwt(tokens[0] as string).jti, decodeJwt(tokens[1] as string).jti)
  })

  t.test('issues a token for a form-encoded password grant', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'password', username: ADMIN.username, password: ADMIN.password }).toString()
    })
    t.equal(response.statusCode, 200)
    t.equal(response.body.token_type, 'Bearer')
  })

  t.test('answers the token requests Swagger UI sends from /docs, with an empty client or a service client', async (t) => {
    const api = await build(t, kind)
    const form = { 'content-type': 'application/x-www-form-urlencoded' }
    // Swagger UI's password flow always sends Basic auth, of ":" when client id and secret are left empty.
    const password = await api.request({
      method: 'POST', url: TOKEN, headers: { ...form, authorization: `Basic ${Buffer.from(':').toString('base64')}` },
      payload: new URLSearchParams({ grant_type: 'password', scope: '', username: ADMIN.username, password: ADMIN.password }).toString()
    })
    t.equal(password.statusCode, 200)
    t.equal(password.body.scope, 'read write', 'no scope ticked means every scope')
    const { client, secret } = await createClient(api)
    const clientCredentials = await api.request({
      method: 'POST', url: TOKEN, headers: { ...form, authorization: `Basic ${Buffer.from(`${String(client.client_id)}:${secret}`).toString('base64')}` },
      payload: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read' }).toString()
    })
    t.equal(clientCredentials.statusCode, 200)
    t.equal(clientCredentials.body.scope, 'read')
  })

  t.test('accepts the email, in any case, in place of the username', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username: ADMIN.email.toUpperCase(), password: ADMIN.password } })
    t.equal(response.statusCode, 200)
  })

  t.test('answers a wrong password and an unknown user the same way', async (t) => {
    const api = await build(t, kind)
    const wrongPassword = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username: ADMIN.username, password: 'Wrong-Passw0rd' } })
    const unknownUser = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username: 'nobody', password: 'Wrong-Passw0rd' } })
    t.equal(wrongPassword.statusCode, 400)
    t.strictSame(unknownUser.body, wrongPassword.body)
    t.strictSame(wrongPassword.body, { error: 'invalid_grant', error_description: 'Invalid username or password' })
  })

  t.test('refuses a token to a blocked user, and stops accepting the token they had', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    await api.app.knex('users').where({ id: user.id }).update({ status: 'b' })
    const grant = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username: 'jane_doe', password: 'Corr3ct-Horse!' } })
    t.equal(grant.body.error, 'invalid_grant')
    const me = await api.request({ url: '/api/v2/user/me/', token })
    t.equal(me.statusCode, 401)
    t.equal(me.headers['www-authenticate'], 'Bearer realm="account-service", error="invalid_token", error_description="The principal of this token can no longer act"')
  })

  t.test('remakes a password hash made with another BCRYPT_COST at the next login', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const before = await build(t, kind, { databaseUrl })
    await createUserWithToken(before)
    const after = await build(t, kind, { databaseUrl, env: { BCRYPT_COST: '5' } })
    const costOf = async (): Promise<string> => (await after.app.knex('users').where({ username: 'jane_doe' }).first('password_hash')).password_hash.slice(0, 7)
    t.equal(await costOf(), '$2b$04$')
    await after.tokenFor('jane_doe', 'Corr3ct-Horse!')
    t.equal(await costOf(), '$2b$05$')
    t.type(await after.tokenFor('jane_doe', 'Corr3ct-Horse!'), 'string', 'the password still works')
  })

  t.test('refuses an unsupported grant type as RFC 6749 says', async (t) => {
    const api = await build(t, kind)
    for (const grantType of ['authorization_code', 'implicit', 'urn:ietf:params:oauth:grant-type:device_code', '']) {
      const response = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: grantType, username: 'a', password: 'b' } })
      t.equal(response.statusCode, 400, grantType)
      t.strictSame(response.body, { error: 'unsupported_grant_type', error_description: 'grant_type must be password, refresh_token or client_credentials' }, grantType)
    }
  })

  t.test('ignores parameters it does not know, as RFC 6749 §3.2 requires', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username: ADMIN.username, password: ADMIN.password, audience: 'x', resource: 'y' } })
    t.equal(response.statusCode, 200)
  })

  t.test('names the missing parameter of a grant as invalid_request', async (t) => {
    const api = await build(t, kind)
    const cases: Array<[Record<string, unknown>, string]> = [
      [{}, 'grant_type is required'],
      [{ grant_type: 'password', password: 'x' }, 'username is required for this grant_type'],
      [{ grant_type: 'password', username: 'admin' }, 'password is required for this grant_type'],
      [{ grant_type: 'refresh_token' }, 'refresh_token is required for this grant_type'],
      [{ grant_type: 'password', username: 7, password: 'x' }, 'username must be string']
    ]
    for (const [payload, description] of cases) {
      const response = await api.request({ method: 'POST', url: TOKEN, payload })
      t.equal(response.statusCode, 400, description)
      t.strictSame(response.body, { error: 'invalid_request', error_description: description })
      t.equal(response.headers['cache-control'], 'no-store', 'errors are not cached either')
    }
  })

  t.test('answers a body it cannot take in the OAuth2 error shape', async (t) => {
    const api = await build(t, kind)
    const malformed = await api.request({ method: 'POST', url: TOKEN, headers: { 'content-type': 'application/json' }, payload: '{"grant_type":' })
    t.equal(malformed.statusCode, 400)
    t.strictSame(malformed.body, { error: 'invalid_request', error_description: 'The request body is not valid JSON' })
    const text = await api.request({ method: 'POST', url: TOKEN, headers: { 'content-type': 'text/plain' }, payload: 'grant_type=password' })
    t.equal(text.statusCode, 415)
    t.equal(text.body.error, 'invalid_request')
    const large = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username: 'a', password: 'b', padding: 'x'.repeat(70000) } })
    t.equal(large.statusCode, 413)
    t.equal(large.body.error, 'invalid_request')
  })

  t.test('refuses a scope it does not know, and grants a narrower one asked for', async (t) => {
    const api = await build(t, kind)
    const unknown = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username: ADMIN.username, password: ADMIN.password, scope: 'read admin' } })
    t.equal(unknown.statusCode, 400)
    t.strictSame(unknown.body, { error: 'invalid_scope', error_description: 'scope must be made of read, write' })
    const narrow = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username: ADMIN.username, password: ADMIN.password, scope: 'read' } })
    t.equal(narrow.body.scope, 'read')
    t.equal(decodeJwt(narrow.body.access_token).scope, 'read')
  })

  t.test('refuses a form body that repeats a field', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({
      method: 'POST',
      url: TOKEN,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=password&username=a&username=b&password=c'
    })
    t.equal(response.statusCode, 400)
    t.strictSame(response.body, { error: 'invalid_request', error_description: 'username must be string' })
  })
  t.test('matches a login byte for byte after lower-casing: no accent or space folding by the database', async (t) => {
    const api = await build(t, kind)
    for (const username of ['ädmin', 'admin ', ' admin', 'ADMİN']) {
      const response = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username, password: ADMIN.password } })
      t.equal(response.body.error, 'invalid_grant', JSON.stringify(username))
    }
  })

  t.test('never logs a password sent in the query string', async (t) => {
    const api = await build(t, kind)
    await api.request({ method: 'POST', url: `${TOKEN}?password=Query-Secret-123&access_token=Query-Token-456`, payload: { grant_type: 'password', username: ADMIN.username, password: ADMIN.password } })
    t.ok(api.logs.some((line) => line.includes('"url":"/oauth/token/"')), 'the request is logged, by its path')
    t.notOk(api.logs.some((line) => line.includes('Query-Secret-123') || line.includes('Query-Token-456')))
  })
})

onEachDatabase('reading users', async (t, kind) => {
  t.test('me returns the caller', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    const response = await api.request({ url: '/api/v2/user/me', token })
    t.equal(response.statusCode, 200)
    t.strictSame(response.body, user)
  })

  t.test('me answers 401 without a token, with a challenge that carries no error', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ url: '/api/v2/user/me/' })
    t.equal(response.statusCode, 401)
    t.equal(response.body.code, 'unauthorized')
    t.equal(response.headers['www-authenticate'], 'Bearer realm="account-service"')
  })

  t.test('a user can read themselves by id', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    const response = await api.request({ url: `/api/v2/user/${String(user.id)}/`, token })
    t.equal(response.statusCode, 200)
    t.equal(response.body.username, 'jane_doe')
  })

  t.test('a user without the admin role cannot read another user', async (t) => {
    const api = await build(t, kind)
    const { token } = await createUserWithToken(api)
    const response = await api.request({ url: '/api/v2/user/1/', token })
    t.equal(response.statusCode, 403)
    t.equal(response.body.code, 'forbidden')
  })

  t.test('an admin reading a user that does not exist gets 404', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ url: '/api/v2/user/999999/', token: await api.adminToken() })
    t.equal(response.statusCode, 404)
    t.equal(response.body.code, 'not_found')
  })

  t.test('an id that is not a positive integer is a 400 naming the id', async (t) => {
    const api = await build(t, kind)
    for (const id of ['abc', '0', '1.5']) {
      const response = await api.request({ url: `/api/v2/user/${id}/`, token: await api.adminToken() })
      t.equal(response.statusCode, 400, id)
      t.match(response.body, { code: 'invalid_field', field: 'id' }, id)
    }
  })
})
