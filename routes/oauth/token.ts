import formBody from '@fastify/formbody'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { operations } from '../../schemas/operations.js'

const tokenRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  // OAuth2 clients send form-encoded bodies; only this route accepts them.
  await fastify.register(formBody)

  fastify.route({
    ...operations.issueToken,
    handler: async (request) => {
      const { grant_type: grantType, username, password } = request.body
      const token = await fastify.tokenService.grant(grantType, username, password)
      return { access_token: token.accessToken, token_type: 'Bearer' as const, expires_in: token.expiresIn, scope: token.scope }
    }
  })
}

export default tokenRoutes
