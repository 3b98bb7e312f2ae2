// Blocking and unblocking users: by SelfCommunity's moderation call (through its published client,
// over real HTTP) and under the grant rules; a blocked user's tokens stop working at once,
// everywhere, and their refresh tokens end.
import {
  ADMIN, type TestApp, basicAuthorization, build, clientToken, createClient, createUserWithToken, giveRole, onEachDatabase, rowCount, selfCommunity, selfCommunityTarget
} from './helper.js'
import { rocketChatHeaders } from './rocket-chat-helper.js'

const JANE = { username: 'jane_doe', email: 'jane@example.com', password: 'Corr3ct-Horse!' }

async function moderate (api: TestApp, token: string, id: number, payload: Record<string, unknown>, query = ''): Promise<Awaited<ReturnType<TestApp['request']>>> {
  return await api.request({ method: 'PATCH', url: `/api/v2/moderation/user/${id}/${query}`, token, payload })
}

async function passwordGrant (api: TestApp, username: string, password: string): Promise<Awaited<ReturnType<TestApp['request']>>> {
  return await api.request({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'password', username, password } })
}

async function eventsOf (api: TestApp, type: string): Promise<unknown[]> {
  const rows = await api.app.knex('outbox_events').where({ type }).orderBy('id').select<Array<{ payload: string }>>('payload')
  return rows.map((row) => JSON.parse(row.payload))
}

onEachDatabase('blocking a user', async (t, kind) => {
  t.test('SelfCommunity\'s client blocks and unblocks a user, each with its event and audit entry', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const target = await selfCommunityTarget(api, await api.adminToken())
    await selfCommunity.ModerationService.moderateASpecificUser(user.id, 'b' as never, undefined, undefined, target)
    t.equal((await api.request({ url: `/api/v2/user/${user.id}/`, token: await api.adminToken() })).body.status, 'b')
    t.equal((await passwordGrant(api, JANE.username, JANE.password)).statusCode, 400, 'a blocked user gets no token')
    await selfCommunity.ModerationService.moderateASpecificUser(user.id, 'a' as never, undefined, undefined, target)
    t.equal((await api.request({ url: `/api/v2/user/${user.id}/`, token: await api.adminToken() })).body.status, 'a')
    t.equal((await passwordGrant(api, JANE.username, JANE.password)).statusCode, 200, 'and unblocked, logs in again')
    t.match(await eventsOf(api, 'user.blocked'), [{ id: user.id, by: 1, at: String }])
    t.match(await eventsOf(api, 'user.unblocked'), [{ id: user.id, by: 1, at: String }])
    const audit = await api.app.knex('audit_log').whereIn('action', ['user.blocked', 'user.unblocked']).orderBy('id').select('action', 'actor_id', 'subject_id')
    t.strictSame(audit.map((entry) => ({ ...entry })), [
      { action: 'user.blocked', actor_id: 1, subject_id: user.id },
      { action: 'user.unblocked', actor_id: 1, subject_id: user.id }
    ])
  })

  t.test('a blocked user\'s access tokens stop working at once on v2, v1 and introspection, and their refresh tokens end', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const granted = (await passwordGrant(api, JANE.username, JANE.password)).body
    const v1Login = await api.request({ method: 'POST', url: '/api/v1/login', payload: { user: JANE.username, password: JANE.password } })
    const v1 = rocketChatHeaders({ userId: v1Login.body.data.userId, authToken: v1Login.body.data.authToken })
    const { client, secret } = await createClient(api)
    const introspect = async (): Promise<unknown> => (await api.request({
      method: 'POST', url: '/oauth/introspect/', headers: { authorization: basicAuthorization(client.client_id, secret) }, payload: { token: granted.access_token }
    })).body.active
    t.equal(await introspect(), true)
    t.equal((await api.request({ url: `/api/v1/users.info?userId=${user.id}`, headers: v1 })).statusCode, 200)

    t.equal((await moderate(api, await api.adminToken(), user.id, { status: 'b' })).statusCode, 204)
    t.equal((await api.request({ url: '/api/v2/user/me/', token: granted.access_token })).statusCode, 401, 'v2')
    t.equal((await api.request({ url: `/api/v1/users.info?userId=${user.id}`, headers: v1 })).statusCode, 401, 'v1')
    t.equal(await introspect(), false, 'introspection')
    t.equal(await rowCount(api, 'refresh_tokens', { user_id: user.id, revoked_at: null }), 0, 'no refresh token of theirs is left')

    await moderate(api, await api.adminToken(), user.id, { status: 'a' })
    const refreshed = await api.request({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'refresh_token', refresh_token: granted.refresh_token } })
    t.equal(refreshed.statusCode, 400, 'an unblock revives no refresh token')
    t.equal((await api.request({ url: '/api/v2/user/me/', token: granted.access_token })).statusCode, 401, 'nor the access tokens of its grant')
  })

  t.test('blocking takes edit-other-user-active-status and every permission of the user', async (t) => {
    const api = await build(t, kind)
    const { user: moderator, token } = await createUserWithToken(api, { username: 'mod', email: 'mod@example.com' })
    const { user } = await createUserWithToken(api)
    const without = await moderate(api, token, user.id, { status: 'b' })
    t.equal(without.statusCode, 403)
    t.equal(without.body.message, 'This operation requires the edit-other-user-active-status permission')
    const admin = await api.adminToken()
    const role = await api.request({ method: 'POST', url: '/api/v2/role/', token: admin, payload: { name: 'blocker', permissions: ['edit-other-user-active-status'] } })
    t.equal(role.statusCode, 201)
    await giveRole(api, moderator.id, 'blocker')
    t.equal((await moderate(api, token, user.id, { status: 'b' })).statusCode, 204, 'a user with fewer permissions')
    await giveRole(api, user.id, 'moderator')
    const stronger = await moderate(api, token, user.id, { status: 'a' })
    t.equal(stronger.statusCode, 403)
    t.equal(stronger.body.message, 'This user has the view-full-other-user-info permission, which you do not have')
    t.equal((await moderate(api, token, 1, { status: 'b' })).statusCode, 403, 'nor an admin')
    t.equal((await api.request({ url: `/api/v2/user/${user.id}/`, token: admin })).body.status, 'b', 'the refusals changed nothing')
  })

  t.test('nobody moderates themselves, and the last active admin is never blocked', async (t) => {
    const api = await build(t, kind)
    const admin = await api.adminToken()
    const self = await moderate(api, admin, 1, { status: 'b' })
    t.equal(self.statusCode, 403)
    t.equal(self.body.message, 'Nobody moderates themselves')
    // A service client with the admin role holds every permission, and is no admin user.
    const { client, secret } = await createClient(api)
    const clientAdmin = await clientToken(api, client.client_id, secret)
    const last = await moderate(api, clientAdmin, 1, { status: 'b' })
    t.equal(last.statusCode, 403)
    t.strictSame(last.body, { statusCode: 403, code: 'last_admin', message: 'Leaving the service without an active admin is not allowed' })
    t.equal((await api.request({ url: '/api/v2/user/me/', token: admin })).statusCode, 200, 'the last admin still works')
    const { user: second } = await createUserWithToken(api, { username: 'second', email: 'second@example.com' })
    await giveRole(api, second.id, 'admin')
    t.equal((await moderate(api, clientAdmin, 1, { status: 'b' })).statusCode, 204, 'with another active admin, it is allowed')
  })

  t.test('two admins blocking each other at once: one of them stays active', async (t) => {
    const api = await build(t, kind)
    const { user: second, token: secondToken } = await createUserWithToken(api, { username: 'second', email: 'second@example.com' })
    await giveRole(api, second.id, 'admin')
    const admin = await api.adminToken()
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all([moderate(api, admin, second.id, { status: 'b' }), moderate(api, secondToken, 1, { status: 'b' })])
      const codes = answers.map((answer) => answer.statusCode).sort()
      t.ok(codes.includes(204) && !codes.includes(500), `round ${round}: ${codes.join(', ')}`)
      t.equal(await api.app.knex('users').whereIn('id', [1, second.id]).where({ status: 'a' }).count<Array<{ n: number }>>({ n: '*' }).then(([row]) => Number(row?.n)), 1)
      const blocked = answers[0]?.statusCode === 204 ? second.id : 1
      // The one still active unblocks the other, for the next round (their tokens are kept valid).
      const activeToken = blocked === second.id ? admin : secondToken
      t.equal((await moderate(api, activeToken, blocked, { status: 'a' })).statusCode, 204)
    }
  })

  t.test('a block that ends by itself is refused, from the query or the body, and changes nothing', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const admin = await api.adminToken()
    for (const [payload, query] of [[{ status: 'b' }, '?days_blocked=3'], [{ status: 'b', days_blocked: '3' }, '']] as const) {
      const refused = await moderate(api, admin, user.id, payload, query)
      t.equal(refused.statusCode, 400)
      t.strictSame(refused.body, {
        statusCode: 400, code: 'unsupported_field', field: 'days_blocked', message: 'A block that ends by itself is not supported: block, and unblock later'
      })
    }
    t.equal((await moderate(api, admin, user.id, { status: 'x' })).statusCode, 400, 'an unknown status')
    t.equal((await api.request({ url: `/api/v2/user/${user.id}/`, token: admin })).body.status, 'a')
    t.equal((await moderate(api, admin, 99, { status: 'b' })).statusCode, 404, 'an unknown user')
    t.equal((await eventsOf(api, 'user.blocked')).length, 0)
  })

  t.test('blocking a blocked user changes nothing and writes no event', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const admin = await api.adminToken()
    await moderate(api, admin, user.id, { status: 'b' })
    t.equal((await moderate(api, admin, user.id, { status: 'b' })).statusCode, 204)
    t.equal((await eventsOf(api, 'user.blocked')).length, 1)
    t.notOk(api.logs.some((line) => line.includes(ADMIN.password)))
  })
})
