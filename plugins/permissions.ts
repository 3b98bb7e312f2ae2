import fp from 'fastify-plugin'
import { Forbidden } from '../services/errors.js'

// Route-level permission requirements, declared in the contract (`x-required-permission`) and
// carried into each route's config.access by the generated operations. Whether a caller has
// one is decided by the roles → permissions mapping in the database, read with the caller on
// every request, so a change to a role applies at once, on every instance.
export default fp(async (fastify) => {
  fastify.addHook('onRequest', async (request) => {
    const permission = request.routeOptions.config.access?.permission
    if (permission === undefined) return
    if (request.principal?.permissions.includes(permission) !== true) {
      throw new Forbidden(`This operation requires the ${permission} permission`)
    }
  })
}, { name: 'permissions', dependencies: ['auth'] })
