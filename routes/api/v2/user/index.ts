import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { operations } from '../../../../schemas/operations.js'
import { callerOf } from '../../../../plugins/auth.js'
import type { Principal } from '../../../../repositories/account-repository.js'
import { Forbidden } from '../../../../services/errors.js'
import { userSearchHandler } from '../account/search.js'
import { userRepresentation } from '../representations.js'

// An admin may read and change any user; any other user only themselves.
function checkAccess (caller: Principal, userId: number, action: string): void {
  if (caller.id !== userId && !caller.roles.includes('admin')) {
    throw new Forbidden(`Only an admin can ${action} another user`)
  }
}

const userRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.getCurrentUser,
    handler: async (request) => userRepresentation(await fastify.userService.getUser(callerOf(request).id))
  })

  fastify.route({ ...operations.searchUsers, handler: userSearchHandler(fastify) })

  fastify.route({
    ...operations.getUser,
    handler: async (request) => {
      checkAccess(callerOf(request), request.params.id, 'read')
      return userRepresentation(await fastify.userService.getUser(request.params.id))
    }
  })

  fastify.route({
    ...operations.updateUser,
    handler: async (request) => {
      const caller = callerOf(request)
      checkAccess(caller, request.params.id, 'change')
      const { real_name: realName, ...customFields } = request.body
      const user = await fastify.userService.updateUser(request.params.id, { realName, customFields }, caller.id)
      return userRepresentation(user)
    }
  })
}

export default userRoutes
