import { type StoredPrincipal, actorOf, checkMayChangeUser, userIdOf } from '../domain/principal.js'
import type { AccountRepository, AccountWriter, StoredUser } from '../repositories/account-repository.js'
import type { CustomFieldDefinition } from '../repositories/custom-field-repository.js'
import type { PageWindow } from '../repositories/sql.js'
import { type ProfileField, REAL_NAME_MAX_LENGTH, SELFCOMMUNITY_PROFILE_FIELDS, checkUsername, profileValue } from '../domain/accounts.js'
import type { CustomFieldRegistry } from './custom-fields.js'
import { InvalidInput, NotFound } from '../domain/errors.js'
import { USERNAME_PATTERN, characterCount } from '../domain/formats.js'
import { type ChangeMode, type CheckedChanges, planProfileWrite } from './profile-changes.js'
import type { ReservedUsernames } from './reserved-usernames.js'

export interface UserSearch {
  // The start of the username or of the email.
  search?: string
  username?: string
  email?: string
  status?: 'a' | 'b' | 'u'
}

export interface UserSearchResult {
  // How many users match, on all pages.
  count: number
  users: StoredUser[]
}

export interface UserChanges {
  username?: string
  realName?: string
  // The profile fields given; null or an empty text clears one.
  profile: Partial<Record<ProfileField, string | null>>
  // The other keys given: new values of custom fields, keyed by field name; null removes a value.
  customFields: Record<string, unknown>
}

// Reading, searching and changing existing accounts.
export class UserService {
  constructor (
    private readonly accounts: AccountRepository,
    private readonly customFields: CustomFieldRegistry,
    private readonly reservedUsernames: ReservedUsernames
  ) {}

  async getUser (id: number): Promise<StoredUser> {
    const user = await this.accounts.findById(id)
    if (user === undefined) throw new NotFound(`User ${id} not found`)
    return user
  }

  async getUserByUsername (username: string): Promise<StoredUser> {
    // A name no account can have is not looked up: MariaDB's collation would find `bob` for `bob `.
    const id = USERNAME_PATTERN.test(username) ? await this.accounts.findIdByUsername(username) : undefined
    if (id === undefined) throw new NotFound(`User ${username} not found`)
    return await this.getUser(id)
  }

  // Whether the caller sees all of the user: themselves, or with view-full-other-user-info.
  seesFullProfile (caller: StoredPrincipal, user: StoredUser): boolean {
    return userIdOf(caller) === user.id || caller.permissions.includes('view-full-other-user-info')
  }

  // The users whose username and email start as given, regardless of case, and who have the
  // status: one window of them in the order of their ids, and how many there are in all.
  async search (criteria: UserSearch, window: PageWindow): Promise<UserSearchResult> {
    const { count, ids } = await this.accounts.search(criteria, window)
    return { count, users: await this.accounts.findByIds(ids) }
  }

  // Changes the user's username, real_name, profile and custom fields (`replace`: PUT, which
  // clears what it leaves out), then writes an audit entry and a user.updated event naming the
  // fields changed, all in one transaction. Custom fields are checked against the definitions
  // as they are in that transaction, so none can change in between. A change that changes
  // nothing writes nothing.
  async updateUser (id: number, changes: UserChanges, caller: StoredPrincipal, mode: ChangeMode = 'patch'): Promise<StoredUser> {
    checkMayChangeUser(caller, id, await this.accounts.permissionsOf(id))
    const at = new Date()
    const checked = this.checkChanges(changes, mode, at)
    return await this.accounts.transaction(async (writer) => await this.writeUpdate(writer, id, checked, caller, mode, at))
  }

  // updateUser's change in the caller's transaction (with other changes of the user, all or
  // nothing), checked first with checkChanges; the user as it then is.
  async writeUpdate (writer: AccountWriter, id: number, checked: CheckedChanges, caller: StoredPrincipal, mode: ChangeMode, at: Date): Promise<StoredUser> {
    if (!await writer.lockUser(id)) throw new NotFound(`User ${id} not found`)
    // Again under the lock: the user may have been given more permissions meanwhile.
    checkMayChangeUser(caller, id, await writer.permissionsOf(id))
    const user = await writer.findUser(id) as StoredUser
    const { write, changed } = this.planWrite(user, checked, mode, await writer.customFieldDefinitions())
    if (changed.length === 0) return user
    await writer.profile().write(id, write, at)
    const updatedBy = actorOf(caller)
    await writer.recordAudit({ actor: updatedBy, action: 'user.updated', subject: { userId: id }, at })
    await writer.enqueueEvent({
      type: 'user.updated',
      payload: { id, changed, updated_by: updatedBy.userId, updated_by_client: caller.kind === 'client' ? caller.clientId : null, updated_at: at.toISOString() },
      at
    })
    return await writer.findUser(id) as StoredUser
  }

  // The values of the change as they are stored, each checked against its field's rule. A
  // replacement clears what it leaves out: real_name, and SelfCommunity's profile fields.
  checkChanges (changes: UserChanges, mode: ChangeMode, at: Date): CheckedChanges {
    // Every key that is no writable field is a custom field: a standard one is read-only here.
    const readOnly = Object.keys(changes.customFields).find((name) => this.customFields.isStandardField(name))
    if (readOnly !== undefined) throw new InvalidInput('read_only_field', readOnly, `${readOnly} cannot be changed`)
    if (changes.username !== undefined) checkUsername(changes.username)
    const realName = changes.realName ?? (mode === 'replace' ? '' : undefined)
    if (realName !== undefined && characterCount(realName) > REAL_NAME_MAX_LENGTH) {
      throw new InvalidInput('invalid_field', 'real_name', `real_name must be at most ${REAL_NAME_MAX_LENGTH} characters long`)
    }
    const given = mode === 'replace'
      ? { ...Object.fromEntries(SELFCOMMUNITY_PROFILE_FIELDS.map((field) => [field, null])), ...changes.profile }
      : changes.profile
    const profile = Object.fromEntries(Object.entries(given)
      .map(([field, value]) => [field, profileValue(field as ProfileField, value ?? null, at)]))
    return { username: changes.username, realName, profile, customFields: changes.customFields }
  }

  // A reserved username is refused, unless it is the user's own already (the first admin's).
  private planWrite (user: StoredUser, changes: CheckedChanges, mode: ChangeMode, definitions: CustomFieldDefinition[]): ReturnType<typeof planProfileWrite> {
    if (changes.username !== undefined && changes.username.toLowerCase() !== user.username.toLowerCase()) {
      this.reservedUsernames.refuse(changes.username)
    }
    return planProfileWrite(user, changes, mode, definitions, this.customFields)
  }
}
