import type { Knex } from 'knex'
import type { StoredUser } from './account-repository.js'
import { type AuditEntry, insertAuditEntry } from './audit-log.js'
import { type EventRow, type UndispatchedEvent, eventOf, subjectOf, subjectsOf } from './webhook-deliveries.js'
import { type PageWindow, fromDatabaseTime, retryingDeadlocks, supportsRowLocks, toDatabaseTime, windowOf } from './sql.js'

export interface StoredSubscription {
  type: string
  addedAt: string
}

export interface StoredWebhookEndpoint {
  id: number
  target: string
  description: string
  isActive: boolean
  sslCertVerification: boolean
  createdAt: string
  updatedAt: string
  // Ordered by type.
  events: StoredSubscription[]
}

export interface WebhookEndpointSettings {
  target: string
  description: string
  isActive: boolean
  sslCertVerification: boolean
}

export interface StoredWebhookAttempt {
  id: number
  createdAt: string
  event: { id: number, type: string, createdAt: string }
  sentAt: string | null
  httpRequestBody: string
  httpRequestSignatureHeader: string
  httpResponseCode: number | null
  httpResponseBody: string
  nextRetry: string | null
}

export interface Ordering<Column extends string> {
  column: Column
  order: 'asc' | 'desc'
}

export type EndpointOrderColumn = 'created_at' | 'updated_at' | 'is_active'
export type AttemptOrderColumn = 'created_at' | 'sent_at' | 'next_retry'

interface EndpointRow {
  id: number
  target: string
  description: string
  is_active: number | boolean
  ssl_cert_verification: number | boolean
  created_at: string
  updated_at: string
}

interface AttemptRow {
  id: number | string
  created_at: string
  sent_at: string | null
  http_request_body: string
  http_request_signature_header: string
  http_response_code: number | null
  http_response_body: string
  next_retry: string | null
  event_id: number | string
  event_type: string
  event_created_at: string
}

const ATTEMPT_COLUMNS = ['a.id', 'a.created_at', 'a.sent_at', 'a.http_request_body', 'a.http_request_signature_header', 'a.http_response_code',
  'a.http_response_body', 'a.next_retry', 'e.id as event_id', 'e.type as event_type', 'e.created_at as event_created_at']

function timeOrNull (value: string | null): string | null {
  return value === null ? null : fromDatabaseTime(value)
}

function attemptFromRow (row: AttemptRow): StoredWebhookAttempt {
  return {
    id: Number(row.id),
    createdAt: fromDatabaseTime(row.created_at),
    event: { id: Number(row.event_id), type: row.event_type, createdAt: fromDatabaseTime(row.event_created_at) },
    sentAt: timeOrNull(row.sent_at),
    httpRequestBody: row.http_request_body,
    httpRequestSignatureHeader: row.http_request_signature_header,
    httpResponseCode: row.http_response_code,
    httpResponseBody: row.http_response_body,
    nextRetry: timeOrNull(row.next_retry)
  }
}

// The endpoints of these rows, each with its subscriptions.
async function withSubscriptions (db: Knex, rows: EndpointRow[]): Promise<StoredWebhookEndpoint[]> {
  const ids = rows.map((row) => row.id)
  const subscriptions = ids.length === 0
    ? []
    : await db('webhook_endpoint_events').whereIn('endpoint_id', ids).orderBy('type')
      .select<Array<{ endpoint_id: number, type: string, added_at: string }>>('endpoint_id', 'type', 'added_at')
  return rows.map((row) => ({
    id: row.id,
    target: row.target,
    description: row.description,
    isActive: Boolean(row.is_active),
    sslCertVerification: Boolean(row.ssl_cert_verification),
    createdAt: fromDatabaseTime(row.created_at),
    updatedAt: fromDatabaseTime(row.updated_at),
    events: subscriptions.filter((event) => event.endpoint_id === row.id).map((event) => ({ type: event.type, addedAt: fromDatabaseTime(event.added_at) }))
  }))
}

async function selectEndpoint (db: Knex, id: number, options: { lock: boolean }): Promise<StoredWebhookEndpoint | undefined> {
  const query = db('webhook_endpoints').where({ id }).first<EndpointRow | undefined>('*')
  if (options.lock && supportsRowLocks(db)) void query.forUpdate()
  const row = await query
  return row === undefined ? undefined : (await withSubscriptions(db, [row]))[0]
}

// The writes of one change to the endpoints, inside its transaction.
export class WebhookEndpointWriter {
  constructor (private readonly trx: Knex.Transaction) {}

  // The endpoint, which no other transaction can change until this one ends.
  async lockEndpoint (id: number): Promise<StoredWebhookEndpoint | undefined> {
    return await selectEndpoint(this.trx, id, { lock: true })
  }

  async insertEndpoint (settings: WebhookEndpointSettings, at: Date): Promise<number> {
    const time = toDatabaseTime(at)
    const [id] = await this.trx('webhook_endpoints').insert({
      target: settings.target,
      description: settings.description,
      is_active: settings.isActive,
      ssl_cert_verification: settings.sslCertVerification,
      created_at: time,
      updated_at: time
    })
    return Number(id)
  }

  async updateEndpoint (id: number, settings: WebhookEndpointSettings, at: Date): Promise<void> {
    await this.trx('webhook_endpoints').where({ id }).update({
      target: settings.target,
      description: settings.description,
      is_active: settings.isActive,
      ssl_cert_verification: settings.sslCertVerification,
      updated_at: toDatabaseTime(at)
    })
  }

  // The endpoint subscribes to exactly these types from now on; a type it kept keeps its added_at.
  async setSubscriptions (id: number, types: readonly string[], at: Date): Promise<void> {
    const dropped = this.trx('webhook_endpoint_events').where({ endpoint_id: id })
    await (types.length === 0 ? dropped : dropped.whereNotIn('type', types)).delete()
    const kept = await this.trx('webhook_endpoint_events').where({ endpoint_id: id }).pluck<string[]>('type')
    const added = types.filter((type) => !kept.includes(type))
    if (added.length === 0) return
    await this.trx('webhook_endpoint_events').insert(added.map((type) => ({ endpoint_id: id, type, added_at: toDatabaseTime(at) })))
  }

  // Its secrets, deliveries and attempts go with it (the foreign keys cascade).
  async deleteEndpoint (id: number): Promise<void> {
    await this.trx('webhook_endpoints').where({ id }).delete()
  }

  async insertSecret (endpointId: number, secret: string, at: Date): Promise<void> {
    await this.trx('webhook_secrets').insert({ endpoint_id: endpointId, secret, created_at: toDatabaseTime(at), expires_at: null })
  }

  // The current secret stops being current and still signs until `expiresAt`; one that expired
  // before stops signing now, so that two secrets at most sign (the header stays short).
  async expireCurrentSecret (endpointId: number, at: Date, expiresAt: Date): Promise<void> {
    await this.trx('webhook_secrets').where({ endpoint_id: endpointId }).where('expires_at', '>', toDatabaseTime(at)).update({ expires_at: toDatabaseTime(at) })
    await this.trx('webhook_secrets').where({ endpoint_id: endpointId }).whereNull('expires_at').update({ expires_at: toDatabaseTime(expiresAt) })
  }

  // Each of these outbox events that exists, by id, with the user it is about as it is now.
  async events (ids: readonly number[]): Promise<Map<number, { event: UndispatchedEvent, user: StoredUser | undefined }>> {
    const rows: EventRow[] = await this.trx('outbox_events').whereIn('id', ids).select('id', 'type', 'payload', 'created_at')
    const events = rows.map(eventOf)
    const users = await subjectsOf(this.trx, events)
    return new Map(events.map((event) => [event.id, { event, user: subjectOf(event, users) }]))
  }

  // Each event's delivery to the endpoint is due now, counted from its first attempt again (its
  // maximum age too), and the event waits to be published again; made, with this body, when the
  // relay had not made it (one made before keeps its body: every attempt sends the same bytes).
  // One statement, so a relay making it meanwhile is no conflict. Its lease goes: a relay sending
  // it now still holds the endpoint, so none sends it beside that one, which does not record over
  // the resend (its attempts no longer match); the resend goes out next.
  async makeDeliveriesPending (endpointId: number, deliveries: ReadonlyArray<{ eventId: number, body: string }>, at: Date): Promise<void> {
    const time = toDatabaseTime(at)
    await this.trx('webhook_deliveries')
      .insert(deliveries.map(({ eventId, body }) => ({
        endpoint_id: endpointId, event_id: eventId, status: 'pending', attempts: 0, next_attempt_at: time, lease_until: null, created_at: time, delivered_at: null, failed_at: null, body
      })))
      .onConflict(['endpoint_id', 'event_id'])
      .merge(['status', 'attempts', 'next_attempt_at', 'lease_until', 'created_at', 'delivered_at', 'failed_at'])
    await this.trx('outbox_events').whereIn('id', deliveries.map(({ eventId }) => eventId)).update({ published_at: null })
  }

  async recordAudit (entry: AuditEntry): Promise<void> {
    await insertAuditEntry(this.trx, entry)
  }
}

// The webhook endpoints, their subscriptions and secrets, and the attempts made to them.
export class WebhookEndpointRepository {
  constructor (private readonly knex: Knex) {}

  // Runs `work` in one transaction, again from the start if the database broke a deadlock.
  async transaction<T> (work: (writer: WebhookEndpointWriter) => Promise<T>): Promise<T> {
    return await retryingDeadlocks(this.knex, async (trx) => await work(new WebhookEndpointWriter(trx)))
  }

  async find (id: number): Promise<StoredWebhookEndpoint | undefined> {
    return await selectEndpoint(this.knex, id, { lock: false })
  }

  // One page of the endpoints in `ordering` (then by id the same way), and how many there are.
  async list (window: PageWindow, ordering: Ordering<EndpointOrderColumn>): Promise<{ total: number, endpoints: StoredWebhookEndpoint[] }> {
    const { total, rows } = await windowOf<EndpointRow>(this.knex('webhook_endpoints'), window,
      [{ column: ordering.column, order: ordering.order }, { column: 'id', order: ordering.order }])
    return { total, endpoints: await withSubscriptions(this.knex, rows) }
  }

  // One page of the attempts made to the endpoint in `ordering` (then by id the same way), with their events.
  async listAttempts (endpointId: number, window: PageWindow, ordering: Ordering<AttemptOrderColumn>): Promise<{ total: number, attempts: StoredWebhookAttempt[] }> {
    const attempts = this.knex('webhook_attempts as a')
      .join('webhook_deliveries as d', 'd.id', 'a.delivery_id')
      .join('outbox_events as e', 'e.id', 'd.event_id')
      .where('d.endpoint_id', endpointId)
    const { total, rows } = await windowOf<AttemptRow>(attempts, window,
      [{ column: `a.${ordering.column}`, order: ordering.order }, { column: 'a.id', order: ordering.order }], ATTEMPT_COLUMNS)
    return { total, attempts: rows.map(attemptFromRow) }
  }

  // The secret that signs with no end set, or undefined for an endpoint that has none.
  async currentSecret (endpointId: number): Promise<string | undefined> {
    const row = await this.knex('webhook_secrets').where({ endpoint_id: endpointId }).whereNull('expires_at')
      .orderBy('id', 'desc').first<{ secret: string } | undefined>('secret')
    return row?.secret
  }
}
