import fp from 'fastify-plugin'
import { ClientService } from '../services/clients.js'
import { InviteCodeService } from '../services/invite-codes.js'
import { PreferenceService } from '../services/preferences.js'
import { PromoCodeService } from '../services/promo-codes.js'
import { ReservedUsernames } from '../services/reserved-usernames.js'
import { RoleService } from '../services/roles.js'

declare module 'fastify' {
  interface FastifyInstance {
    preferenceService: PreferenceService
    inviteCodeService: InviteCodeService
    promoCodeService: PromoCodeService
    roleService: RoleService
    clientService: ClientService
  }
}

// The registries behind the gates of registration (preferences and features, invite codes,
// promo codes) and behind every permission check (roles, and the service clients that hold them).
export default fp(async (fastify) => {
  const { repositories } = fastify
  fastify.decorate('preferenceService', new PreferenceService(repositories.preferences, fastify.customFieldRegistry))
  const reservedUsernames = new ReservedUsernames(fastify.config.reservedUsernames)
  fastify.decorate('inviteCodeService', new InviteCodeService(repositories.inviteCodes, repositories.accounts, reservedUsernames))
  fastify.decorate('promoCodeService', new PromoCodeService(repositories.promoCodes, repositories.accounts))
  fastify.decorate('roleService', new RoleService(repositories.roles))
  fastify.decorate('clientService', new ClientService(repositories.clients))
}, { name: 'registration', dependencies: ['repositories', 'custom-field-registry'] })
