// Passwords mean something: a user changes their own, proving the current one, and a password
// someone else chose (requirePasswordChange, setRandomPassword) is replaced before anything else.
import { ADMIN, type TestApp, build, createUserWithToken, newAccount, onEachDatabase, rowCount } from './helper.js'
import { USERS_CREATE, newRocketChatUser, rocketChatHeaders, rocketChatLogin } from './rocket-chat-helper.js'
import { PRODUCTION_WITHOUT_MAIL, codeIn, withMail } from './smtp-mailbox.js'

const JANE = newAccount() as { username: string, email: string, password: string }
const NEW_PASSWORD = 'N3w-Passw0rd-Jane'

async function changePassword (api: TestApp, token: string, userId: number, password: string, newPassword: string): Promise<Awaited<ReturnType<TestApp['request']>>> {
  return await api.request({ method: 'PATCH', url: `/api/v2/user/${userId}/change_password/`, token, payload: { password, new_password: newPassword } })
}

async function passwordGrant (api: TestApp, username: string, password: string): Promise<Awaited<ReturnType<TestApp['request']>>> {
  return await api.request({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'password', username, password } })
}

onEachDatabase('changing one\'s password', async (t, kind) => {
  t.test('with the current password, the new one takes over, every earlier token ends, and a notice is mailed', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const { user, token } = await createUserWithToken(api)
    await mailbox.next(JANE.email)
    const changed = await changePassword(api, token, user.id, JANE.password, NEW_PASSWORD)
    t.equal(changed.statusCode, 204)
    t.equal((await api.request({ url: '/api/v2/user/me/', token })).statusCode, 401, 'the token of the change ends too')
    t.equal((await passwordGrant(api, JANE.username, JANE.password)).statusCode, 400)
    t.equal((await passwordGrant(api, JANE.username, NEW_PASSWORD)).statusCode, 200)
    t.equal((await mailbox.next(JANE.email)).subject, 'Your password was changed')
    const events = await api.app.knex('outbox_events').where({ type: 'user.password_changed' }).select<Array<{ payload: string }>>('payload')
    t.match(events.map((event) => JSON.parse(event.payload)), [{ id: user.id, changed_at: String, by: 'user' }])
    t.notOk(api.logs.some((line) => line.includes(NEW_PASSWORD)), 'the password is never logged')
  })

  t.test('a wrong current password, a weak new one and another user\'s id are refused, and change nothing', async (t) => {
    const { api } = await withMail(t, kind)
    const { user, token } = await createUserWithToken(api)
    const wrong = await changePassword(api, token, user.id, 'Wr0ng-Password', NEW_PASSWORD)
    t.equal(wrong.statusCode, 400)
    t.strictSame(wrong.body, { statusCode: 400, code: 'wrong_password', field: 'password', message: 'password is not the current password' })
    const weak = await changePassword(api, token, user.id, JANE.password, 'jane_doe-Passw0rd')
    t.equal(weak.body.code, 'password_contains_username')
    const other = await changePassword(api, token, 1, ADMIN.password, NEW_PASSWORD)
    t.equal(other.statusCode, 403)
    t.equal((await api.request({ url: '/api/v2/user/me/', token })).statusCode, 200, 'the token still works')
    t.equal((await passwordGrant(api, ADMIN.username, ADMIN.password)).statusCode, 200, 'the admin\'s password is unchanged')
  })

  t.test('a new password equal to the current one is refused, and the tokens keep working', async (t) => {
    const { api } = await withMail(t, kind)
    const { user, token } = await createUserWithToken(api)
    const same = await changePassword(api, token, user.id, JANE.password, JANE.password)
    t.strictSame(same.body, { statusCode: 400, code: 'password_unchanged', field: 'new_password', message: 'new_password is the current password: choose another one' })
    t.equal((await api.request({ url: '/api/v2/user/me/', token })).statusCode, 200)
    t.equal(await rowCount(api, 'outbox_events', { type: 'user.password_changed' }), 0)
  })

  t.test('the operator\'s reset of an admin password is a password change, audited under the name of its event', async (t) => {
    const { api } = await withMail(t, kind)
    await api.app.accountService.resetAdminPassword(ADMIN.username, 'An0ther-Adm1n-Passphrase')
    t.match(await api.app.knex('outbox_events').where({ type: 'user.password_changed' }).select('payload'), [{ payload: /"by":"operator"/ }])
    t.equal(await rowCount(api, 'audit_log', { action: 'user.password_changed', actor_id: null, subject_id: 1 }), 1)
  })

  t.test('the change is audited under the name of its event', async (t) => {
    const { api } = await withMail(t, kind)
    const { user, token } = await createUserWithToken(api)
    t.equal((await changePassword(api, token, user.id, JANE.password, NEW_PASSWORD)).statusCode, 204)
    t.equal(await rowCount(api, 'audit_log', { action: 'user.password_changed', actor_id: user.id, subject_id: user.id }), 1)
  })
})

onEachDatabase('a password someone else chose', async (t, kind) => {
  t.test('with requirePasswordChange, the user may read themselves and change it, and nothing else until then', async (t) => {
    const { api } = await withMail(t, kind)
    const admin = await rocketChatLogin(api)
    const created = await api.request({ method: 'POST', url: USERS_CREATE, headers: rocketChatHeaders(admin), payload: newRocketChatUser({ requirePasswordChange: true }) })
    t.equal(created.statusCode, 200)
    const userId = Number(created.body.user._id)
    const token = (await passwordGrant(api, JANE.username, JANE.password)).body.access_token
    t.equal((await api.request({ url: '/api/v2/user/me/', token })).statusCode, 200)
    const refused = await api.request({ url: '/api/v2/feature/', token })
    t.equal(refused.statusCode, 403)
    t.equal(refused.body.code, 'password_change_required')
    const login = await api.request({ method: 'POST', url: '/api/v1/login', payload: { user: JANE.username, password: JANE.password } })
    t.equal(login.body.data.me.requirePasswordChange, true, 'Rocket.Chat\'s login tells so')
    const jane = { userId: login.body.data.userId, authToken: login.body.data.authToken }
    const info = await api.request({ url: `/api/v1/users.info?userId=${userId}`, headers: rocketChatHeaders(jane) })
    t.equal(info.statusCode, 400)
    t.equal(info.body.errorType, 'error-password-change-required')
    t.equal((await changePassword(api, token, userId, JANE.password, NEW_PASSWORD)).statusCode, 204)
    const after = (await passwordGrant(api, JANE.username, NEW_PASSWORD)).body.access_token
    t.equal((await api.request({ url: '/api/v2/feature/', token: after })).statusCode, 200, 'free once changed')
  })

  t.test('an account made with setRandomPassword is mailed a code to choose its password, which logs its user in', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const admin = await rocketChatLogin(api)
    const created = await api.request({
      method: 'POST', url: USERS_CREATE, headers: rocketChatHeaders(admin), payload: newRocketChatUser({ setRandomPassword: true, sendWelcomeEmail: true })
    })
    t.equal(created.statusCode, 200, created.text)
    const mails = [await mailbox.next(JANE.email), await mailbox.next(JANE.email)]
    t.strictSame(mails.map((mail) => mail.subject).sort(), ['Choose your password', `Welcome, ${JANE.username}`], 'the welcome mail and the code, no verification mail')
    const code = codeIn(mails.find((mail) => mail.subject === 'Choose your password') as typeof mails[number])
    const reset = await api.request({ method: 'POST', url: '/api/v2/account/reset/', payload: { validation_code: code, password: NEW_PASSWORD } })
    t.equal(reset.statusCode, 200)
    const me = await api.request({ url: '/api/v2/user/me/', token: reset.body.token.access_token })
    t.match(me.body, { username: JANE.username, email_isvalid: true })
    t.equal((await api.request({ url: '/api/v2/feature/', token: reset.body.token.access_token })).statusCode, 200, 'the chosen password needs no change')
  })
})

onEachDatabase('setRandomPassword without mail', async (t, kind) => {
  t.test('is refused with 503 mail-not-configured before anything is written: no one could ever log in', async (t) => {
    const api = await build(t, kind, { env: PRODUCTION_WITHOUT_MAIL })
    const admin = await rocketChatLogin(api, ADMIN.username, PRODUCTION_WITHOUT_MAIL.ADMIN_PASSWORD)
    const [users, events] = [await rowCount(api, 'users'), await rowCount(api, 'outbox_events')]
    const refused = await api.request({ method: 'POST', url: USERS_CREATE, headers: rocketChatHeaders(admin), payload: newRocketChatUser({ setRandomPassword: true }) })
    t.equal(refused.statusCode, 503)
    t.equal(refused.body.errorType, 'mail-not-configured')
    t.equal(await rowCount(api, 'users'), users)
    t.equal(await rowCount(api, 'outbox_events'), events)
  })
})
