import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { operations } from '../../../../schemas/operations.js'

const preferenceRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const preferences = fastify.preferenceService

  fastify.route({
    ...operations.listPreferences,
    handler: async (request) => {
      const { search, section, keys, ordering } = request.query
      const results = await preferences.list({ search, section, keys: keys?.split(',').map((key) => key.trim()), ordering })
      return { count: results.length, next: null, previous: null, results }
    }
  })

  fastify.route({
    ...operations.getPreference,
    handler: async (request) => await preferences.get(request.params.id)
  })

  fastify.route({
    ...operations.updatePreferences,
    handler: async (request) => await preferences.change(request.body)
  })
}

export default preferenceRoutes
