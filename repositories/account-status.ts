import type { Knex } from 'knex'
import { AccountWriter } from './account-repository.js'
import { preferenceIsOn } from './preference-repository.js'
import { retryingDeadlocks, supportsRowLocks, toDatabaseTime } from './sql.js'
import { deleteUserPersonalAccessTokens, revokeUserRefreshTokens } from './token-repository.js'

// What a soft delete erases of an account: its personal columns, set to these values (the
// account's custom-field values go too). Columns added to users for a person's data belong here.
export const ERASED_COLUMNS: Readonly<Record<string, string | null>> = {
  real_name: '',
  bio: null,
  nickname: null,
  status_text: null,
  location: null,
  date_of_birth: null,
  description: null,
  gender: null,
  website: null
}

// No password matches it: bcrypt compares nothing to a hash of this shape.
const NO_PASSWORD = '!'

// The role whose last active holder must stay.
const ADMIN_ROLE = 'admin'

export type AccountStatus = 'a' | 'b' | 'd' | 'u'

// An account as a change of its status or roles sees it: deleted ones too.
export interface StatusTarget {
  id: number
  username: string
  email: string
  status: AccountStatus
  roles: string[]
  permissions: string[]
}

// The writes of one change of an account's status or roles; every method runs in the caller's
// transaction, and `account` offers the writes every change shares (audit entry, event).
export class AccountStatusWriter {
  readonly account: AccountWriter

  constructor (private readonly trx: Knex.Transaction) {
    this.account = new AccountWriter(trx)
  }

  // Changes that can leave the service without an active admin take this lock first, so they
  // apply one after the other and each counts the admins the one before left.
  async lockAdmins (): Promise<void> {
    const query = this.trx('roles').where({ name: ADMIN_ROLE }).first('id')
    if (supportsRowLocks(this.trx)) void query.forUpdate()
    await query
  }

  // The account (whatever its status), its row locked until the transaction ends.
  async lockTarget (id: number): Promise<StatusTarget | undefined> {
    const query = this.trx('users').where({ id }).first<{ id: number, username: string, email: string, status: AccountStatus } | undefined>('id', 'username', 'email', 'status')
    if (supportsRowLocks(this.trx)) void query.forUpdate()
    const row = await query
    if (row === undefined) return undefined
    const [roles, permissions] = await Promise.all([
      this.trx('user_roles as ur').join('roles as r', 'r.id', 'ur.role_id').where('ur.user_id', id).orderBy('r.name').pluck<string[]>('r.name'),
      this.trx('user_roles as ur').join('role_permissions as rp', 'rp.role_id', 'ur.role_id').where('ur.user_id', id).distinct('rp.permission').orderBy('rp.permission').pluck<string[]>('rp.permission')
    ])
    return { id: row.id, username: row.username, email: row.email, status: row.status, roles, permissions }
  }

  // How many active admins there are besides this account.
  async otherActiveAdmins (id: number): Promise<number> {
    const [row] = await this.trx('user_roles as ur')
      .join('roles as r', 'r.id', 'ur.role_id')
      .join('users as u', 'u.id', 'ur.user_id')
      .where({ 'r.name': ADMIN_ROLE, 'u.status': 'a' })
      .whereNot('u.id', id)
      .count<Array<{ count: number | string }>>({ count: '*' })
    return Number(row?.count)
  }

  async setStatus (id: number, status: 'a' | 'b', at: Date): Promise<void> {
    await this.trx('users').where({ id }).update({ status, updated_at: toDatabaseTime(at) })
  }

  // Every refresh token of the user is revoked and every personal access token deleted: a
  // blocked or deleted user's never work again.
  async revokeTokens (id: number, at: Date): Promise<void> {
    await revokeUserRefreshTokens(this.trx, id, at)
    await deleteUserPersonalAccessTokens(this.trx, id)
  }

  // Whether a deleted account's username and email may be taken again, as it is in this transaction.
  async releasesIdentity (): Promise<boolean> {
    return await preferenceIsOn(this.trx, 'deleted_accounts_release_identity')
  }

  // Marks the account deleted and erases what it says of its person: its personal columns, its
  // custom-field values, its password; its username and email are kept (reserved) or replaced
  // by placeholders no account can have (released). Its codes and the mails waiting for it go.
  async softDelete (target: StatusTarget, releaseIdentity: boolean, at: Date): Promise<void> {
    const placeholder = `deleted:${target.id}`
    await this.trx('users').where({ id: target.id }).update({
      ...ERASED_COLUMNS,
      status: 'd',
      password_hash: NO_PASSWORD,
      updated_at: toDatabaseTime(at),
      ...(releaseIdentity ? { username: placeholder, username_normalized: placeholder, email: placeholder, email_normalized: placeholder } : {})
    })
    await this.trx('user_custom_field_values').where({ user_id: target.id }).delete()
    await this.dropPending(target)
  }

  // Removes the row; what refers to it goes with it (roles, values, tokens, codes) or forgets it
  // (audit entries, invites, creators: SET NULL), and the mails waiting for it go.
  async hardDelete (target: StatusTarget): Promise<void> {
    await this.dropPending(target)
    await this.trx('users').where({ id: target.id }).delete()
  }

  // Replaces the account's roles with these, which exist.
  async replaceRoles (id: number, names: string[], at: Date): Promise<void> {
    const roleIds = await this.trx('roles').whereIn('name', names).pluck<number[]>('id')
    await this.trx('user_roles').where({ user_id: id }).delete()
    if (roleIds.length > 0) await this.trx('user_roles').insert(roleIds.map((roleId) => ({ user_id: id, role_id: roleId })))
    await this.trx('users').where({ id }).update({ updated_at: toDatabaseTime(at) })
  }

  // The codes of the account, the mails not yet sent to its address, and the ids other systems
  // know it by (theirs to give to a new account).
  private async dropPending (target: StatusTarget): Promise<void> {
    await this.trx('account_codes').where({ user_id: target.id }).delete()
    await this.trx('user_identities').where({ user_id: target.id }).delete()
    await this.trx('mail_outbox').where({ status: 'pending' }).whereRaw('lower(??) = ?', ['recipient', target.email.toLowerCase()]).delete()
  }
}

// Blocking, unblocking, deleting accounts and setting their roles.
export class AccountStatusRepository {
  constructor (private readonly knex: Knex) {}

  // Runs `work` in one transaction, again from the start if the database broke a deadlock.
  async transaction<T> (work: (writer: AccountStatusWriter) => Promise<T>): Promise<T> {
    return await retryingDeadlocks(this.knex, async (trx) => await work(new AccountStatusWriter(trx)))
  }
}
