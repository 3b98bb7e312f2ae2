import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import swagger, { type StaticDocumentSpec } from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import { parse } from 'yaml'
import { projectRoot } from '../paths.js'

// Read once for the process, however many apps it builds.
const contract: StaticDocumentSpec['document'] = parse(readFileSync(join(projectRoot, 'openapi.yaml'), 'utf8'))

// The contract itself, served as written (static mode), with Swagger UI at /docs.
export default fp(async (fastify) => {
  await fastify.register(swagger, { mode: 'static', specification: { document: contract } })
  // Swagger UI's own CSP (its inline scripts by hash), in place of the service's default one,
  // without upgrade-insecure-requests, as the service may be reached over plain http.
  await fastify.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;/, '')
  })
}, { name: 'docs' })
