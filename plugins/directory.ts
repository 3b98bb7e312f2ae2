import fp from 'fastify-plugin'
import { AuditLogRepository } from '../repositories/audit-log.js'
import { AuditService } from '../services/audit.js'
import { ReservedUsernames } from '../services/reserved-usernames.js'
import { UserDirectoryService } from '../services/user-directory.js'

declare module 'fastify' {
  interface FastifyInstance {
    userDirectory: UserDirectoryService
    auditLog: AuditService
  }
}

// Finding users and usernames (v2's list, autocomplete and match, v1's users.list and username
// helpers), and reading the audit log.
export default fp(async (fastify) => {
  const { config, repositories } = fastify
  fastify.decorate('userDirectory', new UserDirectoryService(repositories.accounts, fastify.userService, new ReservedUsernames(config.reservedUsernames)))
  fastify.decorate('auditLog', new AuditService(new AuditLogRepository(fastify.knex)))
}, { name: 'directory', dependencies: ['accounts'] })
