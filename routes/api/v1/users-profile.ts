import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../../../plugins/auth.js'
import { operations } from '../../../schemas/operations.js'
import { Forbidden, InvalidInput, NotFound } from '../../../domain/errors.js'
import { userIdOf } from '../../../domain/principal.js'
import type { PreparedPasswordChange } from '../../../services/account-life.js'
import type { UserChanges } from '../../../services/users.js'
import { rocketChatUser } from './representations.js'
import { asRocketChatUser } from './unknown-user.js'

// What users.update can say that other flows change (the email by its confirmation, an admin's
// password, the status, the roles): refused here, naming the parameter, and nothing changes.
const NOT_CHANGED_HERE = ['email', 'password', 'active', 'roles', 'verified', 'requirePasswordChange', 'setRandomPassword', 'sendWelcomeEmail']

const USER_ID = /^[1-9][0-9]{0,9}$/

function refuseNotChangedHere (data: Record<string, unknown>, parameters: readonly string[]): void {
  const parameter = parameters.find((name) => data[name] !== undefined && data[name] !== null)
  if (parameter !== undefined) throw new Forbidden(`${parameter} cannot be changed through this operation`, parameter, 'not_changeable_here')
}

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

// The password errors of v2 name its fields; Rocket.Chat's parameters are currentPassword and
// newPassword.
function renamingPasswordFields (error: unknown): unknown {
  if (!(error instanceof InvalidInput) || error.field !== 'password') return error
  return new InvalidInput(error.code, error.code === 'wrong_password' ? 'currentPassword' : 'newPassword', error.message)
}

// Rocket.Chat's users.update and users.updateOwnBasicInfo, on the same UserService calls as
// PATCH /api/v2/user/{id}/ (and the password change of PATCH .../change_password/).
const userProfileRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.rocketChatUpdateUser,
    handler: async (request) => {
      const { userId, data } = request.body
      refuseNotChangedHere(data, NOT_CHANGED_HERE)
      return await asRocketChatUser('userId', async () => {
        // An id that is not ours is unknown.
        if (!USER_ID.test(userId)) throw new NotFound(`User ${userId} not found`)
        const user = await fastify.userService.updateUser(Number(userId), userChangesOf(data, data.customFields), callerOf(request))
        return { user: rocketChatUser(user), success: true }
      })
    }
  })

  fastify.route({
    ...operations.rocketChatUpdateOwnBasicInfo,
    handler: async (request) => {
      const caller = callerOf(request)
      const userId = userIdOf(caller)
      if (userId === undefined) throw new Forbidden('This token is a service client\'s, which is no user', undefined, 'not_a_user')
      const { data, customFields } = request.body
      refuseNotChangedHere(data, ['email'])
      const changes = userChangesOf(data, customFields)
      let passwordChange: PreparedPasswordChange | undefined
      if (data.newPassword !== undefined && data.newPassword !== null) {
        if (data.currentPassword === undefined || data.currentPassword === null) {
          throw new InvalidInput('missing_field', 'currentPassword', 'currentPassword is required to change the password')
        }
        passwordChange = await fastify.accountLife.preparePasswordChange(caller, userId, data.currentPassword, data.newPassword, true)
          .catch((error: unknown) => { throw renamingPasswordFields(error) })
      }
      const prepared = passwordChange
      // The password changes in the transaction of the rest: a refusal of either changes nothing.
      const user = await fastify.userService.updateUser(userId, changes, caller, 'patch',
        prepared === undefined ? undefined : async (writer, at) => { await fastify.accountLife.writePasswordChange(writer, prepared, at) })
      return { user: rocketChatUser(user), success: true }
    }
  })
}

export default userProfileRoutes
