import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../../../../plugins/auth.js'
import { operations } from '../../../../schemas/operations.js'

// SelfCommunity's SSO: accounts a platform makes for its users, and the user a token signs in.
const ssoRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.ssoSignUp,
    handler: async (request, reply) => {
      const { ext_id: extId, username, email, password, real_name: realName, role } = request.body
      const { user, extId: linked, role: granted } = await fastify.identityService.signUp(callerOf(request), { extId, username, email, password, realName, role })
      return await reply.code(201).send({ id: user.id, ext_id: linked, username: user.username, email: user.email, role: granted, tags: null })
    }
  })

  fastify.route({
    ...operations.ssoSignIn,
    handler: async (request) => {
      const { user, extId, role } = await fastify.identityService.signIn(callerOf(request))
      return { id: user.id, ext_id: extId, username: user.username, role, tags: null }
    }
  })
}

export default ssoRoutes
