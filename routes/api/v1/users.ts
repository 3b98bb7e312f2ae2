import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../../../plugins/auth.js'
import { operations } from '../../../schemas/operations.js'
import { InvalidInput } from '../../../domain/errors.js'
import { rocketChatPublicUser, rocketChatUser } from './representations.js'
import { asRocketChatUser } from './unknown-user.js'

// Rocket.Chat's `null` for an optional parameter means it was not given.
function given<T extends Record<string, unknown>> (values: T): { [K in keyof T]?: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== null && value !== undefined)) as { [K in keyof T]?: Exclude<T[K], null> }
}

const REQUIRED_FIELDS = ['email', 'name', 'password', 'username'] as const

const userRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.rocketChatCreateUser,
    handler: async (request) => {
      const body = request.body
      const randomPassword = body.setRandomPassword === true
      // Rocket.Chat requires these to be more than blanks (the password, unless one is generated).
      const empty = REQUIRED_FIELDS.find((field) => body[field].trim() === '' && !(field === 'password' && randomPassword))
      if (empty !== undefined) throw new InvalidInput('missing_field', empty, `The field ${empty} is required`)
      const user = await fastify.accountService.createAccount({
        username: body.username,
        email: body.email,
        password: body.password,
        realName: body.name,
        customFields: body.customFields ?? {},
        randomPassword,
        profile: given({ bio: body.bio, nickname: body.nickname, statusText: body.statusText }),
        flags: given({
          active: body.active,
          emailVerified: body.verified,
          requirePasswordChange: body.requirePasswordChange,
          sendWelcomeEmail: body.sendWelcomeEmail,
          joinDefaultChannels: body.joinDefaultChannels
        })
      }, {
        creator: callerOf(request),
        // As in Rocket.Chat, no roles at all means the default ones.
        roles: body.roles !== undefined && body.roles.length > 0 ? body.roles : undefined
      })
      return { user: rocketChatUser(user), success: true }
    }
  })

  fastify.route({
    ...operations.rocketChatUserInfo,
    handler: async (request) => {
      const { userId, username } = request.query
      if ((userId === undefined) === (username === undefined)) {
        throw new InvalidInput('invalid_query', 'userId', 'Give exactly one of userId and username')
      }
      const user = await asRocketChatUser(userId !== undefined ? 'userId' : 'username', async () =>
        userId !== undefined ? await fastify.userService.getUser(Number(userId)) : await fastify.userService.getUserByUsername(username as string))
      const caller = callerOf(request)
      const view = fastify.userService.seesFullProfile(caller, user)
        ? rocketChatUser(user)
        : rocketChatPublicUser(user, await fastify.customFieldRegistry.publicFieldNames())
      return { user: view, success: true }
    }
  })
}

export default userRoutes
