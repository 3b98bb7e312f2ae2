import { toDatabaseTime } from '../repositories/sql.js'
import { ADMIN, build, createUserWithToken, newAccount, onEachDatabase, type TestApp } from './helper.js'

const INVITES = '/api/v2/invite_code/'
const DAY = 24 * 60 * 60 * 1000

async function issue (api: TestApp, payload: Record<string, unknown> = {}) {
  return await api.request({ method: 'POST', url: INVITES, token: await api.adminToken(), payload })
}

async function list (api: TestApp, query = '') {
  return await api.request({ url: `${INVITES}${query}`, token: await api.adminToken() })
}

async function revoke (api: TestApp, code: string) {
  return await api.request({ method: 'POST', url: `${INVITES}${code}/revoke/`, token: await api.adminToken() })
}

async function inviteCount (api: TestApp): Promise<number> {
  const [row] = await api.app.knex('invite_codes').count<Array<{ count: number | string }>>({ count: '*' })
  return Number(row?.count)
}

// Marks the code used by `userId` at `at`, as account creation does.
async function markUsed (api: TestApp, code: string, userId: number, at = new Date()): Promise<void> {
  await api.app.knex('invite_codes').where({ code }).update({ used_at: toDatabaseTime(at), user_id: userId })
}

async function adminId (api: TestApp): Promise<number> {
  return (await api.app.knex('users').where({ username: ADMIN.username }).first('id')).id
}

// Whether a statement on invite_codes of this test's database is in flight (polled, with a bound).
// Polled through the process list: InnoDB's lock tables are a cache that frequent reads keep stale.
async function inviteStatementInFlight (api: TestApp): Promise<boolean> {
  for (let poll = 0; poll < 2000; poll++) {
    const running = await api.app.knex('information_schema.processlist')
      .whereRaw('db = database() and id <> connection_id()')
      .where('info', 'like', '%`invite_codes`%')
      .first('id')
    if (running !== undefined) return true
  }
  return false
}

// Gives the user a new role of its own that grants exactly `permissions`.
async function grantPermissions (api: TestApp, userId: number, permissions: string[]): Promise<void> {
  const knex = api.app.knex
  await knex('roles').insert({ name: 'inviter', description: 'Issues invite codes.' })
  const role = await knex('roles').where({ name: 'inviter' }).first('id')
  await knex('role_permissions').insert(permissions.map((permission) => ({ role_id: role.id, permission })))
  await knex('user_roles').insert({ user_id: userId, role_id: role.id })
}

function inDays (days: number): string {
  return new Date(Date.now() + days * DAY).toISOString()
}

onEachDatabase('issuing invite codes', async (t, kind) => {
  t.test('issues the code given and answers 201 with the invite, issued by the caller', async (t) => {
    const api = await build(t, kind)
    const before = Date.now()
    const response = await issue(api, { code: 'Welcome-2026', name: 'Jane from ACME' })
    t.equal(response.statusCode, 201)
    t.match(response.body, {
      id: Number, code: 'Welcome-2026', name: 'Jane from ACME', email: null, role: null, forced_username: null,
      sent_at: null, used_at: null, expires_at: null, revoked_at: null, status: 'valid', user: null, extra_data: null,
      invited_by: { id: await adminId(api), username: ADMIN.username, roles: ['admin', 'user'] }
    })
    t.ok(Date.parse(response.body.generated_at) >= before - 1 && Date.parse(response.body.generated_at) <= Date.now())
  })

  t.test('generates a readable XXXX-XXXX-XXXX code without look-alike characters when none is given', async (t) => {
    const api = await build(t, kind)
    const codes = new Set<string>()
    for (let index = 0; index < 20; index++) {
      const response = await issue(api)
      t.equal(response.statusCode, 201)
      t.match(response.body.code, /^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$/)
      t.equal(response.body.name, '')
      codes.add(response.body.code)
    }
    t.equal(codes.size, 20)
  })

  t.test('refuses a code that exists in another case with 409, storing nothing', async (t) => {
    const api = await build(t, kind)
    await issue(api, { code: 'Welcome' })
    const again = await issue(api, { code: 'wELCOME', name: 'second' })
    t.equal(again.statusCode, 409)
    t.match(again.body, { code: 'invite_code_exists', field: 'code' })
    t.equal(await inviteCount(api), 1)
  })

  t.test('parallel issues of one code in different cases: exactly one 201, the rest 409', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const responses = await Promise.all(['race', 'RACE', 'Race', 'rAcE', 'raCE', 'RAce'].map(async (code) =>
      await api.request({ method: 'POST', url: INVITES, token, payload: { code } })))
    t.equal(responses.filter((response) => response.statusCode === 201).length, 1)
    t.ok(responses.filter((response) => response.statusCode !== 201).every((response) => response.body.code === 'invite_code_exists'))
    t.equal(await inviteCount(api), 1)
  })

  t.test('stores every optional field and returns extra_data as given', async (t) => {
    const api = await build(t, kind)
    const extra = { campaign: 'spring', tags: ['a', 'b'], nested: { count: 3, ok: true, none: null }, text: 'Grüße 🎉' }
    const expiresAt = '2099-12-31T23:59:59.000Z'
    const response = await issue(api, {
      code: 'full_code-1', name: 'Jane', email: 'Jane.Doe@Example.com', role: 'admin', forced_username: 'jane_doe',
      expires_at: expiresAt, sent_at: '2024-01-02T03:04:05.678Z', extra_data: extra
    })
    t.equal(response.statusCode, 201)
    t.match(response.body, {
      email: 'Jane.Doe@Example.com', role: 'admin', forced_username: 'jane_doe', expires_at: expiresAt,
      sent_at: '2024-01-02T03:04:05.678Z', status: 'valid'
    })
    t.strictSame(response.body.extra_data, extra)
    const row = await api.app.knex('invite_codes').where({ id: response.body.id }).first('email_normalized', 'code_normalized')
    t.strictSame({ ...row }, { email_normalized: 'jane.doe@example.com', code_normalized: 'full_code-1' })
    const listed = await list(api)
    t.strictSame(listed.body.results[0], response.body)
  })

  t.test('converts a time given with an offset to UTC', async (t) => {
    const api = await build(t, kind)
    const response = await issue(api, { expires_at: '2099-06-01T12:00:00+02:00' })
    t.equal(response.body.expires_at, '2099-06-01T10:00:00.000Z')
  })

  t.test('refuses a role that does not exist, in any case', async (t) => {
    const api = await build(t, kind)
    for (const role of ['no-such-role', 'ADMIN']) {
      const response = await issue(api, { role })
      t.equal(response.statusCode, 400, role)
      t.match(response.body, { code: 'unknown_role', field: 'role' }, role)
    }
    t.equal(await inviteCount(api), 0)
  })

  t.test('refuses an expiry that is not in the future', async (t) => {
    const api = await build(t, kind)
    for (const expiresAt of [inDays(-1), '2000-01-01T00:00:00Z']) {
      const response = await issue(api, { expires_at: expiresAt })
      t.equal(response.statusCode, 400, expiresAt)
      t.match(response.body, { code: 'invalid_field', field: 'expires_at' }, expiresAt)
    }
    t.equal(await inviteCount(api), 0)
  })

  t.test('refuses times the database cannot hold', async (t) => {
    const api = await build(t, kind)
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ expires_at: '9999-12-31T23:59:59-05:00' }, 'expires_at'],
      [{ sent_at: '0999-12-31T23:59:59Z' }, 'sent_at'],
      [{ sent_at: '2030-06-30T23:59:60Z' }, 'sent_at']
    ]
    for (const [payload, field] of cases) {
      const response = await issue(api, payload)
      t.equal(response.statusCode, 400, JSON.stringify(payload))
      t.match(response.body, { code: 'invalid_field', field }, JSON.stringify(payload))
    }
    t.equal(await inviteCount(api), 0)
  })

  t.test('refuses malformed fields, naming the field, and stores nothing', async (t) => {
    const api = await build(t, kind)
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ code: 'abc' }, 'code'],
      [{ code: 'with space' }, 'code'],
      [{ code: 'x'.repeat(65) }, 'code'],
      [{ email: 'not-an-email' }, 'email'],
      [{ email: `${'a'.repeat(250)}@example.com` }, 'email'],
      [{ forced_username: 'jane doe' }, 'forced_username'],
      [{ forced_username: '' }, 'forced_username'],
      [{ name: 'n'.repeat(256) }, 'name'],
      [{ expires_at: 'tomorrow' }, 'expires_at'],
      [{ extra_data: ['not', 'an', 'object'] }, 'extra_data'],
      [{ role: '' }, 'role'],
      [{ uses: 3 }, 'uses']
    ]
    for (const [payload, field] of cases) {
      const response = await issue(api, payload)
      t.equal(response.statusCode, 400, JSON.stringify(payload).slice(0, 60))
      t.equal(response.body.field, field, JSON.stringify(payload).slice(0, 60))
    }
    t.equal(await inviteCount(api), 0)
  })

  t.test('keeps extra_data nested up to 32 levels and refuses deeper, even far deeper, with a 400', async (t) => {
    const api = await build(t, kind)
    const nested = (depth: number): unknown => depth === 0 ? 'leaf' : { level: nested(depth - 1) }
    const deepest = await issue(api, { extra_data: nested(32) as Record<string, unknown> })
    t.equal(deepest.statusCode, 201)
    t.strictSame(deepest.body.extra_data, nested(32))
    for (const depth of [33, 5000]) {
      const response = await api.request({
        method: 'POST', url: INVITES, token: await api.adminToken(),
        headers: { 'content-type': 'application/json' }, payload: `{"extra_data":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`
      })
      t.equal(response.statusCode, 400, `nested ${depth} deep`)
      t.match(response.body, { code: 'invalid_field', field: 'extra_data' })
    }
    t.equal(await inviteCount(api), 1)
  })

  t.test('refuses a number in extra_data that JSON cannot give back', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({
      method: 'POST', url: INVITES, token: await api.adminToken(),
      headers: { 'content-type': 'application/json' }, payload: '{"extra_data":{"big":1e400}}'
    })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'invalid_field', field: 'extra_data' })
    t.equal(await inviteCount(api), 0)
  })

  t.test('needs a token, and the admin role', async (t) => {
    const api = await build(t, kind)
    const { token } = await createUserWithToken(api)
    t.equal((await api.request({ method: 'POST', url: INVITES, payload: {} })).statusCode, 401)
    const forbidden = await api.request({ method: 'POST', url: INVITES, token, payload: {} })
    t.equal(forbidden.statusCode, 403)
    t.equal(forbidden.body.code, 'forbidden')
    t.equal(await inviteCount(api), 0)
  })

  t.test('an issuer without assign-admin-role may invite to other roles but not to admin, which stores nothing', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    await grantPermissions(api, user.id, ['manage-invite-codes'])
    const bot = await api.request({ method: 'POST', url: INVITES, token, payload: { code: 'bot-invite', role: 'bot' } })
    t.equal(bot.statusCode, 201)
    t.equal(bot.body.role, 'bot')
    const admin = await api.request({ method: 'POST', url: INVITES, token, payload: { code: 'admin-invite', role: 'admin' } })
    t.equal(admin.statusCode, 403)
    t.equal(admin.body.code, 'forbidden')
    t.match(admin.body.message, /assign-admin-role/)
    t.strictSame(await api.app.knex('invite_codes').pluck('code'), ['bot-invite'])
  })

  t.test('an issuer may not invite to a role granting a permission the issuer lacks', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    await grantPermissions(api, user.id, ['manage-invite-codes'])
    const response = await api.request({ method: 'POST', url: INVITES, token, payload: { role: 'moderator' } })
    t.equal(response.statusCode, 403)
    t.match(response.body, { code: 'forbidden', message: /moderator role grants the view-/ })
    t.equal(await inviteCount(api), 0)
  })

  t.test('refuses a reserved forced_username, which no account could take', async (t) => {
    const api = await build(t, kind)
    const response = await issue(api, { forced_username: 'Root' })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'username_reserved', field: 'forced_username' })
    t.equal(await inviteCount(api), 0)
  })

  t.test('an admin may issue an invite that grants the admin role', async (t) => {
    const api = await build(t, kind)
    const response = await issue(api, { role: 'admin' })
    t.equal(response.statusCode, 201)
    t.equal(response.body.role, 'admin')
  })
})

onEachDatabase('listing invite codes', async (t, kind) => {
  t.test('lists newest first, a page at a time, with the total and links to the pages around', async (t) => {
    const api = await build(t, kind)
    for (let index = 1; index <= 5; index++) await issue(api, { code: `code-${index}` })
    const first = await list(api, '?limit=2')
    t.equal(first.statusCode, 200)
    t.equal(first.body.count, 5)
    t.strictSame(first.body.results.map((invite: { code: string }) => invite.code), ['code-5', 'code-4'])
    t.equal(first.body.previous, null)
    t.equal(first.body.next, '/api/v2/invite_code/?limit=2&offset=2')
    const middle = await list(api, '?limit=2&offset=2')
    t.strictSame(middle.body.results.map((invite: { code: string }) => invite.code), ['code-3', 'code-2'])
    t.equal(middle.body.previous, '/api/v2/invite_code/?limit=2&offset=0')
    const last = await list(api, '?limit=2&offset=4')
    t.strictSame(last.body.results.map((invite: { code: string }) => invite.code), ['code-1'])
    t.equal(last.body.next, null)
  })

  t.test('shows who used a code and when', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    await issue(api, { code: 'used-code' })
    const usedAt = new Date('2025-03-04T05:06:07.089Z')
    await markUsed(api, 'used-code', user.id, usedAt)
    const listed = await list(api)
    t.match(listed.body.results[0], { code: 'used-code', status: 'used', used_at: usedAt.toISOString(), user: { id: user.id, username: 'jane_doe' } })
    t.strictSame(listed.body.results[0].user, user)
  })

  t.test('shows the account created with a code, and when, once registration used it', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const preference = await api.request({ method: 'PATCH', url: '/api/v2/dynamic_preference/', token, payload: { 'configurations.invite_code': true } })
    t.equal(preference.statusCode, 200)
    await issue(api, { code: 'Join-Us', email: 'jane@example.com' })
    const before = Date.now()
    const created = await api.request({ method: 'POST', url: '/api/v2/account/create/', token, payload: newAccount({ invite_code: 'join-us' }) })
    t.equal(created.statusCode, 201)
    const [invite] = (await list(api)).body.results
    t.match(invite, { code: 'Join-Us', status: 'used', revoked_at: null })
    t.strictSame(invite.user, created.body)
    t.ok(Date.parse(invite.used_at) >= before - 1 && Date.parse(invite.used_at) <= Date.now())
  })

  t.test('reads the accounts of a whole page in one batch', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    for (let index = 1; index <= 4; index++) {
      await issue(api, { code: `batch-${index}` })
      await markUsed(api, `batch-${index}`, user.id)
    }
    const accounts = api.app.repositories.accounts
    const findByIds = accounts.findByIds.bind(accounts)
    let calls = 0
    accounts.findByIds = async (ids) => { calls++; return await findByIds(ids) }
    t.teardown(() => { accounts.findByIds = findByIds })
    const listed = await list(api)
    t.equal(listed.body.results.length, 4)
    t.equal(calls, 1)
  })

  t.test('filters by status as the status field says', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    for (const code of ['valid-code', 'future-code', 'used-code', 'expired-code', 'revoked-code', 'used-revoked']) await issue(api, { code })
    await api.app.knex('invite_codes').where({ code: 'future-code' }).update({ expires_at: toDatabaseTime(new Date(Date.now() + DAY)) })
    await api.app.knex('invite_codes').where({ code: 'expired-code' }).update({ expires_at: toDatabaseTime(new Date(Date.now() - 1000)) })
    await markUsed(api, 'used-code', user.id)
    await revoke(api, 'revoked-code')
    await markUsed(api, 'used-revoked', user.id)
    await api.app.knex('invite_codes').where({ code: 'used-revoked' }).update({ revoked_at: toDatabaseTime(new Date()) })
    const expected: Record<string, string[]> = {
      valid: ['future-code', 'valid-code'], used: ['used-revoked', 'used-code'], expired: ['expired-code'], revoked: ['revoked-code']
    }
    for (const [status, codes] of Object.entries(expected)) {
      const listed = await list(api, `?status=${status}`)
      t.equal(listed.body.count, codes.length, status)
      t.strictSame(listed.body.results.map((invite: { code: string }) => invite.code), codes, status)
      t.ok(listed.body.results.every((invite: { status: string }) => invite.status === status), status)
    }
  })

  t.test('filters by email regardless of case', async (t) => {
    const api = await build(t, kind)
    await issue(api, { code: 'for-jane', email: 'Jane@Example.com' })
    await issue(api, { code: 'for-john', email: 'john@example.com' })
    await issue(api, { code: 'for-anyone' })
    const listed = await list(api, '?email=JANE%40example.COM')
    t.strictSame(listed.body.results.map((invite: { code: string }) => invite.code), ['for-jane'])
    t.equal((await list(api, '?email=jane')).body.count, 0)
  })

  t.test('searches the start of the code or of the name, regardless of case', async (t) => {
    const api = await build(t, kind)
    await issue(api, { code: 'Spring-2026', name: 'ACME staff' })
    await issue(api, { code: 'autumn-2026', name: 'Friends of spring' })
    await issue(api, { code: 'summer-2026', name: 'Spring break crew' })
    const codes = async (search: string): Promise<string[]> =>
      (await list(api, `?search=${encodeURIComponent(search)}`)).body.results.map((invite: { code: string }) => invite.code)
    t.strictSame(await codes('SPRING'), ['summer-2026', 'Spring-2026'])
    t.strictSame(await codes('acme'), ['Spring-2026'])
    t.strictSame(await codes('2026'), [])
  })

  t.test('takes the LIKE wildcards of a search literally', async (t) => {
    const api = await build(t, kind)
    await issue(api, { code: 'ab_cd', name: '50% off' })
    await issue(api, { code: 'abXcd', name: '500 club' })
    await issue(api, { code: 'other', name: 'back\\slash' })
    await issue(api, { code: 'another', name: 'backslash' })
    const codes = async (search: string): Promise<string[]> =>
      (await list(api, `?search=${encodeURIComponent(search)}`)).body.results.map((invite: { code: string }) => invite.code)
    t.strictSame(await codes('ab_'), ['ab_cd'])
    t.strictSame(await codes('50%'), ['ab_cd'])
    t.strictSame(await codes('back\\'), ['other'])
    t.strictSame(await codes('%'), [])
  })

  t.test('refuses an unknown status and a limit out of range', async (t) => {
    const api = await build(t, kind)
    const status = await list(api, '?status=lost')
    t.equal(status.statusCode, 400)
    t.equal(status.body.field, 'status')
    const limit = await list(api, '?limit=101')
    t.equal(limit.statusCode, 400)
    t.equal(limit.body.field, 'limit')
  })

  t.test('needs a token, and the admin role', async (t) => {
    const api = await build(t, kind)
    const { token } = await createUserWithToken(api)
    t.equal((await api.request({ url: INVITES })).statusCode, 401)
    t.equal((await api.request({ url: INVITES, token })).statusCode, 403)
  })
})

onEachDatabase('checking invite codes', async (t, kind) => {
  t.test('tells a user whether a code is valid, without the invite', async (t) => {
    const api = await build(t, kind)
    const issued = await issue(api, { email: 'jane@example.com', expires_at: '2099-01-01T00:00:00.000Z' })
    const { token } = await createUserWithToken(api)
    const response = await api.request({ url: `${INVITES}${String(issued.body.code).toLowerCase()}/`, token })
    t.equal(response.statusCode, 200)
    t.strictSame(response.body, { code: issued.body.code, status: 'valid', valid: true, expires_at: '2099-01-01T00:00:00.000Z' })
  })

  t.test('gives an admin the whole invite', async (t) => {
    const api = await build(t, kind)
    const issued = await issue(api, { code: 'Admin-Check', extra_data: { source: 'fair' } })
    const response = await api.request({ url: `${INVITES}ADMIN-CHECK/`, token: await api.adminToken() })
    t.strictSame(response.body, { code: 'Admin-Check', status: 'valid', valid: true, expires_at: null, invite: issued.body })
  })

  t.test('says why a code cannot be used, and never shows a user who used it', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    for (const code of ['used-code', 'expired-code', 'revoked-code']) await issue(api, { code })
    await markUsed(api, 'used-code', user.id)
    await api.app.knex('invite_codes').where({ code: 'expired-code' }).update({ expires_at: toDatabaseTime(new Date(Date.now() - 1000)) })
    await revoke(api, 'revoked-code')
    for (const [code, status] of [['used-code', 'used'], ['expired-code', 'expired'], ['revoked-code', 'revoked']] as const) {
      const response = await api.request({ url: `${INVITES}${code}/`, token })
      t.match(response.body, { code, status, valid: false }, code)
      t.notOk('invite' in response.body, code)
    }
  })

  t.test('answers 404 for an unknown code and 401 without a token', async (t) => {
    const api = await build(t, kind)
    const unknown = await api.request({ url: `${INVITES}no-such-code/`, token: await api.adminToken() })
    t.equal(unknown.statusCode, 404)
    t.equal(unknown.body.code, 'not_found')
    await issue(api, { code: 'some-code' })
    t.equal((await api.request({ url: `${INVITES}some-code/` })).statusCode, 401)
  })
})

onEachDatabase('revoking invite codes', async (t, kind) => {
  t.test('revokes a code, in any case, and keeps it readable', async (t) => {
    const api = await build(t, kind)
    const issued = await issue(api, { code: 'Revoke-Me' })
    const before = Date.now()
    const response = await revoke(api, 'revoke-me')
    t.equal(response.statusCode, 200)
    t.match(response.body, { id: issued.body.id, code: 'Revoke-Me', status: 'revoked', used_at: null })
    t.ok(Date.parse(response.body.revoked_at) >= before - 1)
    t.strictSame((await list(api)).body.results, [response.body])
  })

  t.test('revoking a revoked code changes nothing', async (t) => {
    const api = await build(t, kind)
    await issue(api, { code: 'twice' })
    const first = await revoke(api, 'twice')
    const second = await revoke(api, 'TWICE')
    t.equal(second.statusCode, 200)
    t.strictSame(second.body, first.body)
  })

  t.test('refuses to revoke a used code with 409, leaving it as it was', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    await issue(api, { code: 'used-code' })
    await markUsed(api, 'used-code', user.id)
    const response = await revoke(api, 'used-code')
    t.equal(response.statusCode, 409)
    t.match(response.body, { code: 'invite_code_used', field: 'code' })
    t.equal((await api.app.knex('invite_codes').where({ code: 'used-code' }).first('revoked_at')).revoked_at, null)
  })

  t.test('a revoke that waits on a use of the code in progress refuses once the use commits', async (t) => {
    const api = await build(t, kind)
    await issue(api, { code: 'contended' })
    const token = await api.adminToken()
    const userId = await adminId(api)
    const use = await api.app.knex.transaction()
    await use('invite_codes').where({ code: 'contended' }).update({ used_at: toDatabaseTime(new Date()), user_id: userId })
    const revoking = api.request({ method: 'POST', url: `${INVITES}contended/revoke/`, token })
    // On MariaDB, wait until the revoke is reading the row; on SQLite the use holds the one connection.
    if (kind === 'mysql') t.ok(await inviteStatementInFlight(api), 'the revoke waits on the row')
    await use.commit()
    const response = await revoking
    t.equal(response.statusCode, 409)
    t.equal(response.body.code, 'invite_code_used')
    t.equal((await api.app.knex('invite_codes').where({ code: 'contended' }).first('revoked_at')).revoked_at, null)
  })

  t.test('answers 404 for an unknown code', async (t) => {
    const api = await build(t, kind)
    const response = await revoke(api, 'no-such-code')
    t.equal(response.statusCode, 404)
    t.equal(response.body.code, 'not_found')
  })

  t.test('needs a token, and the admin role', async (t) => {
    const api = await build(t, kind)
    const { token } = await createUserWithToken(api)
    await issue(api, { code: 'keep-me' })
    t.equal((await api.request({ method: 'POST', url: `${INVITES}keep-me/revoke/` })).statusCode, 401)
    t.equal((await api.request({ method: 'POST', url: `${INVITES}keep-me/revoke/`, token })).statusCode, 403)
    t.equal((await api.app.knex('invite_codes').where({ code: 'keep-me' }).first('revoked_at')).revoked_at, null)
  })
})
