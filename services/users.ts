import { type StoredPrincipal, actorOf, firstNotHeld, userIdOf } from '../domain/principal.js'
import type { AccountRepository, StoredUser } from '../repositories/account-repository.js'
import type { PageWindow } from '../repositories/sql.js'
import { REAL_NAME_MAX_LENGTH } from '../domain/accounts.js'
import type { CustomFieldRegistry } from './custom-fields.js'
import { Forbidden, InvalidInput, NotFound } from '../domain/errors.js'
import { USERNAME_PATTERN, characterCount } from '../domain/formats.js'

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
  realName?: string
  // The other keys given: new values of custom fields, keyed by field name; null removes a value.
  customFields: Record<string, unknown>
}

// Reading, searching and changing existing accounts.
export class UserService {
  constructor (
    private readonly accounts: AccountRepository,
    private readonly customFields: CustomFieldRegistry
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

  // Changes real_name and custom fields of the user, then writes an audit entry and a
  // user.updated event, all in one transaction. The custom fields are checked against the
  // definitions as they are in that transaction, so none can change in between.
  async updateUser (id: number, changes: UserChanges, caller: StoredPrincipal): Promise<StoredUser> {
    // Changing another user takes every permission they have: no one changes a user who can
    // do more than they can.
    if (userIdOf(caller) !== id) {
      const notHeld = firstNotHeld(caller, await this.accounts.permissionsOf(id))
      if (notHeld !== undefined) throw new Forbidden(`This user has the ${notHeld} permission, which you do not have`)
    }
    const updatedBy = actorOf(caller)
    // Of the standard fields only real_name can change here; every other key is a custom field.
    const readOnly = Object.keys(changes.customFields).find((name) => this.customFields.isStandardField(name))
    if (readOnly !== undefined) throw new InvalidInput('read_only_field', readOnly, `${readOnly} cannot be changed`)
    if (changes.realName !== undefined && characterCount(changes.realName) > REAL_NAME_MAX_LENGTH) {
      throw new InvalidInput('invalid_field', 'real_name', `real_name must be at most ${REAL_NAME_MAX_LENGTH} characters long`)
    }
    const at = new Date()
    const changed = [...(changes.realName !== undefined ? ['real_name'] : []), ...Object.keys(changes.customFields)]
    const found = await this.accounts.update(id, {
      realName: changes.realName,
      audit: { actor: updatedBy, action: 'user.update' },
      event: {
        type: 'user.updated',
        payload: { id, changed, updated_by: updatedBy.userId, updated_by_client: caller.kind === 'client' ? caller.clientId : null, updated_at: at.toISOString() }
      },
      at
    }, (definitions) => this.customFields.checkChanges(changes.customFields, definitions))
    if (!found) throw new NotFound(`User ${id} not found`)
    return await this.getUser(id)
  }
}
