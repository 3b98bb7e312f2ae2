// The registry of service clients (/api/v2/oauth/client/): principals of their own, which get
// tokens with client_credentials; the secret shown once and kept as a hash; the grant rule.
import { createHmac } from 'node:crypto'
import {
  ADMIN, basicAuthorization, build, clientCredentialsGrant, clientToken, createClient, createUserWithToken, giveRole, newAccount, onEachDatabase, type TestApp
} from './helper.js'

const CLIENTS = '/api/v2/oauth/client/'
const TOKEN = '/oauth/token/'
const FEATURES = '/api/v2/feature/'

// A user holding only the manage-clients permission (and whatever else `permissions` adds).
async function clientManager (api: TestApp, permissions: string[] = []): Promise<string> {
  await api.request({ method: 'POST', url: '/api/v2/role/', token: await api.adminToken(), payload: { name: 'integrator', permissions: ['manage-clients', ...permissions] } })
  const { user, token } = await createUserWithToken(api, { username: 'integrator', email: 'integrator@example.com' })
  await giveRole(api, user.id, 'integrator')
  return token
}

onEachDatabase('service clients', async (t, kind) => {
  t.test('creates a client and shows its secret once, keeping only a keyed hash of it', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'POST', url: CLIENTS, token: await api.adminToken(), payload: { name: 'mailer', roles: ['moderator'], scope: 'read' } })
    t.equal(response.statusCode, 201)
    t.equal(response.headers['cache-control'], 'no-store', 'the answer with the secret is not cached')
    t.match(response.body, {
      client_id: /^cl_[a-z2-7]{24}$/,
      client_secret: /^cs_[A-Za-z0-9_-]{43}$/,
      name: 'mailer',
      roles: ['moderator'],
      permissions: ['view-full-other-user-info', 'view-user-administration'],
      scope: 'read',
      enabled: true,
      created_by: 1,
      created_by_client: null,
      last_used_at: null
    })
    const { client_id: clientId, client_secret: secret } = response.body
    const row = await api.app.knex('oauth_clients').where({ client_id: clientId }).first('secret_hash')
    t.equal(row.secret_hash, createHmac('sha256', clientId).update(secret).digest('hex'))
    const read = await api.request({ url: `${CLIENTS}${String(clientId)}/`, token: await api.adminToken() })
    t.equal(read.statusCode, 200)
    t.notOk('client_secret' in read.body, 'the secret is not shown again')
    t.notOk(read.text.includes(secret))
    const audit = await api.app.knex('audit_log').where({ action: 'client.create' }).select('actor_id', 'actor_client_id', 'subject_client_id')
    t.equal(audit.length, 1)
    t.match(audit[0], { actor_id: 1, actor_client_id: null, subject_client_id: Number })
  })

  t.test('gives each client its own id and secret', async (t) => {
    const api = await build(t, kind)
    const first = await createClient(api)
    const second = await createClient(api)
    t.not(first.client.client_id, second.client.client_id)
    t.not(first.secret, second.secret)
  })

  t.test('lists clients newest first, a page at a time, without secrets', async (t) => {
    const api = await build(t, kind)
    const made = [await createClient(api, { name: 'one' }), await createClient(api, { name: 'two' }), await createClient(api, { name: 'three' })]
    const page = await api.request({ url: `${CLIENTS}?limit=2`, token: await api.adminToken() })
    t.equal(page.statusCode, 200)
    t.match(page.body, { count: 3, next: '/api/v2/oauth/client/?limit=2&offset=2', previous: null })
    t.strictSame(page.body.results.map((client: { name: string }) => client.name), ['three', 'two'])
    t.notOk(made.some(({ secret }) => page.text.includes(secret)))
  })

  t.test('answers 404 for an unknown client and 400 for a malformed client_id', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const unknown = await api.request({ url: `${CLIENTS}cl_aaaaaaaaaaaaaaaaaaaaaaaa/`, token })
    t.equal(unknown.statusCode, 404)
    t.equal(unknown.body.code, 'not_found')
    const malformed = await api.request({ url: `${CLIENTS}mailer/`, token })
    t.equal(malformed.statusCode, 400)
    t.match(malformed.body, { code: 'invalid_field', field: 'client_id' })
  })

  t.test('refuses a client it could not make sense of, naming the field, and makes none', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const cases: Array<[Record<string, unknown>, { code: string, field: string }]> = [
      [{ name: '   ' }, { code: 'invalid_field', field: 'name' }],
      [{ name: 'x', roles: ['no_such_role'] }, { code: 'unknown_role', field: 'roles' }],
      [{ name: 'x', scope: 'read admin' }, { code: 'invalid_field', field: 'scope' }],
      [{ name: 'x', scope: '' }, { code: 'invalid_field', field: 'scope' }],
      [{ name: 'x', secret: 'chosen' }, { code: 'unknown_field', field: 'secret' }],
      [{ roles: [] }, { code: 'missing_field', field: 'name' }]
    ]
    for (const [payload, expected] of cases) {
      const response = await api.request({ method: 'POST', url: CLIENTS, token, payload })
      t.equal(response.statusCode, 400, JSON.stringify(payload))
      t.match(response.body, expected, JSON.stringify(payload))
    }
    t.strictSame(await api.app.knex('oauth_clients').select('id'), [])
  })

  t.test('lets a caller give a client only roles whose every permission it holds', async (t) => {
    const api = await build(t, kind)
    const token = await clientManager(api, ['view-user-administration'])
    await api.request({ method: 'POST', url: '/api/v2/role/', token: await api.adminToken(), payload: { name: 'reader', permissions: ['view-user-administration'] } })
    const allowed = await api.request({ method: 'POST', url: CLIENTS, token, payload: { name: 'crm', roles: ['reader'] } })
    t.equal(allowed.statusCode, 201)
    t.equal(allowed.body.created_by, 2)
    const moderator = await api.request({ method: 'POST', url: CLIENTS, token, payload: { name: 'crm', roles: ['moderator'] } })
    t.equal(moderator.statusCode, 403)
    t.match(moderator.body, { code: 'forbidden', field: 'roles', message: /view-full-other-user-info/ })
    const admin = await api.request({ method: 'POST', url: CLIENTS, token, payload: { name: 'crm', roles: ['admin'] } })
    t.equal(admin.statusCode, 403)
    t.match(admin.body.message, /assign-admin-role/)
    t.equal((await api.app.knex('oauth_clients').select('id')).length, 1, 'only the allowed client exists')
  })

  t.test('lets only a caller holding every permission of a client change, rotate or delete it', async (t) => {
    const api = await build(t, kind)
    const { client } = await createClient(api, { roles: ['admin'] })
    const token = await clientManager(api)
    const url = `${CLIENTS}${String(client.client_id)}/`
    const attempts = [
      await api.request({ method: 'PATCH', url, token, payload: { enabled: false } }),
      await api.request({ method: 'POST', url: `${url}rotate_secret/`, token }),
      await api.request({ method: 'DELETE', url, token })
    ]
    for (const response of attempts) {
      t.equal(response.statusCode, 403)
      t.match(response.body.message, /This client has the .* permission, which you do not have/)
    }
    t.equal((await api.request({ url, token })).body.enabled, true, 'reading it is enough with manage-clients')
  })

  t.test('needs manage-clients for every operation of the registry', async (t) => {
    const api = await build(t, kind)
    const { client } = await createClient(api)
    const { token } = await createUserWithToken(api)
    const url = `${CLIENTS}${String(client.client_id)}/`
    for (const [method, path] of [['GET', CLIENTS], ['POST', CLIENTS], ['GET', url], ['PATCH', url], ['DELETE', url], ['POST', `${url}rotate_secret/`]] as const) {
      const response = await api.request({ method, url: path, token, ...(method === 'POST' && path === CLIENTS ? { payload: { name: 'x' } } : {}), ...(method === 'PATCH' ? { payload: { name: 'x' } } : {}) })
      t.equal(response.statusCode, 403, `${method} ${path}`)
      t.match(response.body.message, /manage-clients/)
    }
  })
})

onEachDatabase('client credentials', async (t, kind) => {
  t.test('gives a client a token of its own, with its roles, that calls the API as the client', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api, { roles: ['admin'] })
    const response = await clientCredentialsGrant(api, client.client_id, secret)
    t.equal(response.statusCode, 200)
    t.match(response.body, { token_type: 'Bearer', expires_in: 3600, scope: 'read write' })
    t.notOk('refresh_token' in response.body, 'no refresh token for client credentials')
    const created = await api.request({ method: 'POST', url: '/api/v2/account/create/', token: response.body.access_token, payload: newAccount() })
    t.equal(created.statusCode, 201)
    const row = await api.app.knex('users').where({ id: created.body.id }).first('created_by', 'created_by_client')
    const clientRow = await api.app.knex('oauth_clients').where({ client_id: client.client_id }).first('id', 'last_used_at')
    t.strictSame([row.created_by, row.created_by_client], [null, clientRow.id], 'the account records the client that made it')
    const audit = await api.app.knex('audit_log').where({ action: 'account.create', subject_id: created.body.id }).first('actor_id', 'actor_client_id')
    t.strictSame([audit.actor_id, audit.actor_client_id], [null, clientRow.id])
    const event = await api.app.knex('outbox_events').where({ type: 'user.created' }).orderBy('id', 'desc').first('payload')
    t.match(JSON.parse(event.payload), { created_by: null, created_by_client: client.client_id })
    t.not(clientRow.last_used_at, null, 'the grant records when the client was last used')
  })

  t.test('takes the client\'s credentials in the body as well as by HTTP Basic, but not both', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api)
    const inBody = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'client_credentials', client_id: client.client_id, client_secret: secret } })
    t.equal(inBody.statusCode, 200)
    const both = await api.request({
      method: 'POST', url: TOKEN, headers: { authorization: basicAuthorization(client.client_id, secret) },
      payload: { grant_type: 'client_credentials', client_id: client.client_id, client_secret: secret }
    })
    t.equal(both.statusCode, 400)
    t.strictSame(both.body, { error: 'invalid_request', error_description: 'Authenticate the client one way: HTTP Basic or the body, not both' })
  })

  t.test('refuses every failed client authentication alike: 401 invalid_client with a Basic challenge', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api)
    const attempts = {
      'a wrong secret': basicAuthorization(client.client_id, `${secret}x`),
      'an unknown client': basicAuthorization('cl_aaaaaaaaaaaaaaaaaaaaaaaa', secret),
      'a client_id of no form of ours': basicAuthorization('mailer', secret),
      'Basic without a colon': `Basic ${Buffer.from('justanid').toString('base64')}`,
      'another scheme': 'Bearer abc',
      'a badly encoded id': `Basic ${Buffer.from('%zz:secret').toString('base64')}`
    }
    for (const [name, authorization] of Object.entries(attempts)) {
      const response = await api.request({ method: 'POST', url: TOKEN, headers: { authorization }, payload: { grant_type: 'client_credentials' } })
      t.equal(response.statusCode, 401, name)
      t.strictSame(response.body, { error: 'invalid_client', error_description: 'Client authentication failed' }, name)
      t.equal(response.headers['www-authenticate'], 'Basic realm="account-service"', name)
    }
    const anonymous = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'client_credentials' } })
    t.equal(anonymous.statusCode, 401, 'client_credentials without a client')
    t.equal(anonymous.body.error, 'invalid_client')
  })

  t.test('narrows the scope to what is asked, never widens it', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api, { scope: 'read' })
    t.equal((await clientCredentialsGrant(api, client.client_id, secret)).body.scope, 'read')
    const wider = await clientCredentialsGrant(api, client.client_id, secret, 'read write')
    t.equal(wider.statusCode, 400)
    t.strictSame(wider.body, { error: 'invalid_scope', error_description: 'The write scope is beyond what this grant allows' })
    const token = await clientToken(api, client.client_id, secret, 'read')
    t.equal((await api.request({ url: FEATURES, token })).statusCode, 200)
  })

  t.test('narrows the client\'s tokens at once when its scope is narrowed', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api, { roles: ['admin'] })
    const token = await clientToken(api, client.client_id, secret)
    await api.request({ method: 'PATCH', url: `${CLIENTS}${String(client.client_id)}/`, token: await api.adminToken(), payload: { scope: 'read' } })
    const write = await api.request({ method: 'PATCH', url: '/api/v2/feature/promo_code/', token, payload: { enabled: true } })
    t.equal(write.statusCode, 403)
    t.equal(write.body.code, 'insufficient_scope')
    t.equal((await api.request({ url: FEATURES, token })).statusCode, 200)
  })

  t.test('records when a client last authenticated, at most once a minute', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api)
    const lastUsed = async (): Promise<unknown> => (await api.app.knex('oauth_clients').where({ client_id: client.client_id }).first('last_used_at')).last_used_at
    await api.request({ method: 'POST', url: TOKEN, headers: { authorization: basicAuthorization(client.client_id, secret) }, payload: { grant_type: 'password', username: ADMIN.username, password: ADMIN.password } })
    const first = await lastUsed()
    t.not(first, null, 'a password grant through the client counts')
    await clientCredentialsGrant(api, client.client_id, secret)
    t.strictSame(await lastUsed(), first, 'not written again within the minute')
    await api.app.knex('oauth_clients').where({ client_id: client.client_id }).update({ last_used_at: '2020-01-01 00:00:00.000' })
    await clientCredentialsGrant(api, client.client_id, secret)
    t.ok(Date.parse(String(await lastUsed())) > Date.parse('2021-01-01'), 'written again once the minute is over')
  })

  t.test('stops a disabled client\'s tokens at once, gives it none, and lets them work again once enabled', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api)
    const token = await clientToken(api, client.client_id, secret)
    const url = `${CLIENTS}${String(client.client_id)}/`
    t.equal((await api.request({ method: 'PATCH', url, token: await api.adminToken(), payload: { enabled: false } })).body.enabled, false)
    const refused = await api.request({ url: FEATURES, token })
    t.equal(refused.statusCode, 401)
    t.match(refused.headers['www-authenticate'], /error="invalid_token"/)
    t.equal((await clientCredentialsGrant(api, client.client_id, secret)).body.error, 'invalid_client')
    await api.request({ method: 'PATCH', url, token: await api.adminToken(), payload: { enabled: true } })
    t.equal((await api.request({ url: FEATURES, token })).statusCode, 200)
  })

  t.test('stops a deleted client\'s tokens and secret at once, and never gives its id out again', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api)
    const token = await clientToken(api, client.client_id, secret)
    const url = `${CLIENTS}${String(client.client_id)}/`
    const deleted = await api.request({ method: 'DELETE', url, token: await api.adminToken() })
    t.equal(deleted.statusCode, 204)
    t.equal(deleted.text, '')
    t.equal((await api.request({ url: FEATURES, token })).statusCode, 401)
    t.equal((await clientCredentialsGrant(api, client.client_id, secret)).statusCode, 401)
    t.equal((await api.request({ url, token: await api.adminToken() })).statusCode, 404)
    t.equal((await api.request({ method: 'DELETE', url, token: await api.adminToken() })).statusCode, 404)
    const row = await api.app.knex('oauth_clients').where({ client_id: client.client_id }).first('secret_hash', 'deleted_at')
    t.equal(row.secret_hash, null, 'no hash of the secret is kept')
    t.not(row.deleted_at, null, 'the row stays for the records that name it')
  })

  t.test('rotating the secret stops the old one at once and answers the new one once', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api)
    const token = await clientToken(api, client.client_id, secret)
    const rotated = await api.request({ method: 'POST', url: `${CLIENTS}${String(client.client_id)}/rotate_secret/`, token: await api.adminToken() })
    t.equal(rotated.statusCode, 200)
    t.equal(rotated.headers['cache-control'], 'no-store')
    t.match(rotated.body, { client_id: client.client_id, client_secret: /^cs_/ })
    t.not(rotated.body.client_secret, secret)
    t.equal((await clientCredentialsGrant(api, client.client_id, secret)).statusCode, 401, 'the old secret')
    t.equal((await clientCredentialsGrant(api, client.client_id, rotated.body.client_secret)).statusCode, 200, 'the new secret')
    t.equal((await api.request({ url: FEATURES, token })).statusCode, 200, 'tokens already issued stay valid until they expire')
  })

  t.test('takes roles away from a client\'s tokens at once when its roles change', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api, { roles: ['admin'] })
    const token = await clientToken(api, client.client_id, secret)
    t.equal((await api.request({ url: '/api/v2/user/1/', token })).statusCode, 200)
    const changed = await api.request({ method: 'PATCH', url: `${CLIENTS}${String(client.client_id)}/`, token: await api.adminToken(), payload: { roles: ['bot'], name: 'renamed' } })
    t.match(changed.body, { roles: ['bot'], permissions: [], name: 'renamed' })
    t.equal((await api.request({ url: '/api/v2/user/1/', token })).statusCode, 403)
  })

  t.test('lets a client manage clients, recording it as their creator, within what it holds itself', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api, { roles: ['admin'] })
    const token = await clientToken(api, client.client_id, secret)
    const made = await api.request({ method: 'POST', url: CLIENTS, token, payload: { name: 'child', roles: ['moderator'] } })
    t.equal(made.statusCode, 201)
    t.match(made.body, { created_by: null, created_by_client: client.client_id })
  })

  t.test('is no user: me answers 403 not_a_user, and changing a user needs the permission', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api, { roles: ['bot'] })
    const token = await clientToken(api, client.client_id, secret)
    const me = await api.request({ url: '/api/v2/user/me/', token })
    t.equal(me.statusCode, 403)
    t.equal(me.body.code, 'not_a_user')
    t.equal((await api.request({ url: '/api/v2/user/1/', token })).statusCode, 403, 'a client whose row id is 1 is not user 1')
  })

  t.test('calls Rocket.Chat\'s surface with its bearer token', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api, { roles: ['admin'] })
    const token = await clientToken(api, client.client_id, secret)
    const response = await api.request({
      method: 'POST', url: '/api/v1/users.create', token,
      payload: { email: 'jane@example.com', name: 'Jane', password: 'Corr3ct-Horse!', username: 'jane_doe' }
    })
    t.equal(response.statusCode, 200)
    t.equal(response.body.success, true)
  })

  t.test('never logs a client secret', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api)
    await clientToken(api, client.client_id, secret)
    await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'client_credentials', client_id: client.client_id, client_secret: `${secret}x` } })
    const rotated = await api.request({ method: 'POST', url: `${CLIENTS}${String(client.client_id)}/rotate_secret/`, token: await api.adminToken() })
    t.ok(api.logs.length > 0)
    t.notOk(api.logs.some((line) => line.includes(secret) || line.includes(rotated.body.client_secret as string)))
  })
})
