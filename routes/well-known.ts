import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ALL_SCOPES } from '../domain/scopes.js'
import { operations } from '../schemas/operations.js'

// Long enough to spare the service, short enough that a new key (listed before it signs) and a
// removed one reach every verifier soon.
const PUBLISHED_FOR_SECONDS = 300

// What other services need to trust our tokens without asking us: the public keys (RFC 7517) and
// the authorization server's metadata (RFC 8414).
const wellKnownRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { publicUrl, tokens } = fastify.config

  fastify.route({
    ...operations.getJwks,
    handler: async (_request, reply) => {
      reply.header('cache-control', `public, max-age=${PUBLISHED_FOR_SECONDS}`)
      return fastify.accessTokens.jwks()
    }
  })

  fastify.route({
    ...operations.getAuthorizationServerMetadata,
    handler: async (_request, reply) => {
      reply.header('cache-control', `public, max-age=${PUBLISHED_FOR_SECONDS}`)
      return {
        issuer: tokens.issuer,
        token_endpoint: `${publicUrl}/oauth/token/`,
        jwks_uri: `${publicUrl}/.well-known/jwks.json`,
        revocation_endpoint: `${publicUrl}/oauth/revoke/`,
        introspection_endpoint: `${publicUrl}/oauth/introspect/`,
        grant_types_supported: ['password', 'refresh_token', 'client_credentials'],
        // No authorization endpoint: no grant here goes through one.
        response_types_supported: [],
        scopes_supported: [...ALL_SCOPES],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        revocation_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
        introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        service_documentation: `${publicUrl}/docs`
      }
    }
  })
}

export default wellKnownRoutes
