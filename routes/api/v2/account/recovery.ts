import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { operations } from '../../../../schemas/operations.js'
import type { UserTokens } from '../../../../services/account-life.js'
import { userRepresentation } from '../representations.js'

// SelfCommunity's token answer: tokens issued to no service client.
function tokenRepresentation (tokens: UserTokens): { token: { access_token: string, expires_in: number, token_type: 'Bearer', refresh_token: string, client_id: null, scope: string } } {
  return {
    token: {
      access_token: tokens.accessToken,
      expires_in: tokens.expiresIn,
      token_type: 'Bearer',
      refresh_token: tokens.refreshToken,
      client_id: null,
      scope: tokens.scope
    }
  }
}

// Verification and recovery by the codes of the service's mails (SelfCommunity's account API).
const accountLifeRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.verifyAccount,
    handler: async (request, reply) => {
      const tokens = await fastify.accountLife.verifyEmail(request.body.validation_code)
      return await reply.header('cache-control', 'no-store').send(tokenRepresentation(tokens))
    }
  })

  fastify.route({
    ...operations.checkValidationCode,
    handler: async (request) => userRepresentation(await fastify.accountLife.accountOfCode(request.body.validation_code))
  })

  fastify.route({
    ...operations.recoverAccount,
    handler: async (request, reply) => {
      await fastify.accountLife.recover(request.body.email)
      return await reply.code(204).send(null)
    }
  })

  fastify.route({
    ...operations.resetPassword,
    handler: async (request, reply) => {
      const { validation_code: code, password } = request.body
      const tokens = await fastify.accountLife.resetPassword(code, password)
      return await reply.header('cache-control', 'no-store').send(tokenRepresentation(tokens))
    }
  })
}

export default accountLifeRoutes
