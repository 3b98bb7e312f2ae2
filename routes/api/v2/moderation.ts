import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../../../plugins/auth.js'
import { operations } from '../../../schemas/operations.js'
import { InvalidInput } from '../../../domain/errors.js'

const moderationRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.moderateUser,
    handler: async (request, reply) => {
      // SelfCommunity's client sends these in the query, its documentation in the body.
      const daysBlocked = request.query.days_blocked ?? request.body.days_blocked
      if (daysBlocked !== undefined && daysBlocked !== '') {
        throw new InvalidInput('unsupported_field', 'days_blocked', 'A block that ends by itself is not supported: block, and unblock later')
      }
      const hard = (request.query.hard ?? request.body.hard) === 1
      await fastify.accountStatus.moderate(callerOf(request), request.params.id, request.body.status, hard)
      return await reply.code(204).send(null)
    }
  })
}

export default moderationRoutes
