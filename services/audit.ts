import { InvalidInput } from '../domain/errors.js'
import { storableTime } from '../domain/formats.js'
import { subjectOf } from '../domain/principal.js'
import type { AuditFilter, AuditLogRepository, AuditParty, StoredAuditEntry } from '../repositories/audit-log.js'
import type { PageWindow } from '../repositories/sql.js'

// The filters as a request gives them.
export interface AuditQuery {
  // A user's id, or a service client's client_id.
  actor?: string
  subject?: string
  action?: string
  // ISO-8601 date-times.
  since?: string
  until?: string
}

// Reading the audit log, which every change writes in its own transaction.
export class AuditService {
  constructor (private readonly log: AuditLogRepository) {}

  // One window of the entries, newest first, and how many match in all.
  async list (query: AuditQuery, window: PageWindow): Promise<{ count: number, entries: StoredAuditEntry[] }> {
    const filter: AuditFilter = {
      actor: partyOf(query.actor, 'actor'),
      subject: partyOf(query.subject, 'subject'),
      action: query.action,
      since: query.since === undefined ? undefined : storableTime(query.since, 'since'),
      until: query.until === undefined ? undefined : storableTime(query.until, 'until')
    }
    if (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until) {
      throw new InvalidInput('invalid_field', 'until', 'until must be later than since')
    }
    return await this.log.list(filter, window)
  }
}

// A party named as a token's `sub` names it: a user by its id, a service client by its client_id.
function partyOf (value: string | undefined, field: string): AuditParty | undefined {
  if (value === undefined) return undefined
  const party = subjectOf(value)
  if (party === undefined) throw new InvalidInput('invalid_field', field, `${field} must be a user's id or a service client's client_id`)
  return party.kind === 'user' ? { userId: party.userId } : { clientId: party.clientId }
}
