import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import fp from 'fastify-plugin'

// The headers a browser needs to be told. Security headers on every answer (@fastify/helmet's
// defaults; /docs sets its own CSP, see docs.ts). HSTS is left to whatever terminates TLS, and
// no request is upgraded to https, so the service also works where it is reached over plain
// http (a development machine, a private network). CORS only for the origins in CORS_ORIGINS:
// bearer tokens, no cookies, so no credentials; Retry-After, WWW-Authenticate and X-Request-Id
// are readable by the calling page.
export default fp(async (fastify) => {
  await fastify.register(helmet, {
    strictTransportSecurity: false,
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } }
  })
  const origins = fastify.config.corsOrigins
  if (origins.length === 0) return
  await fastify.register(cors, {
    origin: origins,
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Auth-Token', 'X-User-Id', 'X-Request-Id'],
    exposedHeaders: ['Retry-After', 'WWW-Authenticate', 'X-Request-Id'],
    maxAge: 600
  })
}, { name: 'browser-policy', dependencies: ['config'] })
