import type { Knex } from 'knex'
import type { Actor, UserPrincipal } from '../domain/principal.js'
import type { AccountFlags, CustomFieldValue, Gender, Profile } from '../domain/accounts.js'
import type { OutgoingMail } from '../domain/mail.js'
import { type CodePurpose, type NewAccountCode, type StoredAccountCode, countAccountCodesSince, insertAccountCode, selectAccountCode, spendAccountCode, spendAccountCodesOf } from './account-codes.js'
import { lockUserRow, selectIdByEmail, updateAccountEmail } from './account-emails.js'
import { type AuditEntry, insertAuditEntry } from './audit-log.js'
import { insertMail } from './mail-outbox.js'
import { type NewRefreshToken, deleteUserPersonalAccessTokens, insertRefreshToken, revokeUserRefreshTokens } from './token-repository.js'
import { EmailTaken, UsernameTaken } from '../domain/errors.js'
import { type CustomFieldDefinition, selectDefinitions } from './custom-field-repository.js'
import { type StoredInvite, selectInvite } from './invite-code-repository.js'
import { featureIsEnabled, preferenceIsOn } from './preference-repository.js'
import { type StoredPromo, selectPromo } from './promo-code-repository.js'
import { selectRolePermissions } from './role-repository.js'
import { ProfileWriter } from './profile-writer.js'
import { type PageWindow, fromDatabaseTime, retryingDeadlocks, startsWith, toDatabaseTime, violatedUniqueColumn, windowOf } from './sql.js'
import type { EventType } from '../domain/events.js'
import type { UserIdentity } from '../domain/identities.js'
import { insertIdentity, selectExternalIds } from './identity-repository.js'

export interface StoredUser {
  id: number
  username: string
  realName: string
  email: string
  emailIsValid: boolean
  status: 'a' | 'b' | 'u'
  dateJoined: string
  updatedAt: string
  roles: string[]
  customFields: Record<string, CustomFieldValue>
  // Rocket.Chat's profile fields, null when not set.
  bio: string | null
  nickname: string | null
  statusText: string | null
  requirePasswordChange: boolean
  // SelfCommunity's profile fields, null when not set.
  location: string | null
  dateOfBirth: string | null
  description: string | null
  gender: Gender | null
  website: string | null
  // The id the account has at the provider `external`, or null.
  extId: string | null
}

export interface Credentials {
  id: number
  passwordHash: string
}

export interface NewUser {
  username: string
  email: string
  passwordHash: string
  realName: string
  profile: Profile
  flags: AccountFlags
  createdBy: Actor
  at: Date
}

export interface UserSearchCriteria {
  search?: string
  username?: string
  email?: string
  status?: string
  name?: string
  realName?: string
  usernames?: string[]
}

export interface UserOrder {
  column: 'id' | 'username' | 'real_name'
  direction: 'asc' | 'desc'
}

interface UserRow {
  id: number
  username: string
  real_name: string
  email: string
  email_isvalid: number | boolean
  status: 'a' | 'b' | 'u'
  date_joined: string
  updated_at: string
  bio: string | null
  nickname: string | null
  status_text: string | null
  require_password_change: number | boolean
  location: string | null
  date_of_birth: string | null
  description: string | null
  gender: Gender | null
  website: string | null
}

// The users with these ids that exist, in the order of `ids`, each with its roles and custom
// fields: three queries however many users.
export async function selectUsers (knex: Knex, ids: number[]): Promise<StoredUser[]> {
  if (ids.length === 0) return []
  const [rows, roles, values, externalIds] = await Promise.all([
    knex('users')
      .whereIn('id', ids)
      // A deleted account is no user to read.
      .whereNot('status', 'd')
      .select<UserRow[]>('id', 'username', 'real_name', 'email', 'email_isvalid', 'status', 'date_joined', 'updated_at',
        'bio', 'nickname', 'status_text', 'require_password_change', 'location', 'date_of_birth', 'description', 'gender', 'website'),
    knex('user_roles as ur')
      .join('roles as r', 'r.id', 'ur.role_id')
      .whereIn('ur.user_id', ids)
      .orderBy('r.name')
      .select<Array<{ user_id: number, name: string }>>('ur.user_id', 'r.name'),
    knex('user_custom_field_values as v')
      .join('custom_fields as f', 'f.id', 'v.field_id')
      .whereIn('v.user_id', ids)
      .whereNull('f.deleted_at')
      .orderBy('f.id')
      .select<Array<{ user_id: number, name: string, value: string }>>('v.user_id', 'f.name', 'v.value'),
    selectExternalIds(knex, ids)
  ])
  const byId = new Map(rows.map((row) => [row.id, row]))
  return ids.flatMap((id) => {
    const row = byId.get(id)
    if (row === undefined) return []
    return [{
      id: row.id,
      username: row.username,
      realName: row.real_name,
      email: row.email,
      emailIsValid: Boolean(row.email_isvalid),
      status: row.status,
      dateJoined: fromDatabaseTime(row.date_joined),
      updatedAt: fromDatabaseTime(row.updated_at),
      bio: row.bio,
      nickname: row.nickname,
      statusText: row.status_text,
      requirePasswordChange: Boolean(row.require_password_change),
      location: row.location,
      // SQLite gives back the text stored, MySQL its DATE as text (dateStrings).
      dateOfBirth: row.date_of_birth,
      description: row.description,
      gender: row.gender,
      website: row.website,
      extId: externalIds.get(id) ?? null,
      roles: roles.filter((role) => role.user_id === id).map((role) => role.name),
      customFields: Object.fromEntries(values.filter((value) => value.user_id === id)
        .map(({ name, value }) => [name, JSON.parse(value) as CustomFieldValue]))
    }]
  })
}

// The user behind a token, if the account still exists and is approved.
async function selectActivePrincipal (knex: Knex, id: number): Promise<UserPrincipal | undefined> {
  const row = await knex('users').where({ id, status: 'a' })
    .first<{ id: number, username: string, password_changed_at: string | null, require_password_change: number | boolean } | undefined>(
      'id', 'username', 'password_changed_at', 'require_password_change')
  if (row === undefined) return undefined
  const [roles, permissions] = await Promise.all([selectRoleNames(knex, id), selectPermissions(knex, id)])
  return {
    kind: 'user',
    userId: row.id,
    username: row.username,
    roles,
    permissions,
    ...(row.password_changed_at === null ? {} : { passwordChangedAt: Date.parse(fromDatabaseTime(row.password_changed_at)) }),
    ...(Boolean(row.require_password_change) ? { requirePasswordChange: true } : {})
  }
}

// What the user's roles grant.
async function selectPermissions (knex: Knex, userId: number): Promise<string[]> {
  return await knex('user_roles as ur')
    .join('role_permissions as rp', 'rp.role_id', 'ur.role_id')
    .where('ur.user_id', userId)
    .distinct('rp.permission')
    .orderBy('rp.permission')
    .pluck<string[]>('rp.permission')
}

async function selectRoleNames (knex: Knex, userId: number): Promise<string[]> {
  const rows = await knex('user_roles as ur')
    .join('roles as r', 'r.id', 'ur.role_id')
    .where('ur.user_id', userId)
    .orderBy('r.name')
    .select<Array<{ name: string }>>('r.name')
  return rows.map((row) => row.name)
}

// A new password: every access token issued before it is void (password_changed_at), every
// refresh token is revoked, with the access tokens of its grants, every personal access token is
// deleted, and a password that had to be changed no longer has to.
async function updatePassword (trx: Knex.Transaction, id: number, passwordHash: string, at: Date): Promise<boolean> {
  const time = toDatabaseTime(at)
  const found = await trx('users').where({ id }).whereNot('status', 'd')
    .update({ password_hash: passwordHash, updated_at: time, password_changed_at: time, require_password_change: false })
  if (found === 0) return false
  await revokeUserRefreshTokens(trx, id, at)
  await deleteUserPersonalAccessTokens(trx, id)
  return true
}

// The writes of one change to an account (its creation, say); every method runs in the caller's
// transaction.
export class AccountWriter {
  // The accounts this transaction made, and the purposes of the codes it issued them: such an
  // account has no other code. Spending its codes with an UPDATE would find its range of the index
  // empty and lock the gap at the index's end, where every concurrent create inserts its own code,
  // and InnoDB would deadlock those creates.
  private readonly madeHere = new Map<number, Set<CodePurpose>>()

  constructor (private readonly trx: Knex.Transaction) {}

  // The user as this transaction wrote it.
  async findUser (id: number): Promise<StoredUser | undefined> {
    const [user] = await selectUsers(this.trx, [id])
    return user
  }

  async insertUser (user: NewUser): Promise<number> {
    const at = toDatabaseTime(user.at)
    try {
      const [id] = await this.trx('users').insert({
        username: user.username,
        username_normalized: user.username.toLowerCase(),
        email: user.email,
        email_normalized: user.email.toLowerCase(),
        password_hash: user.passwordHash,
        real_name: user.realName,
        bio: user.profile.bio ?? null,
        nickname: user.profile.nickname ?? null,
        status_text: user.profile.statusText ?? null,
        // An account that is not active is blocked: one state decides who can log in.
        status: user.flags.active ? 'a' : 'b',
        email_isvalid: user.flags.emailVerified,
        require_password_change: user.flags.requirePasswordChange,
        send_welcome_email: user.flags.sendWelcomeEmail,
        join_default_channels: user.flags.joinDefaultChannels,
        created_by: user.createdBy.userId,
        created_by_client: user.createdBy.clientRowId,
        date_joined: at,
        updated_at: at
      })
      this.madeHere.set(Number(id), new Set())
      return Number(id)
    } catch (error) {
      const column = violatedUniqueColumn(error, ['username_normalized', 'email_normalized'])
      if (column === 'username_normalized') throw new UsernameTaken()
      if (column === 'email_normalized') throw new EmailTaken()
      throw error
    }
  }

  // The custom-field definitions, which stay as read until the transaction ends.
  async customFieldDefinitions (): Promise<CustomFieldDefinition[]> {
    return await selectDefinitions(this.trx, { lock: true })
  }

  // The switches of registration, as they are in this transaction.
  async registrationGates (): Promise<{ inviteRequired: boolean, promoAccepted: boolean }> {
    const [inviteRequired, promoAccepted] = await Promise.all([preferenceIsOn(this.trx, 'invite_code'), featureIsEnabled(this.trx, 'promo_code')])
    return { inviteRequired, promoAccepted }
  }

  // Whether a new account is mailed a verification code, as it is in this transaction.
  async verificationMailOn (): Promise<boolean> {
    return await preferenceIsOn(this.trx, 'verification_mail')
  }

  // The invite with this code, locked until the transaction ends: of creates racing for one
  // code, each finds it as the one before left it.
  async lockInvite (code: string): Promise<StoredInvite | undefined> {
    return await selectInvite(this.trx, code, { lock: true })
  }

  // Uses the invite for the user; false (and nothing changed) when it is no longer usable.
  async useInvite (inviteId: number, userId: number, at: Date): Promise<boolean> {
    const time = toDatabaseTime(at)
    const changed = await this.trx('invite_codes')
      .where({ id: inviteId })
      .whereNull('used_at')
      .whereNull('revoked_at')
      .where((query) => { void query.whereNull('expires_at').orWhere('expires_at', '>', time) })
      .update({ used_at: time, user_id: userId })
    return changed === 1
  }

  async lockPromo (code: string): Promise<StoredPromo | undefined> {
    return await selectPromo(this.trx, code, { lock: true })
  }

  // Counts one use of the promo code and records the user's redemption; false (and nothing
  // changed) when the code is no longer redeemable.
  async redeemPromo (promoId: number, userId: number, at: Date): Promise<boolean> {
    const time = toDatabaseTime(at)
    const changed = await this.trx('promo_codes')
      .where({ id: promoId, active: true })
      .where('valid_from', '<=', time)
      .where((query) => { void query.whereNull('valid_to').orWhere('valid_to', '>', time) })
      .where((query) => { void query.whereNull('max_uses').orWhereRaw('?? < ??', ['uses', 'max_uses']) })
      .increment('uses', 1)
    if (changed !== 1) return false
    await this.trx('promo_code_redemptions').insert({ promo_code_id: promoId, user_id: userId, redeemed_at: time })
    return true
  }

  // What the role grants (undefined: no such role), unchanged until the transaction ends.
  async rolePermissions (name: string): Promise<string[] | undefined> {
    return await selectRolePermissions(this.trx, name, { lock: true })
  }

  // Returns the names that are not defined roles (and grants nothing) when there are any.
  async grantRoles (userId: number, roleNames: string[]): Promise<string[]> {
    const roles = await this.trx('roles').whereIn('name', roleNames).select<Array<{ id: number, name: string }>>('id', 'name')
    const unknown = roleNames.filter((name) => !roles.some((role) => role.name === name))
    if (unknown.length > 0) return unknown
    await this.trx('user_roles').insert(roles.map((role) => ({ user_id: userId, role_id: role.id })))
    return []
  }

  async saveCustomFieldValues (userId: number, values: Array<{ fieldId: number, value: CustomFieldValue }>): Promise<void> {
    if (values.length === 0) return
    await this.trx('user_custom_field_values').insert(values.map(({ fieldId, value }) => ({
      user_id: userId, field_id: fieldId, value: JSON.stringify(value)
    })))
  }

  async recordAudit (entry: AuditEntry): Promise<void> {
    await insertAuditEntry(this.trx, entry)
  }

  // The principal the account is now, if it is approved.
  async activePrincipal (id: number): Promise<UserPrincipal | undefined> {
    return await selectActivePrincipal(this.trx, id)
  }

  async issueCode (code: NewAccountCode): Promise<void> {
    await insertAccountCode(this.trx, code)
    this.madeHere.get(code.userId)?.add(code.purpose)
  }

  // The code with this hash, locked until the transaction ends.
  async lockCode (codeHash: string): Promise<StoredAccountCode | undefined> {
    return await selectAccountCode(this.trx, codeHash, { lock: true })
  }

  async spendCode (id: number, at: Date): Promise<boolean> {
    return await spendAccountCode(this.trx, id, at)
  }

  async markEmailVerified (userId: number, at: Date): Promise<void> {
    await this.trx('users').where({ id: userId }).update({ email_isvalid: true, updated_at: toDatabaseTime(at) })
  }

  async changePassword (userId: number, passwordHash: string, at: Date): Promise<boolean> {
    return await updatePassword(this.trx, userId, passwordHash, at)
  }

  // A grant's refresh token, valid once the transaction commits.
  async insertRefreshToken (token: NewRefreshToken): Promise<void> {
    await insertRefreshToken(this.trx, token)
  }

  async enqueueMail (mail: OutgoingMail, at: Date): Promise<void> {
    await insertMail(this.trx, mail, at)
  }

  async enqueueEvent (event: { type: EventType, payload: unknown, at: Date }): Promise<void> {
    await this.trx('outbox_events').insert({
      type: event.type, payload: JSON.stringify(event.payload), created_at: toDatabaseTime(event.at)
    })
  }

  // What the user's roles grant, as this transaction sees it (after lockUser: as committed).
  async permissionsOf (userId: number): Promise<string[]> {
    return await selectPermissions(this.trx, userId)
  }

  // The writes of a change to the user's profile, in this transaction.
  profile (): ProfileWriter {
    return new ProfileWriter(this.trx)
  }

  async spendCodesOf (userId: number, purpose: CodePurpose, at: Date): Promise<void> {
    if (this.madeHere.get(userId)?.has(purpose) === false) return
    await spendAccountCodesOf(this.trx, userId, purpose, at)
  }

  // How many codes of this purpose the account was given since then, as this transaction sees it.
  async codesIssuedSince (userId: number, purpose: CodePurpose, since: Date): Promise<number> {
    return await countAccountCodesSince(this.trx, userId, purpose, since)
  }

  // The user's row, locked until the transaction ends; false when there is no such user.
  async lockUser (id: number): Promise<boolean> {
    return await lockUserRow(this.trx, id)
  }

  // A 409 when another account has the pair, or the user an id of the provider (insertIdentity).
  async linkIdentity (identity: UserIdentity, at: Date): Promise<void> {
    await insertIdentity(this.trx, identity, at)
  }

  // False when the user has no such id.
  async unlinkIdentity (userId: number, provider: string, extId: string): Promise<boolean> {
    return await this.trx('user_identities').where({ user_id: userId, provider, ext_id: extId }).delete() === 1
  }

  // The account with this email (regardless of case, whatever its status), as this transaction sees it.
  async findIdByEmail (email: string): Promise<number | undefined> {
    return await selectIdByEmail(this.trx, email)
  }

  // A new email for the account; 409 email_taken (on new_email) when another account has it.
  async changeEmail (userId: number, email: string, verified: boolean, at: Date): Promise<boolean> {
    return await updateAccountEmail(this.trx, userId, email, verified, at)
  }
}

export class AccountRepository {
  constructor (private readonly knex: Knex) {}

  // Runs `work` in one transaction, again from the start if the database broke a deadlock.
  async transaction<T> (work: (writer: AccountWriter) => Promise<T>): Promise<T> {
    return await retryingDeadlocks(this.knex, async (trx) => await work(new AccountWriter(trx)))
  }

  async findById (id: number): Promise<StoredUser | undefined> {
    const [user] = await this.findByIds([id])
    return user
  }

  // The users with these ids that exist, in the order of `ids`, each with its roles and custom
  // fields: three queries however many users.
  async findByIds (ids: number[]): Promise<StoredUser[]> {
    return await selectUsers(this.knex, ids)
  }

  // Looks a login up by username or by email, both regardless of case.
  async findCredentials (login: string): Promise<Credentials | undefined> {
    const normalized = login.toLowerCase()
    const row = await this.knex('users')
      .where('username_normalized', normalized)
      .orWhere('email_normalized', normalized)
      .first<{ id: number, password_hash: string } | undefined>('id', 'password_hash')
    return row === undefined ? undefined : { id: row.id, passwordHash: row.password_hash }
  }

  async findCredentialsById (id: number): Promise<(Credentials & { username: string, email: string }) | undefined> {
    const row = await this.knex('users').where({ id }).whereNot('status', 'd')
      .first<{ id: number, password_hash: string, username: string, email: string } | undefined>('id', 'password_hash', 'username', 'email')
    return row === undefined ? undefined : { id: row.id, passwordHash: row.password_hash, username: row.username, email: row.email }
  }

  // Regardless of case.
  async findIdByUsername (username: string): Promise<number | undefined> {
    const row = await this.knex('users').where('username_normalized', username.toLowerCase()).first<{ id: number } | undefined>('id')
    return row?.id
  }

  async replacePasswordHash (id: number, passwordHash: string): Promise<void> {
    await this.knex('users').where({ id }).update({ password_hash: passwordHash, updated_at: toDatabaseTime(new Date()) })
  }

  // Sets a new password hash and ends every refresh token of the user, with the audit entry and
  // the event, in one transaction; false (and nothing changed) when there is no such user.
  async setPassword (
    id: number,
    change: { passwordHash: string, audit: Omit<AuditEntry, 'subject' | 'at'>, event: { type: EventType, payload: unknown }, at: Date }
  ): Promise<boolean> {
    return await retryingDeadlocks(this.knex, async (trx) => {
      if (!await updatePassword(trx, id, change.passwordHash, change.at)) return false
      const writer = new AccountWriter(trx)
      await writer.recordAudit({ ...change.audit, subject: { userId: id }, at: change.at })
      await writer.enqueueEvent({ ...change.event, at: change.at })
      return true
    })
  }

  // The user behind a token, if the account still exists and is approved.
  async findActivePrincipal (id: number): Promise<UserPrincipal | undefined> {
    return await selectActivePrincipal(this.knex, id)
  }

  // What the user's roles grant.
  async permissionsOf (userId: number): Promise<string[]> {
    return await selectPermissions(this.knex, userId)
  }

  async roleNames (userId: number): Promise<string[]> {
    return await selectRoleNames(this.knex, userId)
  }

  // The approved account with this email (regardless of case), if there is one.
  async findActiveIdByEmail (email: string): Promise<number | undefined> {
    const row = await this.knex('users').where({ email_normalized: email.toLowerCase(), status: 'a' }).first<{ id: number } | undefined>('id')
    return row?.id
  }

  // The code with this hash (spent or not), if there is one.
  async findCode (codeHash: string): Promise<StoredAccountCode | undefined> {
    return await selectAccountCode(this.knex, codeHash)
  }

  // Whether any account, approved or not, has the role.
  async hasUserWithRole (roleName: string): Promise<boolean> {
    const row = await this.knex('user_roles as ur')
      .join('roles as r', 'r.id', 'ur.role_id')
      .where({ 'r.name': roleName })
      .first('ur.user_id')
    return row !== undefined
  }

  // One page of the ids, in order (of id unless `order` says otherwise), of the users whose
  // username and email start as given (regardless of case), whose username or real name starts
  // with `name`, whose real name starts with `realName`, whose username is one of `usernames`,
  // and who have the status; and how many such users there are.
  async search (
    criteria: UserSearchCriteria,
    window: PageWindow,
    order: UserOrder = { column: 'id', direction: 'asc' }
  ): Promise<{ count: number, ids: number[] }> {
    const { search, username, email, status, name, realName, usernames } = criteria
    const matching = this.knex('users').whereNot('status', 'd').modify((query: Knex.QueryBuilder) => {
      if (search !== undefined) {
        void query.where((either) => {
          void either.whereRaw(...startsWith('username_normalized', search.toLowerCase()))
            .orWhereRaw(...startsWith('email_normalized', search.toLowerCase()))
        })
      }
      // real_name has no lower-cased copy: its collation (MySQL) and LIKE (SQLite) ignore case.
      if (name !== undefined) {
        void query.where((either) => {
          void either.whereRaw(...startsWith('username_normalized', name.toLowerCase()))
            .orWhereRaw(...startsWith('real_name', name))
        })
      }
      if (username !== undefined) void query.whereRaw(...startsWith('username_normalized', username.toLowerCase()))
      if (email !== undefined) void query.whereRaw(...startsWith('email_normalized', email.toLowerCase()))
      if (realName !== undefined) void query.whereRaw(...startsWith('real_name', realName))
      if (usernames !== undefined) void query.whereIn('username_normalized', usernames.map((each) => each.toLowerCase()))
      if (status !== undefined) void query.where({ status })
    })
    const sortColumn = { id: 'id', username: 'username_normalized', real_name: 'real_name' }[order.column]
    const ordering = [{ column: sortColumn, order: order.direction }, ...(order.column === 'id' ? [] : [{ column: 'id', order: order.direction }])]
    const { total, rows } = await windowOf<{ id: number }>(matching, window, ordering, ['id'])
    return { count: total, ids: rows.map((row) => row.id) }
  }

  // The account with this email (regardless of case, whatever its status), if there is one.
  async findIdByEmail (email: string): Promise<number | undefined> {
    return await selectIdByEmail(this.knex, email)
  }

  // Which of these usernames an account holds (deleted ones too: they keep theirs reserved),
  // lower-cased.
  async takenUsernames (usernames: string[]): Promise<Set<string>> {
    const rows = await this.knex('users').whereIn('username_normalized', usernames.map((name) => name.toLowerCase()))
      .select<Array<{ username_normalized: string }>>('username_normalized')
    return new Set(rows.map((row) => row.username_normalized))
  }
}
