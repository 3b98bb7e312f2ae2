// The mail relay: sends what the outbox holds, one mail at a time, each under a lease so that any
// number of instances share the outbox and none sends a mail another holds. A failed attempt is
// retried with a growing delay; a mail that cannot be rendered, or that failed too often, is given up.
// Delivery is at least once: a mail whose sending was cut off, or whose sent mark could not be
// written, is sent again once its lease runs out.
import { setTimeout as sleep } from 'node:timers/promises'
import type { ClaimedMail, MailOutboxRepository } from '../repositories/mail-outbox.js'
import { MailRenderError, type MailTemplates } from './mail-templates.js'
import type { MailTransport } from './mail-transports.js'
import { PollingWorker, exponentialDelayMs, type RelayLogger } from './polling-worker.js'

export type { RelayLogger }

export interface MailRelayOptions {
  outbox: MailOutboxRepository
  templates: MailTemplates
  transport: MailTransport
  from: string
  // PUBLIC_URL and ACCOUNT_PAGES_URL, which every template may use as {{public_url}} (the API)
  // and {{pages_url}} (the pages its links open).
  publicUrl: string
  pagesUrl: string
  logger: RelayLogger
  // Texts never written into last_error nor a log line (the SMTP password).
  secrets?: string[]
  now?: () => Date
  // How long the relay rests when no mail is due.
  pollIntervalMs?: number
  // How long a relay holds the mail it took: longer than one attempt can last (the SMTP timeouts).
  leaseMs?: number
  // How long stop() waits for the mail in hand: well within the shutdown's ceiling, which an SMTP
  // server that stopped answering would otherwise outlast.
  stopGraceMs?: number
}

// Attempts before a mail is given up: with the delays below, about 85 minutes of trying.
export const MAX_ATTEMPTS = 10
const FIRST_RETRY_MS = 5_000
const LONGEST_RETRY_MS = 3_600_000
// The sent mark is written again after these waits when the database refuses it: a mail sent but
// not marked would be sent again.
const MARK_SENT_RETRIES_MS = [100, 500, 2_000]

// The wait after the failed attempt number `attempts` (1 for the first): 5 s, doubled each time, up to an hour.
export function retryDelayMs (attempts: number): number {
  return exponentialDelayMs(attempts, FIRST_RETRY_MS, LONGEST_RETRY_MS)
}

// A recipient is logged by its domain only: enough to tell which provider refuses, no one's address.
function domainOf (address: string): string {
  return address.slice(address.lastIndexOf('@') + 1)
}

export class MailRelay extends PollingWorker {
  private readonly now: () => Date
  private readonly leaseMs: number

  constructor (private readonly options: MailRelayOptions) {
    super(options.logger, {
      failing: 'mail relay: the outbox cannot be used; trying again every poll',
      recovered: 'mail relay: the outbox answers again',
      stoppedInHand: 'mail relay stopped with a mail in hand: it is sent again once its lease runs out'
    }, options.pollIntervalMs ?? 1000, options.stopGraceMs ?? 3_000)
    this.now = options.now ?? (() => new Date())
    this.leaseMs = options.leaseMs ?? 120_000
  }

  // Sends every mail due now, one after another; answers how many it tried.
  async drain (): Promise<number> {
    let tried = 0
    while (await this.relayOne()) tried++
    return tried
  }

  protected async step (): Promise<boolean> {
    return await this.relayOne()
  }

  // Takes one due mail and tries it; false when none was due.
  private async relayOne (): Promise<boolean> {
    const now = this.now()
    const mail = await this.options.outbox.claimNext(now, new Date(now.getTime() + this.leaseMs))
    this.tableAnswered()
    if (mail === undefined) return false
    await this.attempt(mail)
    return true
  }

  private async attempt (mail: ClaimedMail): Promise<void> {
    const { outbox, templates, transport, logger } = this.options
    const context = { mailId: mail.id, template: mail.template, recipientDomain: domainOf(mail.recipient) }
    let sent: { file?: string }
    try {
      const rendered = templates.render(mail.template, { ...mail.data, public_url: this.options.publicUrl, pages_url: this.options.pagesUrl })
      sent = await transport.send({ id: mail.id, from: this.options.from, to: mail.recipient, ...rendered })
    } catch (error) {
      if (error instanceof MailRenderError) {
        await outbox.recordFailure(mail, error.message, undefined)
        logger.error({ ...context, reason: error.message }, 'mail given up: it cannot be rendered')
        return
      }
      await this.failed(mail, context, this.reasonOf(error))
      return
    }
    const marked = await this.markSent(mail)
    if (sent.file !== undefined) logger.info({ ...context, file: sent.file }, 'mail written to the development mailbox')
    else logger.info(context, 'mail sent')
    if (!marked) logger.warn(context, 'mail sent after its lease ran out: another relay may have sent it too')
  }

  private async markSent (mail: ClaimedMail): Promise<boolean> {
    for (const waitMs of MARK_SENT_RETRIES_MS) {
      try {
        return await this.options.outbox.markSent(mail, this.now())
      } catch (error) {
        this.options.logger.warn({ mailId: mail.id, err: error, retryInMs: waitMs }, 'mail sent, but not yet marked sent')
        await sleep(waitMs)
      }
    }
    return await this.options.outbox.markSent(mail, this.now())
  }

  private async failed (mail: ClaimedMail, context: object, reason: string): Promise<void> {
    const attempts = mail.attempts + 1
    if (attempts >= MAX_ATTEMPTS) {
      await this.options.outbox.recordFailure(mail, reason, undefined)
      this.options.logger.error({ ...context, attempts, reason }, `mail given up after ${attempts} attempts`)
      return
    }
    const nextAttemptAt = new Date(this.now().getTime() + retryDelayMs(attempts))
    await this.options.outbox.recordFailure(mail, reason, nextAttemptAt)
    this.options.logger.warn({ ...context, attempts, reason, nextAttemptAt }, 'mail not sent: it will be tried again')
  }

  // The error's message alone (no stack, no server transcript), without any secret in it.
  private reasonOf (error: unknown): string {
    let reason = error instanceof Error ? error.message : String(error)
    for (const secret of this.options.secrets ?? []) reason = reason.split(secret).join('[redacted]')
    return reason
  }
}
