import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { operations } from '../../../../schemas/operations.js'
import { callerOf } from '../../../../plugins/auth.js'
import type { Principal } from '../../../../repositories/account-repository.js'
import { AccountCreateRequest, User } from '../../../../schemas/components.js'
import { Forbidden, InvalidInput } from '../../../../services/errors.js'
import { userSearchHandler } from '../account/search.js'
import { userRepresentation } from '../representations.js'

// The standard fields of an account and of a user: of these only real_name can change here.
const READ_ONLY_FIELDS = new Set([...Object.keys(AccountCreateRequest.properties), ...Object.keys(User.properties)]
  .filter((name) => name !== 'real_name'))

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
      // Every key but the standard fields is a custom field, as on account creation.
      const { real_name: realName, ...others } = request.body
      const readOnly = Object.keys(others).find((key) => READ_ONLY_FIELDS.has(key))
      if (readOnly !== undefined) throw new InvalidInput('read_only_field', readOnly, `${readOnly} cannot be changed`)
      const user = await fastify.userService.updateUser(request.params.id, { realName, customFields: others }, caller.id)
      return userRepresentation(user)
    }
  })
}

export default userRoutes
