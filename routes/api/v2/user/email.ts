import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { operations } from '../../../../schemas/operations.js'
import { callerOf } from '../../../../plugins/auth.js'

// Changing a user's email by a code mailed to the new address (SelfCommunity's change_email and
// confirm_email).
const userEmailRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.changeEmail,
    handler: async (request, reply) => {
      const { new_email: newEmail, confirm } = request.body
      await fastify.accountLife.requestEmailChange(callerOf(request), request.params.id, newEmail, confirm === true)
      return await reply.code(204).send(null)
    }
  })

  fastify.route({
    ...operations.confirmEmail,
    handler: async (request, reply) => {
      const { new_email: newEmail, validation_code: code } = request.body
      await fastify.accountLife.confirmEmailChange(request.params.id, newEmail, code)
      return await reply.code(204).send(null)
    }
  })
}

export default userEmailRoutes
