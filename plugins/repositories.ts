import fp from 'fastify-plugin'
import { AccountRepository } from '../repositories/account-repository.js'
import { CustomFieldRepository } from '../repositories/custom-field-repository.js'
import { HealthRepository } from '../repositories/health-repository.js'

declare module 'fastify' {
  interface FastifyInstance {
    repositories: {
      accounts: AccountRepository
      customFields: CustomFieldRepository
      health: HealthRepository
    }
  }
}

// The Knex repositories: the only place that writes SQL.
export default fp(async (fastify) => {
  fastify.decorate('repositories', {
    accounts: new AccountRepository(fastify.knex),
    customFields: new CustomFieldRepository(fastify.knex),
    health: new HealthRepository(fastify.knex)
  })
}, { name: 'repositories', dependencies: ['database'] })
