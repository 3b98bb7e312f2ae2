import { Forbidden, InvalidInput, NotFound } from '../domain/errors.js'
import { type StoredPrincipal, actorOf, callerUserId, checkMayActOnUser, requirePermission, userIdOf } from '../domain/principal.js'
import type { AccountStatusRepository, AccountStatusWriter, StatusTarget } from '../repositories/account-status.js'
import type { AccountRepository, StoredUser } from '../repositories/account-repository.js'
import { verifyPasswordOrDigest } from './passwords.js'
import { checkRoleGrantable } from './roles.js'

// SelfCommunity's moderation statuses: approved, blocked, deleted, and unregistered (a hard
// deletion).
export type ModerationStatus = 'a' | 'b' | 'd' | 'u'

export interface Deletion {
  // Removes the row, rather than marking the account deleted and erasing its personal data.
  hard: boolean
}

// Rocket.Chat's clients send the password as its SHA-256, in hex.

function userNotFound (id: number): NotFound {
  return new NotFound(`User ${id} not found`)
}

function lastAdmin (): Forbidden {
  return new Forbidden('Leaving the service without an active admin is not allowed', undefined, 'last_admin')
}

// Blocking and unblocking accounts, deleting them (soft or hard), and setting their roles. Each
// change locks the account, and, as any of them can leave the service without an active admin,
// the admins first: two admins blocking each other cannot both succeed. The change, its audit
// entry and its event are one transaction.
export class AccountStatusService {
  constructor (
    private readonly statuses: AccountStatusRepository,
    private readonly accounts: AccountRepository
  ) {}

  // Blocks (active false) or unblocks the user, with edit-other-user-active-status. Blocking
  // ends every refresh token of the user; their access tokens stop working at once, as the
  // account is read on every request. Setting the status it has already changes nothing.
  async setActive (caller: StoredPrincipal, id: number, active: boolean): Promise<void> {
    requirePermission(caller, 'edit-other-user-active-status')
    await this.statuses.transaction(async (writer) => { await this.writeActive(writer, caller, id, active, new Date()) })
  }

  // setActive's change in the caller's transaction, which takes the admins' lock before any row
  // of a user.
  async writeActive (writer: AccountStatusWriter, caller: StoredPrincipal, id: number, active: boolean, at: Date): Promise<void> {
    if (userIdOf(caller) === id) throw new Forbidden('Nobody blocks or unblocks themselves')
    const status = active ? 'a' : 'b'
    const target = await this.lockLiving(writer, id)
    checkMayActOnUser(caller, 'edit-other-user-active-status', target.permissions)
    if (target.status === status) return
    if (!active) await this.keepAnAdmin(writer, target)
    await writer.setStatus(id, status, at)
    if (!active) await writer.revokeTokens(id, at)
    const type = active ? 'user.unblocked' : 'user.blocked'
    const actor = actorOf(caller)
    await writer.account.recordAudit({ actor, action: type, subject: { userId: id }, at })
    await writer.account.enqueueEvent({ type, payload: { id, by: actor.userId, at: at.toISOString() }, at })
  }

  // SelfCommunity's moderation of a user: a and b unblock and block, d deletes (hard with
  // `hard`), u deletes hard. Nobody moderates themselves.
  async moderate (caller: StoredPrincipal, id: number, status: ModerationStatus, hard: boolean): Promise<void> {
    if (userIdOf(caller) === id) throw new Forbidden('Nobody moderates themselves')
    if (status === 'a' || status === 'b') return await this.setActive(caller, id, status === 'a')
    await this.deleteUser(caller, id, { hard: hard || status === 'u' })
  }

  // Deletes the user: a user themselves, or a caller with delete-user who has every permission
  // the user has. Soft by default: the account stays, deleted, with its personal data erased and
  // its username and email reserved unless the preference deleted_accounts_release_identity
  // releases them; a second soft delete is a 400. Hard removes the row, deleted or not. Either
  // way its tokens, codes and waiting mails end, and its last active admin is never deleted.
  async deleteUser (caller: StoredPrincipal, id: number, deletion: Deletion): Promise<void> {
    const self = userIdOf(caller) === id
    if (!self) requirePermission(caller, 'delete-user')
    await this.statuses.transaction(async (writer) => {
      await writer.lockAdmins()
      const target = await writer.lockTarget(id)
      if (target === undefined) throw userNotFound(id)
      if (!self) checkMayActOnUser(caller, 'delete-user', target.permissions)
      if (target.status === 'd' && !deletion.hard) throw new InvalidInput('already_deleted', undefined, `User ${id} is already deleted`)
      if (target.status !== 'd') await this.keepAnAdmin(writer, target)
      const at = new Date()
      const actor = actorOf(caller)
      await writer.revokeTokens(id, at)
      if (deletion.hard) await writer.hardDelete(target)
      else await writer.softDelete(target, await writer.releasesIdentity(), at)
      await writer.account.recordAudit({ actor: self && deletion.hard ? { ...actor, userId: null } : actor, action: 'user.deleted', subject: deletion.hard ? {} : { userId: id }, at })
      await writer.account.enqueueEvent({ type: 'user.deleted', payload: { id, hard: deletion.hard, at: at.toISOString() }, at })
    })
  }

  // Rocket.Chat's users.deleteOwnAccount: the user, proving their password (its SHA-256 in hex,
  // as Rocket.Chat's clients send it, or the password itself), deletes their account, softly.
  async deleteOwnAccount (caller: StoredPrincipal, password: string): Promise<void> {
    const id = callerUserId(caller)
    const credentials = await this.accounts.findCredentialsById(id)
    if (credentials === undefined) throw userNotFound(id)
    if (!await verifyPasswordOrDigest(password, credentials.passwordHash)) throw new InvalidInput('wrong_password', 'password', 'password is not the current password')
    await this.deleteUser(caller, id, { hard: false })
  }

  // Sets the user's roles, with assign-roles: every role must exist, the caller must be able to
  // grant each role added (as at creation) and hold every permission the user has, and the last
  // active admin keeps the admin role.
  async setRoles (caller: StoredPrincipal, id: number, roles: string[]): Promise<StoredUser> {
    requirePermission(caller, 'assign-roles')
    await this.statuses.transaction(async (writer) => { await this.writeRoles(writer, caller, id, roles, new Date()) })
    const user = await this.accounts.findById(id)
    if (user === undefined) throw userNotFound(id)
    return user
  }

  // setRoles' change in the caller's transaction, which takes the admins' lock before any row of
  // a user.
  async writeRoles (writer: AccountStatusWriter, caller: StoredPrincipal, id: number, roles: string[], at: Date): Promise<void> {
    const wanted = [...new Set(roles)]
    const target = await this.lockLiving(writer, id)
    checkMayActOnUser(caller, 'assign-roles', target.permissions)
    const added = wanted.filter((role) => !target.roles.includes(role))
    const removed = target.roles.filter((role) => !wanted.includes(role))
    for (const role of added) checkRoleGrantable(role, await writer.account.rolePermissions(role), caller, `roles[${roles.indexOf(role)}]`)
    if (removed.includes('admin') && target.status === 'a' && await writer.otherActiveAdmins(id) === 0) throw lastAdmin()
    if (added.length === 0 && removed.length === 0) return
    await writer.replaceRoles(id, wanted, at)
    await writer.account.recordAudit({ actor: actorOf(caller), action: 'user.roles_changed', subject: { userId: id }, at })
    await writer.account.enqueueEvent({ type: 'user.roles_changed', payload: { id, added, removed }, at })
  }

  // The account, locked after the admins, unless it is deleted (then it is not found).
  private async lockLiving (writer: AccountStatusWriter, id: number): Promise<StatusTarget> {
    await writer.lockAdmins()
    const target = await writer.lockTarget(id)
    if (target === undefined || target.status === 'd') throw userNotFound(id)
    return target
  }

  // An active admin who would stop being one must not be the last.
  private async keepAnAdmin (writer: AccountStatusWriter, target: StatusTarget): Promise<void> {
    if (target.status === 'a' && target.roles.includes('admin') && await writer.otherActiveAdmins(target.id) === 0) throw lastAdmin()
  }
}
