import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit'
import fp from 'fastify-plugin'
import { TooManyRequests } from '../services/errors.js'

// Operations marked `x-rate-limited` in the contract (logins and account creation) take at
// most RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW_SECONDS from one address, counted per
// operation, before anything else is done. The counts are kept by each instance in memory.
export default fp(async (fastify) => {
  const { max, windowSeconds } = fastify.config.rateLimit
  await fastify.register(fastifyRateLimit, { global: false })
  const limit = fastify.rateLimit({
    max,
    timeWindow: windowSeconds * 1000,
    // The route as declared, so a trailing slash is the same operation; an IPv6 address counts
    // by its /64, which one client usually holds whole.
    keyGenerator: (request) => `${request.method} ${request.routeOptions.url ?? ''} ${normalizeIP(request.ip)}`,
    errorResponseBuilder: (_request, context) => new TooManyRequests(Math.max(1, Math.ceil(context.ttl / 1000)))
  })
  fastify.addHook('onRequest', async function (request, reply) {
    if (request.routeOptions.config.access?.rateLimited === true) await limit.call(this, request, reply)
  })
}, { name: 'rate-limit', dependencies: ['config', 'errors'] })
