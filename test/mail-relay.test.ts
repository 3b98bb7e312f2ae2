// The relay's edges, with the real outbox on SQLite and MariaDB and a real SMTP server on loopback:
// a shutdown that an SMTP server would outlast, errors that are no render errors, and a sent mark
// the database refuses for a moment.
import type { FastifyInstance } from 'fastify'
import { insertMail, MailOutboxRepository } from '../repositories/mail-outbox.js'
import { MailRelay, type RelayLogger } from '../services/mail-relay.js'
import { MailTemplates } from '../services/mail-templates.js'
import { smtpTransport } from '../services/mail-transports.js'
import { MAIL_TEMPLATES_FOLDER } from '../plugins/mail.js'
import type { Test } from 'tap'
import { build, onEachDatabase } from './helper.js'
import { type Mailbox, startMailbox, until, withMail } from './smtp-mailbox.js'

interface RelayParts {
  outbox?: MailOutboxRepository
  templates?: MailTemplates
  now?: () => Date
  stopGraceMs?: number
  leaseMs?: number
}

// A relay of the test's own on the app's outbox (the app runs none), and what it logs.
function relayFor (t: Test, app: FastifyInstance, mailbox: Mailbox, parts: RelayParts = {}): { relay: MailRelay, logs: string[] } {
  const logs: string[] = []
  const record = (level: string) => (_details: object, msg: string) => { logs.push(`${level} ${msg}`) }
  const logger: RelayLogger = { info: record('info'), warn: record('warn'), error: record('error') }
  const transport = smtpTransport(mailbox.url)
  t.teardown(() => { transport.close() })
  const relay = new MailRelay({
    outbox: parts.outbox ?? new MailOutboxRepository(app.knex),
    templates: parts.templates ?? MailTemplates.load(MAIL_TEMPLATES_FOLDER),
    transport,
    from: 'no-reply@example.com',
    publicUrl: 'https://accounts.example.com',
    pagesUrl: 'https://community.example.com',
    logger,
    pollIntervalMs: 10,
    ...(parts.now !== undefined ? { now: parts.now } : {}),
    ...(parts.stopGraceMs !== undefined ? { stopGraceMs: parts.stopGraceMs } : {}),
    ...(parts.leaseMs !== undefined ? { leaseMs: parts.leaseMs } : {})
  })
  return { relay, logs }
}

async function queueWelcome (app: FastifyInstance, to: string): Promise<void> {
  await app.knex.transaction(async (trx) => { await insertMail(trx, { template: 'welcome', to, data: { username: 'jane' } }, new Date()) })
}

async function outboxRow (app: FastifyInstance): Promise<any> {
  return await app.knex('mail_outbox').first()
}

onEachDatabase('a relay stopped while the SMTP server holds its mail stops within its grace, and the mail is sent again once its lease runs out', async (t, kind) => {
  const api = await build(t, kind, { backgroundWorkers: false })
  const mailbox = await startMailbox(t)
  const { relay, logs } = relayFor(t, api.app, mailbox, { stopGraceMs: 100 })
  const hold = mailbox.hold()
  await queueWelcome(api.app, 'jane@example.com')
  relay.start()
  await hold.started
  const stopping = Date.now()
  await relay.stop()
  t.ok(Date.now() - stopping < 2_000, 'stop() does not wait for the SMTP server')
  t.strictSame(logs, ['warn mail relay stopped with a mail in hand: it is sent again once its lease runs out'])
  t.match(await outboxRow(api.app), { status: 'pending', attempts: 0 }, 'the mail is not marked: it was not known to be sent')

  const afterLease = relayFor(t, api.app, mailbox, { now: () => new Date(Date.now() + 130_000) })
  hold.release()
  await afterLease.relay.drain()
  await mailbox.untilReceived(1)
  t.match(await outboxRow(api.app), { status: 'sent', data: '{}' }, 'the next relay took it over and sent it')
})

onEachDatabase('a template that throws an error other than a render error is retried later, not left leased', async (t, kind) => {
  const api = await build(t, kind, { backgroundWorkers: false })
  const mailbox = await startMailbox(t)
  const broken = Object.assign(Object.create(MailTemplates.prototype) as MailTemplates, {
    render: () => { throw new TypeError('the templates folder was swapped under the relay') }
  })
  const { relay, logs } = relayFor(t, api.app, mailbox, { templates: broken })
  await queueWelcome(api.app, 'jane@example.com')
  t.equal(await relay.drain(), 1)
  t.match(await outboxRow(api.app), { status: 'pending', attempts: 1, lease_until: null, last_error: 'the templates folder was swapped under the relay' })
  t.strictSame(logs, ['warn mail not sent: it will be tried again'])
  t.equal(mailbox.received.length, 0)
})

onEachDatabase('a sent mark the database refuses at first is written again, and the mail goes out once', async (t, kind) => {
  const api = await build(t, kind, { backgroundWorkers: false })
  const mailbox = await startMailbox(t)
  const outbox = new MailOutboxRepository(api.app.knex)
  const markSent = outbox.markSent.bind(outbox)
  let refusals = 1
  outbox.markSent = async (mail, at) => {
    if (refusals-- > 0) throw new Error('Connection lost: The server closed the connection.')
    return await markSent(mail, at)
  }
  const { relay, logs } = relayFor(t, api.app, mailbox, { outbox })
  await queueWelcome(api.app, 'jane@example.com')
  relay.start()
  t.teardown(async () => { await relay.stop() })
  await until(async () => (await outboxRow(api.app)).status === 'sent', 'the mail to be marked sent')
  // The relay says so once the mark it wrote has committed: a moment after the row reads sent.
  await until(() => logs.length === 2, 'the relay to say it sent the mail')
  t.equal(mailbox.received.length, 1)
  t.strictSame(logs, ['warn mail sent, but not yet marked sent', 'info mail sent'])
})

onEachDatabase('the links of the mails open the pages of ACCOUNT_PAGES_URL, the API staying at PUBLIC_URL', async (t, kind) => {
  const { api, mailbox } = await withMail(t, kind, { PUBLIC_URL: 'https://accounts.example.com', ACCOUNT_PAGES_URL: 'https://community.example.com/members' })
  await api.app.knex.transaction(async (trx) => {
    await insertMail(trx, { template: 'recover', to: 'jane@example.com', data: { username: 'jane', code: 'c0de' } }, new Date())
  })
  const mail = await mailbox.next('jane@example.com')
  t.match(mail.text, 'https://community.example.com/members/account/recover/password?validation_code=c0de')
  t.match(mail.html, '<a href="https://community.example.com/members/account/recover/password?validation_code=c0de">')
  t.notMatch(mail.text, 'accounts.example.com')
})
