// The webhook relay: fans each committed outbox event out into one delivery per active endpoint
// subscribed to its type (the body made once, then), and sends the deliveries that are due. To
// send, a relay holds an endpoint under a lease, so that any number of instances share the
// endpoints and an endpoint gets one delivery at a time, in the order of the event ids (but for
// those waiting for a retry). A few endpoints are sent to at once, so a slow receiver holds up
// only its own. A failed attempt is retried with a growing, jittered delay until the attempts or
// the delivery's age run out. Delivery is at least once: the webhook-id lets receivers drop what
// they already have.
import type { ClaimedDelivery, UndispatchedEvent, WebhookDeliveryRepository } from '../repositories/webhook-deliveries.js'
import type { StoredUser } from '../repositories/account-repository.js'
import type { WebhookTargetPolicy } from '../domain/webhook-targets.js'
import { PollingWorker, exponentialDelayMs, type RelayLogger } from './polling-worker.js'
import { userRepresentation } from './user-representation.js'
import { postWebhook, signatureHeader, type WebhookOutcome } from './webhook-requests.js'

export interface WebhookRelayOptions {
  deliveries: WebhookDeliveryRepository
  policy: WebhookTargetPolicy
  logger: RelayLogger
  // WEBHOOK_TIMEOUT_SECONDS, WEBHOOK_MAX_ATTEMPTS, WEBHOOK_MAX_AGE_SECONDS, WEBHOOK_RETENTION_DAYS.
  timeoutMs: number
  maxAttempts: number
  maxAgeSeconds: number
  retentionDays: number
  now?: () => Date
  // How long the relay rests when nothing is due.
  pollIntervalMs?: number
  // The wait after the first failed attempt, doubled after each (tests shorten it).
  firstRetryMs?: number
  // Deliveries sent at once by this instance.
  concurrency?: number
  // How often published events past their retention are purged.
  purgeIntervalMs?: number
}

// Events fanned out per transaction.
const DISPATCH_BATCH = 100
const FIRST_RETRY_MS = 10_000
const LONGEST_RETRY_MS = 6 * 3_600_000
const CONCURRENCY = 8
const PURGE_BATCH = 1000

// The keys of a payload a receiver never gets, whatever an event's writer put in it.
const SECRET_KEY = /(^|_)(password|hash|token|secret|code)$/i

// SelfCommunity's envelope: the type, when the event happened, its payload and the v2 User it is
// about as it is now (null when the user no longer exists).
export function webhookBody (event: UndispatchedEvent, user: StoredUser | undefined): string {
  const data = Object.fromEntries(Object.entries(event.payload).filter(([key]) => !SECRET_KEY.test(key)))
  return JSON.stringify({ type: event.type, created: event.createdAt.toISOString(), data: { ...data, user: user === undefined ? null : userRepresentation(user) } })
}

// The wait after the failed attempt number `attempts`: exponential, by a random factor of 0.75 to
// 1.25, so that receivers coming back are not met by every retry at once.
export function webhookRetryDelayMs (attempts: number, firstMs = FIRST_RETRY_MS, random = Math.random): number {
  return Math.round(exponentialDelayMs(attempts, firstMs, LONGEST_RETRY_MS) * (0.75 + random() / 2))
}

export class WebhookRelay extends PollingWorker {
  private readonly now: () => Date
  private readonly concurrency: number
  private readonly leaseMs: number
  private readonly purgeIntervalMs: number
  private nextPurgeAt = 0
  private nextDispatchAt = 0
  private readonly inFlight = new Map<number, Promise<void>>()
  private abort = new AbortController()

  constructor (private readonly options: WebhookRelayOptions) {
    super(options.logger, {
      failing: 'webhook relay: the outbox cannot be used; trying again every poll',
      recovered: 'webhook relay: the outbox answers again',
      stoppedInHand: 'webhook relay stopped with deliveries in hand: they are sent again once their lease runs out'
    }, options.pollIntervalMs ?? 1000, Math.min(options.timeoutMs, 3_000))
    this.now = options.now ?? (() => new Date())
    this.concurrency = options.concurrency ?? CONCURRENCY
    // Longer than an attempt can last: the timeout, the secrets' read and the attempt's record.
    this.leaseMs = options.timeoutMs + 60_000
    this.purgeIntervalMs = options.purgeIntervalMs ?? 3_600_000
  }

  override start (): void {
    this.abort = new AbortController()
    super.start()
  }

  protected async step (): Promise<boolean> {
    const { deliveries } = this.options
    const now = this.now()
    // Events are looked for every poll, not at each wake-up a finished send makes.
    let dispatched = 0
    if (now.getTime() >= this.nextDispatchAt) {
      dispatched = await deliveries.dispatchBatch(DISPATCH_BATCH, now, webhookBody)
      this.nextDispatchAt = dispatched === DISPATCH_BATCH ? 0 : now.getTime() + this.pollIntervalMs
    }
    this.tableAnswered()
    while (!this.stopping && this.inFlight.size < this.concurrency) {
      // The lease counts from the claim, not from the start of the step (which may have waited).
      const claimedAt = this.now()
      const delivery = await deliveries.claimNext(claimedAt, new Date(claimedAt.getTime() + this.leaseMs))
      if (delivery === undefined) break
      const sending = this.send(delivery)
        .catch(async (error: unknown) => {
          this.logger.warn({ err: error, deliveryId: delivery.id }, 'webhook attempt not recorded: it is made again, at once or when its lease runs out')
          // Not letting it go only holds the endpoint up until the lease runs out.
          await deliveries.release(delivery).catch(() => {})
        })
        .finally(() => { this.inFlight.delete(delivery.endpointId); this.wake() })
      this.inFlight.set(delivery.endpointId, sending)
    }
    if (now.getTime() >= this.nextPurgeAt) {
      this.nextPurgeAt = now.getTime() + this.purgeIntervalMs
      await this.housekeep(now)
    }
    return dispatched === DISPATCH_BATCH
  }

  protected override abandon (): void {
    this.abort.abort()
  }

  protected override async finish (): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()])
  }

  // Publishes the events whose last deliveries went with their endpoint, and purges those whose
  // delivery ended longer ago than their retention.
  private async housekeep (now: Date): Promise<void> {
    const { deliveries, retentionDays } = this.options
    await deliveries.publishDelivered(now)
    const before = new Date(now.getTime() - retentionDays * 86_400_000)
    let purged = 0
    for (let round = 0; round < 100; round++) {
      const deleted = await deliveries.purgeEnded(before, PURGE_BATCH)
      purged += deleted
      if (deleted < PURGE_BATCH) break
    }
    if (purged > 0) this.logger.info({ purged }, 'webhook relay: events past their retention purged')
  }

  private async send (delivery: ClaimedDelivery): Promise<void> {
    const { deliveries, policy, timeoutMs, maxAttempts, maxAgeSeconds, logger } = this.options
    const createdAt = this.now()
    const timestamp = Math.floor(createdAt.getTime() / 1000)
    const id = String(delivery.eventId)
    const signature = signatureHeader(await deliveries.signingSecrets(delivery.endpointId, createdAt), id, timestamp, delivery.body)
    const outcome: WebhookOutcome = await postWebhook({
      target: delivery.target, id, timestamp, body: delivery.body, signature, timeoutMs, policy,
      rejectUnauthorized: delivery.sslCertVerification, signal: this.abort.signal
    })
    if (this.abort.signal.aborted) return
    const attempts = delivery.attempts + 1
    const delivered = outcome.answered && outcome.statusCode >= 200 && outcome.statusCode < 300
    const finishedAt = this.now()
    const tooOld = finishedAt.getTime() - delivery.startedAt.getTime() >= maxAgeSeconds * 1000
    const result = delivered ? 'delivered' : attempts >= maxAttempts || tooOld ? 'failed' : 'retry'
    const nextRetry = result === 'retry' ? new Date(finishedAt.getTime() + webhookRetryDelayMs(attempts, this.options.firstRetryMs)) : undefined
    const recorded = await deliveries.recordAttempt(delivery, {
      createdAt,
      sentAt: outcome.sentAt,
      body: delivery.body,
      signatureHeader: signature,
      responseCode: outcome.answered ? outcome.statusCode : undefined,
      responseBody: outcome.answered ? outcome.body : outcome.reason,
      nextRetry
    }, result)
    const context = { deliveryId: delivery.id, endpointId: delivery.endpointId, eventId: delivery.eventId, attempts }
    const answer = outcome.answered ? { statusCode: outcome.statusCode } : { reason: outcome.reason }
    if (!recorded) logger.warn(context, 'webhook attempt made after its lease ran out, its endpoint went or a resend restarted it: not recorded')
    else if (result === 'delivered') logger.info(context, 'webhook delivered')
    else if (result === 'failed') logger.error({ ...context, ...answer }, `webhook given up after ${attempts} attempts`)
    else logger.warn({ ...context, ...answer, nextRetry }, 'webhook not delivered: it will be tried again')
  }
}
