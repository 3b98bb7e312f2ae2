// users.update's parameters beyond the profile (email, verified, password, setRandomPassword,
// requirePasswordChange, active, roles, sendWelcomeEmail), driven by Rocket.Chat's own REST
// client over real HTTP: each made by the rule of the call that makes it alone, and all of one
// call in one transaction, with the mails it causes read from a real SMTP server.
import type { RestClient } from '@rocket.chat/api-client'
import type { Test } from 'tap'
import { ADMIN, type DatabaseKind, type TestApp, clientToken, createClient, createUserWithToken, giveRole, newAccount, onEachDatabase, rowCount, userSnapshot } from './helper.js'
import { type Served, adminClient, clientFor, logIn, refusal, serve } from './rocket-chat-rest-client.js'
import { type Mailbox, PRODUCTION_WITHOUT_MAIL, codeIn, withMail } from './smtp-mailbox.js'

const JANE = newAccount() as { username: string, email: string, password: string }
const NEW_PASSWORD = 'N3w-Passw0rd-Jane'

// The client's typings require parameters its server treats as optional.
async function update (client: RestClient, userId: number, data: Record<string, unknown>): Promise<any> {
  return await client.post('/v1/users.update', { userId: String(userId), data } as never)
}

// An app with its own mailbox, listening, with jane in it (her verification mail taken).
async function servedWithMail (t: Test, kind: DatabaseKind): Promise<Served & { mailbox: Mailbox, jane: any, admin: RestClient }> {
  const { api, mailbox } = await withMail(t, kind)
  const { user } = await createUserWithToken(api)
  await mailbox.next(JANE.email)
  const served = { api, baseUrl: await api.app.listen({ port: 0, host: '127.0.0.1' }) }
  return { ...served, mailbox, jane: user, admin: await adminClient(served) }
}

async function passwordGrant (api: TestApp, password: string): Promise<{ statusCode: number, refreshToken?: string }> {
  const response = await api.request({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'password', username: JANE.username, password } })
  return { statusCode: response.statusCode, refreshToken: response.body.refresh_token }
}

async function refreshes (api: TestApp, refreshToken: string): Promise<boolean> {
  const response = await api.request({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'refresh_token', refresh_token: refreshToken } })
  return response.statusCode === 200
}

async function eventsOf (api: TestApp): Promise<Array<{ type: string, payload: any }>> {
  const rows = await api.app.knex('outbox_events').orderBy('id').select('type', 'payload')
  return rows.map((row: { type: string, payload: string }) => ({ type: row.type, payload: JSON.parse(row.payload) }))
}

// A role with only these permissions, given to a new user, logged in through the client.
async function callerWith (served: Served, permissions: string[]): Promise<RestClient> {
  const token = await served.api.adminToken()
  await served.api.request({ method: 'POST', url: '/api/v2/role/', token, payload: { name: 'helper', permissions } })
  const { user } = await createUserWithToken(served.api, { username: 'helper', email: 'helper@example.com' })
  await giveRole(served.api, user.id, 'helper')
  const client = clientFor(served)
  await logIn(client, 'helper', JANE.password)
  return client
}

onEachDatabase('users.update: the password', async (t, kind) => {
  t.test('sets another user\'s password: the old one and every refresh token stop working, and the user is mailed a notice', async (t) => {
    const served = await servedWithMail(t, kind)
    const { refreshToken } = await passwordGrant(served.api, JANE.password)
    const answer = await update(served.admin, served.jane.id, { name: 'Jane Roe', password: NEW_PASSWORD })
    t.match(answer, { success: true, user: { name: 'Jane Roe' } })
    t.equal((await passwordGrant(served.api, JANE.password)).statusCode, 400, 'the old password')
    t.equal((await passwordGrant(served.api, NEW_PASSWORD)).statusCode, 200, 'the new password')
    t.notOk(await refreshes(served.api, refreshToken as string), 'an older refresh token')
    t.equal((await served.mailbox.next(JANE.email)).subject, 'Your password was changed')
    t.match((await eventsOf(served.api)).filter((event) => event.type === 'user.password_changed'), [{ payload: { id: served.jane.id, by: 'admin' } }])
    t.notMatch(served.api.logs.join(''), NEW_PASSWORD, 'the password is logged nowhere')
  })

  t.test('setRandomPassword: the user chooses a password with the code mailed to them, and logs in with it', async (t) => {
    const served = await servedWithMail(t, kind)
    const answer = await update(served.admin, served.jane.id, { setRandomPassword: true })
    t.equal(answer.user.requirePasswordChange, true, 'to be changed at first login, as at creation')
    t.equal((await passwordGrant(served.api, JANE.password)).statusCode, 400, 'the old password stops working')
    const mail = await served.mailbox.next(JANE.email)
    t.equal(mail.subject, 'Choose your password')
    const reset = await served.api.request({ method: 'POST', url: '/api/v2/account/reset/', payload: { validation_code: codeIn(mail), password: NEW_PASSWORD } })
    t.equal(reset.statusCode, 200)
    t.equal((await passwordGrant(served.api, NEW_PASSWORD)).statusCode, 200)
    t.equal((await served.api.app.knex('users').where({ id: served.jane.id }).first('require_password_change')).require_password_change ? 1 : 0, 0, 'changed')
  })

  t.test('setRandomPassword with a new email mails the code to the new address', async (t) => {
    const served = await servedWithMail(t, kind)
    await update(served.admin, served.jane.id, { setRandomPassword: true, email: 'jane.roe@example.com', verified: true })
    const mail = await served.mailbox.next('jane.roe@example.com')
    t.equal(mail.subject, 'Choose your password')
    const reset = await served.api.request({ method: 'POST', url: '/api/v2/account/reset/', payload: { validation_code: codeIn(mail), password: NEW_PASSWORD } })
    t.equal(reset.statusCode, 200)
  })

  t.test('requirePasswordChange with a password: the user logs in and must change it', async (t) => {
    const served = await servedWithMail(t, kind)
    const answer = await update(served.admin, served.jane.id, { password: NEW_PASSWORD, requirePasswordChange: true })
    t.equal(answer.user.requirePasswordChange, true)
    const login = await served.api.request({ method: 'POST', url: '/api/v1/login', payload: { user: JANE.username, password: NEW_PASSWORD } })
    t.equal(login.statusCode, 200)
    t.equal(login.body.data.me.requirePasswordChange, true)
    const cleared = await update(served.admin, served.jane.id, { requirePasswordChange: false })
    t.notOk(cleared.user.requirePasswordChange)
  })

  t.test('refuses a password the policy refuses, or both password and setRandomPassword, and changes nothing', async (t) => {
    const served = await servedWithMail(t, kind)
    const before = await userSnapshot(served.api, served.jane.id)
    t.match(await refusal(update(served.admin, served.jane.id, { name: 'Changed', password: 'short' })),
      { status: 400, body: { errorType: 'error-password-policy-not-met', details: { field: 'password' } } })
    t.match(await refusal(update(served.admin, served.jane.id, { name: 'Changed', password: `${JANE.username}-Xy9!zzz` })),
      { status: 400, body: { errorType: 'error-password-policy-not-met', details: { field: 'password' } } })
    t.match(await refusal(update(served.admin, served.jane.id, { name: 'Changed', password: NEW_PASSWORD, setRandomPassword: true })),
      { status: 400, body: { errorType: 'conflicting-fields', details: { field: 'setRandomPassword' } } })
    t.strictSame(await userSnapshot(served.api, served.jane.id), before)
  })
})

onEachDatabase('users.update: the email', async (t, kind) => {
  t.test('changes the email at once and mails the new address a verification code; the old one is told', async (t) => {
    const served = await servedWithMail(t, kind)
    const answer = await update(served.admin, served.jane.id, { email: 'jane.roe@example.com' })
    t.match(answer.user.emails, [{ address: 'jane.roe@example.com', verified: false }])
    t.equal((await served.mailbox.next(JANE.email)).subject, 'Your email address was changed')
    const mail = await served.mailbox.next('jane.roe@example.com')
    t.equal(mail.subject, 'Confirm your email address')
    const verified = await served.api.request({ method: 'POST', url: '/api/v2/account/verify/', payload: { validation_code: codeIn(mail) } })
    t.equal(verified.statusCode, 200)
  })

  t.test('with verified, the new address is verified and mailed no code', async (t) => {
    const served = await servedWithMail(t, kind)
    const answer = await update(served.admin, served.jane.id, { email: 'jane.roe@example.com', verified: true })
    t.match(answer.user.emails, [{ address: 'jane.roe@example.com', verified: true }])
    await served.mailbox.next(JANE.email)
    t.equal(await rowCount(served.api, 'account_codes', { email: 'jane.roe@example.com' }), 0, 'no code for the new address')
  })

  t.test('verified alone verifies the current email as its code would, and unverifies it as a change of user.updated', async (t) => {
    const served = await servedWithMail(t, kind)
    t.match((await update(served.admin, served.jane.id, { verified: true })).user.emails, [{ address: JANE.email, verified: true }])
    t.equal(await rowCount(served.api, 'account_codes', { purpose: 'verify_email', spent_at: null }), 0, 'her verification code is spent')
    t.match((await update(served.admin, served.jane.id, { verified: false })).user.emails, [{ address: JANE.email, verified: false }])
    const events = (await eventsOf(served.api)).filter((event) => event.type !== 'user.created')
    t.match(events, [{ type: 'user.email_verified', payload: { id: served.jane.id, email: JANE.email } }, { type: 'user.updated', payload: { changed: ['email_isvalid'] } }])
  })

  t.test('an address that differs only in case is changed and stays as verified as it was', async (t) => {
    const served = await servedWithMail(t, kind)
    await update(served.admin, served.jane.id, { verified: true })
    const answer = await update(served.admin, served.jane.id, { email: JANE.email.toUpperCase() })
    t.match(answer.user.emails, [{ address: JANE.email.toUpperCase(), verified: true }])
  })

  t.test('refuses an address another account has, or no address at all, and changes nothing', async (t) => {
    const served = await servedWithMail(t, kind)
    await createUserWithToken(served.api, { username: 'member', email: 'member@example.com' })
    const before = await userSnapshot(served.api, served.jane.id)
    t.match(await refusal(update(served.admin, served.jane.id, { name: 'Changed', email: 'MEMBER@example.com' })),
      { status: 400, body: { errorType: 'error-field-unavailable', details: { field: 'email' } } })
    t.match(await refusal(update(served.admin, served.jane.id, { name: 'Changed', email: 'not an address' })),
      { status: 400, body: { errorType: 'error-invalid-email', details: { field: 'email' } } })
    t.strictSame(await userSnapshot(served.api, served.jane.id), before)
  })
})

onEachDatabase('users.update: status, roles and the welcome mail', async (t, kind) => {
  t.test('blocks and unblocks, sets the roles and mails the welcome mail, in the call that changes the profile', async (t) => {
    const served = await servedWithMail(t, kind)
    const { refreshToken } = await passwordGrant(served.api, JANE.password)
    const blocked = await update(served.admin, served.jane.id, { nickname: 'JD', active: false, roles: ['user', 'moderator'], sendWelcomeEmail: true })
    t.match(blocked.user, { nickname: 'JD', active: false, roles: ['moderator', 'user'] })
    t.notOk(await refreshes(served.api, refreshToken as string), 'blocking ends the refresh tokens')
    t.equal((await served.mailbox.next(JANE.email)).subject, `Welcome, ${JANE.username}`)
    t.match((await eventsOf(served.api)).map((event) => event.type).slice(-3), ['user.updated', 'user.roles_changed', 'user.blocked'])
    const unblocked = await update(served.admin, served.jane.id, { active: true })
    t.equal(unblocked.user.active, true)
    t.equal((await passwordGrant(served.api, JANE.password)).statusCode, 200)
  })

  t.test('refuses the last active admin\'s block or loss of the admin role, and an admin\'s own block, changing nothing', async (t) => {
    const served = await servedWithMail(t, kind)
    const adminId = (await served.api.app.knex('users').where({ username: ADMIN.username }).first('id')).id
    const before = await userSnapshot(served.api, adminId)
    t.match(await refusal(update(served.admin, adminId, { name: 'Changed', roles: ['user'] })), { status: 400, body: { errorType: 'error-action-not-allowed' } })
    t.match(await refusal(update(served.admin, adminId, { name: 'Changed', active: false })), { status: 400, body: { errorType: 'error-action-not-allowed' } })
    t.match(await refusal(update(served.admin, served.jane.id, { name: 'Changed', roles: ['no_such_role'] })), { status: 400, body: { errorType: 'error-action-not-allowed' } })
    t.strictSame(await userSnapshot(served.api, adminId), before)
  })

  t.test('a refusal of the last part leaves the password, the email and the profile as they were', async (t) => {
    const served = await servedWithMail(t, kind)
    const adminId = (await served.api.app.knex('users').where({ username: ADMIN.username }).first('id')).id
    const before = await userSnapshot(served.api, adminId)
    t.match(await refusal(update(served.admin, adminId, { name: 'Changed', password: NEW_PASSWORD, email: 'root@example.com', verified: true, active: false })),
      { status: 400, body: { errorType: 'error-action-not-allowed', error: 'Nobody blocks or unblocks themselves [error-action-not-allowed]' } })
    t.strictSame(await userSnapshot(served.api, adminId), before)
    t.equal(await rowCount(served.api, 'mail_outbox', { recipient: 'root@example.com' }), 0)
    t.match(await update(served.admin, adminId, { name: 'Still Admin', active: true, roles: ['admin', 'user'] }), { user: { name: 'Still Admin', active: true } },
      'sending one\'s own status and roles back unchanged is no block')
  })

  t.test('a refusal of one part changes none of the others', async (t) => {
    const served = await servedWithMail(t, kind)
    await createUserWithToken(served.api, { username: 'member', email: 'member@example.com' })
    const before = await userSnapshot(served.api, served.jane.id)
    const refused = await refusal(update(served.admin, served.jane.id, {
      username: 'MEMBER', password: NEW_PASSWORD, email: 'jane.roe@example.com', verified: true, active: false, roles: ['moderator'], sendWelcomeEmail: true
    }))
    t.match(refused, { status: 400, body: { errorType: 'error-field-unavailable', details: { field: 'username' } } })
    t.strictSame(await userSnapshot(served.api, served.jane.id), before)
    t.equal((await passwordGrant(served.api, JANE.password)).statusCode, 200, 'the password is as it was')
    t.equal(await rowCount(served.api, 'mail_outbox', { recipient: JANE.email }), 1, 'no mail but jane\'s verification')
    t.equal(await rowCount(served.api, 'mail_outbox', { recipient: 'jane.roe@example.com' }), 0)
  })
})

onEachDatabase('users.update: who may', async (t, kind) => {
  t.test('each parameter takes the permission of its own call, and a form sent back unchanged needs none of them', async (t) => {
    const served = await servedWithMail(t, kind)
    const editor = await callerWith(served, ['edit-other-user-info'])
    const jane = served.jane.id
    const unchanged = { email: JANE.email, verified: false, active: true, roles: ['user'], requirePasswordChange: false, setRandomPassword: false, sendWelcomeEmail: false }
    t.match(await update(editor, jane, { name: 'Jane Roe', ...unchanged }), { success: true, user: { name: 'Jane Roe' } })
    const before = await userSnapshot(served.api, jane)
    for (const [data, permission] of [
      [{ password: NEW_PASSWORD }, 'edit-other-user-password'],
      [{ setRandomPassword: true }, 'edit-other-user-password'],
      [{ requirePasswordChange: true }, 'edit-other-user-password'],
      [{ active: false }, 'edit-other-user-active-status'],
      [{ roles: ['moderator'] }, 'assign-roles'],
      [{ sendWelcomeEmail: true }, 'send-mail']
    ] as const) {
      t.match(await refusal(update(editor, jane, { name: 'Changed', ...data })),
        { status: 400, body: { errorType: 'error-action-not-allowed', error: `This operation requires the ${permission} permission [error-action-not-allowed]` } }, JSON.stringify(data))
    }
    t.strictSame(await userSnapshot(served.api, jane), before)
    t.match(await update(editor, jane, { email: 'jane.roe@example.com', verified: true }), { user: { emails: [{ address: 'jane.roe@example.com', verified: true }] } },
      'edit-other-user-info changes the email')
  })

  t.test('a user changes none of these of their own without the permissions', async (t) => {
    const served = await servedWithMail(t, kind)
    const jane = clientFor(served)
    await logIn(jane, JANE.username, JANE.password)
    const before = await userSnapshot(served.api, served.jane.id)
    for (const data of [{ email: 'jane.roe@example.com' }, { verified: true }, { password: NEW_PASSWORD }, { roles: ['admin'] }, { requirePasswordChange: true }]) {
      t.match(await refusal(update(jane, served.jane.id, { name: 'Changed', ...data })), { status: 400, body: { errorType: 'error-action-not-allowed' } }, JSON.stringify(data))
    }
    t.strictSame(await userSnapshot(served.api, served.jane.id), before)
  })

  t.test('without mail, setRandomPassword and sendWelcomeEmail answer 503 mail-not-configured and change nothing', async (t) => {
    const served = await serve(t, kind, { env: PRODUCTION_WITHOUT_MAIL })
    const admin = clientFor(served)
    await logIn(admin, ADMIN.username, PRODUCTION_WITHOUT_MAIL.ADMIN_PASSWORD)
    const { user: created } = await admin.post('/v1/users.create', { name: 'Jane', email: JANE.email, username: JANE.username, password: NEW_PASSWORD } as never) as any
    const user = { id: Number(created._id) }
    const before = await userSnapshot(served.api, user.id)
    for (const data of [{ setRandomPassword: true }, { sendWelcomeEmail: true }]) {
      t.match(await refusal(update(admin, user.id, { name: 'Changed', ...data })), { status: 503, body: { errorType: 'mail-not-configured' } }, JSON.stringify(data))
    }
    const jane = clientFor(served)
    await logIn(jane, JANE.username, NEW_PASSWORD)
    t.match(await refusal(jane.post('/v1/users.updateOwnBasicInfo', { data: { name: 'Changed', email: 'jane.roe@example.com' } } as never)),
      { status: 503, body: { errorType: 'mail-not-configured' } }, 'updateOwnBasicInfo\'s email')
    t.strictSame(await userSnapshot(served.api, user.id), before)
    t.match(await update(admin, user.id, { email: 'jane.roe@example.com', password: `${NEW_PASSWORD}-2` }), { user: { emails: [{ address: 'jane.roe@example.com', verified: false }] } },
      'an email or a password needs no mail')
    t.equal(await rowCount(served.api, 'mail_outbox'), 0, 'and none is queued')
  })

  t.test('updateOwnBasicInfo refuses a service client\'s token, which is no user\'s', async (t) => {
    const served = await servedWithMail(t, kind)
    const { client, secret } = await createClient(served.api, { roles: ['user'] })
    const token = await clientToken(served.api, client.client_id, secret)
    const refused = await served.api.request({ method: 'POST', url: '/api/v1/users.updateOwnBasicInfo', token, payload: { data: { name: 'Changed' } } })
    t.match(refused, { statusCode: 400, body: { errorType: 'error-action-not-allowed' } })
  })
})

onEachDatabase('users.updateOwnBasicInfo: the email', async (t, kind) => {
  t.test('mails a code to the new address; the email changes when the user confirms it', async (t) => {
    const served = await servedWithMail(t, kind)
    const jane = clientFor(served)
    await logIn(jane, JANE.username, JANE.password)
    const answer = await jane.post('/v1/users.updateOwnBasicInfo', { data: { name: 'Jane Roe', email: 'jane.roe@example.com' } } as never) as any
    t.match(answer.user, { name: 'Jane Roe', emails: [{ address: JANE.email }] }, 'the email is as it was until confirmed')
    const mail = await served.mailbox.next('jane.roe@example.com')
    t.equal(mail.subject, 'Confirm your new email address')
    const confirmed = await served.api.request({
      method: 'POST', url: `/api/v2/user/${served.jane.id as number}/confirm_email/`,
      payload: { new_email: 'jane.roe@example.com', validation_code: codeIn(mail) }
    })
    t.equal(confirmed.statusCode, 204)
    t.equal((await served.api.app.knex('users').where({ id: served.jane.id }).first('email')).email, 'jane.roe@example.com')
  })

  t.test('answers alike for an address another account has, and mails it nothing', async (t) => {
    const served = await servedWithMail(t, kind)
    await createUserWithToken(served.api, { username: 'member', email: 'member@example.com' })
    const jane = clientFor(served)
    await logIn(jane, JANE.username, JANE.password)
    const answer = await jane.post('/v1/users.updateOwnBasicInfo', { data: { email: 'MEMBER@example.com' } } as never) as any
    t.equal(answer.success, true)
    t.equal(await rowCount(served.api, 'account_codes', { purpose: 'change_email' }), 0)
    t.match(await refusal(jane.post('/v1/users.updateOwnBasicInfo', { data: { name: 'Changed', email: 'not an address' } } as never)),
      { status: 400, body: { errorType: 'error-invalid-email', details: { field: 'email' } } })
  })
})

onEachDatabase('users.update racing other changes', async (t, kind) => {
  t.test('racing a deletion: never a deleted user with a new password, roles or data, never a 500', async (t) => {
    const served = await servedWithMail(t, kind)
    const token = await served.api.adminToken()
    for (let round = 0; round < 5; round++) {
      const { user } = await createUserWithToken(served.api, { username: `racer${round}`, email: `racer${round}@example.com` })
      const [updated, deleted] = await Promise.all([
        update(served.admin, user.id, { name: 'New Name', password: NEW_PASSWORD, roles: ['moderator'], active: false }).then(() => 200, (error: Response) => error.status),
        served.api.request({ method: 'DELETE', url: `/api/v2/user/${user.id as number}/`, token })
      ])
      t.equal(deleted.statusCode, 204)
      t.ok([200, 400].includes(updated), `round ${round}: users.update answers ${updated}`)
      const row = await served.api.app.knex('users').where({ id: user.id }).first('status', 'real_name', 'password_hash')
      t.strictSame({ ...row }, { status: 'd', real_name: '', password_hash: '!' }, 'the deletion erased whatever came before it')
      t.equal(await rowCount(served.api, 'refresh_tokens', { user_id: user.id, revoked_at: null }), 0, 'no live refresh token')
    }
  })

  t.test('two admins blocking each other: one is left active', async (t) => {
    const served = await servedWithMail(t, kind)
    const adminId = (await served.api.app.knex('users').where({ username: ADMIN.username }).first('id')).id
    const { user: second } = await createUserWithToken(served.api, { username: 'second_admin', email: 'second@example.com' })
    await giveRole(served.api, second.id, 'admin')
    const other = clientFor(served)
    await logIn(other, 'second_admin', JANE.password)
    const answers = await Promise.all([
      update(served.admin, second.id, { active: false }).then(() => 200, (error: Response) => error.status),
      update(other, adminId, { active: false }).then(() => 200, (error: Response) => error.status)
    ])
    t.equal(answers.filter((status) => status === 200).length, 1, `one block went through: ${answers.join(', ')}`)
    const active = await served.api.app.knex('users').whereIn('id', [adminId, second.id]).where({ status: 'a' }).count({ count: '*' })
    t.equal(Number(active[0]?.count), 1, 'one admin is left active')
  })
})
