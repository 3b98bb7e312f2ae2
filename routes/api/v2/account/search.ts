import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { operations } from '../../../../schemas/operations.js'
import { userRepresentation } from '../representations.js'

const accountSearchRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.findAccount,
    handler: async (request) => {
      const { username, email, ext_id: extId, provider } = request.query
      return userRepresentation(await fastify.identityService.find({ username, email, extId, provider }))
    }
  })
}

export default accountSearchRoutes
