import type { Knex } from 'knex'
import type { OutgoingMail } from '../domain/mail.js'
import { fromDatabaseTime, toDatabaseTime } from './sql.js'

// Queues a mail in the transaction of the change that causes it: it is sent if and only if the
// change commits, by the mail relay, never while the request waits.
export async function insertMail (trx: Knex.Transaction, mail: OutgoingMail, at: Date): Promise<void> {
  await trx('mail_outbox').insert({
    template: mail.template,
    recipient: mail.to,
    data: JSON.stringify(mail.data),
    status: 'pending',
    attempts: 0,
    next_attempt_at: toDatabaseTime(at),
    created_at: toDatabaseTime(at)
  })
}

// A mail a relay holds until its lease ends; the lease's end also tells its holder's writes from
// those of a relay that took the mail over after the lease ran out.
export interface ClaimedMail {
  id: number
  template: string
  recipient: string
  data: Record<string, string>
  // The attempts made before this one.
  attempts: number
  leaseUntil: Date
}

export interface OutboxStatistics {
  pending: number
  // How long the oldest pending mail has waited, 0 when none does.
  oldestPendingSeconds: number
  failed: number
}

interface OutboxRow {
  id: number | string
  template: string
  recipient: string
  data: string
  attempts: number
}

// Candidates looked at per claim: another relay may take some between the read and the update.
const CLAIM_CANDIDATES = 10

export class MailOutboxRepository {
  constructor (private readonly db: Knex) {}

  // Takes the next due mail that no relay holds, until leaseUntil; undefined when none is due.
  // The UPDATE repeats the conditions the SELECT read, so of several relays one alone takes a mail.
  async claimNext (now: Date, leaseUntil: Date): Promise<ClaimedMail | undefined> {
    const at = toDatabaseTime(now)
    const free = (query: Knex.QueryBuilder): Knex.QueryBuilder => query
      .where('status', 'pending')
      .where('next_attempt_at', '<=', at)
      .where((lease) => { void lease.whereNull('lease_until').orWhere('lease_until', '<', at) })
    const candidates: OutboxRow[] = await free(this.db('mail_outbox'))
      .orderBy([{ column: 'next_attempt_at' }, { column: 'id' }])
      .limit(CLAIM_CANDIDATES)
      .select('id', 'template', 'recipient', 'data', 'attempts')
    for (const row of candidates) {
      const taken = await free(this.db('mail_outbox').where({ id: row.id, attempts: row.attempts }))
        .update({ lease_until: toDatabaseTime(leaseUntil) })
      if (taken === 1) {
        return { id: Number(row.id), template: row.template, recipient: row.recipient, data: parseData(row.data), attempts: Number(row.attempts), leaseUntil }
      }
    }
    return undefined
  }

  // The mail went out: its data, which may hold a code, is no longer kept. False when the lease
  // had run out and another relay took the mail over.
  async markSent (mail: ClaimedMail, at: Date): Promise<boolean> {
    const changed = await this.held(mail).update({ status: 'sent', sent_at: toDatabaseTime(at), data: '{}', lease_until: null, last_error: null })
    return changed === 1
  }

  // The attempt failed: retried at nextAttemptAt, or never again (undefined), with the reason.
  async recordFailure (mail: ClaimedMail, reason: string, nextAttemptAt: Date | undefined): Promise<boolean> {
    const changed = await this.held(mail).update({
      attempts: mail.attempts + 1,
      last_error: reason.slice(0, 500),
      lease_until: null,
      ...(nextAttemptAt === undefined ? { status: 'failed', data: '{}' } : { next_attempt_at: toDatabaseTime(nextAttemptAt) })
    })
    return changed === 1
  }

  async statistics (now: Date): Promise<OutboxStatistics> {
    const [pending] = await this.db('mail_outbox').where('status', 'pending')
      .select(this.db.raw('count(*) as count'), this.db.raw('min(created_at) as oldest')) as Array<{ count: number | string, oldest: string | null }>
    const [failed] = await this.db('mail_outbox').where('status', 'failed').count({ count: '*' }) as Array<{ count: number | string }>
    const oldest = pending?.oldest ?? null
    return {
      pending: Number(pending?.count ?? 0),
      oldestPendingSeconds: oldest === null ? 0 : Math.max(0, (now.getTime() - Date.parse(fromDatabaseTime(oldest))) / 1000),
      failed: Number(failed?.count ?? 0)
    }
  }

  private held (mail: ClaimedMail): Knex.QueryBuilder {
    return this.db('mail_outbox').where({ id: mail.id, status: 'pending', lease_until: toDatabaseTime(mail.leaseUntil) })
  }
}

// The data as stored; anything but an object of strings is a mail that cannot be rendered.
function parseData (text: string): Record<string, string> {
  try {
    const data: unknown = JSON.parse(text)
    if (data !== null && typeof data === 'object' && !Array.isArray(data)) return data as Record<string, string>
  } catch {}
  return {}
}
