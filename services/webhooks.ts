import { randomBytes } from 'node:crypto'
import { lookup } from 'node:dns/promises'
import { InvalidInput, NotFound } from '../domain/errors.js'
import { EVENT_TYPES, isEventType } from '../domain/events.js'
import { type StoredPrincipal, actorOf } from '../domain/principal.js'
import { WebhookTargetPolicy, hostOf } from '../domain/webhook-targets.js'
import type { AccountRepository } from '../repositories/account-repository.js'
import type { PageWindow } from '../repositories/sql.js'
import type {
  AttemptOrderColumn, EndpointOrderColumn, Ordering, StoredWebhookAttempt, StoredWebhookEndpoint, WebhookEndpointRepository, WebhookEndpointSettings,
  WebhookEndpointWriter
} from '../repositories/webhook-repository.js'
import { verifyPassword } from './passwords.js'
import { webhookBody } from './webhook-relay.js'

export type { StoredWebhookAttempt, StoredWebhookEndpoint }

// An expired secret still signs, beside the new one, for this long: the receiver's rollover.
export const SECRET_ROLLOVER_MS = 24 * 60 * 60 * 1000

export interface WebhookEndpointChanges {
  target?: string
  description?: string
  isActive?: boolean
  sslCertVerification?: boolean
  events?: Array<{ type: string }>
}

// The addresses a host name resolves to (node:dns/promises' lookup, which tests may replace).
export type ResolveHost = (hostname: string) => Promise<string[]>

async function resolveWithSystem (hostname: string): Promise<string[]> {
  return (await lookup(hostname, { all: true })).map((entry) => entry.address)
}

// A new signing secret: Standard Webhooks' form, `whsec_` and the base64 of 32 random bytes.
export function newSigningSecret (): string {
  return `whsec_${randomBytes(32).toString('base64')}`
}

// `ordering` as the lists take it: a column, `-` first for descending.
function orderingOf<Column extends string> (ordering: string): Ordering<Column> {
  return ordering.startsWith('-')
    ? { column: ordering.slice(1) as Column, order: 'desc' }
    : { column: ordering as Column, order: 'asc' }
}

function notFound (id: number): NotFound {
  return new NotFound(`Webhook endpoint ${id} not found`)
}

// The registry of webhook endpoints: which URLs are sent which event types, signed with which
// secret, and the replay of their deliveries. A relay sends the deliveries; this only records
// what it is to send.
export class WebhookEndpointService {
  private readonly policy: WebhookTargetPolicy

  constructor (
    private readonly repository: WebhookEndpointRepository,
    private readonly accounts: AccountRepository,
    allowedHosts: readonly string[],
    private readonly resolveHost: ResolveHost = resolveWithSystem
  ) {
    this.policy = new WebhookTargetPolicy(allowedHosts)
  }

  eventTypes (): string[] {
    return [...EVENT_TYPES]
  }

  async list (window: PageWindow, ordering: string): Promise<{ total: number, endpoints: StoredWebhookEndpoint[] }> {
    return await this.repository.list(window, orderingOf<EndpointOrderColumn>(ordering))
  }

  async get (id: number): Promise<StoredWebhookEndpoint> {
    const endpoint = await this.repository.find(id)
    if (endpoint === undefined) throw notFound(id)
    return endpoint
  }

  async create (input: WebhookEndpointChanges & { target: string, events: Array<{ type: string }> }, caller: StoredPrincipal): Promise<StoredWebhookEndpoint> {
    await this.checkTarget(input.target)
    const settings = settingsAfter(input, { target: input.target, description: '', isActive: true, sslCertVerification: true })
    const types = checkedTypes(input.events)
    const secret = newSigningSecret()
    return await this.repository.transaction(async (writer) => {
      const at = new Date()
      const id = await writer.insertEndpoint(settings, at)
      await writer.setSubscriptions(id, types, at)
      await writer.insertSecret(id, secret, at)
      await writer.recordAudit({ actor: actorOf(caller), action: 'webhook.endpoint_created', subject: { webhookEndpointId: id }, at })
      return await writer.lockEndpoint(id) as StoredWebhookEndpoint
    })
  }

  // Changes what is given; `events`, when given, is the whole new list.
  async update (id: number, changes: WebhookEndpointChanges, caller: StoredPrincipal): Promise<StoredWebhookEndpoint> {
    const types = changes.events === undefined ? undefined : checkedTypes(changes.events)
    // Resolved before the transaction, which holds the endpoint's row no longer than it must.
    if (changes.target !== undefined) await this.checkTarget(changes.target)
    return await this.change(id, caller, 'webhook.endpoint_updated', async (writer, endpoint, at) => {
      await writer.updateEndpoint(id, settingsAfter(changes, endpoint), at)
      if (types !== undefined) await writer.setSubscriptions(id, types, at)
    })
  }

  async delete (id: number, caller: StoredPrincipal): Promise<void> {
    await this.repository.transaction(async (writer) => {
      const at = new Date()
      if (await writer.lockEndpoint(id) === undefined) throw notFound(id)
      await writer.deleteEndpoint(id)
      await writer.recordAudit({ actor: actorOf(caller), action: 'webhook.endpoint_deleted', subject: { webhookEndpointId: id }, at })
    })
  }

  async attempts (id: number, window: PageWindow, ordering: string): Promise<{ total: number, attempts: StoredWebhookAttempt[] }> {
    await this.get(id)
    return await this.repository.listAttempts(id, window, orderingOf<AttemptOrderColumn>(ordering))
  }

  // A new current secret; the one it replaces signs beside it for SECRET_ROLLOVER_MS more.
  async expireSecret (id: number, caller: StoredPrincipal, password?: string): Promise<StoredWebhookEndpoint> {
    await this.checkPassword(caller, password)
    const secret = newSigningSecret()
    return await this.change(id, caller, 'webhook.secret_expired', async (writer, _endpoint, at) => {
      await writer.expireCurrentSecret(id, at, new Date(at.getTime() + SECRET_ROLLOVER_MS))
      await writer.insertSecret(id, secret, at)
    })
  }

  // The current secret: the only way it is ever shown. Revealing it is recorded too.
  async revealSecret (id: number, caller: StoredPrincipal, password?: string): Promise<string> {
    await this.checkPassword(caller, password)
    await this.repository.transaction(async (writer) => {
      if (await writer.lockEndpoint(id) === undefined) throw notFound(id)
      await writer.recordAudit({ actor: actorOf(caller), action: 'webhook.secret_revealed', subject: { webhookEndpointId: id }, at: new Date() })
    })
    const secret = await this.repository.currentSecret(id)
    if (secret === undefined) throw notFound(id)
    return secret
  }

  // Each event's delivery to the endpoint is due again now, from its first attempt; all or none.
  // `field` names the request's field of each event (`event`, or `event[i]` for a list).
  async resend (id: number, events: Array<{ id: number, field: string }>, caller: StoredPrincipal, password?: string): Promise<void> {
    await this.checkPassword(caller, password)
    await this.change(id, caller, 'webhook.event_resent', async (writer, endpoint, at) => {
      const found = await writer.events(events.map((event) => event.id))
      const subscribed = new Set(endpoint.events.map((event) => event.type))
      for (const event of events) {
        const type = found.get(event.id)?.event.type
        if (type === undefined) throw new InvalidInput('invalid_field', event.field, `${event.field}: there is no event ${event.id}`)
        if (!subscribed.has(type)) throw new InvalidInput('invalid_field', event.field, `${event.field}: event ${event.id} is a ${type}, which the endpoint does not subscribe to`)
      }
      const deliveries = [...found.values()].map(({ event, user }) => ({ eventId: event.id, body: webhookBody(event, user) }))
      await writer.makeDeliveriesPending(id, deliveries, at)
    })
  }

  // Runs `apply` on the locked endpoint in one transaction with the audit entry; the endpoint as it is after.
  private async change (
    id: number,
    caller: StoredPrincipal,
    action: string,
    apply: (writer: WebhookEndpointWriter, endpoint: StoredWebhookEndpoint, at: Date) => Promise<void>
  ): Promise<StoredWebhookEndpoint> {
    return await this.repository.transaction(async (writer) => {
      const at = new Date()
      const endpoint = await writer.lockEndpoint(id)
      if (endpoint === undefined) throw notFound(id)
      await apply(writer, endpoint, at)
      await writer.recordAudit({ actor: actorOf(caller), action, subject: { webhookEndpointId: id }, at })
      return await writer.lockEndpoint(id) as StoredWebhookEndpoint
    })
  }

  // A password given must be the caller's: a service client has none, so any is wrong.
  private async checkPassword (caller: StoredPrincipal, password: string | undefined): Promise<void> {
    if (password === undefined) return
    const credentials = caller.kind === 'user' ? await this.accounts.findCredentialsById(caller.userId) : undefined
    if (credentials === undefined || !await verifyPassword(password, credentials.passwordHash)) {
      throw new InvalidInput('wrong_password', 'password', 'password is not your password')
    }
  }

  // The target is an allowed URL, and every address its host name resolves to now is one a
  // connection may be made to (the relay checks each connection again: names change).
  private async checkTarget (target: string): Promise<void> {
    const problem = this.policy.problemWithUrl(target)
    if (problem !== undefined) throw new InvalidInput('invalid_field', 'target', problem)
    const host = hostOf(new URL(target))
    if (this.policy.isAllowedName(host)) return
    let addresses: string[]
    try {
      addresses = await this.resolveHost(host)
    } catch {
      throw new InvalidInput('invalid_field', 'target', `target's host ${host} does not resolve`)
    }
    if (addresses.length === 0) throw new InvalidInput('invalid_field', 'target', `target's host ${host} does not resolve`)
    const refused = addresses.find((address) => !this.policy.mayConnectTo(address))
    if (refused !== undefined) {
      throw new InvalidInput('invalid_field', 'target', `target's host ${host} resolves to ${refused}, which is not allowed (a private, loopback or link-local address)`)
    }
  }
}

// The settings with the changes given applied.
function settingsAfter (changes: WebhookEndpointChanges, current: WebhookEndpointSettings): WebhookEndpointSettings {
  return {
    target: changes.target ?? current.target,
    description: changes.description ?? current.description,
    isActive: changes.isActive ?? current.isActive,
    sslCertVerification: changes.sslCertVerification ?? current.sslCertVerification
  }
}

// The types an endpoint subscribes to: each one this service emits, each once.
function checkedTypes (events: Array<{ type: string }>): string[] {
  const types: string[] = []
  events.forEach(({ type }, index) => {
    const field = `events[${index}].type`
    if (!isEventType(type)) throw new InvalidInput('invalid_field', field, `${field}: ${type} is not an event type (see GET /api/v2/webhook/endpoint/event/)`)
    if (types.includes(type)) throw new InvalidInput('duplicate_field', field, `${field}: ${type} is given twice`)
    types.push(type)
  })
  return types
}
