import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../../../plugins/auth.js'
import { operations } from '../../../schemas/operations.js'
import { InvalidInput } from '../../../domain/errors.js'
import { asRocketChatUser } from './unknown-user.js'

// Rocket.Chat's users.setActiveStatus, users.delete and users.deleteOwnAccount: the same
// services as v2's moderation and deletion.
const rocketChatUserStatusRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.rocketChatSetActiveStatus,
    handler: async (request) => {
      const { userId, activeStatus } = request.body
      await asRocketChatUser('userId', async () => { await fastify.accountStatus.setActive(callerOf(request), Number(userId), activeStatus) })
      return { user: { _id: userId, active: activeStatus }, success: true }
    }
  })

  fastify.route({
    ...operations.rocketChatDeleteUser,
    handler: async (request) => {
      const { userId, username } = request.body
      if ((userId === undefined) === (username === undefined)) {
        throw new InvalidInput('invalid_body', 'userId', 'Give exactly one of userId and username')
      }
      const field = userId !== undefined ? 'userId' : 'username'
      await asRocketChatUser(field, async () => {
        const id = userId !== undefined ? Number(userId) : (await fastify.userService.getUserByUsername(username as string)).id
        await fastify.accountStatus.deleteUser(callerOf(request), id, { hard: false })
      })
      return { success: true }
    }
  })

  fastify.route({
    ...operations.rocketChatDeleteOwnAccount,
    handler: async (request) => {
      await fastify.accountStatus.deleteOwnAccount(callerOf(request), request.body.password)
      return { success: true }
    }
  })
}

export default rocketChatUserStatusRoutes
