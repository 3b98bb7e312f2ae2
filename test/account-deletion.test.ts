// Deleting a user: soft by default (status d, personal data erased, username and email reserved
// unless released), hard with ?hard=1 (the row removed); by the user themselves or an admin, with
// SelfCommunity's client over real HTTP; and changes racing a deletion.
import {
  type TestApp, build, clientToken, createClient, createUserWithToken, giveRole, newAccount, onEachDatabase, rowCount, selfCommunity, selfCommunityTarget
} from './helper.js'
import { codeIn, startMailbox, withMail } from './smtp-mailbox.js'

const JANE = newAccount() as { username: string, email: string, password: string }
const NEW_PASSWORD = 'N3w-Passw0rd-Jane'

async function deleteUser (api: TestApp, token: string, id: number, query = ''): Promise<Awaited<ReturnType<TestApp['request']>>> {
  return await api.request({ method: 'DELETE', url: `/api/v2/user/${id}/${query}`, token })
}

async function passwordGrant (api: TestApp, username: string, password: string): Promise<Awaited<ReturnType<TestApp['request']>>> {
  return await api.request({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'password', username, password } })
}

async function createAccount (api: TestApp, overrides: Record<string, unknown> = {}): Promise<Awaited<ReturnType<TestApp['request']>>> {
  return await api.request({ method: 'POST', url: '/api/v2/account/create/', token: await api.adminToken(), payload: newAccount(overrides) })
}

async function releaseIdentities (api: TestApp): Promise<void> {
  const changed = await api.request({
    method: 'PATCH', url: '/api/v2/dynamic_preference/', token: await api.adminToken(), payload: { 'configurations.deleted_accounts_release_identity': true }
  })
  if (changed.statusCode !== 200) throw new Error(changed.text)
}

async function defineCompanyField (api: TestApp): Promise<void> {
  const defined = await api.request({ method: 'POST', url: '/api/v2/custom_field/', token: await api.adminToken(), payload: { name: 'company', label: 'Company' } })
  if (defined.statusCode !== 201) throw new Error(defined.text)
}

onEachDatabase('deleting a user softly', async (t, kind) => {
  t.test('SelfCommunity\'s client deletes a user: erased, unreadable, unsearchable, unable to log in, with its event and audit entry', async (t) => {
    const api = await build(t, kind)
    await defineCompanyField(api)
    const { user, token } = await createUserWithToken(api, { real_name: 'Jane Roe', company: 'ACME' })
    const admin = await api.adminToken()
    await selfCommunity.UserService.userDelete(user.id, undefined, await selfCommunityTarget(api, admin))
    t.equal((await api.request({ url: `/api/v2/user/${user.id}/`, token: admin })).statusCode, 404, 'reads')
    t.equal((await api.request({ url: `/api/v1/users.info?username=${JANE.username}`, token: admin })).statusCode, 400, 'v1 reads')
    t.equal((await api.request({ url: `/api/v2/user/search/?search=jane`, token: admin })).body.count, 0, 'search')
    t.equal((await api.request({ url: '/api/v2/user/me/', token })).statusCode, 401, 'their token')
    t.equal((await passwordGrant(api, JANE.username, JANE.password)).statusCode, 400, 'their password')
    const row = await api.app.knex('users').where({ id: user.id }).first('status', 'real_name', 'bio', 'username', 'email', 'password_hash')
    t.strictSame({ ...row }, { status: 'd', real_name: '', bio: null, username: JANE.username, email: JANE.email, password_hash: '!' }, 'erased, the identity kept')
    t.equal(await rowCount(api, 'user_custom_field_values', { user_id: user.id }), 0, 'custom-field values erased')
    const events = await api.app.knex('outbox_events').where({ type: 'user.deleted' }).select<Array<{ payload: string }>>('payload')
    t.match(events.map((event) => JSON.parse(event.payload)), [{ id: user.id, hard: false, at: String }])
    t.notMatch(events[0]?.payload, /jane/i, 'no personal data in the event')
    t.equal(await rowCount(api, 'audit_log', { action: 'user.deleted', actor_id: 1, subject_id: user.id }), 1)
  })

  t.test('the username and email stay reserved, and a second soft delete is a 400', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const admin = await api.adminToken()
    t.equal((await deleteUser(api, admin, user.id)).statusCode, 204)
    t.equal((await createAccount(api, { email: 'other@example.com' })).body.code, 'username_taken')
    t.equal((await createAccount(api, { username: 'other' })).body.code, 'email_taken')
    const again = await deleteUser(api, admin, user.id)
    t.equal(again.statusCode, 400)
    t.strictSame(again.body, { statusCode: 400, code: 'already_deleted', message: `User ${user.id} is already deleted` })
  })

  t.test('with deleted_accounts_release_identity on, the username and email are free again', async (t) => {
    const api = await build(t, kind)
    await releaseIdentities(api)
    const { user } = await createUserWithToken(api)
    t.equal((await deleteUser(api, await api.adminToken(), user.id)).statusCode, 204)
    const created = await createAccount(api)
    t.equal(created.statusCode, 201)
    t.not(created.body.id, user.id)
    t.equal((await passwordGrant(api, JANE.username, JANE.password)).statusCode, 200, 'the new account logs in')
  })

  t.test('a user deletes their own account, and their codes and waiting mails go with it', async (t) => {
    // No relay runs: the verification mail waits in the outbox.
    const mailbox = await startMailbox(t)
    const api = await build(t, kind, { env: { SMTP_URL: mailbox.url, MAIL_FROM: 'accounts@example.com' }, backgroundWorkers: false })
    const { user, token } = await createUserWithToken(api)
    t.equal(await rowCount(api, 'account_codes', { user_id: user.id }), 1, 'the verification code')
    t.equal(await rowCount(api, 'mail_outbox', { recipient: JANE.email, status: 'pending' }), 1)
    t.equal((await deleteUser(api, token, user.id)).statusCode, 204)
    t.equal(await rowCount(api, 'account_codes', { user_id: user.id }), 0)
    t.equal(await rowCount(api, 'mail_outbox', { recipient: JANE.email }), 0)
    t.equal(await rowCount(api, 'audit_log', { action: 'user.deleted', actor_id: user.id, subject_id: user.id }), 1)
  })

  t.test('a recovery code mailed before the deletion resets nothing after it', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const { user } = await createUserWithToken(api)
    await mailbox.next(JANE.email)
    await api.request({ method: 'POST', url: '/api/v2/account/recover/', payload: { email: JANE.email } })
    const code = codeIn(await mailbox.next(JANE.email))
    t.equal((await deleteUser(api, await api.adminToken(), user.id)).statusCode, 204)
    const reset = await api.request({ method: 'POST', url: '/api/v2/account/reset/', payload: { validation_code: code, password: NEW_PASSWORD } })
    t.equal(reset.statusCode, 400)
    t.equal(reset.body.code, 'validation_code_invalid')
  })

  t.test('deleting another user takes delete-user and every permission they have; nobody deletes the last active admin', async (t) => {
    const api = await build(t, kind)
    const { user: other, token } = await createUserWithToken(api, { username: 'other', email: 'other@example.com' })
    const { user } = await createUserWithToken(api)
    const refused = await deleteUser(api, token, user.id)
    t.equal(refused.statusCode, 403)
    t.equal(refused.body.message, 'This operation requires the delete-user permission')
    const admin = await api.adminToken()
    await api.request({ method: 'POST', url: '/api/v2/role/', token: admin, payload: { name: 'deleter', permissions: ['delete-user'] } })
    await giveRole(api, other.id, 'deleter')
    t.equal((await deleteUser(api, token, 1)).statusCode, 403, 'not an admin')
    const last = await deleteUser(api, admin, 1)
    t.equal(last.statusCode, 403)
    t.equal(last.body.code, 'last_admin', 'not even the last admin themselves')
    const { client, secret } = await createClient(api)
    t.equal((await deleteUser(api, await clientToken(api, client.client_id, secret), 1, '?hard=1')).body.code, 'last_admin')
    t.equal((await deleteUser(api, token, user.id)).statusCode, 204)
    t.equal((await deleteUser(api, admin, 99)).statusCode, 404)
    t.equal((await api.request({ url: '/api/v2/user/me/', token: admin })).statusCode, 200)
  })
})

onEachDatabase('deleting a user hard', async (t, kind) => {
  t.test('?hard=1 removes the row, and what refers to it keeps working', async (t) => {
    const api = await build(t, kind)
    await defineCompanyField(api)
    const { user, token } = await createUserWithToken(api, { company: 'ACME' })
    // Something the user did, and something done to them, before.
    await api.request({ method: 'PATCH', url: `/api/v2/user/${user.id}/`, token, payload: { real_name: 'Jane' } })
    const admin = await api.adminToken()
    await selfCommunity.UserService.userDelete(user.id, 1, await selfCommunityTarget(api, admin))
    t.equal(await rowCount(api, 'users', { id: user.id }), 0)
    for (const table of ['user_roles', 'user_custom_field_values', 'refresh_tokens', 'account_codes']) {
      t.equal(await rowCount(api, table, { user_id: user.id }), 0, `nothing of it in ${table}`)
    }
    t.ok(await rowCount(api, 'audit_log', { action: 'user.updated' }) >= 1, 'the audit entries about it remain')
    t.equal(await rowCount(api, 'audit_log', { action: 'user.deleted', actor_id: 1 }), 1)
    const events = await api.app.knex('outbox_events').where({ type: 'user.deleted' }).select<Array<{ payload: string }>>('payload')
    t.match(events.map((event) => JSON.parse(event.payload)), [{ id: user.id, hard: true }])
    t.equal((await deleteUser(api, admin, user.id, '?hard=1')).statusCode, 404, 'then it is not found')
    t.equal((await createAccount(api)).statusCode, 201, 'its username and email are free')
  })

  t.test('a softly deleted user can be deleted hard, and a user may delete themselves hard', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const admin = await api.adminToken()
    await deleteUser(api, admin, user.id)
    t.equal((await deleteUser(api, admin, user.id, '?hard=1')).statusCode, 204)
    t.equal(await rowCount(api, 'users', { id: user.id }), 0)
    const { user: other, token } = await createUserWithToken(api, { username: 'other', email: 'other@example.com' })
    t.equal((await deleteUser(api, token, other.id, '?hard=1')).statusCode, 204)
    t.equal(await rowCount(api, 'users', { id: other.id }), 0)
    t.equal((await deleteUser(api, admin, user.id, '?hard=2')).statusCode, 400, 'hard is 0 or 1')
  })

  t.test('SelfCommunity\'s moderation deletes too: d softly, d with hard=1 and u hard', async (t) => {
    const api = await build(t, kind)
    const target = await selfCommunityTarget(api, await api.adminToken())
    const ids: number[] = []
    for (const name of ['soft', 'hard', 'unregistered']) ids.push((await createUserWithToken(api, { username: name, email: `${name}@example.com` })).user.id)
    const [soft, hard, unregistered] = ids as [number, number, number]
    await selfCommunity.ModerationService.moderateASpecificUser(soft, 'd' as never, undefined, undefined, target)
    await selfCommunity.ModerationService.moderateASpecificUser(hard, 'd' as never, undefined, 1, target)
    await selfCommunity.ModerationService.moderateASpecificUser(unregistered, 'u' as never, undefined, undefined, target)
    t.equal((await api.app.knex('users').where({ id: soft }).first('status')).status, 'd')
    t.equal(await rowCount(api, 'users', { id: hard }), 0)
    t.equal(await rowCount(api, 'users', { id: unregistered }), 0)
    const events = await api.app.knex('outbox_events').where({ type: 'user.deleted' }).orderBy('id').pluck<string[]>('payload')
    t.match(events.map((payload) => JSON.parse(payload)), [{ id: soft, hard: false }, { id: hard, hard: true }, { id: unregistered, hard: true }])
  })

  t.test('a service client has no own account to delete', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api)
    const refused = await api.request({
      method: 'POST', url: '/api/v1/users.deleteOwnAccount', token: await clientToken(api, client.client_id, secret), payload: { password: 'Anything-1' }
    })
    t.equal(refused.statusCode, 400)
    t.equal(refused.body.errorType, 'error-action-not-allowed')
  })
})

onEachDatabase('changes racing a deletion', async (t, kind) => {
  t.test('a PATCH racing a DELETE: never a deleted user with new data, never a 500', async (t) => {
    const api = await build(t, kind)
    await defineCompanyField(api)
    const admin = await api.adminToken()
    for (let round = 0; round < 6; round++) {
      const { user } = await createUserWithToken(api, { username: `racer${round}`, email: `racer${round}@example.com` })
      const [patched, deleted] = await Promise.all([
        api.request({ method: 'PATCH', url: `/api/v2/user/${user.id}/`, token: admin, payload: { real_name: 'New Name', company: 'New Co' } }),
        deleteUser(api, admin, user.id)
      ])
      t.equal(deleted.statusCode, 204)
      t.ok([200, 404].includes(patched.statusCode), `round ${round}: the PATCH answers ${patched.statusCode}`)
      const row = await api.app.knex('users').where({ id: user.id }).first('status', 'real_name')
      t.strictSame({ ...row }, { status: 'd', real_name: '' }, 'the deletion erased whatever came before it')
      t.equal(await rowCount(api, 'user_custom_field_values', { user_id: user.id }), 0)
    }
  })

  t.test('a password change racing a DELETE: never a deleted user with a password or a live token, never a 500', async (t) => {
    const api = await build(t, kind)
    const admin = await api.adminToken()
    for (let round = 0; round < 6; round++) {
      const username = `racer${round}`
      const { user, token } = await createUserWithToken(api, { username, email: `${username}@example.com` })
      const [changed, deleted] = await Promise.all([
        api.request({ method: 'PATCH', url: `/api/v2/user/${user.id}/change_password/`, token, payload: { password: JANE.password, new_password: NEW_PASSWORD } }),
        deleteUser(api, admin, user.id)
      ])
      t.equal(deleted.statusCode, 204)
      t.ok([204, 401, 404].includes(changed.statusCode), `round ${round}: the change answers ${changed.statusCode}`)
      const row = await api.app.knex('users').where({ id: user.id }).first('status', 'password_hash')
      t.strictSame({ ...row }, { status: 'd', password_hash: '!' })
      t.equal(await rowCount(api, 'refresh_tokens', { user_id: user.id, revoked_at: null }), 0, 'no live refresh token')
      t.equal((await passwordGrant(api, username, NEW_PASSWORD)).statusCode, 400)
      t.equal((await api.request({ url: '/api/v2/user/me/', token })).statusCode, 401)
    }
  })
})
