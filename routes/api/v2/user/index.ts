import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { operations } from '../../../../schemas/operations.js'
import { callerOf } from '../../../../plugins/auth.js'
import { Forbidden } from '../../../../services/errors.js'
import { userRepresentation } from '../representations.js'

const userRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.getCurrentUser,
    handler: async (request) => userRepresentation(await fastify.accountService.getUser(callerOf(request).id))
  })

  fastify.route({
    ...operations.getUser,
    handler: async (request) => {
      const caller = callerOf(request)
      if (caller.id !== request.params.id && !caller.roles.includes('admin')) {
        throw new Forbidden('Only an admin can read another user')
      }
      return userRepresentation(await fastify.accountService.getUser(request.params.id))
    }
  })
}

export default userRoutes
