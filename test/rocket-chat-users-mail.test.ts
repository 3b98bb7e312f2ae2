// Rocket.Chat's users.* calls that mail someone, as its own REST client (@rocket.chat/api-client)
// sends them over real HTTP; the mails go through a real SMTP server and are read as their
// recipients read them.
import type { RestClient } from '@rocket.chat/api-client'
import type { Test } from 'tap'
import { ADMIN, type DatabaseKind, type TestApp, createUserWithToken, newAccount, onEachDatabase, rowCount } from './helper.js'
import { type Served, clientFor, logIn, refusal, serve } from './rocket-chat-rest-client.js'
import { type Mailbox, PRODUCTION_WITHOUT_MAIL, codeIn, withMail } from './smtp-mailbox.js'

const JANE = newAccount() as { username: string, email: string, password: string }

function rocketChatError (errorType: string, reason: string, field?: string): { status: number, body: unknown } {
  return { status: 400, body: { success: false, error: `${reason} [${errorType}]`, errorType, ...(field !== undefined ? { details: { field } } : {}) } }
}

// An app with its own mailbox, listening, and jane in it (her verification mail taken).
async function servedWithMail (t: Test, kind: DatabaseKind): Promise<Served & { mailbox: Mailbox, jane: any }> {
  const { api, mailbox } = await withMail(t, kind)
  const { user } = await createUserWithToken(api)
  await mailbox.next(JANE.email)
  return { api, mailbox, jane: user, baseUrl: await api.app.listen({ port: 0, host: '127.0.0.1' }) }
}

async function loggedIn (served: Served, user: string, password: string): Promise<RestClient> {
  const client = clientFor(served)
  await logIn(client, user, password)
  return client
}

async function verify (api: TestApp, code: string): Promise<number> {
  return (await api.request({ method: 'POST', url: '/api/v2/account/verify/', payload: { validation_code: code } })).statusCode
}

onEachDatabase('users.forgotPassword', async (t, kind) => {
  t.test('mails a recovery code to the account with the email, and answers alike for an email no account has', async (t) => {
    const served = await servedWithMail(t, kind)
    const client = clientFor(served)
    t.strictSame(await client.post('/v1/users.forgotPassword', { email: 'JANE@example.com' }), { success: true })
    const mail = await served.mailbox.next(JANE.email)
    t.equal(mail.subject, 'Choose a new password')
    const reset = await served.api.request({ method: 'POST', url: '/api/v2/account/reset/', payload: { validation_code: codeIn(mail), password: 'N3w-Passw0rd-Jane' } })
    t.equal(reset.statusCode, 200, 'the code resets the password')
    t.strictSame(await client.post('/v1/users.forgotPassword', { email: 'nobody@example.com' }), { success: true })
    t.equal(await rowCount(served.api, 'mail_outbox', { template: 'recover' }), 1, 'and mails no one else')
    t.strictSame(await refusal(client.post('/v1/users.forgotPassword', { email: 'not an email' })),
      rocketChatError('error-invalid-email', 'email must be a valid address of at most 254 characters', 'email'))
  })
})

onEachDatabase('users.sendConfirmationEmail', async (t, kind) => {
  t.test('mails a user a new verification code for their own email, which replaces the older', async (t) => {
    const served = await servedWithMail(t, kind)
    const older = (await served.api.app.knex('account_codes').where({ purpose: 'verify_email' }).first('id')).id
    const jane = await loggedIn(served, JANE.username, JANE.password)
    t.strictSame(await jane.post('/v1/users.sendConfirmationEmail', { email: JANE.email }), { success: true })
    const mail = await served.mailbox.next(JANE.email)
    t.equal(mail.subject, 'Confirm your email address')
    t.match(await served.api.app.knex('account_codes').where({ id: older }).first('spent_at'), { spent_at: String }, 'the older code is spent')
    t.equal(await verify(served.api, codeIn(mail)), 200)
    t.strictSame(await refusal(jane.post('/v1/users.sendConfirmationEmail', { email: JANE.email })),
      rocketChatError('email-already-verified', 'This email is verified already', 'email'), 'a verified email gets none')
  })

  t.test('another account\'s email takes send-mail, whether or not the email has an account', async (t) => {
    const served = await servedWithMail(t, kind)
    const jane = await loggedIn(served, JANE.username, JANE.password)
    for (const email of [ADMIN.email, 'nobody@example.com']) {
      t.match(await refusal(jane.post('/v1/users.sendConfirmationEmail', { email })), { status: 400, body: { errorType: 'error-action-not-allowed' } }, email)
    }
    const admin = await loggedIn(served, ADMIN.username, ADMIN.password)
    t.strictSame(await admin.post('/v1/users.sendConfirmationEmail', { email: JANE.email }), { success: true })
    t.equal((await served.mailbox.next(JANE.email)).subject, 'Confirm your email address')
    t.strictSame(await refusal(admin.post('/v1/users.sendConfirmationEmail', { email: 'nobody@example.com' })),
      rocketChatError('error-invalid-user', 'No account has this email', 'email'))
  })
})

onEachDatabase('users.sendWelcomeEmail', async (t, kind) => {
  t.test('an admin mails a user the welcome mail; a user without send-mail cannot', async (t) => {
    const served = await servedWithMail(t, kind)
    const admin = await loggedIn(served, ADMIN.username, ADMIN.password)
    t.strictSame(await admin.post('/v1/users.sendWelcomeEmail', { email: JANE.email }), { success: true })
    t.equal((await served.mailbox.next(JANE.email)).subject, `Welcome, ${JANE.username}`)
    t.strictSame(await refusal(admin.post('/v1/users.sendWelcomeEmail', { email: 'nobody@example.com' })),
      rocketChatError('error-invalid-user', 'No account has this email', 'email'))
    const jane = await loggedIn(served, JANE.username, JANE.password)
    t.match(await refusal(jane.post('/v1/users.sendWelcomeEmail', { email: JANE.email })), { status: 400, body: { errorType: 'error-action-not-allowed' } })
    t.equal(await rowCount(served.api, 'mail_outbox', { template: 'welcome' }), 1)
  })
})

onEachDatabase('the mail calls in production without mail', async (t, kind) => {
  t.test('answer 503 mail-not-configured and mail nothing', async (t) => {
    const served = await serve(t, kind, { env: PRODUCTION_WITHOUT_MAIL })
    const admin = await loggedIn(served, ADMIN.username, PRODUCTION_WITHOUT_MAIL.ADMIN_PASSWORD)
    const notConfigured = {
      status: 503,
      body: { success: false, error: 'This service is not configured to send mail, which this operation needs [mail-not-configured]', errorType: 'mail-not-configured' }
    }
    t.strictSame(await refusal(clientFor(served).post('/v1/users.forgotPassword', { email: ADMIN.email })), notConfigured)
    t.strictSame(await refusal(admin.post('/v1/users.sendConfirmationEmail', { email: ADMIN.email })), notConfigured)
    t.strictSame(await refusal(admin.post('/v1/users.sendWelcomeEmail', { email: ADMIN.email })), notConfigured)
    t.equal(await rowCount(served.api, 'mail_outbox'), 0)
  })
})
