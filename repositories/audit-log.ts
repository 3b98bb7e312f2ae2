import type { Knex } from 'knex'
import type { Actor } from '../domain/principal.js'
import { toDatabaseTime } from './sql.js'

export interface AuditEntry {
  actor: Actor
  action: string
  // The user or the service client the action was done to.
  subject: { userId?: number, clientRowId?: number }
  at: Date
}

// Who did what to whom, written in the transaction of the change it records.
export async function insertAuditEntry (trx: Knex.Transaction, entry: AuditEntry): Promise<void> {
  await trx('audit_log').insert({
    actor_id: entry.actor.userId,
    actor_client_id: entry.actor.clientRowId,
    action: entry.action,
    subject_id: entry.subject.userId ?? null,
    subject_client_id: entry.subject.clientRowId ?? null,
    created_at: toDatabaseTime(entry.at)
  })
}
