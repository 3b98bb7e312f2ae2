import { ADMIN, build, createTestDatabase, createUserWithToken, onEachDatabase } from './helper.js'

const TOKEN = '/oauth/token/'

onEachDatabase('tokens', async (t, kind) => {
  t.test('issues a bearer token for a JSON password grant', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username: ADMIN.username, password: ADMIN.password } })
    t.equal(response.statusCode, 200)
    t.match(response.body, { access_token: String, token_type: 'Bearer', expires_in: 3600, scope: 'read write' })
    const claims = api.app.jwt.decode<{ sub: string, roles: string[], exp: number, iat: number }>(response.body.access_token)
    t.match(claims, { sub: '1', roles: ['admin', 'user'] })
    t.equal((claims?.exp ?? 0) - (claims?.iat ?? 0), 3600)
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
    t.equal(wrongPassword.body.code, 'invalid_grant')
  })

  t.test('refuses a token to a blocked user, and stops accepting the token they had', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    await api.app.knex('users').where({ id: user.id }).update({ status: 'b' })
    const grant = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username: 'jane_doe', password: 'Corr3ct-Horse!' } })
    t.equal(grant.body.code, 'invalid_grant')
    const me = await api.request({ url: '/api/v2/user/me/', token })
    t.equal(me.statusCode, 401)
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

  t.test('refuses an unsupported grant type naming the field', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'client_credentials', username: 'a', password: 'b' } })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'unsupported_grant_type', field: 'grant_type' })
  })

  t.test('refuses an unknown property of the token request', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username: 'a', password: 'b', client_id: 'x' } })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'unknown_field', field: 'client_id' })
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
    t.match(response.body, { code: 'invalid_field', field: 'username' })
  })
  t.test('matches a login byte for byte after lower-casing: no accent or space folding by the database', async (t) => {
    const api = await build(t, kind)
    for (const username of ['ädmin', 'admin ', ' admin', 'ADMİN']) {
      const response = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username, password: ADMIN.password } })
      t.equal(response.body.code, 'invalid_grant', JSON.stringify(username))
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

  t.test('me answers 401 without a token', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ url: '/api/v2/user/me/' })
    t.equal(response.statusCode, 401)
    t.equal(response.body.code, 'unauthorized')
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
