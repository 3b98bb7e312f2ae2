import fp from 'fastify-plugin'
import { AccountStatusRepository } from '../repositories/account-status.js'
import { AccountLifeService } from '../services/account-life.js'
import { AccountStatusService } from '../services/account-status.js'
import { AccountUpdateService } from '../services/account-updates.js'
import { AccountService } from '../services/accounts.js'
import { IdentityService } from '../services/identities.js'
import { PersonalAccessTokenService } from '../services/personal-access-tokens.js'
import { ReservedUsernames } from '../services/reserved-usernames.js'
import { UserService } from '../services/users.js'

declare module 'fastify' {
  interface FastifyInstance {
    accountService: AccountService
    accountLife: AccountLifeService
    userService: UserService
    accountStatus: AccountStatusService
    accountUpdates: AccountUpdateService
    identityService: IdentityService
    personalAccessTokens: PersonalAccessTokenService
  }
}

export interface AccountsOptions {
  // Receives the first admin's generated credentials, once; by default they are printed on
  // stdout as plain text, never through the logger, whose JSON lines are parsed and indexed.
  announceFirstAdmin?: (username: string, password: string) => void
  // False for the operator's CLI, which makes admins of its own and must not make one on its way.
  ensureFirstAdmin?: boolean
}

function printFirstAdmin (username: string, password: string): void {
  process.stdout.write(`\nFirst admin created. username: ${username}  password: ${password}\n` +
    'This password is shown only this once; keep it somewhere safe.\n\n')
}

// Account creation and reading, verification and recovery by mailed codes, and the first admin:
// created at start when no admin exists.
export default fp<AccountsOptions>(async (fastify, options) => {
  const { config, repositories } = fastify
  const userService = new UserService(repositories.accounts, fastify.customFieldRegistry, new ReservedUsernames(config.reservedUsernames))
  const accountLife = new AccountLifeService(repositories.accounts, fastify.tokenService, {
    codeSeconds: config.codeSeconds,
    bcryptCost: config.bcryptCost,
    refusedPasswords: config.refusedPasswords,
    mailConfigured: fastify.mail.configured,
    log: fastify.log
  })
  const accountService = new AccountService(repositories.accounts, fastify.customFieldRegistry, userService, accountLife, config.bcryptCost,
    config.reservedUsernames, config.refusedPasswords)
  fastify.decorate('accountService', accountService)
  fastify.decorate('accountLife', accountLife)
  fastify.decorate('userService', userService)
  fastify.decorate('personalAccessTokens', new PersonalAccessTokenService(repositories.tokens))
  fastify.decorate('identityService', new IdentityService(repositories.accounts, repositories.identities, userService, accountService))
  const statuses = new AccountStatusRepository(fastify.knex)
  const accountStatus = new AccountStatusService(statuses, repositories.accounts)
  fastify.decorate('accountStatus', accountStatus)
  fastify.decorate('accountUpdates', new AccountUpdateService(repositories.accounts, statuses, userService, accountLife, accountStatus))

  if (options.ensureFirstAdmin === false) return
  const firstAdmin = await accountService.ensureFirstAdmin(config.firstAdmin, config.environment === 'development')
  if (firstAdmin?.generatedPassword !== undefined) {
    (options.announceFirstAdmin ?? printFirstAdmin)(firstAdmin.user.username, firstAdmin.generatedPassword)
  }
}, { name: 'accounts', dependencies: ['auth', 'custom-field-registry', 'mail'] })
