import underPressure from '@fastify/under-pressure'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Overloaded } from '../domain/errors.js'
import { isHealthProbe, isMetricsScrape } from './probes.js'

const WARNING_INTERVAL_MS = 10_000

// Probes and the published keys keep answering under load: shedding a health probe would have an
// orchestrator restart a busy instance, and other services need the JWKS to check our tokens.
// Metrics too, when they are served: an overload is exactly when they are needed.
function isExempt (request: FastifyRequest, metricsServed: boolean): boolean {
  return isHealthProbe(request) || request.url.startsWith('/.well-known/') || (metricsServed && isMetricsScrape(request))
}

// Sheds requests while the process is over its limits (MAX_EVENT_LOOP_DELAY_MS,
// MAX_HEAP_USED_BYTES, MAX_RSS_BYTES), before any work is done: 503 overloaded with Retry-After,
// in the body of the request's surface (the errors plugin answers it).
export default fp(async (fastify) => {
  const { maxEventLoopDelayMs, maxHeapUsedBytes, maxRssBytes } = fastify.config.overload
  const metricsServed = fastify.config.metricsToken !== undefined
  // One warning per interval at most, with the count: an overloaded service must not also
  // flood its log.
  let shedSinceWarning = 0
  let lastWarning = 0
  await fastify.register(underPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    maxHeapUsedBytes,
    maxRssBytes,
    pressureHandler: async (request, _reply, type, value) => {
      if (isExempt(request, metricsServed)) return
      shedSinceWarning++
      if (Date.now() - lastWarning >= WARNING_INTERVAL_MS) {
        request.log.warn({ limit: type, value, shed: shedSinceWarning }, 'shedding requests: the service is overloaded')
        shedSinceWarning = 0
        lastWarning = Date.now()
      }
      throw new Overloaded()
    }
  })
}, { name: 'overload', dependencies: ['config', 'errors'] })
