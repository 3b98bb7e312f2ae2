import type { Knex } from 'knex'
import { type StoredUser, selectUsers } from './account-repository.js'
import { fromDatabaseTime, readCommitted, retryingDeadlocks, supportsRowLocks, toDatabaseTime } from './sql.js'

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
  event_id: number | string
  created_at: string
  body: string
  attempts: number | string
}

// Deliveries looked at per claim, for their endpoints: another relay may take some meanwhile.
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

// Holds the endpoint's lease row until the transaction ends, if no relay holds it, nor its lease;
// makes the row at the endpoint's first claim (of two claims racing, the second waits for the
// first, then finds its lease taken).
async function holdEndpoint (trx: Knex.Transaction, endpointId: number, now: Date): Promise<boolean> {
  const read = async (): Promise<{ lease_until: string | null } | undefined> => {
    const query = trx('webhook_endpoint_leases').where({ endpoint_id: endpointId }).first('lease_until')
    return await (supportsRowLocks(trx) ? query.forUpdate().skipLocked() : query)
  }
  let lease = await read()
  if (lease === undefined) {
    await trx('webhook_endpoint_leases').insert({ endpoint_id: endpointId, lease_until: null }).onConflict('endpoint_id').ignore()
    lease = await read()
  }
  return lease !== undefined && (lease.lease_until === null || Date.parse(fromDatabaseTime(lease.lease_until)) < now.getTime())
}

export class WebhookDeliveryRepository {
  constructor (private readonly db: Knex) {}

  // Fans out up to `limit` of the oldest events no relay has dispatched, in one transaction that
  // locks them (MariaDB skips those another relay holds; SQLite has one writer): one delivery per
  // active endpoint subscribed to the event's type, each with the body `bodyOf` makes from the
  // event and the user it is about (its payload's id) as they are now. An event nobody subscribes
  // to is published as it is dispatched. Answers how many events it dispatched.
  async dispatchBatch (limit: number, at: Date, bodyOf: (event: UndispatchedEvent, user: StoredUser | undefined) => string): Promise<number> {
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
    }, readCommitted(this.db))
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

  // Takes an endpoint no relay holds, with its due delivery of the lowest event id, both until
  // leaseUntil; undefined when none is due. Endpoints are looked at by their oldest due delivery
  // first; one is taken in a transaction that locks its lease (MariaDB skips one another relay is
  // taking; SQLite has one writer) and repeats the conditions read, so of several relays one alone
  // holds an endpoint, and an endpoint has one delivery in flight at a time.
  async claimNext (now: Date, leaseUntil: Date): Promise<ClaimedDelivery | undefined> {
    const at = toDatabaseTime(now)
    const due = (query: Knex.QueryBuilder): Knex.QueryBuilder => query.where('d.status', 'pending').where('d.next_attempt_at', '<=', at)
      .where((lease) => { void lease.whereNull('d.lease_until').orWhere('d.lease_until', '<', at) })
    const candidates: Array<number | string> = await due(this.db('webhook_deliveries as d'))
      .join('webhook_endpoints as e', 'e.id', 'd.endpoint_id').where('e.is_active', true)
      .leftJoin('webhook_endpoint_leases as l', 'l.endpoint_id', 'd.endpoint_id')
      .where((lease) => { void lease.whereNull('l.lease_until').orWhere('l.lease_until', '<', at) })
      .orderBy([{ column: 'd.event_id' }, { column: 'd.id' }])
      .limit(CLAIM_CANDIDATES)
      .pluck('d.endpoint_id')
    for (const endpointId of [...new Set(candidates.map(Number))]) {
      const claimed = await retryingDeadlocks(this.db, async (trx) => {
        if (!await holdEndpoint(trx, endpointId, now)) return undefined
        const endpoint: { target: string, ssl_cert_verification: number | boolean } | undefined = await trx('webhook_endpoints')
          .where({ id: endpointId, is_active: true }).first('target', 'ssl_cert_verification')
        const row: DeliveryRow | undefined = endpoint === undefined
          ? undefined
          : await due(trx('webhook_deliveries as d').where('d.endpoint_id', endpointId))
            .orderBy([{ column: 'd.event_id' }, { column: 'd.id' }])
            .first('d.id', 'd.event_id', 'd.created_at', 'd.body', 'd.attempts')
        if (endpoint === undefined || row === undefined) return undefined
        const lease = { lease_until: toDatabaseTime(leaseUntil) }
        await trx('webhook_endpoint_leases').where({ endpoint_id: endpointId }).update(lease)
        await trx('webhook_deliveries').where({ id: row.id }).update(lease)
        return {
          id: Number(row.id),
          endpointId,
          eventId: Number(row.event_id),
          startedAt: new Date(fromDatabaseTime(row.created_at)),
          target: endpoint.target,
          sslCertVerification: Boolean(endpoint.ssl_cert_verification),
          body: row.body,
          attempts: Number(row.attempts),
          leaseUntil
        }
      }, readCommitted(this.db))
      if (claimed !== undefined) return claimed
    }
    return undefined
  }

  // Lets a delivery whose attempt could not be recorded go, with its endpoint: it is due again at
  // once, before the endpoint's later events (delivery is at least once).
  async release (delivery: ClaimedDelivery): Promise<void> {
    const lease = toDatabaseTime(delivery.leaseUntil)
    await retryingDeadlocks(this.db, async (trx) => {
      await trx('webhook_endpoint_leases').where({ endpoint_id: delivery.endpointId, lease_until: lease }).update({ lease_until: null })
      await trx('webhook_deliveries').where({ id: delivery.id, lease_until: lease }).update({ lease_until: null })
    }, readCommitted(this.db))
  }

  // The endpoint's signing secrets at `now`: the current one, then those expired but still signing.
  async signingSecrets (endpointId: number, now: Date): Promise<string[]> {
    return await this.db('webhook_secrets').where({ endpoint_id: endpointId })
      .where((live) => { void live.whereNull('expires_at').orWhere('expires_at', '>', toDatabaseTime(now)) })
      .orderByRaw('case when expires_at is null then 0 else 1 end, id desc').pluck('secret')
  }

  // Records the attempt and its outcome for the delivery: delivered, retried at attempt.nextRetry,
  // or failed, and lets its endpoint go. False (and nothing written but the endpoint let go) when
  // the lease had run out, a resend restarted the delivery, or it is gone (its endpoint deleted).
  // The event is published once every delivery of it is delivered.
  async recordAttempt (delivery: ClaimedDelivery, attempt: RecordedAttempt, outcome: 'delivered' | 'retry' | 'failed'): Promise<boolean> {
    return await retryingDeadlocks(this.db, async (trx) => {
      const leaseUntil = toDatabaseTime(delivery.leaseUntil)
      await trx('webhook_endpoint_leases').where({ endpoint_id: delivery.endpointId, lease_until: leaseUntil }).update({ lease_until: null })
      const finishedAt = toDatabaseTime(attempt.createdAt)
      const changed = await trx('webhook_deliveries')
        // The attempts as claimed: a resend meanwhile (which counts from 0 again) is not written over.
        .where({ id: delivery.id, status: 'pending', lease_until: leaseUntil, attempts: delivery.attempts })
        .update({
          attempts: delivery.attempts + 1,
          lease_until: null,
          ...(outcome === 'delivered' ? { status: 'delivered', delivered_at: finishedAt } : {}),
          ...(outcome === 'failed' ? { status: 'failed', failed_at: finishedAt } : {}),
          ...(outcome === 'retry' && attempt.nextRetry !== undefined ? { next_attempt_at: toDatabaseTime(attempt.nextRetry) } : {})
        })
      if (changed !== 1) return false
      await trx('webhook_attempts').insert({
        delivery_id: delivery.id,
        created_at: finishedAt,
        sent_at: attempt.sentAt === undefined ? null : toDatabaseTime(attempt.sentAt),
        http_request_body: attempt.body,
        http_request_signature_header: attempt.signatureHeader,
        http_response_code: attempt.responseCode ?? null,
        http_response_body: attempt.responseBody,
        next_retry: attempt.nextRetry === undefined ? null : toDatabaseTime(attempt.nextRetry)
      })
      if (outcome === 'delivered') await this.publishDelivered(attempt.createdAt, [delivery.eventId], trx)
      return true
    }, readCommitted(this.db))
  }

  // Publishes the dispatched events (those given, or up to 1000 of all) whose deliveries are all
  // delivered: also those whose remaining deliveries went with their endpoint. The update repeats
  // the condition it read, so a resend that makes a delivery pending meanwhile is never published
  // over. In the caller's transaction, or in one of its own.
  async publishDelivered (at: Date, eventIds?: number[], trx?: Knex.Transaction): Promise<number> {
    const publish = async (db: Knex): Promise<number> => {
      const allDelivered = (query: Knex.QueryBuilder): Knex.QueryBuilder => query.whereNotNull('dispatched_at').whereNull('published_at')
        .whereNotExists(db('webhook_deliveries as d').whereRaw('?? = ??', ['d.event_id', 'outbox_events.id']).whereNot('d.status', 'delivered').select(db.raw('1')))
      const ids: Array<number | string> = eventIds ?? await allDelivered(db('outbox_events')).orderBy('id').limit(1000).pluck('id')
      if (ids.length === 0) return 0
      return await allDelivered(db('outbox_events').whereIn('id', ids)).update({ published_at: toDatabaseTime(at) })
    }
    return trx === undefined ? await retryingDeadlocks(this.db, publish, readCommitted(this.db)) : await publish(trx)
  }

  // Deletes up to `limit` events whose delivery ended before `before`, their deliveries and
  // attempts with them (the foreign keys cascade); answers how many. An event's delivery has ended
  // when none of it is pending to an active endpoint: each delivered, failed, or waiting for an
  // endpoint that is off, since then (or since it was dispatched to none).
  async purgeEnded (before: Date, limit: number): Promise<number> {
    const time = toDatabaseTime(before)
    const lasting = this.db('webhook_deliveries as d').join('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
      .whereRaw('?? = ??', ['d.event_id', 'o.id'])
      .where((still) => {
        void still.where((pending) => { void pending.where('d.status', 'pending').where('e.is_active', true) })
          .orWhereRaw('coalesce(??, ??, ??) >= ?', ['d.delivered_at', 'd.failed_at', 'd.created_at', time])
      })
      .select(this.db.raw('1'))
    const ids: Array<number | string> = await this.db('outbox_events as o').where('o.dispatched_at', '<', time).whereNotExists(lasting)
      .orderBy('o.id').limit(limit).pluck('o.id')
    if (ids.length === 0) return 0
    return await this.db('outbox_events').whereIn('id', ids).delete()
  }

  // How long the oldest event the relays still have to deliver has waited, in seconds (0 when none
  // waits): one not dispatched yet, or with a delivery pending to an active endpoint. A failed
  // delivery, or one to an endpoint that is off, waits for a person, not for the relays.
  async oldestUndeliveredSeconds (now: Date): Promise<number> {
    const undispatched = await this.db('outbox_events').whereNull('dispatched_at').orderBy('id').first<{ created_at: string } | undefined>('created_at')
    const pending = await this.db('webhook_deliveries as d').join('webhook_endpoints as e', 'e.id', 'd.endpoint_id').join('outbox_events as o', 'o.id', 'd.event_id')
      .where('d.status', 'pending').where('e.is_active', true).orderBy('d.event_id').first<{ created_at: string } | undefined>('o.created_at')
    const times = [undispatched, pending].filter((row) => row !== undefined).map((row) => Date.parse(fromDatabaseTime(row.created_at)))
    return times.length === 0 ? 0 : Math.max(0, (now.getTime() - Math.min(...times)) / 1000)
  }

  // How many deliveries were given up (each waits for a resend or its retention's end).
  async failedCount (): Promise<number> {
    const [row] = await this.db('webhook_deliveries').where({ status: 'failed' }).count<Array<{ count: number | string }>>({ count: '*' })
    return Number(row?.count ?? 0)
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
