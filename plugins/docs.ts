import { join } from 'node:path'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import { projectRoot } from '../paths.js'

// The contract itself, served as written (static mode), with Swagger UI at /docs.
export default fp(async (fastify) => {
  await fastify.register(swagger, {
    mode: 'static',
    specification: { path: join(projectRoot, 'openapi.yaml'), baseDir: projectRoot }
  })
  await fastify.register(swaggerUi, { routePrefix: '/docs' })
}, { name: 'docs' })
