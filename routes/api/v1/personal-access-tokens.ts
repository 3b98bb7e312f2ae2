import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../../../plugins/auth.js'
import { operations } from '../../../schemas/operations.js'

// Rocket.Chat's personal access tokens of the caller's own account.
const rocketChatPersonalAccessTokenRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.rocketChatGeneratePersonalAccessToken,
    handler: async (request) => {
      const { tokenName, bypassTwoFactor = false } = request.body
      return { token: await fastify.personalAccessTokens.generate(callerOf(request), tokenName, bypassTwoFactor), success: true }
    }
  })

  fastify.route({
    ...operations.rocketChatRegeneratePersonalAccessToken,
    handler: async (request) => ({ token: await fastify.personalAccessTokens.regenerate(callerOf(request), request.body.tokenName), success: true })
  })

  fastify.route({
    ...operations.rocketChatGetPersonalAccessTokens,
    handler: async (request) => ({ tokens: await fastify.personalAccessTokens.list(callerOf(request)), success: true })
  })

  fastify.route({
    ...operations.rocketChatRemovePersonalAccessToken,
    handler: async (request) => {
      await fastify.personalAccessTokens.remove(callerOf(request), request.body.tokenName)
      return { success: true }
    }
  })
}

export default rocketChatPersonalAccessTokenRoutes
