// Rocket.Chat's users.setActiveStatus, users.delete and users.deleteOwnAccount, driven by its own
// REST client over real HTTP: the same services as v2's moderation and deletion.
import { createHash } from 'node:crypto'
import type { RestClient } from '@rocket.chat/api-client'
import { ADMIN, type TestApp, createUserWithToken, newAccount, onEachDatabase, rowCount } from './helper.js'
import { type Served, adminClient, clientFor, logIn, refusal, serve } from './rocket-chat-rest-client.js'

const JANE = newAccount() as { username: string, email: string, password: string }

function rocketChatError (errorType: string, reason: string, field?: string): { status: number, body: unknown } {
  return { status: 400, body: { success: false, error: `${reason} [${errorType}]`, errorType, ...(field !== undefined ? { details: { field } } : {}) } }
}

async function statusOf (api: TestApp, id: number): Promise<string | undefined> {
  return (await api.app.knex('users').where({ id }).first('status'))?.status
}

// Jane, with Rocket.Chat's client logged in as her.
async function janeClient (served: Served): Promise<{ id: number, client: RestClient }> {
  const { user } = await createUserWithToken(served.api)
  const client = clientFor(served)
  await logIn(client, JANE.username, JANE.password)
  return { id: user.id, client }
}

onEachDatabase('users.setActiveStatus with the Rocket.Chat client', async (t, kind) => {
  t.test('deactivates and activates a user, who meanwhile cannot log in nor use their credentials', async (t) => {
    const served = await serve(t, kind)
    const admin = await adminClient(served)
    const jane = await janeClient(served)
    const deactivated = await admin.post('/v1/users.setActiveStatus', { userId: String(jane.id), activeStatus: false })
    t.strictSame(deactivated, { user: { _id: String(jane.id), active: false }, success: true })
    t.equal(await statusOf(served.api, jane.id), 'b', 'blocked, as v2 sees it')
    t.equal((await refusal(jane.client.get('/v1/users.info', { userId: String(jane.id) }))).status, 401, 'her credentials stop working')
    t.match(await refusal(clientFor(served).post('/v1/login', { user: JANE.username, password: JANE.password })), { status: 401, body: { error: 'error-user-is-not-activated' } })
    const activated = await admin.post('/v1/users.setActiveStatus', { userId: String(jane.id), activeStatus: true, confirmRelinquish: true })
    t.strictSame(activated, { user: { _id: String(jane.id), active: true }, success: true })
    await logIn(clientFor(served), JANE.username, JANE.password)
    t.equal(await rowCount(served.api, 'outbox_events', { type: 'user.blocked' }), 1)
    t.equal(await rowCount(served.api, 'outbox_events', { type: 'user.unblocked' }), 1)
  })

  t.test('answers Rocket.Chat\'s errors: no permission, the last admin, an unknown user, bad parameters', async (t) => {
    const served = await serve(t, kind)
    const jane = await janeClient(served)
    t.strictSame(await refusal(jane.client.post('/v1/users.setActiveStatus', { userId: '1', activeStatus: false })),
      rocketChatError('error-action-not-allowed', 'This operation requires the edit-other-user-active-status permission'))
    const admin = await adminClient(served)
    t.strictSame(await refusal(admin.post('/v1/users.setActiveStatus', { userId: '1', activeStatus: false })),
      rocketChatError('error-action-not-allowed', 'Nobody blocks or unblocks themselves'))
    t.strictSame(await refusal(admin.post('/v1/users.setActiveStatus', { userId: '99', activeStatus: false })), rocketChatError('error-invalid-user', 'User not found.', 'userId'))
    t.equal((await refusal(admin.post('/v1/users.setActiveStatus', { userId: String(jane.id) } as never))).status, 400, 'activeStatus is required')
    t.equal((await refusal(admin.post('/v1/users.setActiveStatus', { userId: 'jane', activeStatus: false }))).status, 400, 'userId is an id')
    t.equal(await statusOf(served.api, jane.id), 'a', 'the refusals changed nothing')
  })
})

onEachDatabase('users.delete and users.deleteOwnAccount with the Rocket.Chat client', async (t, kind) => {
  t.test('users.delete deletes a user, by userId or by username, as DELETE /api/v2/user/{id}/ does', async (t) => {
    const served = await serve(t, kind)
    const admin = await adminClient(served)
    const { user } = await createUserWithToken(served.api)
    t.strictSame(await admin.post('/v1/users.delete', { userId: String(user.id), confirmRelinquish: true }), { success: true })
    t.equal(await statusOf(served.api, user.id), 'd')
    const { user: other } = await createUserWithToken(served.api, { username: 'other', email: 'other@example.com' })
    t.strictSame(await admin.post('/v1/users.delete', { username: 'OTHER' } as never), { success: true })
    t.equal(await statusOf(served.api, other.id), 'd')
    t.match(await served.api.app.knex('outbox_events').where({ type: 'user.deleted' }).pluck('payload'), [/"hard":false/, /"hard":false/])
  })

  t.test('users.delete answers Rocket.Chat\'s errors and changes nothing', async (t) => {
    const served = await serve(t, kind)
    const admin = await adminClient(served)
    t.strictSame(await refusal(admin.post('/v1/users.delete', { userId: '99' })), rocketChatError('error-invalid-user', 'User not found.', 'userId'))
    t.strictSame(await refusal(admin.post('/v1/users.delete', { username: 'nobody' } as never)), rocketChatError('error-invalid-user', 'User not found.', 'username'))
    t.strictSame(await refusal(admin.post('/v1/users.delete', {} as never)), rocketChatError('invalid-params', 'Give exactly one of userId and username', 'userId'))
    t.strictSame(await refusal(admin.post('/v1/users.delete', { userId: '1' })),
      rocketChatError('error-action-not-allowed', 'Leaving the service without an active admin is not allowed'))
    const jane = await janeClient(served)
    t.strictSame(await refusal(jane.client.post('/v1/users.delete', { userId: '1' })),
      rocketChatError('error-action-not-allowed', 'This operation requires the delete-user permission'))
    t.equal(await statusOf(served.api, 1), 'a')
  })

  t.test('users.deleteOwnAccount takes the password as Rocket.Chat\'s clients send it, its SHA-256, or as it is', async (t) => {
    const served = await serve(t, kind)
    const jane = await janeClient(served)
    const digest = createHash('sha256').update(JANE.password).digest('hex')
    t.strictSame(await refusal(jane.client.post('/v1/users.deleteOwnAccount', { password: createHash('sha256').update('Wr0ng-Password').digest('hex') })),
      rocketChatError('error-invalid-password', 'password is not the current password', 'password'))
    t.equal(await statusOf(served.api, jane.id), 'a', 'a wrong password changes nothing')
    t.strictSame(await jane.client.post('/v1/users.deleteOwnAccount', { password: digest }), { success: true })
    t.equal(await statusOf(served.api, jane.id), 'd')
    t.equal((await refusal(jane.client.post('/v1/users.deleteOwnAccount', { password: digest }))).status, 401, 'and her credentials are gone')

    const { user: other } = await createUserWithToken(served.api, { username: 'other', email: 'other@example.com' })
    const otherClient = clientFor(served)
    await logIn(otherClient, 'other', JANE.password)
    t.strictSame(await otherClient.post('/v1/users.deleteOwnAccount', { password: JANE.password, confirmRelinquish: true }), { success: true })
    t.equal(await statusOf(served.api, other.id), 'd')
    const admin = await adminClient(served)
    t.strictSame(await refusal(admin.post('/v1/users.deleteOwnAccount', { password: ADMIN.password })),
      rocketChatError('error-action-not-allowed', 'Leaving the service without an active admin is not allowed'))
  })
})
