import fp from 'fastify-plugin'
import { AccountRepository } from '../repositories/account-repository.js'
import { ClientRepository } from '../repositories/client-repository.js'
import { CustomFieldRepository } from '../repositories/custom-field-repository.js'
import { HealthRepository } from '../repositories/health-repository.js'
import { IdentityRepository } from '../repositories/identity-repository.js'
import { InviteCodeRepository } from '../repositories/invite-code-repository.js'
import { MailOutboxRepository } from '../repositories/mail-outbox.js'
import { PreferenceRepository } from '../repositories/preference-repository.js'
import { PromoCodeRepository } from '../repositories/promo-code-repository.js'
import { RoleRepository } from '../repositories/role-repository.js'
import { TokenRepository } from '../repositories/token-repository.js'
import { WebhookEndpointRepository } from '../repositories/webhook-repository.js'
import { WebhookDeliveryRepository } from '../repositories/webhook-deliveries.js'

declare module 'fastify' {
  interface FastifyInstance {
    repositories: {
      accounts: AccountRepository
      clients: ClientRepository
      customFields: CustomFieldRepository
      health: HealthRepository
      identities: IdentityRepository
      inviteCodes: InviteCodeRepository
      mailOutbox: MailOutboxRepository
      preferences: PreferenceRepository
      promoCodes: PromoCodeRepository
      roles: RoleRepository
      tokens: TokenRepository
      webhookEndpoints: WebhookEndpointRepository
      webhookDeliveries: WebhookDeliveryRepository
    }
  }
}

// The Knex repositories: the only place that writes SQL.
export default fp(async (fastify) => {
  fastify.decorate('repositories', {
    accounts: new AccountRepository(fastify.knex),
    clients: new ClientRepository(fastify.knex),
    customFields: new CustomFieldRepository(fastify.knex),
    health: new HealthRepository(fastify.knex),
    identities: new IdentityRepository(fastify.knex),
    inviteCodes: new InviteCodeRepository(fastify.knex),
    mailOutbox: new MailOutboxRepository(fastify.knex),
    preferences: new PreferenceRepository(fastify.knex),
    promoCodes: new PromoCodeRepository(fastify.knex),
    roles: new RoleRepository(fastify.knex),
    tokens: new TokenRepository(fastify.knex),
    webhookEndpoints: new WebhookEndpointRepository(fastify.knex),
    webhookDeliveries: new WebhookDeliveryRepository(fastify.knex)
  })
}, { name: 'repositories', dependencies: ['database'] })
