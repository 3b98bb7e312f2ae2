import { join } from 'node:path'
import fp from 'fastify-plugin'
import { projectRoot } from '../paths.js'
import { MailRelay } from '../services/mail-relay.js'
import { MailTemplates } from '../services/mail-templates.js'
import { mailboxTransport, smtpTransport } from '../services/mail-transports.js'

declare module 'fastify' {
  interface FastifyInstance {
    mail: {
      // False in production without SMTP_URL: queue no mail, and refuse what needs one
      // (MailNotConfigured, 503 mail_not_configured).
      configured: boolean
    }
  }
}

export interface MailOptions {
  // Whether this app runs the relay; the CLI's does not, and leaves its mails to the servers.
  relay?: boolean
  // How long the relay rests when no mail is due (tests shorten it).
  pollIntervalMs?: number
}

export const MAIL_TEMPLATES_FOLDER = join(projectRoot, 'mail-templates')

// The SMTP password, as the relay must never repeat it.
function passwordOf (url: string): string[] {
  const password = decodeURIComponent(new URL(url).password)
  return password === '' ? [] : [password]
}

// Mail: the outbox's relay, started once the app is ready and stopped when it closes, after the
// mail in hand and before the database closes (onClose hooks run last registered first).
export default fp<MailOptions>(async (fastify, options) => {
  const { mail, publicUrl } = fastify.config
  const runRelay = options.relay !== false
  if (mail === undefined) {
    if (runRelay) fastify.log.warn('SMTP_URL is not set: this instance sends no mail, and the operations that need one answer 503 mail_not_configured')
    fastify.decorate('mail', { configured: false })
    return
  }
  fastify.decorate('mail', { configured: true })
  if (!runRelay) return
  const templates = MailTemplates.load(MAIL_TEMPLATES_FOLDER)
  const smtp = 'smtpUrl' in mail.transport ? mail.transport.smtpUrl : undefined
  const transport = smtp !== undefined ? smtpTransport(smtp) : mailboxTransport((mail.transport as { mailbox: string }).mailbox)
  const relay = new MailRelay({
    outbox: fastify.repositories.mailOutbox,
    templates,
    transport,
    from: mail.from,
    publicUrl,
    pagesUrl: mail.pagesUrl,
    logger: fastify.log,
    secrets: smtp !== undefined ? passwordOf(smtp) : [],
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {})
  })
  fastify.addHook('onReady', async () => { relay.start() })
  fastify.addHook('onClose', async () => {
    await relay.stop()
    transport.close()
  })
}, { name: 'mail', dependencies: ['config', 'repositories'] })
