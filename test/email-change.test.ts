// Changing an account's email: a code mailed to the new address, confirmed by the user, as
// SelfCommunity's published client (@selfcommunity/api-services) drives it over real HTTP; the
// mails go through a real SMTP server and are read as their recipients read them.
import { createRequire } from 'node:module'
import type { AxiosError, AxiosResponse } from 'axios'
import type { Test } from 'tap'
import { contractViolations } from './contract.js'
import { ADMIN, type TestApp, build, createUserWithToken, giveRole, newAccount, onEachDatabase, rowCount } from './helper.js'
import { type Mailbox, PRODUCTION_WITHOUT_MAIL, codeIn, withMail } from './smtp-mailbox.js'

// The package's ESM build does not load in Node (its imports name no file extension, and its
// package is not marked as a module): its CommonJS build is the one loaded.
const { UserService, http } = createRequire(import.meta.url)('@selfcommunity/api-services') as typeof import('@selfcommunity/api-services')

const JANE = newAccount() as { username: string, email: string, password: string }
const NEW_EMAIL = 'jane.new@example.com'

const INVALID_CODE = { statusCode: 400, code: 'validation_code_invalid', field: 'validation_code', message: 'The validation code is invalid, expired or already used' }

// SelfCommunity's client pointed at the app, listening on a free port, with the user's token;
// every answer it gets is checked against openapi.yaml.
async function selfCommunityClient (t: Test, api: TestApp, token: string): Promise<void> {
  const baseUrl = await api.app.listen({ port: 0, host: '127.0.0.1' })
  const client = http.getClientInstance()
  const check = (response: AxiosResponse): void => {
    const url = new URL(response.config.url ?? '', baseUrl)
    const body = response.data === '' || response.data === undefined ? '' : JSON.stringify(response.data)
    const violations = contractViolations(response.config.method ?? 'get', url.pathname, { statusCode: response.status, headers: response.headers as Record<string, string>, body })
    if (violations.length > 0) throw new Error(`${url.pathname} → ${response.status} breaks openapi.yaml:\n  ${violations.join('\n  ')}`)
  }
  const interceptor = client.interceptors.response.use((response) => { check(response); return response }, (error: AxiosError) => {
    if (error.response !== undefined) check(error.response)
    return Promise.reject(error)
  })
  t.teardown(() => { client.interceptors.response.eject(interceptor) })
  http.setBasePortal(baseUrl)
  http.setAuthorizeToken(token)
}

async function changeEmail (api: TestApp, token: string, userId: number, payload: Record<string, unknown>): Promise<Awaited<ReturnType<TestApp['request']>>> {
  return await api.request({ method: 'PATCH', url: `/api/v2/user/${userId}/change_email/`, token, payload })
}

async function confirmEmail (api: TestApp, userId: number, newEmail: string, code: string): Promise<Awaited<ReturnType<TestApp['request']>>> {
  return await api.request({ method: 'POST', url: `/api/v2/user/${userId}/confirm_email/`, payload: { new_email: newEmail, validation_code: code } })
}

async function changeCode (api: TestApp, mailbox: Mailbox, token: string, userId: number, newEmail = NEW_EMAIL): Promise<string> {
  const asked = await changeEmail(api, token, userId, { new_email: newEmail })
  if (asked.statusCode !== 204) throw new Error(`change_email answered ${asked.statusCode}: ${asked.text}`)
  const mail = await mailbox.next(newEmail)
  if (mail.subject !== 'Confirm your new email address') throw new Error(`a mail "${mail.subject ?? ''}" where an email-change mail was due`)
  return codeIn(mail)
}

async function events (api: TestApp, type: string): Promise<any[]> {
  const rows = await api.app.knex('outbox_events').where({ type }).orderBy('id').select<Array<{ payload: string }>>('payload')
  return rows.map((row) => JSON.parse(row.payload))
}

async function emailOf (api: TestApp, userId: number): Promise<{ email: string, email_isvalid: boolean }> {
  const row = await api.app.knex('users').where({ id: userId }).first('email', 'email_isvalid')
  return { email: row.email, email_isvalid: Boolean(row.email_isvalid) }
}

// Jane, with a token of her own, her verification mail taken.
async function jane (api: TestApp, mailbox: Mailbox): Promise<{ user: any, token: string }> {
  const created = await createUserWithToken(api)
  await mailbox.next(JANE.email)
  return created
}

onEachDatabase('changing one\'s email', async (t, kind) => {
  t.test('SelfCommunity\'s client asks for a new email, the code mailed there confirms it, and the old address is told', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const { user, token } = await jane(api, mailbox)
    await selfCommunityClient(t, api, token)
    const refreshTokens = await rowCount(api, 'refresh_tokens', { revoked_at: null })

    await UserService.changeUserMail(user.id, NEW_EMAIL)
    const mail = await mailbox.next(NEW_EMAIL)
    t.equal(mail.subject, 'Confirm your new email address')
    t.match(mail.text, `to this one, ${NEW_EMAIL}`)
    const code = codeIn(mail)
    t.match(code, /^[A-Za-z0-9_-]{43}$/, '256 random bits, URL-safe')
    t.strictSame(await emailOf(api, user.id), { email: JANE.email, email_isvalid: false }, 'the email stays until it is confirmed')

    await UserService.confirmChangeUserMail(user.id, NEW_EMAIL, code)
    const me = await api.request({ url: '/api/v2/user/me/', token })
    t.match(me.body, { id: user.id, email: NEW_EMAIL, email_isvalid: true }, 'changed, verified, and the token still works')
    t.equal(await rowCount(api, 'refresh_tokens', { revoked_at: null }), refreshTokens, 'no token is revoked')
    const notice = await mailbox.next(JANE.email)
    t.equal(notice.subject, 'Your email address was changed')
    t.match(notice.text, `changed to ${NEW_EMAIL}`)
    t.notMatch(notice.text, code)

    const [event] = await events(api, 'user.email_changed')
    t.strictSame(event, { id: user.id, email: NEW_EMAIL, email_isvalid: true, changed_by: user.id, changed_by_client: null, changed_at: event.changed_at })
    t.notMatch(JSON.stringify(event), JANE.email, 'the event carries no old address')
    t.equal(await rowCount(api, 'audit_log', { action: 'user.email_changed', actor_id: user.id, subject_id: user.id }), 1)
    t.strictSame((await confirmEmail(api, user.id, NEW_EMAIL, code)).body, INVALID_CODE, 'the code works once')
    t.equal((await api.request({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'password', username: NEW_EMAIL, password: JANE.password } })).statusCode, 200,
      'the new email logs in')
    t.notOk(api.logs.some((line) => line.includes(code)), 'the code is never logged')
  })

  t.test('an invalid, unchanged or taken email and another user\'s id are refused, and nothing is mailed', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const { user, token } = await jane(api, mailbox)
    const invalid = await changeEmail(api, token, user.id, { new_email: 'not an email' })
    t.strictSame(invalid.body, { statusCode: 400, code: 'invalid_field', field: 'new_email', message: 'new_email must be a valid address of at most 254 characters' })
    const same = await changeEmail(api, token, user.id, { new_email: 'JANE@example.com' })
    t.strictSame(same.body, { statusCode: 400, code: 'email_unchanged', field: 'new_email', message: 'new_email is the email the account already has' })
    t.equal((await changeEmail(api, token, 1, { new_email: NEW_EMAIL })).statusCode, 403, 'the admin\'s email is not jane\'s to change')
    t.equal((await changeEmail(api, token, user.id, { new_email: NEW_EMAIL, extra: 1 })).statusCode, 400, 'an unknown key')
    t.equal(await rowCount(api, 'account_codes', { purpose: 'change_email' }), 0)
    t.equal(await rowCount(api, 'mail_outbox', { template: 'change_email' }), 0)
  })

  t.test('another account\'s email is answered as any other, so nobody learns who has an account, and mailed nothing', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const { user, token } = await jane(api, mailbox)
    const taken = await changeEmail(api, token, user.id, { new_email: ADMIN.email.toUpperCase() })
    const free = await changeEmail(api, token, user.id, { new_email: NEW_EMAIL })
    t.equal(taken.statusCode, 204)
    t.equal(free.statusCode, 204)
    t.equal((await mailbox.next(NEW_EMAIL)).subject, 'Confirm your new email address')
    t.equal(await rowCount(api, 'mail_outbox', { template: 'change_email' }), 1, 'the other account\'s owner is mailed nothing')
    t.strictSame(await emailOf(api, user.id), { email: JANE.email, email_isvalid: false })
  })

  t.test('a wrong, expired, replaced or spent code, or one for another address or user, confirms nothing', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const { user, token } = await jane(api, mailbox)
    const first = await changeCode(api, mailbox, token, user.id)
    const code = await changeCode(api, mailbox, token, user.id)
    t.strictSame((await confirmEmail(api, user.id, NEW_EMAIL, first)).body, INVALID_CODE, 'replaced by the newer one')
    t.strictSame((await confirmEmail(api, user.id, NEW_EMAIL, code.slice(1))).body, INVALID_CODE, 'a wrong code')
    t.strictSame((await confirmEmail(api, user.id, 'other@example.com', code)).body, INVALID_CODE, 'another address')
    t.strictSame((await confirmEmail(api, 1, NEW_EMAIL, code)).body, INVALID_CODE, 'another user')
    await api.app.knex('account_codes').where({ purpose: 'change_email' }).update({ expires_at: '2000-01-01 00:00:00.000' })
    t.strictSame((await confirmEmail(api, user.id, NEW_EMAIL, code)).body, INVALID_CODE, 'expired')
    t.strictSame(await emailOf(api, user.id), { email: JANE.email, email_isvalid: false })
    t.equal((await events(api, 'user.email_changed')).length, 0)
  })

  t.test('a verification code confirms no email change, and an email-change code verifies nothing', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const created = await createUserWithToken(api)
    const verification = codeIn(await mailbox.next(JANE.email))
    const change = await changeCode(api, mailbox, created.token, created.user.id)
    t.strictSame((await confirmEmail(api, created.user.id, JANE.email, verification)).body, INVALID_CODE)
    t.strictSame((await confirmEmail(api, created.user.id, NEW_EMAIL, verification)).body, INVALID_CODE)
    for (const url of ['/api/v2/account/verify/', '/api/v2/account/verify/validation_code/']) {
      t.strictSame((await api.request({ method: 'POST', url, payload: { validation_code: change } })).body, INVALID_CODE, url)
    }
    t.equal((await api.request({ method: 'POST', url: '/api/v2/account/reset/', payload: { validation_code: change, password: 'N3w-Passw0rd-Jane' } })).statusCode, 400)
    t.equal((await confirmEmail(api, created.user.id, NEW_EMAIL, change)).statusCode, 204, 'each code still does what it is for')
  })

  t.test('if another account took the address meanwhile, the confirmation is a 409 and changes nothing', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const { user, token } = await jane(api, mailbox)
    const code = await changeCode(api, mailbox, token, user.id)
    const other = await api.request({
      method: 'POST', url: '/api/v2/account/create/', token: await api.adminToken(), payload: newAccount({ username: 'other', email: NEW_EMAIL.toUpperCase() })
    })
    t.equal(other.statusCode, 201)
    const taken = await confirmEmail(api, user.id, NEW_EMAIL, code)
    t.strictSame(taken.body, { statusCode: 409, code: 'email_taken', field: 'new_email', message: 'new_email is already the email of another account' })
    t.strictSame(await emailOf(api, user.id), { email: JANE.email, email_isvalid: false })
    t.match(await api.app.knex('account_codes').where({ purpose: 'change_email' }).first('spent_at'), { spent_at: null }, 'the code is not spent')
    t.equal((await events(api, 'user.email_changed')).length, 0)
  })

  t.test('of two confirmations racing with one code, one wins', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const { user, token } = await jane(api, mailbox)
    const code = await changeCode(api, mailbox, token, user.id)
    const answers = await Promise.all([0, 1].map(async () => await confirmEmail(api, user.id, NEW_EMAIL, code)))
    t.strictSame(answers.map((answer) => answer.statusCode).sort(), [204, 400])
    t.equal((await events(api, 'user.email_changed')).length, 1, 'one change')
    t.equal(await rowCount(api, 'mail_outbox', { template: 'email_changed' }), 1, 'one notice')
  })
})

onEachDatabase('changing another user\'s email', async (t, kind) => {
  t.test('an admin\'s direct change takes effect at once, unverified, with a verification mail to the new address', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const { user } = await jane(api, mailbox)
    const admin = await api.adminToken()
    t.equal((await changeEmail(api, admin, user.id, { new_email: NEW_EMAIL })).statusCode, 204)
    t.strictSame(await emailOf(api, user.id), { email: NEW_EMAIL, email_isvalid: false })
    t.equal((await mailbox.next(NEW_EMAIL)).subject, 'Confirm your email address')
    t.equal((await mailbox.next(JANE.email)).subject, 'Your email address was changed')
    t.match(await events(api, 'user.email_changed'), [{ id: user.id, email: NEW_EMAIL, email_isvalid: false, changed_by: 1 }])
    t.equal(await rowCount(api, 'audit_log', { action: 'user.email_changed', actor_id: 1, subject_id: user.id }), 1)
  })

  t.test('an admin\'s direct change to another account\'s email is a 409: the admin may see who has one', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const { user } = await jane(api, mailbox)
    const taken = await changeEmail(api, await api.adminToken(), user.id, { new_email: ADMIN.email.toUpperCase() })
    t.strictSame(taken.body, { statusCode: 409, code: 'email_taken', field: 'new_email', message: 'new_email is already the email of another account' })
    t.strictSame(await emailOf(api, user.id), { email: JANE.email, email_isvalid: false })
  })

  t.test('with confirm, an admin\'s change waits for the code, as the user\'s own does', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const { user } = await jane(api, mailbox)
    t.equal((await changeEmail(api, await api.adminToken(), user.id, { new_email: NEW_EMAIL, confirm: true })).statusCode, 204)
    const code = codeIn(await mailbox.next(NEW_EMAIL))
    t.strictSame(await emailOf(api, user.id), { email: JANE.email, email_isvalid: false })
    t.equal((await confirmEmail(api, user.id, NEW_EMAIL, code)).statusCode, 204)
    t.strictSame(await emailOf(api, user.id), { email: NEW_EMAIL, email_isvalid: true })
  })

  t.test('edit-other-user-info changes no one who holds a permission the caller lacks', async (t) => {
    const { api, mailbox } = await withMail(t, kind)
    const { user } = await jane(api, mailbox)
    const role = await api.request({ method: 'POST', url: '/api/v2/role/', token: await api.adminToken(), payload: { name: 'editor', permissions: ['edit-other-user-info'] } })
    t.equal(role.statusCode, 201, role.text)
    const bob = await createUserWithToken(api, { username: 'bob', email: 'bob@example.com' })
    await giveRole(api, bob.user.id, 'editor')
    const admin = await changeEmail(api, bob.token, 1, { new_email: 'admin.new@example.com' })
    t.equal(admin.statusCode, 403)
    t.match(admin.body.message, /has the .* permission, which you do not have/)
    t.equal((await changeEmail(api, bob.token, user.id, { new_email: NEW_EMAIL })).statusCode, 204, 'a plain user he can')
  })
})

onEachDatabase('changing an email without mail', async (t, kind) => {
  t.test('is refused with 503 mail_not_configured in production, and changes nothing', async (t) => {
    const api = await build(t, kind, { env: PRODUCTION_WITHOUT_MAIL })
    const admin = await api.tokenFor(ADMIN.username, PRODUCTION_WITHOUT_MAIL.ADMIN_PASSWORD)
    // The repository's example passwords are refused in production.
    const account = { ...JANE, password: 'Pr0duction-Jane-Passphrase' }
    const user = (await api.request({ method: 'POST', url: '/api/v2/account/create/', token: admin, payload: account })).body
    const token = await api.tokenFor(account.username, account.password)
    const refused = await changeEmail(api, token, user.id, { new_email: NEW_EMAIL })
    t.equal(refused.statusCode, 503)
    t.equal(refused.body.code, 'mail_not_configured')
    t.equal(await rowCount(api, 'account_codes'), 0)
    t.strictSame(await emailOf(api, user.id), { email: JANE.email, email_isvalid: false })
  })
})
