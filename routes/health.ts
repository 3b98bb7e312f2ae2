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
    handler: async () => {
      if (await fastify.repositories.health.ping()) return { status: 'ok' as const }
      throw new DatabaseUnavailable()
    }
  })
}

export default healthRoutes
