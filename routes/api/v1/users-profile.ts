import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../../../plugins/auth.js'
import { operations } from '../../../schemas/operations.js'
import { Conflict, EmailTaken, InvalidInput, NotFound } from '../../../domain/errors.js'
import type { UserChanges } from '../../../services/users.js'
import { rocketChatUser } from './representations.js'
import { asRocketChatUser } from './unknown-user.js'

const USER_ID = /^[1-9][0-9]{0,9}$/

interface RocketChatProfile {
  name?: string | null
  username?: string | null
  bio?: string | null
  nickname?: string | null
  statusText?: string | null
}

// Rocket.Chat's profile parameters as a change of the user: `name` is the real name, and null
// means not given.
function userChangesOf (data: RocketChatProfile, customFields: Record<string, unknown> | null | undefined): UserChanges {
  const profile = Object.fromEntries(Object.entries({ bio: data.bio, nickname: data.nickname, statusText: data.statusText })
    .filter(([, value]) => value !== undefined && value !== null))
  return { username: data.username ?? undefined, realName: data.name ?? undefined, profile, customFields: customFields ?? {} }
}

// Errors of the core name fields as v2 does (new_email, new_password); these are Rocket.Chat's
// parameters, the new password's being `passwordParameter`.
function inRocketChatTerms (error: unknown, passwordParameter: string): unknown {
  if (error instanceof Conflict && error.code === 'email_taken') return new EmailTaken()
  if (!(error instanceof InvalidInput)) return error
  if (error.code === 'wrong_password') return new InvalidInput(error.code, 'currentPassword', error.message)
  if (error.field === 'password' || error.field === 'new_password') return new InvalidInput(error.code, passwordParameter, error.message)
  return error
}

// Rocket.Chat's users.update and users.updateOwnBasicInfo, on the same core as PATCH
// /api/v2/user/{id}/ and the calls that change the password, the email, the status and the roles.
const userProfileRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.rocketChatUpdateUser,
    handler: async (request) => {
      const { userId, data } = request.body
      return await asRocketChatUser('userId', async () => {
        // An id that is not ours is unknown.
        if (!USER_ID.test(userId)) throw new NotFound(`User ${userId} not found`)
        const user = await fastify.accountUpdates.updateUser(callerOf(request), Number(userId), {
          profile: userChangesOf(data, data.customFields),
          email: data.email ?? undefined,
          verified: data.verified ?? undefined,
          password: data.password ?? undefined,
          randomPassword: data.setRandomPassword ?? undefined,
          requirePasswordChange: data.requirePasswordChange ?? undefined,
          active: data.active ?? undefined,
          roles: data.roles ?? undefined,
          welcomeMail: data.sendWelcomeEmail ?? undefined
        }).catch((error: unknown) => { throw inRocketChatTerms(error, 'password') })
        return { user: rocketChatUser(user), success: true }
      })
    }
  })

  fastify.route({
    ...operations.rocketChatUpdateOwnBasicInfo,
    handler: async (request) => {
      const { data, customFields } = request.body
      const password = data.newPassword ?? undefined
      if (password !== undefined && (data.currentPassword === undefined || data.currentPassword === null)) {
        throw new InvalidInput('missing_field', 'currentPassword', 'currentPassword is required to change the password')
      }
      const user = await fastify.accountUpdates.updateOwnAccount(callerOf(request), {
        profile: userChangesOf(data, customFields),
        email: data.email ?? undefined,
        password: password === undefined ? undefined : { current: data.currentPassword as string, next: password }
      }).catch((error: unknown) => { throw inRocketChatTerms(error, 'newPassword') })
      return { user: rocketChatUser(user), success: true }
    }
  })
}

export default userProfileRoutes
