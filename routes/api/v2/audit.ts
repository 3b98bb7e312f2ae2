import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { operations } from '../../../schemas/operations.js'
import { auditEntryRepresentation } from './directory-representations.js'
import { pageOf, pageWindow } from './pages.js'

// The audit log, for those with view-audit-log.
const auditRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.listAuditEntries,
    handler: async (request) => {
      const { actor, subject, action, since, until } = request.query
      const window = pageWindow(request.query)
      const { count, entries } = await fastify.auditLog.list({ actor, subject, action, since, until }, window)
      return pageOf(request, window, count, entries.map(auditEntryRepresentation))
    }
  })
}

export default auditRoutes
