// The account after its creation, by the codes of the service's mails: verification of the email,
// and recovery of a lost password. Mails go through a real SMTP server and are read as a user
// would read them.
import { type TestApp, newAccount, onEachDatabase, rowCount } from './helper.js'
import { type Mailbox, codeIn, withMail } from './smtp-mailbox.js'

const JANE = newAccount() as { username: string, email: string, password: string }
const NEW_PASSWORD = 'N3w-Passw0rd-Jane'

async function createJane (api: TestApp): Promise<any> {
  const created = await api.request({ method: 'POST', url: '/api/v2/account/create/', token: await api.adminToken(), payload: JANE })
  if (created.statusCode !== 201) throw new Error(created.text)
  return created.body
}

async function post (api: TestApp, url: string, payload: Record<string, unknown>): Promise<ReturnType<TestApp['request']>> {
  return await api.request({ method: 'POST', url, payload })
}

async function passwordGrant (api: TestApp, password: string): Promise<ReturnType<TestApp['request']>> {
  return await post(api, '/oauth/token/', { grant_type: 'password', username: JANE.username, password })
}

async function recoveryCode (api: TestApp, mailbox: Mailbox): Promise<string> {
  const asked = await post(api, '/api/v2/account/recover/', { email: JANE.email })
  if (asked.statusCode !== 204) throw new Error(`recover answered ${asked.statusCode}: ${asked.text}`)
  const mail = await mailbox.next(JANE.email)
  if (mail.subject !== 'Choose a new password') throw new Error(`a mail "${mail.subject ?? ''}" where a recovery mail was due`)
  return codeIn(mail)
}

async function events (api: TestApp, type: string): Promise<any[]> {
  const rows = await api.app.knex('outbox_events').where({ type }).orderBy('id').select<Array<{ payload: string }>>('payload')
  return rows.map((row) => JSON.parse(row.payload))
}

const INVALID_CODE = { statusCode: 400, code: 'validation_code_invalid', field: 'validation_code', message: 'The validation code is invalid, expired or already used' }

onEachDatabase('verifying an email', async (t, kind) => {
  t.test('a new account is mailed a code; the code verifies the email, logs its user in, and works once', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const jane = await createJane(api)
    t.equal(jane.email_isvalid, false)
    const mail = await mailbox.next(JANE.email)
    t.equal(mail.subject, 'Confirm your email address')
    t.equal(mail.from?.value[0]?.address, 'accounts@example.com')
    const code = codeIn(mail)
    t.match(code, /^[A-Za-z0-9_-]{43}$/, '256 random bits, URL-safe')
    t.match(mail.html, new RegExp(`validation_code=${code}`), 'the HTML part has the link too')

    const verified = await post(api, '/api/v2/account/verify/', { validation_code: code })
    t.equal(verified.statusCode, 200)
    t.equal(verified.headers['cache-control'], 'no-store')
    t.match(verified.body, { token: { token_type: 'Bearer', expires_in: 3600, scope: 'read write', client_id: null, access_token: String, refresh_token: /^rt_/ } })
    const me = await api.request({ url: '/api/v2/user/me/', token: verified.body.token.access_token })
    t.match(me.body, { id: jane.id, email_isvalid: true })
    const refreshed = await post(api, '/oauth/token/', { grant_type: 'refresh_token', refresh_token: verified.body.token.refresh_token })
    t.equal(refreshed.statusCode, 200, 'the refresh token works')

    t.strictSame((await post(api, '/api/v2/account/verify/', { validation_code: code })).body, INVALID_CODE, 'a spent code')
    t.match(await events(api, 'user.email_verified'), [{ id: jane.id, email: JANE.email, verified_at: String }])
    t.equal(await rowCount(api, 'audit_log', { action: 'user.email_verified', subject_id: jane.id }), 1, 'audited under the name of its event')
    t.notOk(api.logs.some((line) => line.includes(code)), 'the code is never logged')
  })

  t.test('a code of another purpose, an unknown one, an expired one and one sent to an old address are refused alike', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    await createJane(api)
    const verification = codeIn(await mailbox.next(JANE.email))
    const recovery = await recoveryCode(api, mailbox)
    for (const code of [recovery, 'not-a-code', verification.slice(1)]) {
      t.strictSame((await post(api, '/api/v2/account/verify/', { validation_code: code })).body, INVALID_CODE, code.slice(0, 8))
    }
    await api.app.knex('account_codes').where({ purpose: 'verify_email' }).update({ expires_at: '2000-01-01 00:00:00.000' })
    t.strictSame((await post(api, '/api/v2/account/verify/', { validation_code: verification })).body, INVALID_CODE, 'expired')
    await api.app.knex('account_codes').where({ purpose: 'recover' }).update({ email: 'old@example.com' })
    t.strictSame((await post(api, '/api/v2/account/reset/', { validation_code: recovery, password: NEW_PASSWORD })).body, INVALID_CODE, 'mailed to another address')
  })

  t.test('checking a code answers its account and spends nothing', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const jane = await createJane(api)
    const code = codeIn(await mailbox.next(JANE.email))
    const checked = await post(api, '/api/v2/account/verify/validation_code/', { validation_code: code })
    t.equal(checked.statusCode, 200)
    t.match(checked.body, { id: jane.id, username: JANE.username, email_isvalid: false })
    t.equal((await post(api, '/api/v2/account/verify/', { validation_code: code })).statusCode, 200, 'the code still works')
    t.strictSame((await post(api, '/api/v2/account/verify/validation_code/', { validation_code: code })).body, INVALID_CODE, 'until it is spent')
  })

  t.test('checking the code of a blocked account shows nothing of it', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const jane = await createJane(api)
    const code = codeIn(await mailbox.next(JANE.email))
    await api.app.knex('users').where({ id: jane.id }).update({ status: 'b' })
    const refused = await post(api, '/api/v2/account/verify/validation_code/', { validation_code: code })
    t.strictSame(refused.body, { statusCode: 401, code: 'account_not_active', message: 'User is not activated' })
  })

  t.test('a blocked account gets no tokens, and its code stays unspent', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const jane = await createJane(api)
    const code = codeIn(await mailbox.next(JANE.email))
    await api.app.knex('users').where({ id: jane.id }).update({ status: 'b' })
    const refused = await post(api, '/api/v2/account/verify/', { validation_code: code })
    t.equal(refused.statusCode, 401)
    t.equal(refused.body.code, 'account_not_active')
    t.match((await api.app.knex('account_codes').where({ purpose: 'verify_email' }).first('spent_at')), { spent_at: null })
    t.equal(Boolean((await api.app.knex('users').where({ id: jane.id }).first('email_isvalid')).email_isvalid), false)
  })

  t.test('with the preference verification_mail off, a new account is mailed nothing', async (t) => {
    const { api } = await withMail(t, kind)
    const admin = await api.adminToken()
    const off = await api.request({ method: 'PATCH', url: '/api/v2/dynamic_preference/', token: admin, payload: { 'configurations.verification_mail': false } })
    t.equal(off.statusCode, 200)
    await createJane(api)
    t.equal(await rowCount(api, 'mail_outbox'), 0)
    t.equal(await rowCount(api, 'account_codes'), 0)
  })
})

onEachDatabase('recovering an account', async (t, kind) => {
  t.test('a reset by a mailed code sets the password, logs in, and ends every earlier token', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const jane = await createJane(api)
    await mailbox.next(JANE.email)
    const before = await passwordGrant(api, JANE.password)
    const code = await recoveryCode(api, mailbox)

    const weak = await post(api, '/api/v2/account/reset/', { validation_code: code, password: 'weakweak' })
    t.equal(weak.statusCode, 400)
    t.equal(weak.body.code, 'password_too_weak', 'the password policy of account creation')
    const reset = await post(api, '/api/v2/account/reset/', { validation_code: code, password: NEW_PASSWORD })
    t.equal(reset.statusCode, 200, 'the code survived the refused password')
    t.equal(reset.headers['cache-control'], 'no-store')
    t.match(reset.body, { token: { token_type: 'Bearer', client_id: null, access_token: String, refresh_token: /^rt_/ } })
    t.equal((await api.request({ url: '/api/v2/user/me/', token: reset.body.token.access_token })).statusCode, 200, 'the new token works')
    t.equal((await api.request({ url: '/api/v2/user/me/', token: before.body.access_token })).statusCode, 401, 'the old access token does not')
    t.equal((await post(api, '/oauth/token/', { grant_type: 'refresh_token', refresh_token: before.body.refresh_token })).statusCode, 400, 'nor the old refresh token')
    t.equal((await passwordGrant(api, JANE.password)).statusCode, 400, 'the old password is gone')
    t.equal((await passwordGrant(api, NEW_PASSWORD)).statusCode, 200)
    t.strictSame((await post(api, '/api/v2/account/reset/', { validation_code: code, password: 'An0ther-Passw0rd' })).body, INVALID_CODE, 'the code works once')

    const notice = await mailbox.next(JANE.email)
    t.equal(notice.subject, 'Your password was changed')
    t.notMatch(notice.text, /validation_code/)
    t.match(await events(api, 'user.password_changed'), [{ id: jane.id, changed_at: String, by: 'recovery' }])
    t.equal(await rowCount(api, 'audit_log', { action: 'user.password_changed', subject_id: jane.id }), 1, 'audited under the name of its event')
    t.equal((await api.request({ url: '/api/v2/user/me/', token: reset.body.token.access_token })).body.email_isvalid, true, 'the code reached the address: it is verified')
    t.notOk(api.logs.some((line) => line.includes(code) || line.includes(NEW_PASSWORD)), 'neither the code nor the password is logged')
  })

  t.test('a reset to the current password is refused, and the code stays usable', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    await createJane(api)
    await mailbox.next(JANE.email)
    const code = await recoveryCode(api, mailbox)
    const same = await post(api, '/api/v2/account/reset/', { validation_code: code, password: JANE.password })
    t.strictSame(same.body, { statusCode: 400, code: 'password_unchanged', field: 'password', message: 'password is the current password: choose another one' })
    t.equal((await post(api, '/api/v2/account/reset/', { validation_code: code, password: NEW_PASSWORD })).statusCode, 200)
  })

  t.test('a database error for an existing account is answered 204 as for any email, and logged without the email', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    await createJane(api)
    await mailbox.next(JANE.email)
    await api.app.knex.schema.renameTable('account_codes', 'account_codes_away')
    t.equal((await post(api, '/api/v2/account/recover/', { email: JANE.email })).statusCode, 204)
    const logged = api.logs.filter((line) => line.includes('A recovery request failed'))
    t.equal(logged.length, 1, 'the failure is logged')
    t.notMatch(logged[0], JANE.email)
  })

  t.test('an existing and an unknown email are answered in about the same time', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    await createJane(api)
    await mailbox.next(JANE.email)
    const answerMs = async (email: string): Promise<number> => {
      const start = process.hrtime.bigint()
      const answer = await post(api, '/api/v2/account/recover/', { email })
      if (answer.statusCode !== 204) throw new Error(answer.text)
      return Number(process.hrtime.bigint() - start) / 1e6
    }
    const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number
    const existing: number[] = []
    const unknown: number[] = []
    for (let round = 0; round < 3; round++) {
      existing.push(await answerMs(JANE.email))
      unknown.push(await answerMs(`nobody${round}@example.com`))
    }
    t.ok(Math.abs(median(existing) - median(unknown)) < 100, `medians ${median(existing).toFixed(0)} ms and ${median(unknown).toFixed(0)} ms`)
  })

  t.test('concurrent requests for one account mail no more than five codes an hour', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    await createJane(api)
    await mailbox.next(JANE.email)
    const answers = await Promise.all(Array.from({ length: 8 }, async () => await post(api, '/api/v2/account/recover/', { email: JANE.email })))
    t.strictSame(answers.map((answer) => answer.statusCode), Array(8).fill(204))
    t.equal(await rowCount(api, 'mail_outbox', { template: 'recover' }), 5)
  })

  t.test('recover answers 204 for any email, and mails only the account that has it, regardless of case', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    await createJane(api)
    await mailbox.next(JANE.email)
    t.equal((await post(api, '/api/v2/account/recover/', { email: 'nobody@example.com' })).statusCode, 204)
    t.equal((await post(api, '/api/v2/account/recover/', { email: 'JANE@Example.com' })).statusCode, 204)
    await mailbox.next(JANE.email)
    t.equal(mailbox.received.filter((mail) => mail.subject === 'Choose a new password').length, 1, 'one recovery mail, to jane')
    const invalid = await post(api, '/api/v2/account/recover/', { email: 'not an email' })
    t.equal(invalid.statusCode, 400)
    t.equal(invalid.body.field, 'email')
  })

  t.test('a newer recovery code replaces the older, and an account gets at most five an hour', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    await createJane(api)
    await mailbox.next(JANE.email)
    const first = await recoveryCode(api, mailbox)
    const second = await recoveryCode(api, mailbox)
    t.strictSame((await post(api, '/api/v2/account/reset/', { validation_code: first, password: NEW_PASSWORD })).body, INVALID_CODE, 'the older code')
    for (let sent = 2; sent < 5; sent++) await recoveryCode(api, mailbox)
    t.equal((await post(api, '/api/v2/account/recover/', { email: JANE.email })).statusCode, 204, 'a sixth request is answered alike')
    t.equal(await rowCount(api, 'mail_outbox', { template: 'recover' }), 5, 'and mails nothing')
    t.equal((await post(api, '/api/v2/account/reset/', { validation_code: second, password: NEW_PASSWORD })).statusCode, 400, 'replaced in turn')
  })

  t.test('of two resets racing with one code, one wins', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const jane = await createJane(api)
    await mailbox.next(JANE.email)
    const code = await recoveryCode(api, mailbox)
    const answers = await Promise.all(['R4ce-Passw0rd-One', 'R4ce-Passw0rd-Two'].map(async (password) =>
      await post(api, '/api/v2/account/reset/', { validation_code: code, password })))
    t.strictSame(answers.map((answer) => answer.statusCode).sort(), [200, 400])
    const winner = answers.findIndex((answer) => answer.statusCode === 200)
    t.equal((await events(api, 'user.password_changed')).length, 1, 'one password_changed event')
    t.equal(await rowCount(api, 'mail_outbox', { template: 'password_changed' }), 1, 'one password-changed mail')
    t.equal(await rowCount(api, 'refresh_tokens', { user_id: jane.id }), 1, 'one refresh token')
    t.equal((await passwordGrant(api, winner === 0 ? 'R4ce-Passw0rd-One' : 'R4ce-Passw0rd-Two')).statusCode, 200, 'the winner\'s password is set')
  })
})
