import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../../../../plugins/auth.js'
import { operations } from '../../../../schemas/operations.js'
import { autocompleteRepresentation, listedUserRepresentation, userOrderOf, userPermissionRepresentation } from '../directory-representations.js'
import { pageOf, pageWindow } from '../pages.js'

// SelfCommunity's lists and look-ups of users: the list, autocomplete, matching usernames, and
// what the current user may do.
const userDirectoryRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const directory = fastify.userDirectory

  fastify.route({
    ...operations.listUsers,
    handler: async (request) => {
      const caller = callerOf(request)
      const { search, username, real_name: realName, status, ordering } = request.query
      const window = pageWindow(request.query)
      const { count, users } = await directory.list(caller, { name: search, username, realName, status }, window, userOrderOf(ordering))
      const publicFields = await fastify.customFieldRegistry.publicFieldNames()
      return pageOf(request, window, count, users.map((user) => listedUserRepresentation(user, directory.seesAllOf(caller, user), publicFields)))
    }
  })

  fastify.route({
    ...operations.autocompleteUsers,
    handler: async (request) => {
      const { search, username, real_name: realName, ordering } = request.query
      const window = pageWindow(request.query)
      const { count, users } = await directory.list(callerOf(request), { name: search, username, realName }, window, userOrderOf(ordering))
      return pageOf(request, window, count, users.map(autocompleteRepresentation))
    }
  })

  fastify.route({
    ...operations.matchUsernames,
    handler: async (request) => (await directory.match(callerOf(request), request.body)).map(autocompleteRepresentation)
  })

  fastify.route({
    ...operations.getCurrentUserPermission,
    handler: async (request) => userPermissionRepresentation(directory.currentPermissions(callerOf(request)))
  })
}

export default userDirectoryRoutes
