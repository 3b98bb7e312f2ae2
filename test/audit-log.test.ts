// The audit log as admins read it: every change's entry, newest first, filtered by who did it,
// to whom, what and when.
import { ADMIN, type ApiResponse, type TestApp, build, clientToken, createClient, createUserWithToken, giveRole, newAccount, onEachDatabase } from './helper.js'

const AUDIT = '/api/v2/audit/'

async function audit (api: TestApp, query = '', token?: string): Promise<ApiResponse> {
  return await api.request({ url: `${AUDIT}${query}`, token: token ?? await api.adminToken() })
}

async function adminId (api: TestApp): Promise<number> {
  return (await api.app.knex('users').where({ username: ADMIN.username }).first('id')).id
}

onEachDatabase('the audit log', async (t, kind) => {
  t.test('shows who did what to whom, newest first, a page at a time', async (t) => {
    const api = await build(t, kind)
    const { user: jane, token } = await createUserWithToken(api)
    const changed = await api.request({ method: 'PATCH', url: `/api/v2/user/${jane.id}/`, token, payload: { real_name: 'Jane Roe' } })
    t.equal(changed.statusCode, 200)
    const page = await audit(api, '?limit=1')
    t.equal(page.statusCode, 200)
    t.equal(page.body.count, 3, 'the first admin\'s creation, jane\'s, and her change')
    t.match(page.body.results, [{ action: 'user.updated', actor: { user_id: jane.id, client_id: null }, subject: { user_id: jane.id, client_id: null }, created_at: String }])
    t.equal(page.body.next, '/api/v2/audit/?limit=1&offset=1')
    const all = await audit(api)
    t.strictSame(all.body.results.map((entry: { action: string }) => entry.action), ['user.updated', 'account.create', 'account.create'])
    t.match(all.body.results[2], { actor: { user_id: null, client_id: null }, subject: { user_id: await adminId(api) } }, 'the service made the first admin')
  })

  t.test('filters by actor, subject and action; a service client by its client_id', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api)
    const serviceToken = await clientToken(api, client.client_id, secret)
    const created = await api.request({ method: 'POST', url: '/api/v2/account/create/', token: serviceToken, payload: newAccount() })
    t.equal(created.statusCode, 201)
    const byClient = await audit(api, `?actor=${client.client_id}`)
    t.match(byClient.body.results, [{ action: 'account.create', actor: { user_id: null, client_id: client.client_id }, subject: { user_id: created.body.id } }])
    t.equal(byClient.body.count, 1)
    const toClient = await audit(api, `?subject=${client.client_id}`)
    t.match(toClient.body.results, [{ action: 'client.create', actor: { user_id: await adminId(api) }, subject: { user_id: null, client_id: client.client_id } }])
    t.equal((await audit(api, `?subject=${String(created.body.id)}`)).body.count, 1)
    t.equal((await audit(api, `?actor=${await adminId(api)}&action=client.create`)).body.count, 1)
    t.equal((await audit(api, '?action=user.updated')).body.count, 0)
    t.equal((await audit(api, '?actor=cl_aaaaaaaaaaaaaaaaaaaaaaaa')).body.count, 0, 'an unknown client did nothing')
  })

  t.test('bounds the time: since included, until not', async (t) => {
    const api = await build(t, kind)
    await createUserWithToken(api)
    const rows = await api.app.knex('audit_log').orderBy('id').select('id')
    await api.app.knex('audit_log').where({ id: rows[0].id }).update({ created_at: '2026-01-01 00:00:00.000' })
    await api.app.knex('audit_log').where({ id: rows[1].id }).update({ created_at: '2026-02-01 00:00:00.000' })
    const ids = async (query: string): Promise<number[]> => (await audit(api, query)).body.results.map((entry: { id: number }) => entry.id)
    t.strictSame(await ids('?since=2026-02-01T00:00:00Z'), [rows[1].id])
    t.strictSame(await ids('?until=2026-02-01T00:00:00Z'), [rows[0].id])
    t.strictSame(await ids('?since=2025-12-31T23:00:00-02:00&until=2026-03-01T00:00:00Z'), [rows[1].id], 'offsets are read as such')
  })

  t.test('refuses a bad filter with a 400 naming it', async (t) => {
    const api = await build(t, kind)
    for (const [query, field] of [
      ['?actor=jane', 'actor'], ['?subject=0', 'subject'], ['?actor=cl_short', 'actor'], ['?action=User%20Update', 'action'],
      ['?since=yesterday', 'since'], ['?until=2026-13-01T00:00:00Z', 'until'], ['?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z', 'until'],
      ['?since=0999-12-31T00:00:00Z', 'since'], ['?limit=0', 'limit'], ['?who=admin', 'who']
    ] as const) {
      const refused = await audit(api, query)
      t.equal(refused.statusCode, 400, query)
      t.equal(refused.body.field, field, query)
    }
  })

  t.test('is for view-audit-log only, which admins have and moderators do not', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    t.equal((await audit(api, '', token)).statusCode, 403)
    await giveRole(api, user.id, 'moderator')
    const refused = await audit(api, '', await api.tokenFor('jane_doe', 'Corr3ct-Horse!'))
    t.equal(refused.statusCode, 403)
    t.match(refused.body.message, /view-audit-log/)
    t.equal((await api.request({ url: AUDIT })).statusCode, 401)
  })
})
