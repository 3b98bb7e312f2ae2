import { BUILT_IN_RESERVED_USERNAMES } from '../services/reserved-usernames.js'
import { ADMIN, build, newAccount, onEachDatabase, type TestApp } from './helper.js'

const CREATE = '/api/v2/account/create/'

async function create (api: TestApp, username: string) {
  return await api.request({ method: 'POST', url: CREATE, token: await api.adminToken(), payload: newAccount({ username }) })
}

async function rowCount (api: TestApp, table: string): Promise<number> {
  const [row] = await api.app.knex(table).count<Array<{ count: number | string }>>({ count: '*' })
  return Number(row?.count)
}

async function rolesOf (api: TestApp, username: string): Promise<string[]> {
  return await api.app.knex('user_roles')
    .join('users', 'users.id', 'user_roles.user_id')
    .join('roles', 'roles.id', 'user_roles.role_id')
    .where('users.username', username)
    .orderBy('roles.name')
    .pluck('roles.name')
}

onEachDatabase('reserved usernames', async (t, kind) => {
  t.test('refuses a built-in reserved username in any case with 400 username_reserved', async (t) => {
    const api = await build(t, kind)
    for (const username of ['Admin', 'ROOT', 'here']) {
      const response = await create(api, username)
      t.equal(response.statusCode, 400, username)
      t.match(response.body, { code: 'username_reserved', field: 'username' }, username)
    }
  })

  t.test('refuses every name of the built-in list', async (t) => {
    const api = await build(t, kind)
    for (const username of BUILT_IN_RESERVED_USERNAMES) {
      const response = await create(api, username.toUpperCase())
      t.equal(response.body.code, 'username_reserved', username)
    }
  })

  t.test('writes nothing when it refuses a reserved username', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const tables = ['users', 'user_roles', 'audit_log', 'outbox_events']
    const before = await Promise.all(tables.map(async (table) => await rowCount(api, table)))
    const response = await api.request({ method: 'POST', url: CREATE, token, payload: newAccount({ username: 'Support' }) })
    t.equal(response.statusCode, 400)
    t.strictSame(await Promise.all(tables.map(async (table) => await rowCount(api, table))), before)
  })

  t.test('accepts a name that merely contains a reserved word', async (t) => {
    const api = await build(t, kind)
    for (const [index, username] of ['admin2', 'the_root', 'here-and-now'].entries()) {
      const response = await api.request({
        method: 'POST', url: CREATE, token: await api.adminToken(), payload: newAccount({ username, email: `user${index}@example.com` })
      })
      t.equal(response.statusCode, 201, username)
      t.equal(response.body.username, username)
    }
  })

  t.test('refuses the names of RESERVED_USERNAMES in any case', async (t) => {
    const api = await build(t, kind, { env: { RESERVED_USERNAMES: ' ceo , Ops-Team,' } })
    for (const username of ['ceo', 'CEO', 'ops-team']) {
      const response = await create(api, username)
      t.equal(response.statusCode, 400, username)
      t.match(response.body, { code: 'username_reserved', field: 'username' }, username)
    }
  })

  t.test('keeps refusing the built-in names when RESERVED_USERNAMES is set', async (t) => {
    const api = await build(t, kind, { env: { RESERVED_USERNAMES: 'ceo' } })
    t.equal((await create(api, 'support')).body.code, 'username_reserved')
  })

  t.test('accepts a name that RESERVED_USERNAMES does not list', async (t) => {
    const api = await build(t, kind)
    t.equal((await create(api, 'ceo')).statusCode, 201)
  })

  t.test('still creates the first admin as admin', async (t) => {
    const api = await build(t, kind)
    t.equal(ADMIN.username, 'admin')
    t.strictSame(await rolesOf(api, 'admin'), ['admin', 'user'])
    t.type(await api.adminToken(), 'string')
  })

  t.test('creates the first admin under a name RESERVED_USERNAMES reserves', async (t) => {
    const api = await build(t, kind, { env: { RESERVED_USERNAMES: 'boss', ADMIN_USERNAME: 'boss' } })
    t.strictSame(await rolesOf(api, 'boss'), ['admin', 'user'])
    t.type(await api.tokenFor('boss', ADMIN.password), 'string')
  })
})
