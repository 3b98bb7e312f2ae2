import type { Knex } from 'knex'
import type { Actor } from '../domain/principal.js'
import { type PageWindow, fromDatabaseTime, toDatabaseTime, windowOf } from './sql.js'

export interface AuditEntry {
  actor: Actor
  action: string
  // The user, the service client or the webhook endpoint the action was done to.
  subject: { userId?: number, clientRowId?: number, webhookEndpointId?: number }
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
    subject_webhook_endpoint_id: entry.subject.webhookEndpointId ?? null,
    created_at: toDatabaseTime(entry.at)
  })
}

// Whom an entry names: a user by id, or a service client by its public client_id.
export type AuditParty = { userId: number } | { clientId: string }

export interface AuditFilter {
  actor?: AuditParty
  subject?: AuditParty
  action?: string
  // Entries written at or after `since`, and before `until`.
  since?: Date
  until?: Date
}

export interface StoredAuditEntry {
  id: number
  action: string
  actor: { userId: number | null, clientId: string | null }
  subject: { userId: number | null, clientId: string | null, webhookEndpointId: number | null }
  createdAt: string
}

interface AuditRow {
  id: number | string
  action: string
  actor_id: number | null
  actor_client: string | null
  subject_id: number | null
  subject_client: string | null
  subject_webhook_endpoint_id: number | string | null
  created_at: string
}

// The entries as an admin reads them, newest first (by id: entries are numbered as written).
export class AuditLogRepository {
  constructor (private readonly knex: Knex) {}

  async list (filter: AuditFilter, window: PageWindow): Promise<{ count: number, entries: StoredAuditEntry[] }> {
    const matching = this.knex('audit_log as a').modify((query: Knex.QueryBuilder) => {
      if (filter.actor !== undefined) naming(this.knex, query, 'a.actor_id', 'a.actor_client_id', filter.actor)
      if (filter.subject !== undefined) naming(this.knex, query, 'a.subject_id', 'a.subject_client_id', filter.subject)
      if (filter.action !== undefined) void query.where('a.action', filter.action)
      if (filter.since !== undefined) void query.where('a.created_at', '>=', toDatabaseTime(filter.since))
      if (filter.until !== undefined) void query.where('a.created_at', '<', toDatabaseTime(filter.until))
    })
    const { total, rows } = await windowOf<AuditRow>(
      matching.clone()
        .leftJoin('oauth_clients as ac', 'ac.id', 'a.actor_client_id')
        .leftJoin('oauth_clients as sc', 'sc.id', 'a.subject_client_id'),
      window,
      [{ column: 'a.id', order: 'desc' }],
      ['a.id', 'a.action', 'a.actor_id', 'ac.client_id as actor_client', 'a.subject_id', 'sc.client_id as subject_client', 'a.subject_webhook_endpoint_id', 'a.created_at']
    )
    return {
      count: total,
      entries: rows.map((row) => ({
        id: Number(row.id),
        action: row.action,
        actor: { userId: row.actor_id, clientId: row.actor_client },
        subject: {
          userId: row.subject_id,
          clientId: row.subject_client,
          webhookEndpointId: row.subject_webhook_endpoint_id === null ? null : Number(row.subject_webhook_endpoint_id)
        },
        createdAt: fromDatabaseTime(row.created_at)
      }))
    }
  }
}

// Entries whose user column is the user, or whose client column is the client with that client_id.
function naming (knex: Knex, query: Knex.QueryBuilder, userColumn: string, clientColumn: string, party: AuditParty): void {
  if ('userId' in party) {
    void query.where(userColumn, party.userId)
    return
  }
  void query.whereIn(clientColumn, knex('oauth_clients').where('client_id', party.clientId).select('id'))
}
