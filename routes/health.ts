import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { operations } from '../schemas/operations.js'
import { DatabaseUnavailable } from '../domain/errors.js'

const healthRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.checkLiveness,
    handler: async () => ({ status: 'ok' as const })
  })

  fastify.route({
    ...operations.checkReadiness,
    handler: async (request) => {
      if (!await fastify.repositories.health.ping()) throw new DatabaseUnavailable()
      // A relay that falls behind shows here; the answer does not depend on it.
      try {
        const seconds = await fastify.repositories.webhookDeliveries.oldestUndeliveredSeconds(new Date())
        return { status: 'ok' as const, details: { oldest_undelivered_event_seconds: seconds } }
      } catch (error) {
        request.log.warn({ err: error }, 'readiness: the outbox cannot be read')
        return { status: 'ok' as const }
      }
    }
  })
}

export default healthRoutes
