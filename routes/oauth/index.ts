import formBody from '@fastify/formbody'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { operations } from '../../schemas/operations.js'
import { clientCredentialsOf } from './client-credentials.js'

// OAuth2's endpoints: tokens (RFC 6749), revocation (RFC 7009) and introspection (RFC 7662).
const oauthRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  // OAuth2 clients send form-encoded bodies; only these routes accept them.
  await fastify.register(formBody)
  // RFC 6749 §5.1: nothing these endpoints answer, a token least of all, may be cached.
  fastify.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    reply.header('pragma', 'no-cache')
  })

  fastify.route({
    ...operations.issueToken,
    handler: async (request) => {
      const { grant_type: grantType, username, password, refresh_token: refreshToken, scope } = request.body
      const tokens = await fastify.tokenService.grant({
        grantType, username, password, refreshToken, scope, client: clientCredentialsOf(request, request.body)
      })
      return {
        access_token: tokens.accessToken,
        token_type: 'Bearer' as const,
        expires_in: tokens.expiresIn,
        scope: tokens.scope,
        ...(tokens.refreshToken !== undefined ? { refresh_token: tokens.refreshToken } : {})
      }
    }
  })

  fastify.route({
    ...operations.revokeToken,
    handler: async (request, reply) => {
      await fastify.tokenService.revoke(request.body.token, clientCredentialsOf(request, request.body))
      // RFC 7009 §2.2: a 200 without a body (the typed reply would serialize `null`).
      return await (reply as FastifyReply).code(200).send()
    }
  })

  fastify.route({
    ...operations.introspectToken,
    handler: async (request) => await fastify.tokenService.introspect(request.body.token, clientCredentialsOf(request, request.body))
  })
}

export default oauthRoutes
