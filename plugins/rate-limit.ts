import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import { TooManyRequests } from '../domain/errors.js'

// Operations marked `x-rate-limited: <bucket>` in the contract take at most RATE_LIMIT_MAX
// requests per RATE_LIMIT_WINDOW_SECONDS from one address in each bucket, counted before anything
// else is done. With REDIS_URL the counts live in Redis, so every instance sharing it counts as
// one; otherwise each instance counts in memory.
export default fp(async (fastify) => {
  const { max, windowSeconds, redis } = fastify.config.rateLimit
  const redisStore = redis === undefined ? undefined : { redis: redisClient(redis.url, fastify.log), nameSpace: redis.keyPrefix }
  // Every count was written before its request went on, so there is nothing to wait for.
  if (redisStore !== undefined) fastify.addHook('onClose', async () => { redisStore.redis.disconnect() })
  await fastify.register(fastifyRateLimit, {
    global: false,
    max,
    timeWindow: windowSeconds * 1000,
    // An IPv6 address counts by its /64, which one client usually holds whole.
    keyGenerator: (request) => `${bucketOf(request) ?? ''}:${normalizeIP(request.ip)}`,
    ...redisStore,
    // Store failures reach the hook below, which logs them.
    skipOnError: false
  })
  // Only counts: the refusal, with its Retry-After, is ours, so no x-ratelimit-* header (which
  // the contract does not declare) is ever sent.
  const count = fastify.createRateLimit()
  fastify.addHook('onRequest', async (request) => {
    if (bucketOf(request) === undefined) return
    let counted: Awaited<ReturnType<typeof count>>
    try {
      counted = await count(request)
    } catch (error) {
      // Redis is down or too slow: refusing every login would be an outage, so the request goes
      // on uncounted, and the log says so.
      request.log.error({ err: error }, 'rate limit not applied: its store failed')
      return
    }
    if (!counted.isAllowed && counted.isExceeded) throw new TooManyRequests(Math.max(1, counted.ttlInSeconds))
  })
}, { name: 'rate-limit', dependencies: ['config', 'errors'] })

function bucketOf (request: FastifyRequest): string | undefined {
  return request.routeOptions.config.access?.rateLimit
}

// Settings as @fastify/rate-limit recommends for a rate-limit store: give up on a dead server
// quickly rather than hold the request; a command also gives up after a second.
function redisClient (url: string, log: FastifyBaseLogger): Redis {
  const client = new Redis(url, { connectTimeout: 500, maxRetriesPerRequest: 1, commandTimeout: 1000 })
  // Connection trouble, once per reconnection attempt (without a listener ioredis prints to stderr).
  client.on('error', (error) => { log.warn({ err: error }, 'the rate-limit store (Redis) is unreachable') })
  return client
}
