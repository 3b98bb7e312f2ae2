import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { InvalidToken, Unauthorized } from '../domain/errors.js'
import type { OutboxStatistics } from '../repositories/mail-outbox.js'
import { operations } from '../schemas/operations.js'
import { bcryptOperationsInFlight } from '../services/passwords.js'
import { bearerTokenOf } from './auth.js'

export interface Metrics {
  // The Content-Type of the exposition (Prometheus's text format 0.0.4).
  contentType: string
  // Refuses a request that does not carry `Authorization: Bearer <METRICS_TOKEN>`.
  authorize: (request: FastifyRequest) => void
  exposition: () => Promise<string>
}

declare module 'fastify' {
  interface FastifyInstance {
    // Null when METRICS_TOKEN is not configured: nothing is measured and /metrics is not served.
    metrics: Metrics | null
  }
}

// The route label of a request no route serves: its raw URL would make a label per path tried.
const UNMATCHED_ROUTE = 'unmatched'

// Account creation has two doors, v2's and Rocket.Chat's; both count in one metric.
const ACCOUNT_CREATION_ROUTES = new Map([
  [`${operations.createAccount.method} ${operations.createAccount.url}`, 'v2'],
  [`${operations.rocketChatCreateUser.method} ${operations.rocketChatCreateUser.url}`, 'v1']
])

type CreationOutcome = 'created' | 'conflict' | 'invalid' | 'refused' | 'error'

// What became of a create, from the status of our own error (before Rocket.Chat's surface turns
// a conflict into a 400), or of the answer when nothing failed: one rule for both doors.
function creationOutcome (statusCode: number, failure: FastifyError | undefined): CreationOutcome {
  const status = failure === undefined ? statusCode : failure.statusCode ?? 500
  if (status < 400) return 'created'
  if (status === 409) return 'conflict'
  if (status === 401 || status === 403 || status === 429) return 'refused'
  if (status < 500) return 'invalid'
  return 'error'
}

// The slice of tarn's pool (Knex's) that tells how it is used.
interface ConnectionPool {
  max: number
  numUsed: () => number
  numFree: () => number
  numPendingAcquires: () => number
  numPendingCreates: () => number
}

// Compared as digests, so the comparison takes the same time whatever the token's length.
function digest (text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}

// Prometheus metrics, in a registry of this app's own (the tests build many apps in one process):
// requests by route template, method and status; account creations by outcome; the bcrypt work
// waiting for the thread pool; the database pool; the mail outbox; the webhook relay's lag; Node's process metrics. The gauges are read
// when scraped. Only with METRICS_TOKEN: a scrape must show it (routes/metrics.ts).
export default fp(async (fastify) => {
  const { metricsToken, threadPoolSize } = fastify.config
  if (metricsToken === undefined) {
    fastify.decorate('metrics', null)
    return
  }
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const labelNames = ['method', 'route', 'status_code'] as const
  const requests = new Counter({ name: 'http_requests_total', help: 'Requests answered, by route template, method and status.', labelNames, registers: [registry] })
  const durations = new Histogram({
    name: 'http_request_duration_seconds', help: 'Time to answer a request, by route template, method and status.', labelNames, registers: [registry]
  })
  const creations = new Counter({
    name: 'account_service_account_creations_total',
    help: 'Account creations through POST /api/v2/account/create/ (v2) and POST /api/v1/users.create (v1), by outcome.',
    labelNames: ['surface', 'outcome'] as const,
    registers: [registry]
  })
  for (const surface of ACCOUNT_CREATION_ROUTES.values()) {
    for (const outcome of ['created', 'conflict', 'invalid', 'refused', 'error'] as const) creations.inc({ surface, outcome }, 0)
  }
  new Gauge({
    name: 'account_service_bcrypt_operations_in_flight',
    help: 'Password hashes and checks started and not finished.',
    registers: [registry],
    collect () { this.set(bcryptOperationsInFlight()) }
  })
  new Gauge({
    name: 'account_service_bcrypt_operations_waiting',
    help: 'Password hashes and checks beyond the threads of the pool they run in (UV_THREADPOOL_SIZE): at least that many wait.',
    registers: [registry],
    collect () { this.set(Math.max(0, bcryptOperationsInFlight() - threadPoolSize)) }
  })
  const pool = (): ConnectionPool | undefined => (fastify.knex.client as { pool?: ConnectionPool }).pool
  const poolGauges: Array<[string, string, (pool: ConnectionPool) => number]> = [
    ['account_service_database_pool_connections_used', 'Database connections in use.', (pool) => pool.numUsed()],
    ['account_service_database_pool_connections_free', 'Database connections open and idle.', (pool) => pool.numFree()],
    ['account_service_database_pool_acquires_pending', 'Requests waiting for a database connection.', (pool) => pool.numPendingAcquires()]
  ]
  for (const [name, help, read] of poolGauges) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect () {
        const current = pool()
        this.set(current === undefined ? 0 : read(current))
      }
    })
  }

  // The mail outbox, read when scraped; NaN while the database does not answer, so the rest of the
  // scrape still goes through. A scrape never queues behind the requests for a connection: while
  // the pool has none free and can open no other, the gauges keep their last reading.
  const outboxGauges: Array<[string, string, (statistics: OutboxStatistics) => number]> = [
    ['account_service_mail_outbox_pending', 'Mails queued and not sent yet (retries included).', (statistics) => statistics.pending],
    ['account_service_mail_outbox_oldest_pending_seconds', 'How long the oldest mail not sent yet has waited (0 when none waits).', (statistics) => statistics.oldestPendingSeconds],
    ['account_service_mail_outbox_failed', 'Mails given up (not renderable, or failed every attempt), kept in the outbox.', (statistics) => statistics.failed]
  ]
  const poolIsTaken = (): boolean => {
    const current = pool()
    return current !== undefined && current.numFree() === 0 && current.numUsed() + current.numPendingCreates() >= current.max
  }
  let outboxReading: Promise<OutboxStatistics | 'unreadable'> | undefined
  // One read per scrape for the three gauges, which collect at the same time.
  const outboxStatistics = async (): Promise<OutboxStatistics | 'unreadable'> => {
    outboxReading ??= fastify.repositories.mailOutbox.statistics(new Date())
      .catch((error: unknown) => { fastify.log.warn({ err: error }, 'metrics: the mail outbox cannot be read'); return 'unreadable' as const })
      .finally(() => { outboxReading = undefined })
    return await outboxReading
  }
  // A gauge read from the database when scraped, unless the pool is taken.
  const databaseGauge = (name: string, help: string, read: () => Promise<number>): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect () {
        if (poolIsTaken()) return
        this.set(await read())
      }
    })
  }
  for (const [name, help, read] of outboxGauges) {
    databaseGauge(name, help, async () => {
      const statistics = await outboxStatistics()
      return statistics === 'unreadable' ? Number.NaN : read(statistics)
    })
  }

  // The webhook relay's lag and the deliveries it gave up, read like the outbox's gauges.
  const deliveries = fastify.repositories.webhookDeliveries
  const webhookGauges: Array<[string, string, () => Promise<number>]> = [
    ['account_service_webhook_oldest_undelivered_event_seconds', 'How long the oldest event the relays still have to deliver (not dispatched, or pending to an active endpoint) has waited (0 when none waits).', async () => await deliveries.oldestUndeliveredSeconds(new Date())],
    ['account_service_webhook_deliveries_failed', 'Webhook deliveries given up after their attempts or maximum age, until resent or purged.', async () => await deliveries.failedCount()]
  ]
  for (const [name, help, read] of webhookGauges) {
    databaseGauge(name, help, async () => await read().catch((error: unknown) => { fastify.log.warn({ err: error }, 'metrics: the event outbox cannot be read'); return Number.NaN }))
  }

  const expected = digest(metricsToken)
  fastify.decorate('metrics', {
    contentType: registry.contentType,
    authorize (request: FastifyRequest) {
      const presented = bearerTokenOf(request.headers.authorization)
      if (presented === undefined) throw new Unauthorized('The metrics token is required')
      if (!timingSafeEqual(digest(presented), expected)) throw new InvalidToken('This is not the metrics token')
    },
    exposition: async () => await registry.metrics()
  })

  // The error each request was answered with, before any surface translated it.
  const failures = new WeakMap<FastifyRequest, FastifyError>()
  fastify.addHook('onError', async (request, _reply, error) => {
    failures.set(request, error)
  })
  fastify.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url
    const labels = { method: request.method, route: route ?? UNMATCHED_ROUTE, status_code: String(reply.statusCode) }
    requests.inc(labels)
    durations.observe(labels, reply.elapsedTime / 1000)
    const surface = ACCOUNT_CREATION_ROUTES.get(`${request.method} ${route ?? ''}`)
    if (surface !== undefined) creations.inc({ surface, outcome: creationOutcome(reply.statusCode, failures.get(request)) })
  })
}, { name: 'metrics', dependencies: ['config', 'database', 'repositories'] })
