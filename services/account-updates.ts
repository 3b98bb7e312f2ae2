import { InvalidInput, NotFound } from '../domain/errors.js'
import { checkEmail } from '../domain/accounts.js'
import { type StoredPrincipal, actorOf, callerUserId, checkMayActOnUser, checkMayChangeUser } from '../domain/principal.js'
import type { AccountRepository, StoredUser } from '../repositories/account-repository.js'
import type { AccountStatusRepository } from '../repositories/account-status.js'
import type { AccountLifeService, PreparedPasswordChange } from './account-life.js'
import type { AccountStatusService } from './account-status.js'
import type { UserChanges, UserService } from './users.js'

// Rocket.Chat's users.update: the profile, and what an admin changes of an account besides.
export interface AccountUpdate {
  profile: UserChanges
  email?: string
  // Of the new email when one is given, else of the current one.
  verified?: boolean
  password?: string
  // A generated password nobody is told: the user chooses one with the code mailed to them.
  randomPassword?: boolean
  requirePasswordChange?: boolean
  active?: boolean
  roles?: string[]
  welcomeMail?: boolean
}

// Rocket.Chat's users.updateOwnBasicInfo: the caller's profile, and their password, proving the
// current one.
export interface OwnAccountUpdate {
  profile: UserChanges
  password?: { current: string, next: string }
  // A new address, which changes when the user confirms it with the code mailed to it.
  email?: string
}

// A user's own new address: one that differs only in case is theirs already.
function isOwnNewEmail (email: string | undefined, user: StoredUser): email is string {
  return email !== undefined && email.toLowerCase() !== user.email.toLowerCase()
}

// What of an update changes the account as it is now. A client that sends a user's whole form
// back (as Rocket.Chat's admin screens do) asks to change only what differs, and needs only the
// permissions of that.
function effectOf (update: AccountUpdate, user: StoredUser) {
  const email = update.email !== undefined && update.email !== user.email ? update.email : undefined
  const verified = email === undefined && update.verified !== undefined && update.verified !== user.emailIsValid ? update.verified : undefined
  const password = update.password !== undefined || update.randomPassword === true
  // A new password clears the flag: given with one, it is set again. A generated password is
  // changed at first login, as at creation.
  const requirePasswordChange = update.randomPassword === true
    ? true
    : update.requirePasswordChange !== undefined && (password || update.requirePasswordChange !== user.requirePasswordChange) ? update.requirePasswordChange : undefined
  const roles = update.roles !== undefined && !sameRoles(update.roles, user.roles) ? update.roles : undefined
  const active = update.active !== undefined && update.active !== (user.status === 'a') ? update.active : undefined
  return { email, verified, requirePasswordChange, roles, active, password, welcomeMail: update.welcomeMail === true }
}

type Effect = ReturnType<typeof effectOf>

function sameRoles (given: string[], held: string[]): boolean {
  const wanted = new Set(given)
  return wanted.size === held.length && held.every((role) => wanted.has(role))
}

// Each part of an update takes the permission of the call that makes it alone, and every
// permission the user has; for oneself too, since none of these parts proves anything the
// user knows. The roles and the status are checked by their own rules (AccountStatusService).
function checkMayMake (caller: StoredPrincipal, effect: Effect, permissionsOfUser: readonly string[]): void {
  const parts: Array<[boolean, string]> = [
    [effect.email !== undefined || effect.verified !== undefined, 'edit-other-user-info'],
    [effect.password || effect.requirePasswordChange !== undefined, 'edit-other-user-password'],
    [effect.welcomeMail, 'send-mail'],
    [effect.roles !== undefined, 'assign-roles'],
    [effect.active !== undefined, 'edit-other-user-active-status']
  ]
  for (const [given, permission] of parts) if (given) checkMayActOnUser(caller, permission, permissionsOfUser)
}

// Changes of an account that Rocket.Chat makes in one call and this service in one transaction:
// all of it is made, or none. Every part is the same rule as the call that makes it alone
// (PATCH /api/v2/user/{id}/, the password calls, change_email, setActiveStatus, the roles).
export class AccountUpdateService {
  constructor (
    private readonly accounts: AccountRepository,
    private readonly statuses: AccountStatusRepository,
    private readonly users: UserService,
    private readonly life: AccountLifeService,
    private readonly status: AccountStatusService
  ) {}

  async updateUser (caller: StoredPrincipal, id: number, update: AccountUpdate): Promise<StoredUser> {
    if (update.password !== undefined && update.randomPassword === true) {
      throw new InvalidInput('conflicting_fields', 'setRandomPassword', 'Give password or setRandomPassword, not both')
    }
    if (update.email !== undefined) checkEmail(update.email)
    // Checked before the password is hashed, and again under the lock; first whether the caller
    // may change the user at all, so that one who may not learns nothing of which ids exist.
    const permissionsOfUser = await this.accounts.permissionsOf(id)
    checkMayChangeUser(caller, id, permissionsOfUser)
    const before = await this.accounts.findById(id)
    if (before === undefined) throw new NotFound(`User ${id} not found`)
    const planned = effectOf(update, before)
    checkMayMake(caller, planned, permissionsOfUser)
    if (planned.welcomeMail) this.life.checkMailConfigured()
    const at = new Date()
    const checked = this.users.checkChanges(update.profile, 'patch', at)
    const reset = planned.password ? await this.life.preparePasswordReset(update.password, update.profile.username ?? before.username) : undefined
    return await this.statuses.transaction(async (writer) => {
      const account = writer.account
      // The admins' lock comes before any user's row, as in every change that takes it.
      if (update.roles !== undefined || update.active !== undefined) await writer.lockAdmins()
      if (!await account.lockUser(id)) throw new NotFound(`User ${id} not found`)
      const current = await account.findUser(id) as StoredUser
      const effect = effectOf(update, current)
      checkMayMake(caller, effect, await account.permissionsOf(id))
      // First, as a new password clears requirePasswordChange, which the profile may set again.
      if (reset !== undefined) await this.life.writePasswordReset(account, caller, current, reset, at)
      // Verifying is its own change (its event, its codes spent); unverifying is a flag.
      const flags = { emailIsValid: effect.verified === false ? false : undefined, requirePasswordChange: effect.requirePasswordChange }
      const changed = await this.users.writeUpdate(account, id, { ...checked, flags }, caller, 'patch', at)
      if (effect.verified === true) await this.life.writeEmailVerified(account, actorOf(caller), changed, at)
      if (effect.email !== undefined) {
        // An address that differs only in case is the same mailbox: it stays as verified as it was.
        const sameAddress = effect.email.toLowerCase() === changed.email.toLowerCase()
        await this.life.writeDirectEmailChange(account, caller, changed, effect.email, update.verified ?? (sameAddress && changed.emailIsValid), at)
      }
      if (effect.roles !== undefined) await this.status.writeRoles(writer, caller, id, effect.roles, at)
      if (effect.active !== undefined) await this.status.writeActive(writer, caller, id, effect.active, at)
      const updated = await account.findUser(id) as StoredUser
      // To the address the account has now.
      if (reset?.generated === true) await this.life.writeSetPasswordMail(account, updated, at)
      if (effect.welcomeMail) await this.life.writeWelcomeMail(account, updated, at)
      return updated
    })
  }

  async updateOwnAccount (caller: StoredPrincipal, update: OwnAccountUpdate): Promise<StoredUser> {
    const id = callerUserId(caller)
    if (update.email !== undefined) checkEmail(update.email)
    const at = new Date()
    const checked = this.users.checkChanges(update.profile, 'patch', at)
    const before = await this.accounts.findById(id)
    if (before === undefined) throw new NotFound(`User ${id} not found`)
    if (isOwnNewEmail(update.email, before)) this.life.checkMailConfigured()
    const { password } = update
    const change: PreparedPasswordChange | undefined = password === undefined
      ? undefined
      : await this.life.preparePasswordChange(caller, id, password.current, password.next, true)
    return await this.accounts.transaction(async (writer) => {
      const changed = await this.users.writeUpdate(writer, id, checked, caller, 'patch', at)
      if (isOwnNewEmail(update.email, changed)) await this.life.writeEmailChangeRequest(writer, changed, update.email, at)
      if (change === undefined) return changed
      await this.life.writePasswordChange(writer, change, at)
      return await writer.findUser(id) as StoredUser
    })
  }
}
