import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RocketChatLoginRequest } from '../../../schemas/components.js'
import { operations } from '../../../schemas/operations.js'
import { InvalidInput } from '../../../domain/errors.js'
import { rocketChatUser } from './representations.js'

// Rocket.Chat names the user in one of several ways; exactly one must be given.
function loginOf (body: RocketChatLoginRequest): string {
  const inUser = typeof body.user === 'string' ? [body.user] : [body.user?.username, body.user?.email]
  const given = [...inUser, body.username, body.email].filter((login) => login !== undefined)
  const [login] = given
  if (given.length !== 1 || login === undefined) {
    throw new InvalidInput('invalid_body', 'user', 'Give the user as exactly one of user, user.username, user.email, username and email')
  }
  return login
}

const loginRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.rocketChatLogin,
    handler: async (request) => {
      const { token, userId } = await fastify.tokenService.logIn(loginOf(request.body), request.body.password)
      const me = await fastify.userService.getUser(userId)
      return { status: 'success' as const, data: { userId: String(userId), authToken: token.accessToken, me: rocketChatUser(me) } }
    }
  })
}

export default loginRoutes
