import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { operations } from '../schemas/operations.js'

// Prometheus's scrape (plugins/metrics.ts measures); without METRICS_TOKEN, as an unknown path.
const metricsRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.getMetrics,
    handler: async (request, reply) => {
      const { metrics } = fastify
      if (metrics === null) {
        reply.callNotFound()
        return reply
      }
      metrics.authorize(request)
      return await reply.type(metrics.contentType).send(await metrics.exposition())
    }
  })
}

export default metricsRoutes
