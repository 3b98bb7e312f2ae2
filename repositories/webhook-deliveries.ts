import type { Knex } from 'knex'
import { type StoredUser, selectUsers } from './account-repository.js'
import { fromDatabaseTime, retryingDeadlocks, supportsRowLocks, toDatabaseTime } from './sql.js'

// An outbox event not yet fanned out into deliveries.
export interface UndispatchedEvent {
  id: number
  type: string
  payload: Record<string, unknown>
  createdAt: Date
}

// A delivery a relay holds until its lease ends; the lease's end also tells its holder's writes
// from those of a relay that took it over after the lease ran out.
export interface ClaimedDelivery {
  id: number
  endpointId: number
  eventId: number
  // When the delivery started: when it was made, or last resent (its maximum age counts from then).
  startedAt: Date
  target: string
  sslCertVerification: boolean
  body: string
  // The attempts made before this one.
  attempts: number
  leaseUntil: Date
}

// One attempt as recorded: the request, and the answer or what went wrong.
export interface RecordedAttempt {
  createdAt: Date
  sentAt: Date | undefined
  body: string
  signatureHeader: string
  responseCode: number | undefined
  responseBody: string
  // Undefined when the delivery was delivered or given up.
  nextRetry: Date | undefined
}

interface DeliveryRow {
  id: number | string
  endpoint_id: number | string
  event_id: number | string
  created_at: string
  target: string
  ssl_cert_verification: number | boolean
  body: string
  attempts: number | string
}

// Candidates looked at per claim: another relay may take some between the read and the update.
const CLAIM_CANDIDATES = 10

export type EventRow = { id: number | string, type: string, payload: string, created_at: string }

export function eventOf (row: EventRow): UndispatchedEvent {
  return { id: Number(row.id), type: row.type, payload: parsePayload(row.payload), createdAt: new Date(fromDatabaseTime(row.created_at)) }
}

// The users the events are about (their payload's id), as the transaction sees them.
export async function subjectsOf (trx: Knex.Transaction, events: UndispatchedEvent[]): Promise<Map<number, StoredUser>> {
  const ids = events.map((event) => event.payload.id).filter((id): id is number => typeof id === 'number')
  return new Map((await selectUsers(trx, [...new Set(ids)])).map((user) => [user.id, user]))
}

export function subjectOf (event: UndispatchedEvent, users: Map<number, StoredUser>): StoredUser | undefined {
  const id = event.payload.id
  return typeof id === 'number' ? users.get(id) : undefined
}

export class WebhookDeliveryRepository {
  constructor (private readonly db: Knex) {}

  // Fans out up to `limit` of the oldest events no relay has dispatched, in one transaction that
  // locks them (MariaDB skips those another relay holds; SQLite has one writer): one delivery per
  // active endpoint subscribed to the event's type, each with the body `bodyOf` makes from the
  // event and the user it is about (its payload's id) as they are now. An event nobody subscribes
  // to is published as it is dispatched. Answers how many events it dispatched.
  async dispatchBatch (limit: number, at: Date, bodyOf: (event: UndispatchedEvent, user: StoredUser | undefined) => string): Promise<number> {
    // Read committed, so that the locks taken are the events' own, and no gap lock holds up the
    // inserts of the events being written meanwhile.
    const config: Knex.TransactionConfig | undefined = supportsRowLocks(this.db) ? { isolationLevel: 'read committed' } : undefined
    return await retryingDeadlocks(this.db, async (trx) => {
      let query = trx('outbox_events').whereNull('dispatched_at').orderBy('id').limit(limit).select('id', 'type', 'payload', 'created_at')
      if (supportsRowLocks(trx)) query = query.forUpdate().skipLocked()
      const rows: EventRow[] = await query
      if (rows.length === 0) return 0
      const events = rows.map(eventOf)
      const subscriptions = await this.subscribers(trx, [...new Set(events.map((event) => event.type))])
      // An endpoint gets the events written since it subscribed to their type, none from before.
      const subscribers = new Map(events.map((event) => [event.id, (subscriptions.get(event.type) ?? [])
        .filter(({ since }) => since <= event.createdAt.getTime()).map(({ endpointId }) => endpointId)]))
      const users = await subjectsOf(trx, events.filter((event) => (subscribers.get(event.id) ?? []).length > 0))
      const time = toDatabaseTime(at)
      for (const event of events) {
        const endpointIds = subscribers.get(event.id) ?? []
        if (endpointIds.length > 0) {
          const body = bodyOf(event, subjectOf(event, users))
          // One a resend made before the event was dispatched stands.
          await trx('webhook_deliveries').insert(endpointIds.map((endpointId) => ({
            endpoint_id: endpointId, event_id: event.id, status: 'pending', attempts: 0, next_attempt_at: time, created_at: time, body
          }))).onConflict(['endpoint_id', 'event_id']).ignore()
        }
      }
      const published = events.filter((event) => (subscribers.get(event.id) ?? []).length === 0).map((event) => event.id)
      const delivering = events.filter((event) => (subscribers.get(event.id) ?? []).length > 0).map((event) => event.id)
      if (published.length > 0) await trx('outbox_events').whereIn('id', published).update({ dispatched_at: time, published_at: time })
      if (delivering.length > 0) await trx('outbox_events').whereIn('id', delivering).update({ dispatched_at: time })
      return events.length
    }, config)
  }

  // The active endpoints subscribed to each of the types, and since when.
  private async subscribers (trx: Knex.Transaction, types: string[]): Promise<Map<string, Array<{ endpointId: number, since: number }>>> {
    const rows: Array<{ type: string, endpoint_id: number | string, added_at: string }> = await trx('webhook_endpoint_events as s')
      .join('webhook_endpoints as e', 'e.id', 's.endpoint_id')
      .whereIn('s.type', types).where('e.is_active', true)
      .orderBy('s.endpoint_id').select('s.type', 's.endpoint_id', 's.added_at')
    const byType = new Map<string, Array<{ endpointId: number, since: number }>>()
    for (const row of rows) byType.set(row.type, [...byType.get(row.type) ?? [], { endpointId: Number(row.endpoint_id), since: Date.parse(fromDatabaseTime(row.added_at)) }])
    return byType
  }

  // Takes the due delivery of the lowest event id that no relay holds, to an active endpoint not in
  // `busyEndpoints`, until leaseUntil; undefined when none is due. The UPDATE repeats the conditions
  // the SELECT read, so of several relays one alone takes a delivery.
  async claimNext (now: Date, leaseUntil: Date, busyEndpoints: number[]): Promise<ClaimedDelivery | undefined> {
    const at = toDatabaseTime(now)
    const free = (query: Knex.QueryBuilder, table = ''): Knex.QueryBuilder => query
      .where(`${table}status`, 'pending')
      .where(`${table}next_attempt_at`, '<=', at)
      .where((lease) => { void lease.whereNull(`${table}lease_until`).orWhere(`${table}lease_until`, '<', at) })
    const candidates: DeliveryRow[] = await free(this.db('webhook_deliveries as d'), 'd.')
      .join('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
      .join('outbox_events as o', 'o.id', 'd.event_id')
      .where('e.is_active', true)
      .whereNotIn('d.endpoint_id', busyEndpoints)
      .orderBy([{ column: 'd.event_id' }, { column: 'd.id' }])
      .limit(CLAIM_CANDIDATES)
      .select('d.id', 'd.endpoint_id', 'd.event_id', 'd.created_at', 'e.target', 'e.ssl_cert_verification', 'd.body', 'd.attempts')
    for (const row of candidates) {
      const taken = await free(this.db('webhook_deliveries').where({ id: row.id, attempts: row.attempts }))
        .update({ lease_until: toDatabaseTime(leaseUntil) })
      if (taken === 1) {
        return {
          id: Number(row.id),
          endpointId: Number(row.endpoint_id),
          eventId: Number(row.event_id),
          startedAt: new Date(fromDatabaseTime(row.created_at)),
          target: row.target,
          sslCertVerification: Boolean(row.ssl_cert_verification),
          body: row.body,
          attempts: Number(row.attempts),
          leaseUntil
        }
      }
    }
    return undefined
  }

  // The endpoint's signing secrets at `now`: the current one, then those expired but still signing.
  async signingSecrets (endpointId: number, now: Date): Promise<string[]> {
    return await this.db('webhook_secrets').where({ endpoint_id: endpointId })
      .where((live) => { void live.whereNull('expires_at').orWhere('expires_at', '>', toDatabaseTime(now)) })
      .orderByRaw('case when expires_at is null then 0 else 1 end, id desc').pluck('secret')
  }

  // Records the attempt and its outcome for the delivery: delivered, retried at attempt.nextRetry,
  // or failed. False (and nothing written) when the lease had run out, or the delivery is gone (its
  // endpoint deleted). The event is published once every delivery of it is delivered.
  async recordAttempt (delivery: ClaimedDelivery, attempt: RecordedAttempt, outcome: 'delivered' | 'retry' | 'failed'): Promise<boolean> {
    return await this.db.transaction(async (trx) => {
      const changed = await trx('webhook_deliveries')
        // The attempts as claimed: a resend meanwhile (which counts from 0 again) is not written over.
        .where({ id: delivery.id, status: 'pending', lease_until: toDatabaseTime(delivery.leaseUntil), attempts: delivery.attempts })
        .update({
          attempts: delivery.attempts + 1,
          lease_until: null,
          ...(outcome === 'delivered' ? { status: 'delivered', delivered_at: toDatabaseTime(attempt.createdAt) } : {}),
          ...(outcome === 'failed' ? { status: 'failed' } : {}),
          ...(outcome === 'retry' && attempt.nextRetry !== undefined ? { next_attempt_at: toDatabaseTime(attempt.nextRetry) } : {})
        })
      if (changed !== 1) return false
      await trx('webhook_attempts').insert({
        delivery_id: delivery.id,
        created_at: toDatabaseTime(attempt.createdAt),
        sent_at: attempt.sentAt === undefined ? null : toDatabaseTime(attempt.sentAt),
        http_request_body: attempt.body,
        http_request_signature_header: attempt.signatureHeader,
        http_response_code: attempt.responseCode ?? null,
        http_response_body: attempt.responseBody,
        next_retry: attempt.nextRetry === undefined ? null : toDatabaseTime(attempt.nextRetry)
      })
      if (outcome === 'delivered') await this.publishDelivered(attempt.createdAt, [delivery.eventId], trx)
      return true
    })
  }

  // Publishes the dispatched events (those given, or all) whose deliveries are all delivered: also
  // those whose remaining deliveries went with their endpoint.
  async publishDelivered (at: Date, eventIds?: number[], db: Knex = this.db): Promise<number> {
    let query = db('outbox_events as o').whereNotNull('o.dispatched_at').whereNull('o.published_at')
      .whereNotExists(db('webhook_deliveries as d').whereRaw('d.event_id = o.id').whereNot('d.status', 'delivered').select(db.raw('1')))
    if (eventIds !== undefined) query = query.whereIn('o.id', eventIds)
    const ids: Array<number | string> = await query.limit(1000).pluck('o.id')
    if (ids.length === 0) return 0
    return await db('outbox_events').whereIn('id', ids).whereNull('published_at').update({ published_at: toDatabaseTime(at) })
  }

  // Deletes up to `limit` events published before `before`, their deliveries and attempts with them
  // (the foreign keys cascade); answers how many.
  async purgePublished (before: Date, limit: number): Promise<number> {
    const ids: Array<number | string> = await this.db('outbox_events').where('published_at', '<', toDatabaseTime(before)).orderBy('id').limit(limit).pluck('id')
    if (ids.length === 0) return 0
    return await this.db('outbox_events').whereIn('id', ids).delete()
  }

  // How long the oldest event not yet published has waited, in seconds; 0 when none waits.
  async oldestUnpublishedSeconds (now: Date): Promise<number> {
    const row = await this.db('outbox_events').whereNull('published_at').orderBy('id').first<{ created_at: string } | undefined>('created_at')
    return row === undefined ? 0 : Math.max(0, (now.getTime() - Date.parse(fromDatabaseTime(row.created_at))) / 1000)
  }
}

// The payload as stored: an object (every event names its user by `id`), or an empty one.
function parsePayload (text: string): Record<string, unknown> {
  try {
    const payload: unknown = JSON.parse(text)
    if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) return payload as Record<string, unknown>
  } catch {}
  return {}
}
