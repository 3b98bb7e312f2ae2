import fp from 'fastify-plugin'
import { WebhookTargetPolicy } from '../domain/webhook-targets.js'
import { WebhookRelay } from '../services/webhook-relay.js'

export interface WebhooksOptions {
  // Whether this app runs the relay; the CLI's does not, and leaves the events to the servers.
  relay?: boolean
  // How long the relay rests when nothing is due, and the wait after a first failed attempt (tests
  // shorten both).
  pollIntervalMs?: number
  firstRetryMs?: number
}

// Webhooks: the relay of the outbox's events to the endpoints subscribed to them, started once the
// app is ready and stopped when it closes, within its grace and before the database closes
// (onClose hooks run last registered first).
export default fp<WebhooksOptions>(async (fastify, options) => {
  if (options.relay === false) return
  const { webhooks } = fastify.config
  const relay = new WebhookRelay({
    deliveries: fastify.repositories.webhookDeliveries,
    policy: new WebhookTargetPolicy(webhooks.allowedHosts),
    logger: fastify.log,
    timeoutMs: webhooks.timeoutMs,
    maxAttempts: webhooks.maxAttempts,
    maxAgeSeconds: webhooks.maxAgeSeconds,
    retentionDays: webhooks.retentionDays,
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.firstRetryMs !== undefined ? { firstRetryMs: options.firstRetryMs } : {})
  })
  fastify.addHook('onReady', async () => { relay.start() })
  fastify.addHook('onClose', async () => { await relay.stop() })
}, { name: 'webhooks', dependencies: ['config', 'repositories'] })
