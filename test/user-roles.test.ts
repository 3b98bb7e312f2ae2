// Setting the roles of an existing user (PUT /api/v2/user/{id}/roles/), under the grant rules of
// account creation.
import { type TestApp, build, createUserWithToken, giveRole, onEachDatabase } from './helper.js'

async function setRoles (api: TestApp, token: string, id: number, roles: unknown): Promise<Awaited<ReturnType<TestApp['request']>>> {
  return await api.request({ method: 'PUT', url: `/api/v2/user/${id}/roles/`, token, payload: { roles } })
}

async function rolesOf (api: TestApp, id: number): Promise<string[]> {
  return (await api.request({ url: `/api/v2/user/${id}/`, token: await api.adminToken() })).body.roles
}

onEachDatabase('setting a user\'s roles', async (t, kind) => {
  t.test('an admin replaces a user\'s roles: the user, its event and audit entry, and the new permissions at once', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    t.equal((await api.request({ url: '/api/v2/user/search/', token })).statusCode, 403, 'no view-user-administration yet')
    const set = await setRoles(api, await api.adminToken(), user.id, ['moderator', 'moderator'])
    t.equal(set.statusCode, 200)
    t.match(set.body, { id: user.id, username: 'jane_doe', roles: ['moderator'] })
    t.equal((await api.request({ url: '/api/v2/user/search/', token })).statusCode, 200, 'the user\'s token has the new permission at once')
    const events = await api.app.knex('outbox_events').where({ type: 'user.roles_changed' }).select<Array<{ payload: string }>>('payload')
    t.strictSame(events.map((event) => JSON.parse(event.payload)), [{ id: user.id, added: ['moderator'], removed: ['user'] }])
    const audit = await api.app.knex('audit_log').where({ action: 'user.roles_changed' }).select('actor_id', 'subject_id')
    t.strictSame(audit.map((entry) => ({ ...entry })), [{ actor_id: 1, subject_id: user.id }])
    t.equal((await setRoles(api, await api.adminToken(), user.id, ['moderator'])).statusCode, 200, 'the same roles again')
    t.equal(await api.app.knex('outbox_events').where({ type: 'user.roles_changed' }).count<Array<{ n: number }>>({ n: '*' }).then(([row]) => Number(row?.n)), 1, 'change nothing')
  })

  t.test('an unknown role is a 400 naming it, and changes nothing', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const refused = await setRoles(api, await api.adminToken(), user.id, ['user', 'wizard'])
    t.equal(refused.statusCode, 400)
    t.strictSame(refused.body, { statusCode: 400, code: 'unknown_role', field: 'roles[1]', message: 'wizard is not a role' })
    t.strictSame(await rolesOf(api, user.id), ['user'])
    t.equal((await setRoles(api, await api.adminToken(), user.id, 'user')).statusCode, 400, 'roles is a list')
    t.equal((await setRoles(api, await api.adminToken(), 99, ['user'])).statusCode, 404)
  })

  t.test('one grants only roles whose permissions one holds, and acts only on users who hold no more', async (t) => {
    const api = await build(t, kind)
    const admin = await api.adminToken()
    await api.request({ method: 'POST', url: '/api/v2/role/', token: admin, payload: { name: 'role-manager', permissions: ['assign-roles', 'view-user-administration'] } })
    const { user: manager, token } = await createUserWithToken(api, { username: 'manager', email: 'manager@example.com' })
    const { user } = await createUserWithToken(api)
    const without = await setRoles(api, token, user.id, ['bot'])
    t.equal(without.statusCode, 403)
    t.equal(without.body.message, 'This operation requires the assign-roles permission')
    await giveRole(api, manager.id, 'role-manager')
    t.equal((await setRoles(api, token, user.id, ['user', 'bot'])).statusCode, 200, 'a role granting nothing')
    const moderator = await setRoles(api, token, user.id, ['moderator'])
    t.equal(moderator.statusCode, 403)
    t.equal(moderator.body.message, 'The moderator role grants the view-full-other-user-info permission, which only a user who has it can hand out')
    const asAdmin = await setRoles(api, token, user.id, ['admin'])
    t.equal(asAdmin.body.message, 'Granting the admin role requires the assign-admin-role permission')
    t.equal((await setRoles(api, token, 1, ['user'])).statusCode, 403, 'nobody takes roles from one who can do more')
    t.strictSame(await rolesOf(api, user.id), ['bot', 'user'])
    t.strictSame(await rolesOf(api, 1), ['admin', 'user'])
  })

  t.test('the last active admin keeps the admin role', async (t) => {
    const api = await build(t, kind)
    const admin = await api.adminToken()
    const last = await setRoles(api, admin, 1, ['user'])
    t.equal(last.statusCode, 403)
    t.equal(last.body.code, 'last_admin')
    const { user, token } = await createUserWithToken(api)
    t.match((await setRoles(api, admin, user.id, ['admin'])).body, { roles: ['admin'] })
    t.equal((await setRoles(api, admin, 1, ['user'])).statusCode, 200, 'with another admin, one may step down')
    t.strictSame((await api.request({ url: '/api/v2/user/1/', token })).body.roles, ['user'])
    t.equal((await setRoles(api, token, user.id, ['user'])).body.code, 'last_admin', 'and then the other is the last')
  })
})
