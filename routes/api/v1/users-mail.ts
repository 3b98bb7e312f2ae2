import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../../../plugins/auth.js'
import { operations } from '../../../schemas/operations.js'

// Rocket.Chat's users.* calls that send a mail: the same services as v2's recover and verify.
const userMailRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.rocketChatForgotPassword,
    handler: async (request) => {
      await fastify.accountLife.recover(request.body.email)
      return { success: true }
    }
  })

  fastify.route({
    ...operations.rocketChatSendConfirmationEmail,
    handler: async (request) => {
      await fastify.accountLife.resendVerification(callerOf(request), request.body.email)
      return { success: true }
    }
  })

  fastify.route({
    ...operations.rocketChatSendWelcomeEmail,
    handler: async (request) => {
      await fastify.accountLife.sendWelcome(request.body.email)
      return { success: true }
    }
  })
}

export default userMailRoutes
