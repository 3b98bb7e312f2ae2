import fp from 'fastify-plugin'
import { Forbidden } from '../services/errors.js'

// Route-level role requirements, declared in the contract (`x-required-role`) and carried
// into each route's config.access by the generated operations.
export default fp(async (fastify) => {
  fastify.addHook('onRequest', async (request) => {
    const role = request.routeOptions.config.access?.role
    if (role === undefined) return
    if (request.principal?.roles.includes(role) !== true) {
      throw new Forbidden(`This operation requires the ${role} role`)
    }
  })
}, { name: 'roles', dependencies: ['auth'] })
