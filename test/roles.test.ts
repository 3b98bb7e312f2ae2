import { build, createUserWithToken, giveRole, onEachDatabase, type TestApp } from './helper.js'

const ROLES = '/api/v2/role/'
const PERMISSIONS = '/api/v2/permission/'
const roleUrl = (name: string): string => `${ROLES}${name}/`

const ALL_PERMISSIONS = [
  'assign-admin-role', 'assign-roles', 'create-personal-access-tokens', 'create-user', 'delete-user', 'edit-other-user-active-status', 'edit-other-user-info', 'edit-other-user-password', 'link-user-identities',
  'manage-clients', 'manage-custom-fields', 'manage-invite-codes', 'manage-preferences', 'manage-promo-codes', 'manage-roles', 'manage-webhooks', 'send-mail', 'view-audit-log', 'view-full-other-user-info', 'view-user-administration'
]

async function createRole (api: TestApp, payload: Record<string, unknown>) {
  return await api.request({ method: 'POST', url: ROLES, token: await api.adminToken(), payload })
}

async function updateRole (api: TestApp, name: string, payload: Record<string, unknown>) {
  return await api.request({ method: 'PATCH', url: roleUrl(name), token: await api.adminToken(), payload })
}

async function listRoles (api: TestApp) {
  return await api.request({ url: ROLES, token: await api.adminToken() })
}

// What a refused request must leave as it was.
async function snapshot (api: TestApp): Promise<unknown> {
  return {
    roles: await api.app.knex('roles').orderBy('id').select('id', 'name', 'description'),
    grants: await api.app.knex('role_permissions').orderBy(['role_id', 'permission']).select('role_id', 'permission')
  }
}

onEachDatabase('listing roles and permissions', async (t, kind) => {
  t.test('lists every role by name with its permissions by name, only admin protected', async (t) => {
    const api = await build(t, kind)
    const response = await listRoles(api)
    t.equal(response.statusCode, 200)
    t.match(response.body, { count: 4, next: null, previous: null })
    t.strictSame(response.body.results.map((role: { name: string }) => role.name), ['admin', 'bot', 'moderator', 'user'])
    t.strictSame(response.body.results[0], { name: 'admin', description: 'Administrators: every permission.', permissions: ALL_PERMISSIONS, protected: true })
    t.strictSame(response.body.results[2], {
      name: 'moderator', description: 'Community moderators.', permissions: ['view-full-other-user-info', 'view-user-administration'], protected: false
    })
    t.strictSame(response.body.results.map((role: { protected: boolean }) => role.protected), [true, false, false, false])
  })

  t.test('lists every permission by name, with its description', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ url: PERMISSIONS, token: await api.adminToken() })
    t.equal(response.statusCode, 200)
    t.match(response.body, { count: ALL_PERMISSIONS.length, next: null, previous: null })
    t.strictSame(response.body.results.map((permission: { name: string }) => permission.name), ALL_PERMISSIONS)
    t.match(response.body.results.find((permission: { name: string }) => permission.name === 'create-user'), { description: 'Create accounts.' })
  })
})

onEachDatabase('creating roles', async (t, kind) => {
  t.test('adds a role with its permissions and answers 201 with it, as the list then shows it', async (t) => {
    const api = await build(t, kind)
    const response = await createRole(api, { name: 'support', description: 'The support team', permissions: ['view-user-administration', 'create-user'] })
    t.equal(response.statusCode, 201)
    t.strictSame(response.body, { name: 'support', description: 'The support team', permissions: ['create-user', 'view-user-administration'], protected: false })
    const listed = (await listRoles(api)).body.results.find((role: { name: string }) => role.name === 'support')
    t.strictSame(listed, response.body)
  })

  t.test('adds a role with no description and no permissions by default', async (t) => {
    const api = await build(t, kind)
    const response = await createRole(api, { name: 'guest' })
    t.equal(response.statusCode, 201)
    t.strictSame(response.body, { name: 'guest', description: '', permissions: [], protected: false })
  })

  t.test('stores a permission given twice once', async (t) => {
    const api = await build(t, kind)
    const response = await createRole(api, { name: 'support', permissions: ['create-user', 'create-user'] })
    t.equal(response.statusCode, 201)
    t.strictSame(response.body.permissions, ['create-user'])
    const role = await api.app.knex('roles').where({ name: 'support' }).first('id')
    t.equal((await api.app.knex('role_permissions').where({ role_id: role.id }).select('permission')).length, 1)
  })

  t.test('refuses a name already taken with 409 role_exists and changes nothing', async (t) => {
    const api = await build(t, kind)
    await createRole(api, { name: 'support', permissions: ['create-user'] })
    const before = await snapshot(api)
    for (const name of ['support', 'admin']) {
      const response = await createRole(api, { name, permissions: ['manage-roles'] })
      t.equal(response.statusCode, 409, name)
      t.match(response.body, { code: 'role_exists', field: 'name' }, name)
    }
    t.strictSame(await snapshot(api), before)
  })

  t.test('refuses a name taken in another case with 409 on every database', async (t) => {
    const api = await build(t, kind)
    // The contract only lets lower-case names in; a role stored otherwise still blocks its name.
    await api.app.knex('roles').insert({ name: 'Support', description: '' })
    const before = await snapshot(api)
    const response = await createRole(api, { name: 'support' })
    t.equal(response.statusCode, 409)
    t.match(response.body, { code: 'role_exists', field: 'name' })
    t.strictSame(await snapshot(api), before)
  })

  t.test('refuses a name that is not lower case, such as Admin, naming the field', async (t) => {
    const api = await build(t, kind)
    const before = await snapshot(api)
    for (const name of ['Admin', 'SUPPORT', '1st', 'has space', '']) {
      const response = await createRole(api, { name })
      t.equal(response.statusCode, 400, name)
      t.match(response.body, { code: 'invalid_field', field: 'name' }, name)
    }
    t.strictSame(await snapshot(api), before)
  })

  t.test('of parallel creates of one name exactly one succeeds, the others get 409', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const responses = await Promise.all(Array.from({ length: 20 }, async () =>
      await api.request({ method: 'POST', url: ROLES, token, payload: { name: 'racers', permissions: ['create-user'] } })))
    t.equal(responses.filter((response) => response.statusCode === 201).length, 1)
    t.ok(responses.filter((response) => response.statusCode !== 201).every((response) => response.statusCode === 409 && response.body.code === 'role_exists'))
    const roles = await api.app.knex('roles').where({ name: 'racers' }).select('id')
    t.equal(roles.length, 1)
    t.equal((await api.app.knex('role_permissions').where({ role_id: roles[0].id }).select('permission')).length, 1)
  })

  t.test('refuses an unknown permission naming its place in the list, and adds nothing', async (t) => {
    const api = await build(t, kind)
    const before = await snapshot(api)
    const response = await createRole(api, { name: 'support', permissions: ['create-user', 'fly', 'create-user'] })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'unknown_permission', field: 'permissions[1]' })
    t.match(response.body.message, /fly/)
    t.strictSame(await snapshot(api), before)
  })

  t.test('refuses a permission that is not a permission name, naming its place in the list', async (t) => {
    const api = await build(t, kind)
    const response = await createRole(api, { name: 'support', permissions: ['Create_User'] })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'invalid_field', field: 'permissions[0]' })
  })
})

onEachDatabase('changing roles', async (t, kind) => {
  t.test('changes the description and keeps the permissions', async (t) => {
    const api = await build(t, kind)
    await createRole(api, { name: 'support', description: 'Old', permissions: ['create-user'] })
    const response = await updateRole(api, 'support', { description: 'New' })
    t.equal(response.statusCode, 200)
    t.strictSame(response.body, { name: 'support', description: 'New', permissions: ['create-user'], protected: false })
  })

  t.test('replaces the permissions and keeps the description', async (t) => {
    const api = await build(t, kind)
    await createRole(api, { name: 'support', description: 'Help', permissions: ['create-user', 'manage-roles'] })
    const response = await updateRole(api, 'support', { permissions: ['view-user-administration', 'manage-roles', 'manage-roles'] })
    t.equal(response.statusCode, 200)
    t.strictSame(response.body, { name: 'support', description: 'Help', permissions: ['manage-roles', 'view-user-administration'], protected: false })
    t.strictSame((await listRoles(api)).body.results.find((role: { name: string }) => role.name === 'support'), response.body)
  })

  t.test('an empty list of permissions takes every permission away', async (t) => {
    const api = await build(t, kind)
    const response = await updateRole(api, 'moderator', { permissions: [] })
    t.equal(response.statusCode, 200)
    t.strictSame(response.body.permissions, [])
    const role = await api.app.knex('roles').where({ name: 'moderator' }).first('id')
    t.equal((await api.app.knex('role_permissions').where({ role_id: role.id }).select('permission')).length, 0)
  })

  t.test('changes both at once', async (t) => {
    const api = await build(t, kind)
    const response = await updateRole(api, 'bot', { description: 'Programs', permissions: ['create-user'] })
    t.strictSame(response.body, { name: 'bot', description: 'Programs', permissions: ['create-user'], protected: false })
  })

  t.test('refuses to change the admin role with 400 protected_role, changing nothing', async (t) => {
    const api = await build(t, kind)
    const before = await snapshot(api)
    for (const payload of [{ permissions: [] }, { description: 'Nobody' }]) {
      const response = await updateRole(api, 'admin', payload)
      t.equal(response.statusCode, 400)
      t.match(response.body, { code: 'protected_role', field: 'name' })
    }
    t.strictSame(await snapshot(api), before)
  })

  t.test('answers 404 not_found for a role that does not exist', async (t) => {
    const api = await build(t, kind)
    const response = await updateRole(api, 'nobody', { description: 'x' })
    t.equal(response.statusCode, 404)
    t.equal(response.body.code, 'not_found')
  })

  t.test('refuses an unknown permission naming its place in the list, and changes nothing', async (t) => {
    const api = await build(t, kind)
    await createRole(api, { name: 'support', description: 'Help', permissions: ['create-user'] })
    const before = await snapshot(api)
    const response = await updateRole(api, 'support', { description: 'Changed', permissions: ['manage-roles', 'create-user', 'fly'] })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'unknown_permission', field: 'permissions[2]' })
    t.strictSame(await snapshot(api), before)
  })

  t.test('refuses an empty change and a change of the name', async (t) => {
    const api = await build(t, kind)
    await createRole(api, { name: 'support' })
    const empty = await updateRole(api, 'support', {})
    t.equal(empty.statusCode, 400)
    t.equal(empty.body.code, 'invalid_body')
    const rename = await updateRole(api, 'support', { name: 'helpdesk' })
    t.match(rename.body, { code: 'unknown_field', field: 'name' })
  })
})

onEachDatabase('who may manage roles', async (t, kind) => {
  t.test('every operation needs a token', async (t) => {
    const api = await build(t, kind)
    t.equal((await api.request({ url: ROLES })).statusCode, 401)
    t.equal((await api.request({ method: 'POST', url: ROLES, payload: { name: 'support' } })).statusCode, 401)
    t.equal((await api.request({ method: 'PATCH', url: roleUrl('bot'), payload: { description: 'x' } })).statusCode, 401)
    t.equal((await api.request({ url: PERMISSIONS })).statusCode, 401)
  })

  t.test('changing a role takes every permission it grants before the change, as well as after', async (t) => {
    const api = await build(t, kind)
    await createRole(api, { name: 'role_manager', permissions: ['manage-roles'] })
    await createRole(api, { name: 'support', description: 'Help', permissions: ['create-user', 'manage-roles'] })
    const { user, token } = await createUserWithToken(api)
    await giveRole(api, user.id, 'role_manager')
    const before = await snapshot(api)
    for (const payload of [{ permissions: ['manage-roles'] }, { permissions: [] }, { description: 'Taken over' }]) {
      const response = await api.request({ method: 'PATCH', url: roleUrl('support'), token, payload })
      t.equal(response.statusCode, 403, JSON.stringify(payload))
      t.strictSame(response.body, { statusCode: 403, code: 'forbidden', message: 'The support role grants the create-user permission, which only a user who has it can change' })
    }
    t.strictSame(await snapshot(api), before, 'nothing changed')
    await createRole(api, { name: 'helpers', permissions: ['manage-roles'] })
    const allowed = await api.request({ method: 'PATCH', url: roleUrl('helpers'), token, payload: { permissions: [], description: 'Mine' } })
    t.equal(allowed.statusCode, 200, 'a role granting only what the caller holds can change')
  })

  t.test('a user without manage-roles gets 403 everywhere and changes nothing', async (t) => {
    const api = await build(t, kind)
    const { token } = await createUserWithToken(api)
    const before = await snapshot(api)
    const responses = [
      await api.request({ url: ROLES, token }),
      await api.request({ method: 'POST', url: ROLES, token, payload: { name: 'support', permissions: ['manage-roles'] } }),
      await api.request({ method: 'PATCH', url: roleUrl('user'), token, payload: { permissions: ['manage-roles'] } }),
      await api.request({ url: PERMISSIONS, token })
    ]
    for (const response of responses) {
      t.equal(response.statusCode, 403)
      t.match(response.body, { code: 'forbidden', message: /manage-roles/ })
    }
    t.strictSame(await snapshot(api), before)
  })
})
