import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../../../../plugins/auth.js'
import { operations } from '../../../../schemas/operations.js'
import { inviteCheckRepresentation, inviteRepresentation } from '../invite-representations.js'
import { pageOf, pageWindow } from '../pages.js'

const inviteCodeRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const invites = fastify.inviteCodeService

  fastify.route({
    ...operations.listInviteCodes,
    handler: async (request) => {
      const { status, email, search } = request.query
      const window = pageWindow(request.query)
      const page = await invites.list({ status, email, search }, window)
      return pageOf(request, window, page.total, page.invites.map(inviteRepresentation))
    }
  })

  fastify.route({
    ...operations.createInviteCode,
    handler: async (request, reply) => {
      const { code, name, email, role, forced_username: forcedUsername, expires_at: expiresAt, sent_at: sentAt, extra_data: extraData } = request.body
      const invite = await invites.create({ code, name, email, role, forcedUsername, expiresAt, sentAt, extraData }, callerOf(request))
      return await reply.code(201).send(inviteRepresentation(invite))
    }
  })

  fastify.route({
    ...operations.checkInviteCode,
    handler: async (request) => inviteCheckRepresentation(await invites.check(request.params.code, callerOf(request)))
  })

  fastify.route({
    ...operations.revokeInviteCode,
    handler: async (request) => inviteRepresentation(await invites.revoke(request.params.code))
  })
}

export default inviteCodeRoutes
