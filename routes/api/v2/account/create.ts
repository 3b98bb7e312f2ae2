import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../../../../plugins/auth.js'
import { AccountCreateRequest } from '../../../../schemas/components.js'
import { operations } from '../../../../schemas/operations.js'
import { userRepresentation } from '../representations.js'

const STANDARD_FIELDS = new Set(Object.keys(AccountCreateRequest.properties))

const accountCreateRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.createAccount,
    handler: async (request, reply) => {
      const { username, email, password, real_name: realName, invite_code: inviteCode, promo_code: promoCode } = request.body
      // Every key that is not a standard field is a custom field, "as if it were a standard field".
      const customFields = Object.fromEntries(Object.entries(request.body).filter(([key]) => !STANDARD_FIELDS.has(key)))
      const user = await fastify.accountService.createAccount(
        { username, email, password, realName, inviteCode, promoCode, customFields },
        { creator: callerOf(request) }
      )
      return await reply.code(201).send(userRepresentation(user))
    }
  })
}

export default accountCreateRoutes
