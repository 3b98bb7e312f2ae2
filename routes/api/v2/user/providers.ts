import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { UserIdentity } from '../../../../domain/identities.js'
import { callerOf } from '../../../../plugins/auth.js'
import type { UserProviderAssociation } from '../../../../schemas/components.js'
import { operations } from '../../../../schemas/operations.js'

function associationRepresentation (identity: UserIdentity): UserProviderAssociation {
  return {
    user_id: identity.userId,
    provider: identity.provider,
    ext_id: identity.extId,
    profile_url: identity.profileUrl,
    metadata: identity.metadata,
    show_in_profile: identity.showInProfile
  }
}

// SelfCommunity's provider associations of a user.
const userProviderRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.listUserProviders,
    handler: async (request) => (await fastify.identityService.list(callerOf(request), request.params.id)).map(associationRepresentation)
  })

  fastify.route({
    ...operations.createUserProvider,
    handler: async (request, reply) => {
      const { user_id: bodyUserId, provider, ext_id: extId, profile_url: profileUrl, metadata, show_in_profile: showInProfile } = request.body
      const identity = await fastify.identityService.link(callerOf(request), request.params.id, { bodyUserId, provider, extId, profileUrl, metadata, showInProfile })
      return await reply.code(201).send(associationRepresentation(identity))
    }
  })

  fastify.route({
    ...operations.deleteUserProvider,
    handler: async (request, reply) => {
      const { user_id: bodyUserId, provider, ext_id: extId } = request.body
      await fastify.identityService.unlink(callerOf(request), request.params.id, { bodyUserId, provider, extId })
      return await reply.code(204).send(null)
    }
  })
}

export default userProviderRoutes
