import fp from 'fastify-plugin'
import { AccountCreateRequest, User } from '../schemas/components.js'
import { CustomFieldRegistry } from '../services/custom-fields.js'

declare module 'fastify' {
  interface FastifyInstance {
    customFieldRegistry: CustomFieldRegistry
  }
}

// The registry of custom user fields. The names of the standard fields of the contract are
// reserved, so a custom field can never shadow one.
export default fp(async (fastify) => {
  const reservedNames = new Set([...Object.keys(AccountCreateRequest.properties), ...Object.keys(User.properties)])
  fastify.decorate('customFieldRegistry', new CustomFieldRegistry(fastify.repositories.customFields, reservedNames))
}, { name: 'custom-field-registry', dependencies: ['repositories'] })
