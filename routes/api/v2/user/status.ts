import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../../../../plugins/auth.js'
import { operations } from '../../../../schemas/operations.js'
import { userRepresentation } from '../representations.js'

// Deleting a user, and setting a user's roles.
const userStatusRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.deleteUser,
    handler: async (request, reply) => {
      await fastify.accountStatus.deleteUser(callerOf(request), request.params.id, { hard: request.query.hard === 1 })
      return await reply.code(204).send(null)
    }
  })

  fastify.route({
    ...operations.setUserRoles,
    handler: async (request) => {
      return userRepresentation(await fastify.accountStatus.setRoles(callerOf(request), request.params.id, request.body.roles))
    }
  })
}

export default userStatusRoutes
