// The mail system with real parts: the outbox on SQLite and MariaDB, the relay, nodemailer, and a
// real SMTP server on loopback (smtp-server) whose mails are parsed as a client would (mailparser).
import { mkdtemp, readFile, readdir, rm, writeFile, copyFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import knex from 'knex'
import { simpleParser } from 'mailparser'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { MAIL_TEMPLATES, type MailData, type OutgoingMail } from '../domain/mail.js'
import { MailNotConfigured } from '../domain/errors.js'
import { migrationSource } from '../migrations/index.js'
import { MAIL_TEMPLATES_FOLDER } from '../plugins/mail.js'
import { insertMail, MailOutboxRepository } from '../repositories/mail-outbox.js'
import { toDatabaseTime } from '../repositories/sql.js'
import { MAX_ATTEMPTS, MailRelay, retryDelayMs, type RelayLogger } from '../services/mail-relay.js'
import { MailRenderError, MailTemplates } from '../services/mail-templates.js'
import { smtpTransport } from '../services/mail-transports.js'
import { build, createTestDatabase, onEachDatabase, type TestApp } from './helper.js'
import { SMTP_PASSWORD, smtpUrl, startMailbox, until } from './smtp-mailbox.js'

const CODE = 'c0de-Of-The-Test_4f9a2b7e1d3c'
const POLL_MS = 20

// A port nothing listens on: one a server had a moment ago.
async function closedPort (t: Test): Promise<number> {
  const mailbox = await startMailbox(t)
  await mailbox.close()
  return mailbox.port
}


async function queue (app: FastifyInstance, mail: OutgoingMail): Promise<void> {
  await app.knex.transaction(async (trx) => { await insertMail(trx, mail, new Date()) })
}

function verifyMail (to: string, username = 'jane_doe'): OutgoingMail {
  return { template: 'verify_email', to, data: { username, code: CODE } }
}

async function outboxRows (app: FastifyInstance): Promise<any[]> {
  return await app.knex('mail_outbox').orderBy('id').select()
}

interface LogLine { level: number, msg: string, [key: string]: unknown }

function entries (logs: string[]): LogLine[] {
  return logs.map((line) => JSON.parse(line) as LogLine)
}

// A relay of the test's own, driven by drain() and a clock the test moves, beside an app that runs
// none: no polling, no waiting.
function testRelay (app: FastifyInstance, url: string, clock: { now: Date }): { relay: MailRelay, logs: LogLine[] } {
  const logs: LogLine[] = []
  const record = (level: number) => (details: object, msg: string) => { logs.push({ ...JSON.parse(JSON.stringify(details)), level, msg }) }
  const logger: RelayLogger = { info: record(30), warn: record(40), error: record(50) }
  const transport = smtpTransport(url)
  t.teardown(() => { transport.close() })
  const relay = new MailRelay({
    outbox: new MailOutboxRepository(app.knex),
    templates: MailTemplates.load(MAIL_TEMPLATES_FOLDER),
    transport,
    from: 'Accounts <no-reply@accounts.example.com>',
    publicUrl: 'https://accounts.example.com',
    pagesUrl: 'https://community.example.com',
    logger,
    secrets: [SMTP_PASSWORD],
    now: () => clock.now
  })
  return { relay, logs }
}

async function relayingApp (t: Test, kind: Parameters<typeof build>[1], env: Record<string, string>, databaseUrl?: string): Promise<TestApp> {
  return await build(t, kind, { env, mailPollIntervalMs: POLL_MS, ...(databaseUrl !== undefined ? { databaseUrl } : {}) })
}

onEachDatabase('a mail queued in a committed transaction arrives, filled in from its template, its HTML escaped', async (t, kind) => {
  const mailbox = await startMailbox(t)
  const api = await relayingApp(t, kind, { SMTP_URL: smtpUrl(mailbox.port), PUBLIC_URL: 'https://accounts.example.com', MAIL_FROM: 'Accounts <no-reply@example.com>' })
  await queue(api.app, verifyMail('jane@example.org', 'Jane <b>&</b> "Co"'))

  const [mail] = await mailbox.untilReceived(1)
  t.equal(mail?.subject, 'Confirm your email address')
  t.equal(mail?.from?.text, '"Accounts" <no-reply@example.com>')
  t.equal((mail?.to as { text: string }).text, 'jane@example.org')
  t.match(mail?.text, 'Hello Jane <b>&</b> "Co",')
  t.match(mail?.text, `https://accounts.example.com/account/verify?validation_code=${CODE}`)
  t.match(mail?.html, 'Hello Jane &lt;b&gt;&amp;&lt;/b&gt; &quot;Co&quot;,')
  t.match(mail?.html, `<a href="https://accounts.example.com/account/verify?validation_code=${CODE}">`)
  t.notMatch(mail?.html, '<b>&</b>')

  await until(async () => (await outboxRows(api.app))[0]?.status === 'sent', 'the mail to be marked sent')
  const [row] = await outboxRows(api.app)
  t.equal(row.data, '{}', 'the data, which held the code, is emptied')
  t.equal(row.attempts, 0)
  t.equal(row.lease_until, null)
  t.ok(row.sent_at)
  const sent = entries(api.logs).find((line) => line.msg === 'mail sent')
  t.match(sent, { level: 30, mailId: row.id, template: 'verify_email', recipientDomain: 'example.org' })
  t.notOk(api.logs.some((line) => line.includes(CODE) || line.includes('jane@example.org') || line.includes(SMTP_PASSWORD)),
    'no log line holds the code, the address or the SMTP password')
})

onEachDatabase('a mail queued in a transaction that rolls back is never sent', async (t, kind) => {
  const mailbox = await startMailbox(t)
  const api = await relayingApp(t, kind, { SMTP_URL: smtpUrl(mailbox.port) })
  await t.rejects(api.app.knex.transaction(async (trx) => {
    await insertMail(trx, verifyMail('rolled-back@example.com'), new Date())
    throw new Error('the change fails')
  }), /the change fails/)
  await queue(api.app, { template: 'welcome', to: 'committed@example.com', data: { username: 'jane_doe' } })

  await mailbox.untilReceived(1)
  await until(async () => (await outboxRows(api.app))[0]?.status === 'sent', 'the mail to be marked sent')
  t.strictSame(mailbox.received.map((mail) => (mail.to as { text: string }).text), ['committed@example.com'], 'only the committed mail went out')
  t.equal((await outboxRows(api.app)).length, 1)
})

// An app, a relay of the test's own whose SMTP server is down, and one mail queued at the clock's time.
async function relayWhileSmtpIsDown (t: Test, kind: Parameters<typeof build>[1]) {
  const port = await closedPort(t)
  const api = await build(t, kind, { backgroundWorkers: false })
  const clock = { now: new Date('2030-01-01T00:00:00.000Z') }
  const { relay, logs } = testRelay(api.app, smtpUrl(port), clock)
  await api.app.knex.transaction(async (trx) => { await insertMail(trx, verifyMail('jane@example.com'), clock.now) })
  return { port, api, clock, relay, logs }
}

onEachDatabase('while SMTP is down a mail is retried, later each time, and arrives once the server is up', async (t, kind) => {
  const { port, api, clock, relay, logs } = await relayWhileSmtpIsDown(t, kind)

  t.equal(await relay.drain(), 1, 'tried once, then not due')
  let [row] = await outboxRows(api.app)
  t.match(row, { status: 'pending', attempts: 1, lease_until: null, next_attempt_at: toDatabaseTime(new Date(clock.now.getTime() + 5000)) })
  t.match(row.last_error, /ECONNREFUSED/)
  clock.now = new Date(clock.now.getTime() + 4999)
  t.equal(await relay.drain(), 0, 'not tried again before its time')
  clock.now = new Date(clock.now.getTime() + 1)
  t.equal(await relay.drain(), 1)
  row = (await outboxRows(api.app))[0]
  t.match(row, { attempts: 2, next_attempt_at: toDatabaseTime(new Date(clock.now.getTime() + 10_000)) }, 'the second wait is twice the first')
  t.match(logs.at(-1), { level: 40, msg: 'mail not sent: it will be tried again', attempts: 2, recipientDomain: 'example.com' })

  const mailbox = await startMailbox(t, port)
  clock.now = new Date(clock.now.getTime() + 10_000)
  t.equal(await relay.drain(), 1)
  t.equal((await mailbox.untilReceived(1)).length, 1)
  row = (await outboxRows(api.app))[0]
  t.match(row, { status: 'sent', attempts: 2, data: '{}' })
  t.equal(await relay.drain(), 0, 'a sent mail is not sent again')
  t.equal(mailbox.received.length, 1)
  t.notOk(logs.some((line) => JSON.stringify(line).includes(CODE)), 'no log line holds the code')
})

t.test('the wait before a retry doubles from 5 s and stops growing at an hour', async (t) => {
  t.strictSame([1, 2, 3, 4].map(retryDelayMs), [5000, 10_000, 20_000, 40_000])
  t.equal(retryDelayMs(10), 2_560_000)
  t.equal(retryDelayMs(11), 3_600_000)
  t.equal(retryDelayMs(40), 3_600_000)
})

onEachDatabase('a mail that failed every attempt is given up, logged at error, its data emptied', async (t, kind) => {
  const { api, clock, relay, logs } = await relayWhileSmtpIsDown(t, kind)
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    t.equal(await relay.drain(), 1, `attempt ${attempt}`)
    clock.now = new Date(clock.now.getTime() + retryDelayMs(attempt))
  }
  clock.now = new Date(clock.now.getTime() + 86_400_000)
  t.equal(await relay.drain(), 0, 'never tried again')
  const [row] = await outboxRows(api.app)
  t.match(row, { status: 'failed', attempts: MAX_ATTEMPTS, data: '{}', lease_until: null })
  t.match(row.last_error, /ECONNREFUSED/)
  t.match(logs.at(-1), { level: 50, msg: `mail given up after ${MAX_ATTEMPTS} attempts`, template: 'verify_email' })
})

onEachDatabase('an SMTP login refused is retried, and its error names no password', async (t, kind) => {
  const mailbox = await startMailbox(t)
  const api = await build(t, kind, { backgroundWorkers: false })
  const clock = { now: new Date(Date.now() + 1000) }
  const wrongPassword = 'not-the-smtp-password-4711'
  const { relay, logs } = testRelay(api.app, `smtp://relay-user:${wrongPassword}@127.0.0.1:${mailbox.port}`, clock)
  // The relay is told its own password is a secret; here that is the wrong one.
  Object.assign((relay as unknown as { options: { secrets: string[] } }).options, { secrets: [wrongPassword] })
  await queue(api.app, verifyMail('jane@example.com'))
  t.equal(await relay.drain(), 1)
  const [row] = await outboxRows(api.app)
  t.match(row, { status: 'pending', attempts: 1 })
  t.match(row.last_error, /Invalid login/)
  t.notOk(JSON.stringify([row, logs]).includes(wrongPassword))
  t.equal(mailbox.received.length, 0)
})

onEachDatabase('a mail its template cannot be filled from is given up at once, logged at error', async (t, kind) => {
  const mailbox = await startMailbox(t)
  const api = await build(t, kind, { backgroundWorkers: false })
  const { relay, logs } = testRelay(api.app, smtpUrl(mailbox.port), { now: new Date(Date.now() + 1000) })
  await queue(api.app, { template: 'recover', to: 'jane@example.com', data: { username: 'jane_doe' } } as unknown as OutgoingMail)
  await api.app.knex('mail_outbox').insert({ template: 'no_such_template', recipient: 'a@example.com', data: '{}', next_attempt_at: toDatabaseTime(new Date()), created_at: toDatabaseTime(new Date()) })
  await api.app.knex('mail_outbox').insert({ template: 'welcome', recipient: 'b@example.com', data: 'not json', next_attempt_at: toDatabaseTime(new Date()), created_at: toDatabaseTime(new Date()) })
  t.equal(await relay.drain(), 3)
  const rows = await outboxRows(api.app)
  t.strictSame(rows.map((row) => [row.status, row.attempts]), [['failed', 1], ['failed', 1], ['failed', 1]])
  t.strictSame(rows.map((row) => row.last_error), [
    "The mail template recover uses {{code}}, which the mail's data does not give",
    'There is no mail template "no_such_template"',
    "The mail template welcome uses {{username}}, which the mail's data does not give"
  ])
  t.strictSame(logs.map((line) => [line.level, line.msg]), Array(3).fill([50, 'mail given up: it cannot be rendered']))
  t.equal(mailbox.received.length, 0)
})

async function twoRelaysShareTheOutbox (t: Test, databaseUrl: string, kind: Parameters<typeof build>[1]): Promise<void> {
  const mailbox = await startMailbox(t)
  const apps = [await build(t, kind, { databaseUrl, backgroundWorkers: false }), await build(t, kind, { databaseUrl, backgroundWorkers: false })]
  const relays = apps.map((api) => testRelay(api.app, smtpUrl(mailbox.port), { now: new Date(Date.now() + 1000) }).relay)
  const count = 12
  for (let index = 0; index < count; index++) await queue(apps[0]!.app, verifyMail(`user${index}@example.com`))

  const tried = await Promise.all(relays.map(async (relay) => await relay.drain()))
  t.equal(tried[0]! + tried[1]!, count, `each mail was taken by one relay (${tried.join(' + ')})`)
  const recipients = mailbox.received.map((mail) => (mail.to as { text: string }).text).sort()
  t.strictSame(recipients, Array.from({ length: count }, (_, index) => `user${index}@example.com`).sort(), 'each mail arrived exactly once')
  t.ok((await outboxRows(apps[1]!.app)).every((row) => row.status === 'sent'))
}

onEachDatabase('two relays on one database send each of the mails exactly once', async (t, kind) => {
  await twoRelaysShareTheOutbox(t, await createTestDatabase(t, kind, { shared: true }), kind)
})

onEachDatabase('two apps running their relays on one database send each mail once', async (t, kind) => {
  const mailbox = await startMailbox(t)
  const databaseUrl = await createTestDatabase(t, kind, { shared: true })
  const env = { SMTP_URL: smtpUrl(mailbox.port) }
  const apps = [await relayingApp(t, kind, env, databaseUrl), await relayingApp(t, kind, env, databaseUrl)]
  const count = 10
  for (let index = 0; index < count; index++) await queue(apps[index % 2]!.app, verifyMail(`user${index}@example.com`))
  await mailbox.untilReceived(count)
  await until(async () => (await outboxRows(apps[0]!.app)).every((row) => row.status === 'sent'), 'every mail to be marked sent')
  t.equal(new Set(mailbox.received.map((mail) => (mail.to as { text: string }).text)).size, count)
  t.equal(mailbox.received.length, count)
})

onEachDatabase('without SMTP_URL, in development and test each mail is written as an .eml file and its path logged', async (t, kind) => {
  const api = await build(t, kind, { env: { DATA_DIR: t.testdir() }, mailPollIntervalMs: POLL_MS })
  t.equal(api.app.mail.configured, true)
  await queue(api.app, { template: 'welcome', to: 'jane@example.com', data: { username: 'jane_doe' } })
  await until(() => entries(api.logs).some((line) => line.msg === 'mail written to the development mailbox'), 'the mailbox log line')
  const line = entries(api.logs).find((entry) => entry.msg === 'mail written to the development mailbox')
  const folder = join(api.app.config.dataDir, 'mail')
  t.match(line, { level: 30, template: 'welcome', recipientDomain: 'example.com', file: String })
  t.equal(join(line?.file as string, '..'), folder)
  t.strictSame(await readdir(folder), [(line?.file as string).slice(folder.length + 1)])
  const mail = await simpleParser(await readFile(line?.file as string))
  t.equal(mail.subject, 'Welcome, jane_doe')
  t.equal(mail.from?.text, '"account-service" <no-reply@localhost>')
  t.match(mail.text, 'http://localhost:3000')
  await until(async () => (await outboxRows(api.app))[0]?.status === 'sent', 'the mail to be marked sent')
})

onEachDatabase('in production without SMTP_URL the start warns once, mail is not configured and nothing is relayed', async (t, kind) => {
  const api = await build(t, kind, {
    env: { NODE_ENV: 'production', PUBLIC_URL: 'https://accounts.example.com', ADMIN_PASSWORD: 'Pr0duction-0nly-Passphrase!' },
    mailPollIntervalMs: POLL_MS
  })
  t.equal(api.app.mail.configured, false)
  const warnings = entries(api.logs).filter((line) => line.level === 40)
  t.strictSame(warnings.map((line) => line.msg), ['SMTP_URL is not set: this instance sends no mail, and the operations that need one answer 503 mail_not_configured'])
  await queue(api.app, verifyMail('jane@example.com'))
  await new Promise((resolve) => setTimeout(resolve, POLL_MS * 5))
  t.match(await outboxRows(api.app), [{ status: 'pending', attempts: 0, lease_until: null }], 'no relay took it')
  t.match(new MailNotConfigured(), { statusCode: 503, code: 'mail_not_configured', retryAfterSeconds: undefined })
})

onEachDatabase('closing the app lets the relay finish the mail in hand, then stops it before the database closes', async (t, kind) => {
  const mailbox = await startMailbox(t)
  const databaseUrl = await createTestDatabase(t, kind, { shared: true })
  const api = await relayingApp(t, kind, { SMTP_URL: smtpUrl(mailbox.port) }, databaseUrl)
  const hold = mailbox.hold()
  await queue(api.app, verifyMail('first@example.com'))
  await queue(api.app, verifyMail('second@example.com'))
  await hold.started
  let closed = false
  const closing = api.app.close().then(() => { closed = true })
  await new Promise((resolve) => setTimeout(resolve, POLL_MS * 5))
  t.notOk(closed, 'the close waits for the mail in hand')
  hold.release()
  await closing
  t.strictSame(mailbox.received.map((mail) => (mail.to as { text: string }).text), ['first@example.com'], 'the mail in hand was sent, and no other')

  const after = await build(t, kind, { databaseUrl, backgroundWorkers: false })
  t.match(await outboxRows(after.app), [{ status: 'sent', data: '{}' }, { status: 'pending', attempts: 0, lease_until: null }],
    'the mail in hand was marked sent before the database closed; the other waits for the next relay')
})

t.test('a relay whose outbox cannot be read says so once, and goes on when it can', async (t) => {
  const folder = await mkdtemp(join(tmpdir(), 'mail-outbox-'))
  t.teardown(async () => { await rm(folder, { recursive: true, force: true }) })
  const db = knex({ client: 'better-sqlite3', connection: { filename: join(folder, 'outbox.sqlite') }, useNullAsDefault: true, migrations: { migrationSource } })
  t.teardown(async () => { await db.destroy() })
  const lines: string[] = []
  const logger = { info: (details: object, msg: string) => { lines.push(`info ${msg}`) }, warn: (details: object, msg: string) => { lines.push(`warn ${msg}`) }, error: (details: object, msg: string) => { lines.push(`error ${msg}`) } }
  const mailbox = await startMailbox(t)
  const relay = new MailRelay({
    outbox: new MailOutboxRepository(db),
    templates: MailTemplates.load(MAIL_TEMPLATES_FOLDER),
    transport: smtpTransport(smtpUrl(mailbox.port)),
    from: 'no-reply@example.com',
    publicUrl: 'https://accounts.example.com',
    pagesUrl: 'https://community.example.com',
    logger,
    pollIntervalMs: 5
  })
  relay.start()
  relay.start()
  t.teardown(async () => { await relay.stop() })
  await until(() => lines.length > 0, 'the relay to fail')
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.strictSame(lines, ['warn mail relay: the outbox cannot be used; trying again every poll'], 'said once, however many polls failed')
  await db.migrate.latest()
  await db.transaction(async (trx) => { await insertMail(trx, { template: 'welcome', to: 'jane@example.com', data: { username: 'jane' } }, new Date()) })
  await mailbox.untilReceived(1)
  await relay.stop()
  t.strictSame(lines.slice(1), ['info mail relay: the outbox answers again', 'info mail sent'])
})

t.test('templates', async (t) => {
  const templates = MailTemplates.load(MAIL_TEMPLATES_FOLDER)
  const data: MailData = {
    verify_email: { username: 'jane', code: CODE },
    recover: { username: 'jane', code: CODE },
    set_password: { username: 'jane', code: CODE },
    change_email: { username: 'jane', email: 'new@example.com', code: CODE, user_id: '7', email_query: 'new%40example.com' },
    welcome: { username: 'jane' },
    password_changed: { username: 'jane' },
    email_changed: { username: 'jane', email: 'new@example.com' }
  }

  t.test('every template renders a subject, a text and an HTML part from its documented data', async (t) => {
    for (const name of MAIL_TEMPLATES) {
      const mail = templates.render(name, { ...data[name], public_url: 'https://accounts.example.com', pages_url: 'https://community.example.com' })
      t.ok(mail.subject.length > 0 && !mail.subject.includes('{{'), name)
      t.match(mail.text, 'Hello jane,', name)
      t.match(mail.html, /^<!DOCTYPE html>/, name)
      t.notMatch(`${mail.text}${mail.html}`, /\{\{|\}\}/, `${name}: no placeholder is left`)
      if ('code' in data[name]) t.match(mail.text, CODE, `${name} carries the code`)
    }
    t.match(templates.render('recover', { ...data.recover, pages_url: 'https://a.example' }).text, `https://a.example/account/recover/password?validation_code=${CODE}`)
    t.match(templates.render('change_email', { ...data.change_email, pages_url: 'https://a.example' }).text, 'new@example.com')
    t.match(templates.render('change_email', { ...data.change_email, pages_url: 'https://a.example' }).text,
      `https://a.example/account/change_email?user_id=7&new_email=new%40example.com&validation_code=${CODE}`, 'the link carries all the confirmation takes')
    t.match(templates.render('email_changed', { ...data.email_changed, public_url: 'https://a.example' }).text, 'changed to new@example.com')
  })

  t.test('an unknown placeholder is an error when rendering', async (t) => {
    t.throws(() => templates.render('verify_email', { username: 'jane', pages_url: 'https://a.example' }), new MailRenderError("The mail template verify_email uses {{code}}, which the mail's data does not give"))
    t.throws(() => templates.render('welcome', { username: 'jane' }), MailRenderError, 'pages_url too')
    t.throws(() => templates.render('welcome', Object.create({ username: 'inherited', pages_url: 'x' }) as Record<string, string>), MailRenderError, 'only the data\'s own values count')
  })

  t.test('a value cannot end the subject line', async (t) => {
    t.equal(templates.render('welcome', { username: 'jane\r\nBcc: all@example.com', pages_url: 'x' }).subject, 'Welcome, jane Bcc: all@example.com')
  })

  t.test('a template without its subject line stops the start', async (t) => {
    const folder = t.testdir()
    for (const name of MAIL_TEMPLATES) {
      await copyFile(join(MAIL_TEMPLATES_FOLDER, `${name}.txt`), join(folder, `${name}.txt`))
      await copyFile(join(MAIL_TEMPLATES_FOLDER, `${name}.html`), join(folder, `${name}.html`))
    }
    await writeFile(join(folder, 'welcome.txt'), 'Hello {{username}}\n')
    t.throws(() => MailTemplates.load(folder), /mail-templates\/welcome\.txt must start with a line "Subject: \.\.\."/)
  })
})

onEachDatabase('the metrics show the mails waiting, how long the oldest has, and those given up', async (t, kind) => {
  const token = 'metrics-token-of-the-tests-0123456789abcdef'
  const api = await build(t, kind, { env: { METRICS_TOKEN: token }, backgroundWorkers: false })
  const scrape = async (): Promise<string> => (await api.request({ method: 'GET', url: '/metrics', token })).text
  const sample = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1])
  let text = await scrape()
  t.equal(sample(text, 'account_service_mail_outbox_pending'), 0)
  t.equal(sample(text, 'account_service_mail_outbox_oldest_pending_seconds'), 0)
  t.equal(sample(text, 'account_service_mail_outbox_failed'), 0)

  await api.app.knex.transaction(async (trx) => {
    await insertMail(trx, verifyMail('a@example.com'), new Date(Date.now() - 90_000))
    await insertMail(trx, verifyMail('b@example.com'), new Date())
    await insertMail(trx, verifyMail('c@example.com'), new Date())
  })
  await api.app.knex('mail_outbox').where({ recipient: 'c@example.com' }).update({ status: 'failed' })
  text = await scrape()
  t.equal(sample(text, 'account_service_mail_outbox_pending'), 2)
  const oldest = sample(text, 'account_service_mail_outbox_oldest_pending_seconds')
  t.ok(oldest >= 90 && oldest < 120, `the oldest waited 90 s (${oldest})`)
  t.equal(sample(text, 'account_service_mail_outbox_failed'), 1)

  if (kind === 'sqlite') {
    // Its one connection held: the scrape does not wait for it, and shows the last reading.
    const transaction = await api.app.knex.transaction()
    await transaction('mail_outbox').update({ status: 'failed' })
    text = await scrape()
    t.equal(sample(text, 'account_service_mail_outbox_pending'), 2, 'the last reading, while no connection is free')
    await transaction.rollback()
  }

  await api.app.knex.schema.renameTable('mail_outbox', 'mail_outbox_away')
  text = await scrape()
  await api.app.knex.schema.renameTable('mail_outbox_away', 'mail_outbox')
  t.ok(Number.isNaN(sample(text, 'account_service_mail_outbox_pending')), 'NaN while the outbox cannot be read')
  t.ok(sample(text, 'account_service_database_pool_connections_free') >= 0, 'the rest of the scrape goes through')
  t.ok(entries(api.logs).some((line) => line.level === 40 && line.msg === 'metrics: the mail outbox cannot be read'))
})
