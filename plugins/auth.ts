import fastifyJwt from '@fastify/jwt'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Principal } from '../repositories/account-repository.js'
import { Unauthorized } from '../services/errors.js'
import type { TokenClaims } from '../services/tokens.js'

export interface RouteAccess {
  // Whether the route needs a valid bearer token.
  authenticated: boolean
  // A permission the caller must have (checked by the permissions plugin).
  permission?: string
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

// Bearer tokens: HS256 JWTs signed with JWT_SECRET. A route whose contract requires
// authentication gets the caller as request.principal; the account is read again on every
// request, so a blocked or deleted user's token stops working at once.
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
    let claims: TokenClaims
    try {
      claims = await request.jwtVerify<TokenClaims>()
    } catch {
      throw new Unauthorized()
    }
    const principal = await fastify.repositories.accounts.findActivePrincipal(Number(claims.sub))
    if (principal === undefined) throw new Unauthorized('The account of this token is not active')
    request.principal = principal
  })
}, { name: 'auth', dependencies: ['config', 'repositories'] })
