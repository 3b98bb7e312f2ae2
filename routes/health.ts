import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { operations } from '../schemas/operations.js'

const RETRY_AFTER_SECONDS = 5

const healthRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.checkLiveness,
    handler: async () => ({ status: 'ok' as const })
  })

  fastify.route({
    ...operations.checkReadiness,
    handler: async (request, reply) => {
      if (await fastify.repositories.health.ping()) return { status: 'ok' as const }
      return await reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({ statusCode: 503, code: 'database_unavailable', message: 'The database does not answer' })
    }
  })
}

export default healthRoutes
