import { Forbidden } from '../domain/errors.js'
import { USERNAME_PATTERN } from '../domain/formats.js'
import { type StoredPrincipal, callerUserId } from '../domain/principal.js'
import type { AccountRepository, StoredUser, UserOrder } from '../repositories/account-repository.js'
import type { PageWindow } from '../repositories/sql.js'
import type { ReservedUsernames } from './reserved-usernames.js'
import type { UserService } from './users.js'

export interface DirectoryFilter {
  // The start of the username or of the real name.
  name?: string
  username?: string
  realName?: string
  // Exactly one of these usernames, regardless of case.
  usernames?: string[]
  // The start of the email: only for callers who see everyone.
  email?: string
  status?: 'a' | 'b' | 'u'
}

export interface DirectoryPage {
  // How many users match, on all pages.
  count: number
  users: StoredUser[]
}

// What a user may do: the permissions their roles grant, and whether the account may act in the
// community at all.
export interface CurrentPermissions {
  member: boolean
  permissions: string[]
  roles: string[]
}

const SEES_EVERYONE = 'view-user-administration'
// Numbered suggestions are looked up this many at a time.
const SUGGESTION_BATCH = 20
// Room for a numbered suffix within the 255 characters of a username.
const SUGGESTION_BASE_LENGTH = 64
const DEFAULT_SUGGESTION = 'user'

// Finding users (the list, autocomplete, matching usernames) and usernames (free or not, a
// suggestion), on the search of the account repository. Who sees what: a caller with
// view-user-administration sees every user in full; anyone else approved users only, in full
// only those UserService.seesFullProfile allows.
export class UserDirectoryService {
  constructor (
    private readonly accounts: AccountRepository,
    private readonly users: UserService,
    private readonly reservedUsernames: ReservedUsernames
  ) {}

  seesEveryone (caller: StoredPrincipal): boolean {
    return caller.permissions.includes(SEES_EVERYONE)
  }

  // Whether the caller sees all of the user (the email, roles and every custom field).
  seesAllOf (caller: StoredPrincipal, user: StoredUser): boolean {
    return this.seesEveryone(caller) || this.users.seesFullProfile(caller, user)
  }

  // One window of the users the caller may see that match the filter, and how many there are.
  async list (caller: StoredPrincipal, filter: DirectoryFilter, window: PageWindow, order?: UserOrder): Promise<DirectoryPage> {
    const { name, username, realName, usernames, email, status } = filter
    if (!this.seesEveryone(caller)) {
      if (status !== undefined && status !== 'a') throw new Forbidden(`Only a caller with ${SEES_EVERYONE} sees users who are not approved`, 'status')
      if (email !== undefined) throw new Forbidden(`Only a caller with ${SEES_EVERYONE} finds users by email`, 'email')
    }
    const { count, ids } = await this.accounts.search(
      { name, username, realName, usernames, email, status: this.seesEveryone(caller) ? status : 'a' }, window, order)
    return { count, users: await this.accounts.findByIds(ids) }
  }

  // The users the caller may see with these usernames (regardless of case), once each, in the
  // order first asked for.
  async match (caller: StoredPrincipal, usernames: string[]): Promise<StoredUser[]> {
    const wanted = [...new Set(usernames.map((username) => username.toLowerCase()))]
    const { ids } = await this.accounts.search(
      { usernames: wanted, ...(this.seesEveryone(caller) ? {} : { status: 'a' }) }, { limit: wanted.length, offset: 0 })
    const found = await this.accounts.findByIds(ids)
    return found.sort((one, other) => wanted.indexOf(one.username.toLowerCase()) - wanted.indexOf(other.username.toLowerCase()))
  }

  // A token reaches here only for an approved account (a blocked or deleted one has none that
  // works): it may act in the community, as far as the community's own rules let it.
  currentPermissions (caller: StoredPrincipal): CurrentPermissions {
    callerUserId(caller)
    return { member: true, permissions: caller.permissions, roles: caller.roles }
  }

  // Whether an account could be created with this username now: the rules of creation (its
  // pattern, not reserved) and no account having it, regardless of case.
  async usernameAvailable (username: string): Promise<boolean> {
    if (!USERNAME_PATTERN.test(username) || this.reservedUsernames.includes(username)) return false
    return await this.accounts.findIdByUsername(username) === undefined
  }

  // A free username made from the caller's name, else their email, as Rocket.Chat suggests one;
  // numbered (`jane_doe-3`) when each is taken.
  async suggestUsername (caller: StoredPrincipal): Promise<string> {
    const userId = callerUserId(caller)
    const user = await this.users.getUser(userId)
    const candidates = usernameCandidates(user.realName, user.email)
    for (const candidate of candidates) {
      if (await this.usernameAvailable(candidate)) return candidate
    }
    const base = candidates[0] as string
    // Numbering starts past the names already numbered, so it rarely takes a second look-up.
    let next = (await this.accounts.search({ username: `${base}-` }, { limit: 1, offset: 0 })).count + 1
    for (;;) {
      const numbered = Array.from({ length: SUGGESTION_BATCH }, (_, index) => `${base}-${next + index}`)
      const taken = await this.accounts.takenUsernames(numbered)
      const free = numbered.find((name) => !taken.has(name) && !this.reservedUsernames.includes(name))
      if (free !== undefined) return free
      next += SUGGESTION_BATCH
    }
  }
}

// The names a suggestion may be: the whole name, its first word, the email's local part, each
// folded to what a username may hold; `user` when none is left.
function usernameCandidates (realName: string, email: string): string[] {
  const words = realName.trim().split(/\s+/)
  const candidates = [realName, words.length > 1 ? words[0] as string : '', email.split('@')[0] as string]
    .map(usernameOf).filter((candidate) => candidate !== '')
  return candidates.length > 0 ? [...new Set(candidates)] : [DEFAULT_SUGGESTION]
}

// Lower case, accents dropped, every run of other characters one `_`.
function usernameOf (text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_').replace(/^[_-]+|[_-]+$/g, '').slice(0, SUGGESTION_BASE_LENGTH)
}
