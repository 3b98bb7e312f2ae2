import { isPersonalAccessTokenForm } from '../services/opaque-secrets.js'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { type Principal, subOf } from '../domain/principal.js'
import { AccessTokens } from '../services/access-tokens.js'
import { InvalidToken, Unauthorized } from '../domain/errors.js'
import { TokenService } from '../services/tokens.js'
import { onRocketChatSurface } from './rocket-chat-errors.js'

export interface RouteAccess {
  // Whether the route needs a valid access token.
  authenticated: boolean
  // The scope the token must have been granted (checked by the permissions plugin).
  scope?: string
  // A permission the caller must have (checked by the permissions plugin).
  permission?: string
  // The rate-limit bucket requests are counted in (by the rate-limit plugin): routes naming the
  // same bucket share one count per address, so two doors to one action give no extra tries.
  rateLimit?: string
  // Open to a user who must change their password first (checked by the permissions plugin).
  allowedBeforePasswordChange?: boolean
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess
  }
  interface FastifyRequest {
    // The caller behind the access token, on routes that require one.
    principal: Principal | null
  }
  interface FastifyInstance {
    accessTokens: AccessTokens
    tokenService: TokenService
  }
}

// The caller of a route that requires authentication (the hook below has made sure of it).
export function callerOf (request: FastifyRequest): Principal {
  if (request.principal === null) throw new Unauthorized()
  return request.principal
}

interface PresentedToken {
  token: string
  // Rocket.Chat's X-User-Id, which must name the token's principal.
  principalId?: string
}

// The access token of the request: on Rocket.Chat's surface (/api/v1/) the X-Auth-Token its
// clients send, with X-User-Id; otherwise (and there too) `Authorization: Bearer`.
function presentedToken (request: FastifyRequest): PresentedToken | undefined {
  const authToken = request.headers['x-auth-token']
  if (authToken !== undefined && onRocketChatSurface(request)) {
    return { token: String(authToken), principalId: String(request.headers['x-user-id']) }
  }
  const bearer = bearerTokenOf(request.headers.authorization)
  return bearer === undefined ? undefined : { token: bearer }
}

// The token of an `Authorization: Bearer` header (RFC 6750 §2.1); undefined without one, as for
// credentials of another scheme (they get §3.1's challenge without an error); InvalidToken when
// it is malformed.
export function bearerTokenOf (authorization: string | undefined): string | undefined {
  if (authorization === undefined || !/^Bearer(?: |$)/i.test(authorization)) return undefined
  const bearer = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization)?.[1]
  if (bearer === undefined) throw new InvalidToken('The bearer token is malformed')
  return bearer
}

// Access tokens: JWTs signed with the service's keys (see config/signing-keys.ts), verifiable
// by anyone through the JWKS. A route whose contract requires authentication gets the caller as
// request.principal; its account or client is read again on every request, so the token of a
// blocked user or a disabled client stops working at once.
export default fp(async (fastify) => {
  const { config, repositories } = fastify
  const accessTokens = new AccessTokens(config.tokens.keys, {
    issuer: config.tokens.issuer,
    audience: config.tokens.audience,
    lifetimeSeconds: config.tokens.accessTokenSeconds
  })
  const tokenService = new TokenService(repositories.accounts, repositories.clients, repositories.tokens, accessTokens, {
    refreshTokenSeconds: config.tokens.refreshTokenSeconds,
    bcryptCost: config.bcryptCost,
    refusedPasswords: config.refusedPasswords
  })
  fastify.decorate('accessTokens', accessTokens)
  fastify.decorate('tokenService', tokenService)
  fastify.decorateRequest('principal', null)

  fastify.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.access?.authenticated !== true) return
    const presented = presentedToken(request)
    if (presented === undefined) throw new Unauthorized()
    // A personal access token is Rocket.Chat's, presented as its X-Auth-Token.
    const principal = presented.principalId !== undefined && isPersonalAccessTokenForm(presented.token)
      ? await tokenService.authenticatePersonalAccessToken(presented.token)
      : await tokenService.authenticateAccessToken(presented.token)
    if (presented.principalId !== undefined && presented.principalId !== subOf(principal)) {
      throw new InvalidToken('X-User-Id is not the user of the token')
    }
    request.principal = principal
  })
}, { name: 'auth', dependencies: ['config', 'repositories'] })
