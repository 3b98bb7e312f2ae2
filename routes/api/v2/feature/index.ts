import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { operations } from '../../../../schemas/operations.js'

const featureRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const preferences = fastify.preferenceService

  fastify.route({
    ...operations.listFeatures,
    handler: async (request) => {
      const results = await preferences.listFeatures({ all: request.query.all ?? false })
      return { count: results.length, next: null, previous: null, results }
    }
  })

  fastify.route({
    ...operations.updateFeature,
    handler: async (request) => await preferences.switchFeature(request.params.name, request.body.enabled)
  })
}

export default featureRoutes
