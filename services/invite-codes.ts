import { type StoredPrincipal, actorOf } from '../domain/principal.js'
import type { AccountRepository, StoredUser } from '../repositories/account-repository.js'
import type { InviteCodeRepository, InviteFilter, InviteStatus, NewInvite, StoredInvite } from '../repositories/invite-code-repository.js'
import type { PageWindow } from '../repositories/sql.js'
import { Conflict, InvalidInput, NotFound } from '../domain/errors.js'
import { insertWithRandomCode } from './codes.js'
import { checkRoleGrantable } from './roles.js'
import type { ReservedUsernames } from './reserved-usernames.js'
import { characterCount, isValidEmail, jsonValueProblem, storableTime, USERNAME_PATTERN } from '../domain/formats.js'

export type { InviteStatus }

// Whether an invite can be used at `now`, and if not why. A used code stays `used` whatever
// happens to it after.
export function inviteStatus (invite: StoredInvite, now: Date): InviteStatus {
  if (invite.usedAt !== null) return 'used'
  if (invite.revokedAt !== null) return 'revoked'
  if (invite.expiresAt !== null && Date.parse(invite.expiresAt) <= now.getTime()) return 'expired'
  return 'valid'
}

export interface InviteRequest {
  // A random code is generated when none is given.
  code?: string
  name?: string
  email?: string
  role?: string
  forcedUsername?: string
  expiresAt?: string
  sentAt?: string
  extraData?: Record<string, unknown>
}

// An invite with its status and the accounts it refers to, while they exist.
export interface InviteDetails {
  invite: StoredInvite
  status: InviteStatus
  invitedBy: StoredUser | null
  user: StoredUser | null
}

export interface InviteCheck {
  code: string
  status: InviteStatus
  expiresAt: string | null
  // Only for admins: who issued the code and who used it.
  details?: InviteDetails
}

// An invite to store, but for its code.
type InviteDraft = Omit<NewInvite, 'code'>

const CODE_PATTERN = /^[A-Za-z0-9_-]{4,64}$/
const NAME_MAX_LENGTH = 255

// The registry of invite codes: admins issue, list and revoke them; anyone signed in can check one.
export class InviteCodeService {
  constructor (
    private readonly repository: InviteCodeRepository,
    private readonly accounts: AccountRepository,
    private readonly reservedUsernames: ReservedUsernames
  ) {}

  async create (request: InviteRequest, issuer: StoredPrincipal): Promise<InviteDetails> {
    const at = new Date()
    const invite = await this.checkedInvite(request, issuer, at)
    const stored = request.code !== undefined
      ? await this.insertGiven(request.code, invite, at)
      : await insertWithRandomCode(async (code) => await this.repository.insert({ ...invite, code }, at))
    return await this.oneDetailed(stored, at)
  }

  async list (filter: InviteFilter, window: PageWindow): Promise<{ total: number, invites: InviteDetails[] }> {
    const now = new Date()
    const { total, invites } = await this.repository.list(filter, window, now)
    return { total, invites: await this.detailed(invites, now) }
  }

  async check (code: string, caller: StoredPrincipal): Promise<InviteCheck> {
    const invite = await this.repository.findByCode(code)
    if (invite === undefined) throw new NotFound(`Invite code ${code} not found`)
    const now = new Date()
    const check = { code: invite.code, status: inviteStatus(invite, now), expiresAt: invite.expiresAt }
    if (!caller.permissions.includes('manage-invite-codes')) return check
    return { ...check, details: await this.oneDetailed(invite, now) }
  }

  // Revoking a revoked code changes nothing; a used one stays used.
  async revoke (code: string): Promise<InviteDetails> {
    const at = new Date()
    const invite = await this.repository.revoke(code, at)
    if (invite === undefined) throw new NotFound(`Invite code ${code} not found`)
    if (invite.usedAt !== null) throw new Conflict('invite_code_used', 'code', `Invite code ${code} has been used and cannot be revoked`)
    return await this.oneDetailed(invite, at)
  }

  // The invite `request` describes, every part checked.
  private async checkedInvite (request: InviteRequest, issuer: StoredPrincipal, at: Date): Promise<InviteDraft> {
    // An invite grants its role to whoever uses it, so issuing one takes the right to grant it.
    if (request.role !== undefined) checkRoleGrantable(request.role, await this.repository.rolePermissions(request.role), issuer, 'role')
    if (request.code !== undefined && !CODE_PATTERN.test(request.code)) {
      throw new InvalidInput('invalid_field', 'code', 'code must be 4 to 64 letters, digits, _ or -')
    }
    const name = request.name ?? ''
    if (characterCount(name) > NAME_MAX_LENGTH) {
      throw new InvalidInput('invalid_field', 'name', `name must be at most ${NAME_MAX_LENGTH} characters long`)
    }
    const extraDataProblem = jsonValueProblem(request.extraData)
    if (extraDataProblem !== undefined) throw new InvalidInput('invalid_field', 'extra_data', `extra_data ${extraDataProblem}`)
    if (request.email !== undefined && !isValidEmail(request.email)) {
      throw new InvalidInput('invalid_field', 'email', 'email must be an email address')
    }
    if (request.forcedUsername !== undefined && !USERNAME_PATTERN.test(request.forcedUsername)) {
      throw new InvalidInput('invalid_field', 'forced_username', 'forced_username must be a username: 1 to 255 letters, digits, _ or -')
    }
    const expiresAt = request.expiresAt === undefined ? null : storableTime(request.expiresAt, 'expires_at')
    if (expiresAt !== null && expiresAt.getTime() <= at.getTime()) {
      throw new InvalidInput('invalid_field', 'expires_at', 'expires_at must be in the future')
    }
    const sentAt = request.sentAt === undefined ? null : storableTime(request.sentAt, 'sent_at')
    if (request.forcedUsername !== undefined && this.reservedUsernames.includes(request.forcedUsername)) {
      throw new InvalidInput('username_reserved', 'forced_username', `${request.forcedUsername} is a reserved username`)
    }
    return {
      name,
      email: request.email ?? null,
      role: request.role ?? null,
      forcedUsername: request.forcedUsername ?? null,
      extraData: request.extraData ?? null,
      sentAt,
      expiresAt,
      invitedBy: actorOf(issuer)
    }
  }

  private async insertGiven (code: string, invite: InviteDraft, at: Date): Promise<StoredInvite> {
    const stored = await this.repository.insert({ ...invite, code }, at)
    if (stored === undefined) throw new Conflict('invite_code_exists', 'code', `${code} is already an invite code`)
    return stored
  }

  private async oneDetailed (invite: StoredInvite, now: Date): Promise<InviteDetails> {
    const [details] = await this.detailed([invite], now)
    return details as InviteDetails
  }

  // The invites with their status at `now` and their accounts, read in one batch.
  private async detailed (invites: StoredInvite[], now: Date): Promise<InviteDetails[]> {
    const ids = new Set(invites.flatMap((invite) => [invite.invitedBy, invite.userId]).filter((id) => id !== null))
    const users = new Map((await this.accounts.findByIds([...ids])).map((user) => [user.id, user]))
    const userOf = (id: number | null): StoredUser | null => id === null ? null : users.get(id) ?? null
    return invites.map((invite) => ({
      invite, status: inviteStatus(invite, now), invitedBy: userOf(invite.invitedBy), user: userOf(invite.userId)
    }))
  }
}
