// Rocket.Chat's users.update and users.updateOwnBasicInfo, driven by its own REST client over
// real HTTP: the same changes, rules and refusals as PATCH /api/v2/user/{id}/.
import { createHash } from 'node:crypto'
import type { RestClient } from '@rocket.chat/api-client'
import { type TestApp, build, createUserWithToken, defineCustomField, makeMandatory, onEachDatabase, rowCount, userSnapshot, withoutRequestId } from './helper.js'
import { rocketChatClientFor } from './rocket-chat-helper.js'

const JANE = { username: 'jane_doe', password: 'Corr3ct-Horse!' }
const NEW_PASSWORD = 'N3w-Passw0rd-Jane'

// The client's typings require parameters its server treats as optional; these calls send only
// what Rocket.Chat's validators require.
async function update (client: RestClient, params: Record<string, unknown>): Promise<any> {
  return await client.post('/v1/users.update', params as never)
}

async function updateOwn (client: RestClient, params: Record<string, unknown>): Promise<any> {
  return await client.post('/v1/users.updateOwnBasicInfo', params as never)
}

// The status and body (without its request id) of the Response a refused call rejects with.
async function refusal (call: Promise<unknown>): Promise<{ status: number, body: any }> {
  const response = await call.then(() => { throw new Error('The call went through where it should have been refused') }, (error: unknown) => {
    if (error instanceof Response) return error
    throw error
  })
  return { status: response.status, body: withoutRequestId(response.url, response.headers.get('x-request-id'), await response.json()) }
}

async function passwordGrant (api: TestApp, password: string): Promise<number> {
  const response = await api.request({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'password', username: JANE.username, password } })
  return response.statusCode
}

onEachDatabase('users.update', async (t, kind) => {
  t.test('changes name, username, bio, nickname, statusText and custom fields, and answers the user', async (t) => {
    const api = await build(t, kind)
    await defineCustomField(api, { name: 'company', label: 'Company' })
    const { user } = await createUserWithToken(api, { real_name: 'Jane Doe' })
    const admin = await rocketChatClientFor(api)
    const answer = await update(admin, {
      userId: String(user.id),
      data: { name: 'Jane Roe', username: 'jane_roe', bio: 'Climbs things.', nickname: 'JR', statusText: 'Away', customFields: { company: 'ACME' }, email: null }
    })
    t.equal(answer.success, true)
    t.match(answer.user, { _id: String(user.id), name: 'Jane Roe', username: 'jane_roe', bio: 'Climbs things.', nickname: 'JR', statusText: 'Away', customFields: { company: 'ACME' } })
    const v2 = await api.request({ url: `/api/v2/user/${user.id}/`, token: await api.adminToken() })
    t.match(v2.body, { real_name: 'Jane Roe', username: 'jane_roe', bio: 'Climbs things.', company: 'ACME' }, 'the same user v2 shows')
    const [event] = await api.app.knex('outbox_events').where({ type: 'user.updated' }).pluck('payload')
    t.strictSame(JSON.parse(event).changed, ['username', 'real_name', 'bio', 'nickname', 'statusText', 'company'])
  })

  t.test('changes only what data names', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api, { real_name: 'Jane Doe' })
    const admin = await rocketChatClientFor(api)
    await update(admin, { userId: String(user.id), data: { bio: 'Climbs things.' } })
    const answer = await update(admin, { userId: String(user.id), data: { statusText: 'Away' } })
    t.match(answer.user, { name: 'Jane Doe', username: 'jane_doe', bio: 'Climbs things.', statusText: 'Away' })
  })

  t.test('lets a user change themselves, and refuses them another user with error-action-not-allowed', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const { user: other } = await createUserWithToken(api, { username: 'member', email: 'member@example.com' })
    const jane = await rocketChatClientFor(api, JANE.username, JANE.password)
    t.equal((await update(jane, { userId: String(user.id), data: { name: 'Me' } })).user.name, 'Me')
    const before = await userSnapshot(api, other.id)
    const refused = await refusal(update(jane, { userId: String(other.id), data: { name: 'Hijacked' } }))
    t.equal(refused.status, 400)
    t.equal(refused.body.errorType, 'error-action-not-allowed')
    t.strictSame(await userSnapshot(api, other.id), before)
  })

  t.test('answers an unknown userId with error-invalid-user', async (t) => {
    const api = await build(t, kind)
    const admin = await rocketChatClientFor(api)
    for (const userId of ['9999', 'BnRGqdMyoAPLFswQn']) {
      const refused = await refusal(update(admin, { userId, data: { name: 'Nobody' } }))
      t.strictSame(refused, { status: 400, body: { success: false, error: 'User not found. [error-invalid-user]', errorType: 'error-invalid-user', details: { field: 'userId' } } }, userId)
    }
  })

  t.test('refuses what v2 refuses, with Rocket.Chat\'s errorTypes, naming the field', async (t) => {
    const api = await build(t, kind)
    await defineCustomField(api, { name: 'age', label: 'Age', type: 'integer' })
    const { user } = await createUserWithToken(api)
    await createUserWithToken(api, { username: 'Member', email: 'member@example.com' })
    const admin = await rocketChatClientFor(api)
    const before = await userSnapshot(api, user.id)
    for (const [data, errorType, field] of [
      [{ username: 'MEMBER' }, 'error-field-unavailable', 'username'],
      [{ username: 'support' }, 'error-blocked-username', 'username'],
      [{ username: 'jane doe' }, 'error-input-is-not-a-valid-field', 'username'],
      [{ customFields: { age: 'thirty' } }, 'error-user-registration-custom-field', 'age'],
      [{ customFields: { team: 'Blue' } }, 'error-user-registration-custom-field', 'team'],
      [{ bio: 'b'.repeat(261) }, 'invalid-params', undefined]
    ] as const) {
      const refused = await refusal(update(admin, { userId: String(user.id), data: { name: 'Changed', ...data } }))
      t.equal(refused.status, 400, JSON.stringify(data))
      t.match(refused.body, { errorType, ...(field !== undefined ? { details: { field } } : {}) }, JSON.stringify(data))
    }
    t.strictSame(await userSnapshot(api, user.id), before)
  })

  t.test('refuses a change that leaves the user without a mandatory custom field, even one customFields does not name', async (t) => {
    const api = await build(t, kind)
    const field = await defineCustomField(api, { name: 'company', label: 'Company' })
    const { user } = await createUserWithToken(api)
    await makeMandatory(api, field.id)
    const admin = await rocketChatClientFor(api)
    const refused = await refusal(update(admin, { userId: String(user.id), data: { nickname: 'JD' } }))
    t.match(refused.body, { errorType: 'error-user-registration-custom-field', details: { field: 'company' } })
    const answer = await update(admin, { userId: String(user.id), data: { nickname: 'JD', customFields: { company: 'ACME' } } })
    t.match(answer.user, { nickname: 'JD', customFields: { company: 'ACME' } })
  })
})

onEachDatabase('users.updateOwnBasicInfo', async (t, kind) => {
  t.test('changes the caller\'s own profile and top-level customFields, and answers the user', async (t) => {
    const api = await build(t, kind)
    await defineCustomField(api, { name: 'company', label: 'Company' })
    const { user } = await createUserWithToken(api)
    const jane = await rocketChatClientFor(api, JANE.username, JANE.password)
    const answer = await updateOwn(jane, { data: { name: 'Jane Roe', statusText: 'On holiday', statusType: 'away' }, customFields: { company: 'ACME' } })
    t.equal(answer.success, true)
    t.match(answer.user, { _id: String(user.id), name: 'Jane Roe', statusText: 'On holiday', customFields: { company: 'ACME' } })
    t.equal(await rowCount(api, 'audit_log', { action: 'user.updated', subject_id: user.id, actor_id: user.id }), 1)
  })

  t.test('changes the password with the current one: the new one logs in, and the profile changes with it', async (t) => {
    const api = await build(t, kind)
    await createUserWithToken(api)
    const jane = await rocketChatClientFor(api, JANE.username, JANE.password)
    const answer = await updateOwn(jane, { data: { name: 'Jane Roe', currentPassword: JANE.password, newPassword: NEW_PASSWORD } })
    t.equal(answer.user.name, 'Jane Roe')
    t.equal(await passwordGrant(api, JANE.password), 400)
    t.equal(await passwordGrant(api, NEW_PASSWORD), 200)
    const stale = await refusal(jane.get('/v1/users.info', { username: JANE.username }))
    t.equal(stale.status, 401, 'the token of the change stops working too')
    t.equal(await rowCount(api, 'outbox_events', { type: 'user.password_changed' }), 1)
  })

  t.test('takes the current password as Rocket.Chat\'s clients send it, its SHA-256 in hex', async (t) => {
    const api = await build(t, kind)
    await createUserWithToken(api)
    const jane = await rocketChatClientFor(api, JANE.username, JANE.password)
    const digest = createHash('sha256').update(JANE.password).digest('hex')
    t.equal((await updateOwn(jane, { data: { currentPassword: digest, newPassword: NEW_PASSWORD } })).success, true)
    t.equal(await passwordGrant(api, NEW_PASSWORD), 200)
  })

  t.test('refuses a wrong current password, a weak new one, or none, naming the parameter, and changes nothing', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const jane = await rocketChatClientFor(api, JANE.username, JANE.password)
    const before = await userSnapshot(api, user.id)
    for (const [data, errorType, field] of [
      [{ currentPassword: 'Wr0ng-Password', newPassword: NEW_PASSWORD }, 'error-invalid-password', 'currentPassword'],
      [{ currentPassword: JANE.password, newPassword: 'jane_doe-Passw0rd' }, 'error-password-policy-not-met', 'newPassword'],
      [{ currentPassword: JANE.password, newPassword: 'Sh0rt!' }, 'error-password-policy-not-met', 'newPassword'],
      [{ newPassword: NEW_PASSWORD }, 'error-the-field-is-required', 'currentPassword']
    ] as const) {
      const refused = await refusal(updateOwn(jane, { data: { name: 'Changed', ...data } }))
      t.equal(refused.status, 400, errorType)
      t.match(refused.body, { errorType, details: { field } }, errorType)
    }
    t.strictSame(await userSnapshot(api, user.id), before)
    t.equal(await passwordGrant(api, JANE.password), 200)
  })

  t.test('a refused profile change leaves the password as it was', async (t) => {
    const api = await build(t, kind)
    await createUserWithToken(api)
    await createUserWithToken(api, { username: 'member', email: 'member@example.com' })
    const jane = await rocketChatClientFor(api, JANE.username, JANE.password)
    const refused = await refusal(updateOwn(jane, { data: { username: 'member', currentPassword: JANE.password, newPassword: NEW_PASSWORD } }))
    t.equal(refused.body.errorType, 'error-field-unavailable')
    t.equal(await passwordGrant(api, JANE.password), 200)
  })
})
