import { operations } from '../schemas/operations.js'
import { build, createUserWithToken, giveRole, newAccount, onEachDatabase, type TestApp } from './helper.js'

const CREATE = '/api/v2/account/create/'

async function createAccount (api: TestApp, token: string, username: string) {
  return await api.request({ method: 'POST', url: CREATE, token, payload: newAccount({ username, email: `${username}@example.com` }) })
}

function payloadOf (token: string): Record<string, unknown> {
  const [, payload = ''] = token.split('.')
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
}

onEachDatabase('permissions decide access', async (t, kind) => {
  t.test('a plain user cannot create accounts: 403 naming create-user', async (t) => {
    const api = await build(t, kind)
    const { token } = await createUserWithToken(api)
    const response = await createAccount(api, token, 'bob')
    t.equal(response.statusCode, 403)
    t.match(response.body, { code: 'forbidden', message: /create-user/ })
    t.equal(await api.app.knex('users').where({ username: 'bob' }).first(), undefined)
  })

  t.test('a role granting create-user lets its holders create accounts at once, with the token they already have', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    const role = await api.request({ method: 'POST', url: '/api/v2/role/', token: await api.adminToken(), payload: { name: 'recruiter', permissions: ['create-user'] } })
    t.equal(role.statusCode, 201)
    await giveRole(api, user.id, 'recruiter')
    const response = await createAccount(api, token, 'bob')
    t.equal(response.statusCode, 201)
    t.equal(response.body.username, 'bob')
  })

  t.test('taking the permission away from the role applies at once', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    const admin = await api.adminToken()
    await api.request({ method: 'POST', url: '/api/v2/role/', token: admin, payload: { name: 'recruiter', permissions: ['create-user'] } })
    await giveRole(api, user.id, 'recruiter')
    t.equal((await createAccount(api, token, 'bob')).statusCode, 201)
    const emptied = await api.request({ method: 'PATCH', url: '/api/v2/role/recruiter/', token: admin, payload: { permissions: [] } })
    t.equal(emptied.statusCode, 200)
    const response = await createAccount(api, token, 'carol')
    t.equal(response.statusCode, 403)
    t.match(response.body.message, /create-user/)
  })

  t.test('a role granting manage-roles lets a user who is not admin manage roles', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    await api.request({ method: 'POST', url: '/api/v2/role/', token: await api.adminToken(), payload: { name: 'steward', permissions: ['manage-roles'] } })
    await giveRole(api, user.id, 'steward')
    t.equal((await api.request({ url: '/api/v2/role/', token })).statusCode, 200)
    const created = await api.request({ method: 'POST', url: '/api/v2/role/', token, payload: { name: 'support' } })
    t.equal(created.statusCode, 201)
    t.equal((await api.request({ url: '/api/v2/custom_field/', token })).statusCode, 403)
  })

  t.test('managing roles grants no permission the manager does not have', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    await api.request({ method: 'POST', url: '/api/v2/role/', token: await api.adminToken(), payload: { name: 'steward', permissions: ['manage-roles', 'create-user'] } })
    await giveRole(api, user.id, 'steward')
    const escalate = await api.request({ method: 'PATCH', url: '/api/v2/role/steward/', token, payload: { permissions: ['manage-roles', 'create-user', 'assign-admin-role'] } })
    t.equal(escalate.statusCode, 403)
    t.match(escalate.body, { code: 'forbidden', message: /assign-admin-role/ })
    const widen = await api.request({ method: 'PATCH', url: '/api/v2/role/user/', token, payload: { permissions: ['manage-custom-fields'] } })
    t.equal(widen.statusCode, 403)
    const created = await api.request({ method: 'POST', url: '/api/v2/role/', token, payload: { name: 'elevated', permissions: ['manage-preferences'] } })
    t.equal(created.statusCode, 403)
    t.equal(await api.app.knex('roles').where({ name: 'elevated' }).first(), undefined)
    const steward = await api.request({ url: '/api/v2/role/', token })
    t.strictSame(steward.body.results.find((role: { name: string }) => role.name === 'steward').permissions, ['create-user', 'manage-roles'])
    t.strictSame(steward.body.results.find((role: { name: string }) => role.name === 'user').permissions, [])
    const held = await api.request({ method: 'POST', url: '/api/v2/role/', token, payload: { name: 'recruiter', permissions: ['create-user'] } })
    t.equal(held.statusCode, 201)
  })

  t.test('changing another user takes every permission that user has', async (t) => {
    const api = await build(t, kind)
    const { user: editor, token } = await createUserWithToken(api)
    const { user: plain } = await createUserWithToken(api, { username: 'plain', email: 'plain@example.com' })
    await api.request({ method: 'POST', url: '/api/v2/role/', token: await api.adminToken(), payload: { name: 'editor', permissions: ['edit-other-user-info'] } })
    await giveRole(api, editor.id, 'editor')
    const admin = await api.app.knex('users').where({ username: 'admin' }).first('id', 'real_name')
    const refused = await api.request({ method: 'PATCH', url: `/api/v2/user/${String(admin.id)}/`, token, payload: { real_name: 'pwned' } })
    t.equal(refused.statusCode, 403)
    t.equal((await api.app.knex('users').where({ id: admin.id }).first('real_name')).real_name, admin.real_name)
    const allowed = await api.request({ method: 'PATCH', url: `/api/v2/user/${String(plain.id)}/`, token, payload: { real_name: 'Plain Jane' } })
    t.equal(allowed.statusCode, 200)
    t.equal(allowed.body.real_name, 'Plain Jane')
  })

  t.test('every permission the contract requires is one the registry knows', async (t) => {
    const api = await build(t, kind)
    const known = (await api.request({ url: '/api/v2/permission/', token: await api.adminToken() })).body.results.map((permission: { name: string }) => permission.name)
    const required = Object.values(operations).flatMap((operation) => 'permission' in operation.config.access ? [operation.config.access.permission] : [])
    t.ok(required.length > 0)
    for (const permission of new Set(required)) t.ok(known.includes(permission), permission)
  })
})

onEachDatabase('the moderator role', async (t, kind) => {
  t.test('a moderator can search users and read another user', async (t) => {
    const api = await build(t, kind)
    const { user: moderator, token } = await createUserWithToken(api)
    await giveRole(api, moderator.id, 'moderator')
    const { user: other } = await createUserWithToken(api, { username: 'bob', email: 'bob@example.com' })
    const search = await api.request({ url: '/api/v2/user/search/', token })
    t.equal(search.statusCode, 200)
    t.ok(search.body.results.some((found: { id: number }) => found.id === other.id))
    const read = await api.request({ url: `/api/v2/user/${String(other.id)}/`, token })
    t.equal(read.statusCode, 200)
    t.equal(read.body.username, 'bob')
  })

  t.test('a moderator can neither change another user nor create accounts', async (t) => {
    const api = await build(t, kind)
    const { user: moderator, token } = await createUserWithToken(api)
    await giveRole(api, moderator.id, 'moderator')
    const { user: other } = await createUserWithToken(api, { username: 'bob', email: 'bob@example.com', real_name: 'Bob' })
    const patched = await api.request({ method: 'PATCH', url: `/api/v2/user/${String(other.id)}/`, token, payload: { real_name: 'Robert' } })
    t.equal(patched.statusCode, 403)
    t.match(patched.body.message, /edit-other-user-info/)
    t.equal((await api.app.knex('users').where({ id: other.id }).first('real_name')).real_name, 'Bob')
    const created = await createAccount(api, token, 'carol')
    t.equal(created.statusCode, 403)
    t.match(created.body.message, /create-user/)
  })

  t.test('a plain user can read neither the search nor another user', async (t) => {
    const api = await build(t, kind)
    const { token } = await createUserWithToken(api)
    const { user: other } = await createUserWithToken(api, { username: 'bob', email: 'bob@example.com' })
    t.equal((await api.request({ url: '/api/v2/user/search/', token })).statusCode, 403)
    t.equal((await api.request({ url: `/api/v2/user/${String(other.id)}/`, token })).statusCode, 403)
  })
})

onEachDatabase('the admin role', async (t, kind) => {
  t.test("the admin's token is let in by every protected operation", async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const reads = [
      '/api/v2/role/', '/api/v2/permission/', '/api/v2/custom_field/', '/api/v2/invite_code/', '/api/v2/promo_code/',
      '/api/v2/user/search/', '/api/v2/account/search/?username=admin'
    ]
    for (const url of reads) t.equal((await api.request({ url, token })).statusCode, 200, url)
    const { user } = await createUserWithToken(api, { real_name: 'Jane' })
    const writes = [
      { method: 'POST' as const, url: CREATE, payload: newAccount({ username: 'bob', email: 'bob@example.com' }), status: 201 },
      { method: 'PATCH' as const, url: `/api/v2/user/${String(user.id)}/`, payload: { real_name: 'Janet' }, status: 200 },
      { method: 'POST' as const, url: '/api/v2/custom_field/', payload: { name: 'company', label: 'Company' }, status: 201 },
      { method: 'POST' as const, url: '/api/v2/role/', payload: { name: 'support' }, status: 201 },
      { method: 'PATCH' as const, url: '/api/v2/role/support/', payload: { permissions: ['create-user'] }, status: 200 }
    ]
    for (const { status, ...request } of writes) t.equal((await api.request({ ...request, token })).statusCode, status, request.url)
  })
})

onEachDatabase('roles in tokens', async (t, kind) => {
  t.test("a token issued by /oauth/token/ carries the user's roles in its payload", async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    t.match(payloadOf(token), { sub: String(user.id), username: 'jane_doe', roles: ['user'] })
    await giveRole(api, user.id, 'moderator')
    const fresh = await api.tokenFor('jane_doe', newAccount().password as string)
    t.strictSame(payloadOf(fresh).roles, ['moderator', 'user'])
    t.strictSame(payloadOf(await api.adminToken()).roles, ['admin', 'user'])
  })
})
