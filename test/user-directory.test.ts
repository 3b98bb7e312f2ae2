// Finding users on v2, as SelfCommunity's pages and clients do: the list, autocomplete, matching
// usernames, and what the current user may do; who sees what of whom.
import { createRequire } from 'node:module'
import type { Test } from 'tap'
import { contractViolations } from './contract.js'
import { ADMIN, type ApiResponse, type DatabaseKind, type TestApp, build, clientToken, createClient, createUserWithToken, giveRole, newAccount, onEachDatabase } from './helper.js'

// The package's ES build imports without file extensions, which Node's loader refuses: its
// CommonJS build is the one that loads.
const { UserService, http } = createRequire(import.meta.url)('@selfcommunity/api-services') as typeof import('@selfcommunity/api-services')
const PASSWORD = 'Corr3ct-Horse!'

// Creates the accounts in this order (so their ids follow it), each [username, real name].
async function createUsers (api: TestApp, users: Array<[string, string]>, token?: string): Promise<Record<string, number>> {
  const adminToken = token ?? await api.adminToken()
  const ids: Record<string, number> = {}
  for (const [username, realName] of users) {
    const response = await api.request({
      method: 'POST', url: '/api/v2/account/create/', token: adminToken, payload: newAccount({ username, email: `${username}@example.com`, real_name: realName })
    })
    if (response.statusCode !== 201) throw new Error(`Could not create ${username}: ${response.text}`)
    ids[username] = response.body.id
  }
  return ids
}

async function block (api: TestApp, username: string): Promise<void> {
  await api.app.knex('users').where({ username }).update({ status: 'b' })
}

function usernamesOf (response: ApiResponse): string[] {
  if (response.statusCode !== 200) throw new Error(`${response.statusCode} ${response.text}`)
  return response.body.results.map((user: { username: string }) => user.username)
}

// SelfCommunity's client, pointed at the app listening on a free port with this token; every
// answer it gets is checked against openapi.yaml.
async function selfCommunityClient (t: Test, api: TestApp, token: string): Promise<void> {
  const baseUrl = await api.app.listen({ port: 0, host: '127.0.0.1' })
  const instance = http.getClientInstance()
  const check = (response: { status: number, headers: Record<string, unknown>, data: unknown, config: { method?: string, url?: string } }): void => {
    const violations = contractViolations(String(response.config.method).toUpperCase(), String(response.config.url),
      { statusCode: response.status, headers: response.headers, body: JSON.stringify(response.data) })
    if (violations.length > 0) throw new Error(`${String(response.config.url)} → ${response.status} breaks openapi.yaml:\n  ${violations.join('\n  ')}`)
  }
  const interceptor = instance.interceptors.response.use((response) => { check(response as never); return response })
  http.setBasePortal(baseUrl)
  http.setAuthorizeToken(token)
  t.teardown(() => { instance.interceptors.response.eject(interceptor); http.setAuthorizeToken() })
}

onEachDatabase('SelfCommunity\'s client finding users', async (t, kind: DatabaseKind) => {
  t.test('lists, autocompletes and matches users, and reads the current user\'s permissions, over HTTP', async (t) => {
    const api = await build(t, kind)
    await createUsers(api, [['alice', 'Alice Liddell'], ['bob', 'Bob Dylan'], ['carol', 'Carol King']])
    await block(api, 'carol')
    await selfCommunityClient(t, api, await api.tokenFor('alice', PASSWORD))

    const all = await UserService.getAllUsers({ limit: 2 })
    t.equal(all.count, 3, 'the admin, alice and bob; carol is blocked')
    t.strictSame(all.results.map((user) => user.username), [ADMIN.username, 'alice'])
    t.equal(all.next, '/api/v2/user/?limit=2&offset=2')
    t.notOk('email' in (all.results[0] as object), 'no email of another user')
    t.equal(all.results[1]?.email, 'alice@example.com', 'alice sees herself in full')

    const suggestions = await UserService.userAutocomplete({ search: 'BO' })
    t.strictSame(suggestions.results, [{ id: 3, username: 'bob', real_name: 'Bob Dylan' }])

    const matched = await UserService.matchUsernames(['BOB', 'nobody', 'carol', 'alice', 'bob'])
    t.strictSame(matched.map((user) => user.username), ['bob', 'alice'], 'once each, in the order asked, blocked users left out')

    const permission = await UserService.getCurrentUserPermission()
    t.match(permission, { create_contribute: true, create_post: true, follow_user: true, permissions: [], roles: ['user'] })
  })

  t.test('an admin\'s client sees every user in full, blocked ones too', async (t) => {
    const api = await build(t, kind)
    await createUsers(api, [['alice', 'Alice Liddell'], ['carol', 'Carol King']])
    await block(api, 'carol')
    await selfCommunityClient(t, api, await api.adminToken())
    const blocked = await UserService.getAllUsers({ status: 'b' })
    t.strictSame(blocked.results.map((user) => [user.username, user.email, user.status]), [['carol', 'carol@example.com', 'b']])
    const permission = await UserService.getCurrentUserPermission()
    t.ok((permission as unknown as { permissions: string[] }).permissions.includes('view-audit-log'))
  })
})

onEachDatabase('the list of users', async (t, kind) => {
  t.test('search finds the start of the username or of the real name; username and real_name one each', async (t) => {
    const api = await build(t, kind)
    await createUsers(api, [['alice', 'Zed Zoo'], ['zoe', 'Alison Grey'], ['malcolm', 'Mal Ali']])
    const token = await api.adminToken()
    t.strictSame(usernamesOf(await api.request({ url: '/api/v2/user/?search=ALI', token })), ['alice', 'zoe'])
    t.strictSame(usernamesOf(await api.request({ url: '/api/v2/user/?username=ali', token })), ['alice'])
    t.strictSame(usernamesOf(await api.request({ url: '/api/v2/user/?real_name=ali', token })), ['zoe'])
    t.strictSame(usernamesOf(await api.request({ url: '/api/v2/user/?search=a%25', token })), [], 'LIKE wildcards are taken literally')
  })

  t.test('orders by id, username or real name, either way', async (t) => {
    const api = await build(t, kind)
    await createUsers(api, [['bob', 'Charlie'], ['alice', 'Bea'], ['carl', 'Alma']])
    const token = await api.adminToken()
    t.strictSame(usernamesOf(await api.request({ url: '/api/v2/user/?search=a&ordering=-id', token })), ['carl', 'alice', ADMIN.username])
    t.strictSame(usernamesOf(await api.request({ url: '/api/v2/user/?ordering=username', token })), [ADMIN.username, 'alice', 'bob', 'carl'])
    t.strictSame(usernamesOf(await api.request({ url: '/api/v2/user/?ordering=-real_name&username=b', token })), ['bob'])
    t.strictSame(usernamesOf(await api.request({ url: '/api/v2/user/?ordering=real_name&limit=2', token })), [ADMIN.username, 'carl'])
    const refused = await api.request({ url: '/api/v2/user/?ordering=email', token })
    t.equal(refused.statusCode, 400)
    t.equal(refused.body.field, 'ordering')
  })

  t.test('others see public users: no email, no roles, public custom fields only; themselves in full', async (t) => {
    const api = await build(t, kind)
    const adminToken = await api.adminToken()
    for (const field of [{ name: 'company', label: 'Company', public: true }, { name: 'salary', label: 'Salary', type: 'integer' }]) {
      const created = await api.request({ method: 'POST', url: '/api/v2/custom_field/', token: adminToken, payload: field })
      t.equal(created.statusCode, 201, created.text)
    }
    const created = await api.request({
      method: 'POST', url: '/api/v2/account/create/', token: adminToken, payload: newAccount({ username: 'alice', email: 'alice@example.com', company: 'ACME', salary: 10 })
    })
    t.equal(created.statusCode, 201)
    await createUsers(api, [['bob', 'Bob']], adminToken)
    const bob = await api.request({ url: '/api/v2/user/?ordering=username', token: await api.tokenFor('bob', PASSWORD) })
    // Others are shown no profile fields (date of birth and gender are personal); oneself, all of them.
    t.strictSame(bob.body.results.map((user: Record<string, unknown>) => Object.keys(user).sort()), [
      ['date_joined', 'id', 'real_name', 'status', 'username'],
      ['company', 'date_joined', 'id', 'real_name', 'status', 'username'],
      ['bio', 'date_joined', 'date_of_birth', 'description', 'email', 'email_isvalid', 'ext_id', 'gender', 'id', 'location', 'real_name', 'roles', 'status', 'username', 'website']
    ])
    const admin = await api.request({ url: '/api/v2/user/?username=alice', token: adminToken })
    t.match(admin.body.results, [{ email: 'alice@example.com', company: 'ACME', salary: 10, roles: ['user'] }])
  })

  t.test('a moderator sees every user, of any status; others are refused any status but a, naming it', async (t) => {
    const api = await build(t, kind)
    const ids = await createUsers(api, [['alice', ''], ['bob', '']])
    await block(api, 'bob')
    const user = await api.request({ url: '/api/v2/user/?status=b', token: await api.tokenFor('alice', PASSWORD) })
    t.equal(user.statusCode, 403)
    t.equal(user.body.field, 'status')
    t.strictSame(usernamesOf(await api.request({ url: '/api/v2/user/?status=a', token: await api.tokenFor('alice', PASSWORD) })), [ADMIN.username, 'alice'])
    await giveRole(api, ids.alice as number, 'moderator')
    const moderator = await api.request({ url: '/api/v2/user/', token: await api.tokenFor('alice', PASSWORD) })
    t.strictSame(usernamesOf(moderator), [ADMIN.username, 'alice', 'bob'])
    t.equal(moderator.body.results[2].email, 'bob@example.com')
  })

  t.test('a service client without the permission sees approved users only; no token is 401', async (t) => {
    const api = await build(t, kind)
    await createUsers(api, [['alice', '']])
    await block(api, 'alice')
    const { client, secret } = await createClient(api, { roles: ['user'] })
    const listed = await api.request({ url: '/api/v2/user/', token: await clientToken(api, client.client_id, secret) })
    t.strictSame(usernamesOf(listed), [ADMIN.username])
    t.notOk('email' in listed.body.results[0])
    t.equal((await api.request({ url: '/api/v2/user/' })).statusCode, 401)
  })
})

onEachDatabase('autocomplete', async (t, kind) => {
  t.test('answers id, username and real_name, ten to a page by default and at most twenty', async (t) => {
    const api = await build(t, kind)
    await createUsers(api, Array.from({ length: 12 }, (_, index): [string, string] => [`user${String(index).padStart(2, '0')}`, `User ${index}`]))
    const token = await api.adminToken()
    const page = await api.request({ url: '/api/v2/user/autocomplete/?search=user', token })
    t.equal(page.body.count, 12)
    t.equal(page.body.results.length, 10)
    t.strictSame(Object.keys(page.body.results[0]).sort(), ['id', 'real_name', 'username'])
    t.equal(page.body.next, '/api/v2/user/autocomplete/?search=user&offset=10')
    const tooMany = await api.request({ url: '/api/v2/user/autocomplete/?limit=21', token })
    t.equal(tooMany.statusCode, 400)
    t.equal(tooMany.body.field, 'limit')
  })

  t.test('leaves blocked users out for callers without view-user-administration', async (t) => {
    const api = await build(t, kind)
    await createUsers(api, [['alice', ''], ['alfred', '']])
    await block(api, 'alfred')
    t.strictSame(usernamesOf(await api.request({ url: '/api/v2/user/autocomplete/?search=al', token: await api.tokenFor('alice', PASSWORD) })), ['alice'])
    t.strictSame(usernamesOf(await api.request({ url: '/api/v2/user/autocomplete/?search=al', token: await api.adminToken() })), ['alice', 'alfred'])
  })
})

onEachDatabase('matching usernames', async (t, kind) => {
  t.test('takes at most 100 usernames, each a string; anything else is a 400', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const match = async (payload: unknown): Promise<ApiResponse> => await api.request({ method: 'POST', url: '/api/v2/user/match/', token, payload: payload as never })
    const hundred = await match(Array.from({ length: 100 }, (_, index) => `name${index}`).concat([]))
    t.equal(hundred.statusCode, 200)
    t.strictSame(hundred.body, [])
    for (const [payload, why] of [
      [Array.from({ length: 101 }, (_, index) => `name${index}`), 'more than 100'],
      [[], 'none'],
      [{ usernames: ['admin'] }, 'not a list'],
      [[42], 'not a string'],
      [['x'.repeat(256)], 'too long']
    ] as const) {
      const refused = await match(payload)
      t.equal(refused.statusCode, 400, why)
    }
    t.strictSame((await match(['ADMIN'])).body.map((user: { username: string }) => user.username), [ADMIN.username])
  })

  t.test('finds blocked users for an admin', async (t) => {
    const api = await build(t, kind)
    await createUsers(api, [['carol', 'Carol']])
    await block(api, 'carol')
    const matched = await api.request({ method: 'POST', url: '/api/v2/user/match/', token: await api.adminToken(), payload: ['carol'] as never })
    t.match(matched.body, [{ username: 'carol', real_name: 'Carol' }])
  })
})

onEachDatabase('the current user\'s permissions', async (t, kind) => {
  t.test('name what the roles grant; a service client\'s token is no user', async (t) => {
    const api = await build(t, kind)
    const role = await api.request({
      method: 'POST', url: '/api/v2/role/', token: await api.adminToken(), payload: { name: 'support', permissions: ['view-user-administration'] }
    })
    t.equal(role.statusCode, 201)
    const { user, token } = await createUserWithToken(api)
    await giveRole(api, user.id, 'support')
    const permission = await api.request({ url: '/api/v2/user/me/permission/', token })
    t.equal(permission.statusCode, 200)
    t.strictSame(permission.body.permissions, ['view-user-administration'])
    t.strictSame(permission.body.roles, ['support', 'user'])
    const { client, secret } = await createClient(api)
    const refused = await api.request({ url: '/api/v2/user/me/permission/', token: await clientToken(api, client.client_id, secret) })
    t.equal(refused.statusCode, 403)
    t.equal(refused.body.code, 'not_a_user')
  })
})
