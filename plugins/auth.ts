import fastifyJwt from '@fastify/jwt'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Principal } from '../repositories/account-repository.js'
import { Unauthorized } from '../services/errors.js'
import type { TokenClaims } from '../services/tokens.js'
import { onRocketChatSurface } from './rocket-chat-errors.js'

export interface RouteAccess {
  // Whether the route needs a valid bearer token.
  authenticated: boolean
  // A permission the caller must have (checked by the permissions plugin).
  permission?: string
  // The rate-limit bucket requests are counted in (by the rate-limit plugin): routes naming the
  // same bucket share one count per address, so two doors to one action give no extra tries.
  rateLimit?: string
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess
  }
  interface FastifyRequest {
    // The caller behind the bearer token, on routes that require one.
    principal: Principal | null
  }
}

// The caller of a route that requires authentication (the hook below has made sure of it).
export function callerOf (request: FastifyRequest): Principal {
  if (request.principal === null) throw new Unauthorized()
  return request.principal
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: TokenClaims
    user: TokenClaims
  }
}

// Bearer tokens: HS256 JWTs signed with JWT_SECRET. On Rocket.Chat's surface (/api/v1/) the
// same token may come as X-Auth-Token, with X-User-Id naming its user, as Rocket.Chat's clients
// send it. A route whose contract requires authentication gets the caller as
// request.principal; the account is read again on every request, so a blocked or deleted
// user's token stops working at once.
async function verifiedClaims (request: FastifyRequest): Promise<TokenClaims> {
  const authToken = request.headers['x-auth-token']
  const rocketChat = authToken !== undefined && onRocketChatSurface(request)
  let claims: TokenClaims
  try {
    claims = rocketChat ? request.server.jwt.verify<TokenClaims>(String(authToken)) : await request.jwtVerify<TokenClaims>()
  } catch {
    throw new Unauthorized()
  }
  if (rocketChat && request.headers['x-user-id'] !== claims.sub) throw new Unauthorized()
  return claims
}

export default fp(async (fastify) => {
  const { secret, expiresIn } = fastify.config.jwt
  await fastify.register(fastifyJwt, {
    secret,
    sign: { algorithm: 'HS256', expiresIn },
    verify: { algorithms: ['HS256'] }
  })
  fastify.decorateRequest('principal', null)

  fastify.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.access?.authenticated !== true) return
    const claims = await verifiedClaims(request)
    const principal = await fastify.repositories.accounts.findActivePrincipal(Number(claims.sub))
    if (principal === undefined) throw new Unauthorized('The account of this token is not active')
    request.principal = principal
  })
}, { name: 'auth', dependencies: ['config', 'repositories'] })
