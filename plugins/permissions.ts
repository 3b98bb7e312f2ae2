import fp from 'fastify-plugin'
import { Forbidden, InsufficientScope } from '../domain/errors.js'

// Route-level requirements, declared in the contract and carried into each route's
// config.access by the generated operations: the scope the token must have (its security
// requirement) and the permission its principal must hold (`x-required-permission`). Whether a
// caller has a permission is decided by the roles → permissions mapping in the database, read
// with the caller on every request, so a change to a role applies at once, on every instance.
export default fp(async (fastify) => {
  fastify.addHook('onRequest', async (request) => {
    const { scope, permission, allowedBeforePasswordChange } = request.routeOptions.config.access ?? {}
    // A password given by someone else (an admin, setRandomPassword) is changed before anything else.
    if (request.principal?.kind === 'user' && request.principal.requirePasswordChange === true && allowedBeforePasswordChange !== true) {
      throw new Forbidden('Change your password first: PATCH /api/v2/user/{id}/change_password/', undefined, 'password_change_required')
    }
    if (scope !== undefined && request.principal?.scopes.includes(scope) !== true) throw new InsufficientScope(scope)
    if (permission === undefined) return
    if (request.principal?.permissions.includes(permission) !== true) {
      throw new Forbidden(`This operation requires the ${permission} permission`)
    }
  })
}, { name: 'permissions', dependencies: ['auth'] })
