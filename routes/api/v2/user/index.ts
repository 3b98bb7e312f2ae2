import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { operations } from '../../../../schemas/operations.js'
import { callerOf } from '../../../../plugins/auth.js'
import { type StoredPrincipal, callerUserId, userIdOf } from '../../../../domain/principal.js'
import { Forbidden } from '../../../../domain/errors.js'
import { pageOf, pageWindow } from '../pages.js'
import { userRepresentation } from '../representations.js'
import type { UserUpdateRequest } from '../../../../schemas/components.js'
import type { UserChanges } from '../../../../services/users.js'

// Anyone may read and change themselves; another user only with the permission.
function checkAccess (caller: StoredPrincipal, userId: number, permission: string): void {
  if (userIdOf(caller) !== userId && !caller.permissions.includes(permission)) {
    throw new Forbidden(`Only a user with the ${permission} permission can do this to another user`)
  }
}

// The change a PATCH or PUT body asks for: the standard fields it names, and its other keys as
// custom fields.
function userChangesOf (body: UserUpdateRequest): UserChanges {
  const { username, real_name: realName, bio, location, date_of_birth: dateOfBirth, description, gender, website, ...customFields } = body
  const profile = Object.fromEntries(Object.entries({ bio, location, dateOfBirth, description, gender, website })
    .filter(([, value]) => value !== undefined))
  return { username, realName, profile, customFields }
}

const userRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.getCurrentUser,
    handler: async (request) => {
      return userRepresentation(await fastify.userService.getUser(callerUserId(callerOf(request))))
    }
  })

  fastify.route({
    ...operations.searchUsers,
    handler: async (request) => {
      const { search, username, email, status } = request.query
      const window = pageWindow(request.query)
      const { count, users } = await fastify.userService.search({ search, username, email, status }, window)
      return pageOf(request, window, count, users.map(userRepresentation))
    }
  })

  fastify.route({
    ...operations.getUser,
    handler: async (request) => {
      checkAccess(callerOf(request), request.params.id, 'view-user-administration')
      return userRepresentation(await fastify.userService.getUser(request.params.id))
    }
  })

  fastify.route({
    ...operations.replaceUser,
    handler: async (request) => {
      const user = await fastify.userService.updateUser(request.params.id, userChangesOf(request.body), callerOf(request), 'replace')
      return userRepresentation(user)
    }
  })

  fastify.route({
    ...operations.updateUser,
    handler: async (request) => {
      const user = await fastify.userService.updateUser(request.params.id, userChangesOf(request.body), callerOf(request))
      return userRepresentation(user)
    }
  })

  fastify.route({
    ...operations.changePassword,
    handler: async (request, reply) => {
      const { password, new_password: newPassword } = request.body
      await fastify.accountLife.changePassword(callerOf(request), request.params.id, password, newPassword)
      return await reply.code(204).send(null)
    }
  })
}

export default userRoutes
