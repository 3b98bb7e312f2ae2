// Refresh tokens (rotated on every use, reuse revoking the family), revocation (RFC 7009) and
// introspection (RFC 7662).
import { createHash } from 'node:crypto'
import { decodeJwt } from 'jose'
import {
  ADMIN, basicAuthorization, build, clientToken, createClient, createTestDatabase, createUserWithToken, onEachDatabase, type TestApp
} from './helper.js'

const TOKEN = '/oauth/token/'
const REVOKE = '/oauth/revoke/'
const INTROSPECT = '/oauth/introspect/'
const ME = '/api/v2/user/me/'
const JANE = { username: 'jane_doe', password: 'Corr3ct-Horse!' }

async function passwordGrant (api: TestApp, extra: Record<string, string> = {}, headers: Record<string, string> = {}) {
  return await api.request({ method: 'POST', url: TOKEN, headers, payload: { grant_type: 'password', username: ADMIN.username, password: ADMIN.password, ...extra } })
}

async function refresh (api: TestApp, refreshToken: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}) {
  return await api.request({ method: 'POST', url: TOKEN, headers, payload: { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra } })
}

async function introspect (api: TestApp, token: string, client: { client_id: string }, secret: string) {
  return await api.request({ method: 'POST', url: INTROSPECT, headers: { authorization: basicAuthorization(client.client_id, secret) }, payload: { token } })
}

const INVALID_REFRESH = { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired, revoked or already used' }

onEachDatabase('refresh tokens', async (t, kind) => {
  t.test('exchanges a refresh token for new tokens, spending it, and keeps only its hash', async (t) => {
    const api = await build(t, kind)
    const first = (await passwordGrant(api)).body
    const row = await api.app.knex('refresh_tokens').first('token_hash')
    t.equal(row.token_hash, createHash('sha256').update(first.refresh_token).digest('hex'))
    const second = await refresh(api, first.refresh_token)
    t.equal(second.statusCode, 200)
    t.match(second.body, { access_token: String, refresh_token: /^rt_/, scope: 'read write', expires_in: 3600 })
    t.equal(second.headers['cache-control'], 'no-store')
    t.not(second.body.refresh_token, first.refresh_token)
    t.equal(decodeJwt(second.body.access_token).sub, '1')
    t.equal((await api.request({ url: ME, token: second.body.access_token })).statusCode, 200)
    t.equal((await refresh(api, second.body.refresh_token)).statusCode, 200, 'and its successor works once')
  })

  t.test('revokes the whole family when a spent refresh token comes again', async (t) => {
    const api = await build(t, kind)
    const first = (await passwordGrant(api)).body
    const second = (await refresh(api, first.refresh_token)).body
    const reuse = await refresh(api, first.refresh_token)
    t.equal(reuse.statusCode, 400)
    t.strictSame(reuse.body, INVALID_REFRESH)
    t.strictSame((await refresh(api, second.refresh_token)).body, INVALID_REFRESH, 'the thief and the holder are both out')
    const other = (await passwordGrant(api)).body
    t.equal((await refresh(api, other.refresh_token)).statusCode, 200, 'another grant\'s family is untouched')
    t.equal(decodeJwt(second.access_token).sid, decodeJwt(first.access_token).sid, 'the tokens of a grant name it')
    for (const token of [first.access_token, second.access_token]) {
      const me = await api.request({ url: ME, token })
      t.equal(me.statusCode, 401, 'the access tokens of the grant stop too')
      t.match(me.headers['www-authenticate'], /error_description="The access token was revoked"/)
    }
    t.equal((await api.request({ url: ME, token: other.access_token })).statusCode, 200)
  })

  t.test('lets only one of two refreshes racing with one token through', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const one = await build(t, kind, { databaseUrl })
    const two = await build(t, kind, { databaseUrl })
    const { refresh_token: refreshToken } = (await passwordGrant(one)).body
    const results = await Promise.all([refresh(one, refreshToken), refresh(two, refreshToken)])
    t.strictSame(results.map((response) => response.statusCode).sort(), [200, 400])
    const winner = results.find((response) => response.statusCode === 200)
    t.equal((await refresh(one, winner?.body.refresh_token as string)).statusCode, 400, 'the race counts as reuse: the family is revoked')
  })

  t.test('refuses a refresh token that is unknown, expired or whose user is blocked', async (t) => {
    const api = await build(t, kind)
    t.strictSame((await refresh(api, 'rt_nothing-of-ours')).body, INVALID_REFRESH)
    const expiring = (await passwordGrant(api)).body.refresh_token
    await api.app.knex('refresh_tokens').update({ expires_at: '2000-01-01 00:00:00.000' })
    t.strictSame((await refresh(api, expiring)).body, INVALID_REFRESH, 'expired')
    const { user } = await createUserWithToken(api)
    const jane = (await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', ...JANE } })).body.refresh_token
    await api.app.knex('users').where({ id: user.id }).update({ status: 'b' })
    t.strictSame((await refresh(api, jane)).body, INVALID_REFRESH, 'blocked')
    await api.app.knex('users').where({ id: user.id }).update({ status: 'a' })
    t.equal((await refresh(api, jane)).statusCode, 200, 'unblocked, the token was not spent by the refusal')
  })

  t.test('deletes expired refresh tokens as new grants come', async (t) => {
    const api = await build(t, kind)
    await passwordGrant(api)
    await api.app.knex('refresh_tokens').update({ expires_at: '2000-01-01 00:00:00.000' })
    await passwordGrant(api)
    t.equal((await api.app.knex('refresh_tokens').select('id')).length, 1)
  })

  t.test('narrows the scope of the new access token, never of the grant', async (t) => {
    const api = await build(t, kind)
    const first = (await passwordGrant(api)).body
    const narrow = await refresh(api, first.refresh_token, { scope: 'read' })
    t.equal(narrow.body.scope, 'read')
    const back = await refresh(api, narrow.body.refresh_token)
    t.equal(back.body.scope, 'read write', 'the refresh token keeps the grant\'s scope')
    const readOnly = (await passwordGrant(api, { scope: 'read' })).body
    const wider = await refresh(api, readOnly.refresh_token, { scope: 'read write' })
    t.equal(wider.statusCode, 400)
    t.equal(wider.body.error, 'invalid_scope')
  })

  t.test('binds a refresh token obtained through a client to that client', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api, { scope: 'read' })
    const other = await createClient(api)
    const basic = { authorization: basicAuthorization(client.client_id, secret) }
    const granted = await passwordGrant(api, {}, basic)
    t.equal(granted.statusCode, 200)
    t.equal(granted.body.scope, 'read', 'no more than the client may have')
    t.equal(decodeJwt(granted.body.access_token).client_id, client.client_id)
    const anonymous = await refresh(api, granted.body.refresh_token)
    t.equal(anonymous.statusCode, 401)
    t.equal(anonymous.body.error, 'invalid_client')
    const wrongClient = await refresh(api, granted.body.refresh_token, {}, { authorization: basicAuthorization(other.client.client_id, other.secret) })
    t.strictSame(wrongClient.body, INVALID_REFRESH)
    t.equal((await refresh(api, granted.body.refresh_token, {}, basic)).statusCode, 200)
    const noClient = (await passwordGrant(api)).body.refresh_token
    t.strictSame((await refresh(api, noClient, {}, basic)).body, INVALID_REFRESH, 'nor is a token of no client refreshed by one')
  })

  t.test('narrows what a user got through a client as soon as the client\'s scope is narrowed', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api)
    const basic = { authorization: basicAuthorization(client.client_id, secret) }
    const granted = (await passwordGrant(api, {}, basic)).body
    t.equal(granted.scope, 'read write')
    const admin = await api.adminToken()
    const clientUrl = `/api/v2/oauth/client/${String(client.client_id)}/`
    await api.request({ method: 'PATCH', url: clientUrl, token: admin, payload: { scope: 'read' } })
    const write = await api.request({ method: 'PATCH', url: '/api/v2/feature/promo_code/', token: granted.access_token, payload: { enabled: true } })
    t.equal(write.statusCode, 403, 'the access token lost write')
    t.equal(write.body.code, 'insufficient_scope')
    t.equal((await api.request({ url: ME, token: granted.access_token })).statusCode, 200, 'and kept read')
    t.equal((await introspect(api, granted.access_token, client, secret)).body.scope, 'read', 'introspection says so')
    const refreshed = await refresh(api, granted.refresh_token, {}, basic)
    t.equal(refreshed.body.scope, 'read', 'a refresh gives no more than the client allows now')
    await api.request({ method: 'PATCH', url: clientUrl, token: admin, payload: { scope: 'write' } })
    const readOnly = (await refresh(api, refreshed.body.refresh_token, { scope: 'read' }, basic)).body
    t.equal(readOnly.error, 'invalid_scope', 'read is no longer the client\'s')
    await api.request({ method: 'PATCH', url: clientUrl, token: admin, payload: { scope: 'read write' } })
    const readGrant = (await passwordGrant(api, { scope: 'read' }, basic)).body
    await api.request({ method: 'PATCH', url: clientUrl, token: admin, payload: { scope: 'write' } })
    t.strictSame((await refresh(api, readGrant.refresh_token, {}, basic)).body,
      { error: 'invalid_scope', error_description: 'No scope is left for this grant: its client allows none of the scopes it was given' })
    t.strictSame((await introspect(api, readGrant.access_token, client, secret)).body, { active: false }, 'a token left with no scope is inactive')
    t.strictSame((await introspect(api, readGrant.refresh_token, client, secret)).body, { active: false })
  })

  t.test('stops the tokens a user got through a client when the client is disabled', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api)
    const basic = { authorization: basicAuthorization(client.client_id, secret) }
    const granted = (await passwordGrant(api, {}, basic)).body
    await api.request({ method: 'PATCH', url: `/api/v2/oauth/client/${String(client.client_id)}/`, token: await api.adminToken(), payload: { enabled: false } })
    t.equal((await api.request({ url: ME, token: granted.access_token })).statusCode, 401)
    t.equal((await refresh(api, granted.refresh_token, {}, basic)).statusCode, 401)
  })

  t.test('resetting a password ends every refresh token of the user, and their access tokens', async (t) => {
    const api = await build(t, kind)
    const granted = (await passwordGrant(api)).body
    const v1 = (await api.request({ method: 'POST', url: '/api/v1/login', payload: { user: ADMIN.username, password: ADMIN.password } })).body.data
    const v1Headers = { 'x-auth-token': v1.authToken, 'x-user-id': v1.userId }
    t.equal((await api.request({ url: '/api/v1/users.info?userId=1', headers: v1Headers })).statusCode, 200)
    await api.app.accountService.resetAdminPassword(ADMIN.username, 'An0ther-Passw0rd!')
    t.strictSame((await refresh(api, granted.refresh_token)).body, INVALID_REFRESH)
    t.equal((await api.request({ url: ME, token: granted.access_token })).statusCode, 401)
    t.equal((await api.request({ url: '/api/v1/users.info?userId=1', headers: v1Headers })).statusCode, 401, 'a token of no grant (Rocket.Chat\'s login) ends too')
    t.equal((await passwordGrant(api)).body.error, 'invalid_grant', 'the old password no longer works')
    t.equal((await passwordGrant(api, { password: 'An0ther-Passw0rd!' })).statusCode, 200)
    const event = await api.app.knex('outbox_events').where({ type: 'user.password_changed' }).first('payload')
    t.match(JSON.parse(event.payload), { id: 1, by: 'operator' })
  })

  t.test('never logs a refresh token', async (t) => {
    const api = await build(t, kind)
    const granted = (await passwordGrant(api)).body
    const next = (await refresh(api, granted.refresh_token)).body
    await refresh(api, granted.refresh_token)
    t.notOk(api.logs.some((line) => line.includes(granted.refresh_token as string) || line.includes(next.refresh_token as string)))
  })
})

onEachDatabase('revocation', async (t, kind) => {
  t.test('revokes a refresh token and its family with 200 and no body', async (t) => {
    const api = await build(t, kind)
    const first = (await passwordGrant(api)).body
    const second = (await refresh(api, first.refresh_token)).body
    const response = await api.request({ method: 'POST', url: REVOKE, payload: { token: second.refresh_token, token_type_hint: 'refresh_token' } })
    t.equal(response.statusCode, 200)
    t.equal(response.text, '')
    t.equal(response.headers['cache-control'], 'no-store')
    t.strictSame((await refresh(api, second.refresh_token)).body, INVALID_REFRESH)
    t.equal((await api.request({ url: ME, token: second.access_token })).statusCode, 401, 'the grant\'s access tokens end with it')
    t.equal((await api.request({ url: ME, token: first.access_token })).statusCode, 401)
  })

  t.test('revokes an access token here at once', async (t) => {
    const api = await build(t, kind)
    const token = (await passwordGrant(api)).body.access_token
    const form = await api.request({ method: 'POST', url: REVOKE, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `token=${String(token)}` })
    t.equal(form.statusCode, 200)
    const me = await api.request({ url: ME, token })
    t.equal(me.statusCode, 401)
    t.match(me.headers['www-authenticate'], /error_description="The access token was revoked"/)
    t.equal((await api.request({ method: 'POST', url: REVOKE, payload: { token } })).statusCode, 200, 'twice is fine')
    t.equal((await api.app.knex('revoked_access_tokens').select('jti')).length, 1)
  })

  t.test('answers 200 for a token it does not know, changing nothing', async (t) => {
    const api = await build(t, kind)
    for (const token of ['rt_unknown', 'not-a-jwt', 'eyJhbGciOiJIUzI1NiJ9.e30.x']) {
      const response = await api.request({ method: 'POST', url: REVOKE, payload: { token } })
      t.equal(response.statusCode, 200, token)
    }
    t.strictSame(await api.app.knex('revoked_access_tokens').select('jti'), [])
  })

  t.test('revokes a token issued through a client only for that client, authenticated', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api)
    const other = await createClient(api)
    const token = await clientToken(api, client.client_id, secret)
    const anonymous = await api.request({ method: 'POST', url: REVOKE, payload: { token } })
    t.equal(anonymous.statusCode, 401)
    t.equal(anonymous.body.error, 'invalid_client')
    const byOther = await api.request({ method: 'POST', url: REVOKE, headers: { authorization: basicAuthorization(other.client.client_id, other.secret) }, payload: { token } })
    t.equal(byOther.statusCode, 400)
    t.strictSame(byOther.body, { error: 'unauthorized_client', error_description: 'The token was issued to another client' })
    t.equal((await api.request({ url: '/api/v2/feature/', token })).statusCode, 200, 'still valid')
    const own = await api.request({ method: 'POST', url: REVOKE, payload: { token, client_id: client.client_id, client_secret: secret } })
    t.equal(own.statusCode, 200)
    t.equal((await api.request({ url: '/api/v2/feature/', token })).statusCode, 401)
    const wrongSecret = await api.request({ method: 'POST', url: REVOKE, payload: { token: 'rt_x', client_id: client.client_id, client_secret: 'nope' } })
    t.equal(wrongSecret.statusCode, 401)
  })

  t.test('refuses a request without a token as invalid_request', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'POST', url: REVOKE, payload: {} })
    t.equal(response.statusCode, 400)
    t.strictSame(response.body, { error: 'invalid_request', error_description: 'token is required' })
  })
})

onEachDatabase('introspection', async (t, kind) => {
  t.test('describes an active access token of a user to an authenticated client', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api, { roles: [] })
    const token = (await passwordGrant(api)).body.access_token
    const response = await introspect(api, token, client, secret)
    t.equal(response.statusCode, 200)
    const claims = decodeJwt(token)
    t.strictSame(response.body, {
      active: true, token_type: 'Bearer', iss: claims.iss, aud: claims.aud, sub: '1', username: 'admin', scope: 'read write',
      roles: ['admin', 'user'], iat: claims.iat, exp: claims.exp, jti: claims.jti, sid: claims.sid
    })
  })

  t.test('describes a client\'s own token with its client_id', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api, { roles: ['bot'] })
    const token = await clientToken(api, client.client_id, secret, 'read')
    const response = await introspect(api, token, client, secret)
    t.match(response.body, { active: true, sub: client.client_id, client_id: client.client_id, scope: 'read', roles: ['bot'] })
    t.notOk('username' in response.body)
  })

  t.test('answers only active false for a token that is revoked, expired, foreign, or whose user is blocked', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api)
    const { user, token: janeToken } = await createUserWithToken(api)
    const revoked = (await passwordGrant(api)).body.access_token
    await api.request({ method: 'POST', url: REVOKE, payload: { token: revoked } })
    await api.app.knex('users').where({ id: user.id }).update({ status: 'b' })
    for (const [name, token] of [['revoked', revoked], ['blocked', janeToken], ['not a token', 'nonsense'], ['unknown refresh token', 'rt_x']]) {
      const response = await introspect(api, token as string, client, secret)
      t.strictSame(response.body, { active: false }, name as string)
    }
  })

  t.test('describes a refresh token only to the client it was issued through', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api)
    const other = await createClient(api)
    const granted = (await passwordGrant(api, {}, { authorization: basicAuthorization(client.client_id, secret) })).body
    const own = await introspect(api, granted.refresh_token, client, secret)
    t.match(own.body, { active: true, token_type: 'refresh_token', client_id: client.client_id, sub: '1', username: 'admin', scope: 'read write', exp: Number, iat: Number })
    t.strictSame((await introspect(api, granted.refresh_token, other.client, other.secret)).body, { active: false })
    await refresh(api, granted.refresh_token, {}, { authorization: basicAuthorization(client.client_id, secret) })
    t.strictSame((await introspect(api, granted.refresh_token, client, secret)).body, { active: false }, 'a spent one is not active')
  })

  t.test('is for clients only: 401 invalid_client without client authentication', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const response = await api.request({ method: 'POST', url: INTROSPECT, payload: { token } })
    t.equal(response.statusCode, 401)
    t.equal(response.body.error, 'invalid_client')
    t.equal(response.headers['www-authenticate'], 'Basic realm="account-service"')
    const asBearer = await api.request({ method: 'POST', url: INTROSPECT, token, payload: { token } })
    t.equal(asBearer.statusCode, 401, 'a bearer token is no client authentication')
  })
})
