// The ids other systems know accounts by: SelfCommunity's provider associations, the lookup of one
// account by username, email or such an id, and its SSO sign-up and sign-in.
import { InvalidInput, NotFound, Forbidden } from '../domain/errors.js'
import { EXTERNAL_PROVIDER, type UserIdentity, checkExtId, checkIdentity, externalIdNumber } from '../domain/identities.js'
import { type StoredPrincipal, actorOf, callerUserId, checkMayActOnUser, userIdOf } from '../domain/principal.js'
import type { AccountRepository, StoredUser } from '../repositories/account-repository.js'
import type { IdentityRepository } from '../repositories/identity-repository.js'
import type { AccountService } from './accounts.js'
import type { UserService } from './users.js'

export interface IdentityLink {
  // The user SelfCommunity's client names in the body too: it must be the one of the path.
  bodyUserId?: number | string
  provider: string
  extId: string | number
  profileUrl?: string
  metadata?: Record<string, unknown>
  showInProfile?: boolean
}

// What a lookup names: exactly one of the three.
export interface AccountLookup {
  username?: string
  email?: string
  extId?: string
  provider?: string
}

export interface SsoSignUp {
  extId?: string | number
  username: string
  email: string
  password?: string
  realName?: string
  role?: string | null
}

export interface SsoAccount {
  user: StoredUser
  extId: number | null
  // The role beside `user` that SelfCommunity's SSO types show: admin first, else the first other.
  role: string | null
}

const LINKING = 'link-user-identities'

function ssoAccountOf (user: StoredUser): SsoAccount {
  const others = user.roles.filter((role) => role !== 'user')
  return { user, extId: externalIdNumber(user.extId), role: others.includes('admin') ? 'admin' : others[0] ?? null }
}

export class IdentityService {
  constructor (
    private readonly accounts: AccountRepository,
    private readonly identities: IdentityRepository,
    private readonly users: UserService,
    private readonly accountService: AccountService
  ) {}

  // The user's own, or anyone's with view-full-other-user-info.
  async list (caller: StoredPrincipal, userId: number): Promise<UserIdentity[]> {
    if (userIdOf(caller) !== userId && !caller.permissions.includes('view-full-other-user-info')) {
      throw new Forbidden('Only a user with the view-full-other-user-info permission can read another user\'s ids')
    }
    await this.users.getUser(userId)
    return await this.identities.ofUser(userId)
  }

  // Links the user, with an audit entry. The caller holds link-user-identities (the route's
  // permission) and, for another user, every permission that user has.
  async link (caller: StoredPrincipal, userId: number, link: IdentityLink): Promise<UserIdentity> {
    checkBodyUser(link.bodyUserId, userId)
    const identity = checkIdentity({
      userId,
      provider: link.provider,
      extId: checkExtId(link.provider, link.extId),
      profileUrl: link.profileUrl ?? null,
      metadata: link.metadata ?? null,
      showInProfile: link.showInProfile ?? false
    })
    await this.accounts.transaction(async (writer) => {
      const at = new Date()
      if (!await writer.lockUser(userId)) throw new NotFound(`User ${userId} not found`)
      if (userIdOf(caller) !== userId) checkMayActOnUser(caller, LINKING, await writer.permissionsOf(userId))
      await writer.linkIdentity(identity, at)
      await writer.recordAudit({ actor: actorOf(caller), action: 'user.identity_linked', subject: { userId }, at })
    })
    return identity
  }

  async unlink (caller: StoredPrincipal, userId: number, key: { bodyUserId?: number | string, provider: string, extId: string | number }): Promise<void> {
    checkBodyUser(key.bodyUserId, userId)
    const extId = checkExtId(key.provider, key.extId)
    await this.accounts.transaction(async (writer) => {
      const at = new Date()
      if (!await writer.lockUser(userId)) throw new NotFound(`User ${userId} not found`)
      if (userIdOf(caller) !== userId) checkMayActOnUser(caller, LINKING, await writer.permissionsOf(userId))
      if (!await writer.unlinkIdentity(userId, key.provider, extId)) throw new NotFound(`User ${userId} has no ext_id ${extId} of ${key.provider}`)
      await writer.recordAudit({ actor: actorOf(caller), action: 'user.identity_unlinked', subject: { userId }, at })
    })
  }

  // The one account the lookup names: by username, by email, or by an id of a provider.
  async find (lookup: AccountLookup): Promise<StoredUser> {
    const given = [lookup.username !== undefined, lookup.email !== undefined, lookup.extId !== undefined || lookup.provider !== undefined]
    if (given.every((named) => !named)) throw new InvalidInput('missing_field', undefined, 'Give one of username, email, or ext_id with provider')
    if (given.filter(Boolean).length > 1) throw new InvalidInput('invalid_field', undefined, 'Give only one of username, email, or ext_id with provider')
    if (lookup.username !== undefined) return await this.users.getUserByUsername(lookup.username)
    if (lookup.email !== undefined) {
      const id = await this.accounts.findIdByEmail(lookup.email)
      if (id === undefined) throw new NotFound(`No account has the email ${lookup.email}`)
      return await this.users.getUser(id)
    }
    if (lookup.provider === undefined) throw new InvalidInput('missing_field', 'provider', 'provider is required with ext_id')
    if (lookup.extId === undefined) throw new InvalidInput('missing_field', 'ext_id', 'ext_id is required with provider')
    const id = await this.identities.findUserId(lookup.provider, checkExtId(lookup.provider, lookup.extId))
    if (id === undefined) throw new NotFound(`No account has ext_id ${lookup.extId} of ${lookup.provider}`)
    return await this.users.getUser(id)
  }

  // An account made by every rule of account creation, linked to the platform's id in the same
  // transaction; a random password (and a mail to choose one) when none is given.
  async signUp (caller: StoredPrincipal, input: SsoSignUp): Promise<SsoAccount> {
    const extId = input.extId === undefined ? undefined : checkExtId(EXTERNAL_PROVIDER, input.extId)
    const role = input.role ?? undefined
    const user = await this.accountService.createAccount({
      username: input.username,
      email: input.email,
      password: input.password ?? '',
      randomPassword: input.password === undefined,
      realName: input.realName,
      customFields: {},
      externalId: extId
    }, { creator: caller, roles: role === undefined ? undefined : [...new Set(['user', role])] })
    return { ...ssoAccountOf(user), role: role ?? null }
  }

  // The user of a user's token.
  async signIn (caller: StoredPrincipal): Promise<SsoAccount> {
    const userId = callerUserId(caller)
    return ssoAccountOf(await this.users.getUser(userId))
  }
}

function checkBodyUser (bodyUserId: number | string | undefined, userId: number): void {
  if (bodyUserId !== undefined && String(bodyUserId) !== String(userId)) {
    throw new InvalidInput('invalid_field', 'user_id', `user_id must be the user of the path, ${userId}`)
  }
}
