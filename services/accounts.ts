import type { FirstAdminCredentials } from '../config.js'
import { type AccountFlags, type Profile, REAL_NAME_MAX_LENGTH, checkUsernameAndEmail } from '../domain/accounts.js'
import { Conflict, InvalidInput, NotFound, StartupError } from '../domain/errors.js'
import { characterCount } from '../domain/formats.js'
import { EXTERNAL_PROVIDER } from '../domain/identities.js'
import { checkNewPassword } from '../domain/password-policy.js'
import { type StoredPrincipal, SERVICE_ACTOR, actorOf } from '../domain/principal.js'
import type { AccountRepository, StoredUser } from '../repositories/account-repository.js'
import type { CustomFieldRegistry } from './custom-fields.js'
import { generatePassword, hashPassword } from './passwords.js'
import { admittingInvite, admittingPromo, inviteRefusal, promoRefusal } from './registration-gates.js'
import { ReservedUsernames } from './reserved-usernames.js'
import { checkRoleGrantable } from './roles.js'
import type { AccountLifeService } from './account-life.js'
import type { UserService } from './users.js'

const DEFAULT_FLAGS: AccountFlags = {
  active: true, emailVerified: false, requirePasswordChange: false, sendWelcomeEmail: false, joinDefaultChannels: true
}

export interface AccountInput {
  username: string
  email: string
  password: string
  realName?: string
  inviteCode?: string
  promoCode?: string
  // Values for the fields defined in the custom-field registry, keyed by field name.
  customFields: Record<string, unknown>
  // Replaces `password` with a generated one (never shown) that must be changed at first login.
  randomPassword?: boolean
  profile?: Profile
  flags?: Partial<AccountFlags>
  // The id a platform knows the account by (provider `external`), linked in the same transaction.
  externalId?: string
}

export interface CreationContext {
  // The user or service client creating the account; null when the service itself does (the
  // first admin, the operator's CLI).
  creator: StoredPrincipal | null
  // Roles to grant instead of `user`: a creator may grant only what checkRoleGrantable allows.
  roles?: string[]
  // The service's own account (the first admin): it needs no invite, redeems no promo code and
  // may take a reserved username (`admin` is the default one).
  serviceAccount?: boolean
}

export interface FirstAdmin {
  user: StoredUser
  // Set when the password was generated here rather than configured: it must be shown once.
  generatedPassword?: string
}

export type AdminAccount = FirstAdmin

export class AccountService {
  private readonly reservedUsernames: ReservedUsernames

  constructor (
    private readonly accounts: AccountRepository,
    private readonly customFields: CustomFieldRegistry,
    private readonly users: UserService,
    private readonly life: AccountLifeService,
    private readonly bcryptCost: number,
    // Reserved on top of the built-in ones (RESERVED_USERNAMES).
    configuredReservedUsernames: readonly string[],
    // Passwords no account may have (in production, this repository's examples).
    private readonly refusedPasswords: ReadonlySet<string>
  ) {
    this.reservedUsernames = new ReservedUsernames(configuredReservedUsernames)
  }

  // Applies every rule of account creation, then writes the user, its roles, its custom fields,
  // the use of its invite code, the redemption of its promo code, an audit entry, a user.created
  // event and the verification mail in one transaction. Uniqueness is left to the database's unique
  // indexes, so concurrent creates cannot both win.
  async createAccount (input: AccountInput, context: CreationContext): Promise<StoredUser> {
    checkUsernameAndEmail(input.username, input.email)
    if (context.serviceAccount !== true) this.reservedUsernames.refuse(input.username)
    if (characterCount(input.realName ?? '') > REAL_NAME_MAX_LENGTH) {
      throw new InvalidInput('invalid_field', 'real_name', `real_name must be at most ${REAL_NAME_MAX_LENGTH} characters long`)
    }
    const flags = { ...DEFAULT_FLAGS, ...input.flags, ...(input.randomPassword === true ? { requirePasswordChange: true } : {}) }
    // A generated password is strong by construction, and drawn to avoid the username.
    const password = input.randomPassword === true ? generatePassword(input.username) : input.password
    if (input.randomPassword !== true) this.checkPassword(password, input.username)
    this.life.checkNewAccountMail({ passwordGenerated: input.randomPassword === true })
    const creator = context.creator
    const createdBy = actorOf(creator)
    // Checked now to fail fast, and again in the transaction against definitions that cannot
    // change before it commits (one may change while the password is being hashed).
    await this.customFields.validateValues(input.customFields)
    const passwordHash = await hashPassword(password, this.bcryptCost)
    const at = new Date()
    // The answer is read in the transaction: once it commits, the create is answered 201 even if
    // the database goes away right after.
    return await this.accounts.transaction(async (writer) => {
      const customValues = this.customFields.checkValues(input.customFields, await writer.customFieldDefinitions())
      // The codes are checked under lock, so of creates racing for one code each sees it as
      // the one before left it: one invite use, no redemption beyond the limit.
      const gates = context.serviceAccount === true ? { inviteRequired: false, promoAccepted: false } : await writer.registrationGates()
      const invite = await admittingInvite(writer, input, gates.inviteRequired, at)
      const promo = await admittingPromo(writer, input.promoCode, gates.promoAccepted, at)
      // Checked here, where what a role grants cannot change until the account is written.
      if (context.roles !== undefined && creator !== null) {
        for (const role of context.roles) checkRoleGrantable(role, await writer.rolePermissions(role), creator, 'roles')
      }
      const inviteRoles = invite?.role !== undefined && invite.role !== null ? [invite.role] : []
      const roles = [...new Set([...(context.roles ?? ['user']), ...inviteRoles])]
      const userId = await writer.insertUser({
        username: input.username,
        email: input.email,
        passwordHash,
        realName: input.realName ?? '',
        profile: input.profile ?? {},
        flags,
        createdBy,
        at
      })
      if (input.externalId !== undefined) {
        await writer.linkIdentity({ userId, provider: EXTERNAL_PROVIDER, extId: input.externalId, profileUrl: null, metadata: null, showInProfile: false }, at)
      }
      if (invite !== undefined && !await writer.useInvite(invite.id, userId, at)) throw inviteRefusal('used')
      if (promo !== undefined && !await writer.redeemPromo(promo.id, userId, at)) throw promoRefusal('exhausted')
      const unknownRoles = await writer.grantRoles(userId, roles)
      if (unknownRoles.length > 0) throw new InvalidInput('unknown_role', 'roles', `No such role: ${unknownRoles.join(', ')}`)
      await writer.saveCustomFieldValues(userId, customValues)
      await writer.recordAudit({ actor: createdBy, action: 'account.create', subject: { userId }, at })
      await writer.enqueueEvent({
        type: 'user.created',
        payload: {
          id: userId,
          username: input.username,
          email: input.email,
          roles,
          invite_code: invite?.code ?? null,
          promo_code: promo?.code ?? null,
          created_by: createdBy.userId,
          created_by_client: creator?.kind === 'client' ? creator.clientId : null,
          date_joined: at.toISOString(),
          active: flags.active,
          email_verified: flags.emailVerified,
          require_password_change: flags.requirePasswordChange,
          send_welcome_email: flags.sendWelcomeEmail,
          join_default_channels: flags.joinDefaultChannels
        },
        at
      })
      const user = await writer.findUser(userId) as StoredUser
      // The service's own accounts (the first admin, the CLI's) are the operator's, not a mailbox's.
      if (context.serviceAccount !== true) {
        await this.life.mailNewAccount(writer, user, { welcome: flags.sendWelcomeEmail, passwordGenerated: input.randomPassword === true }, at)
      }
      return user
    })
  }

  // An admin made by the operator (the CLI): roles admin and user, the password given or generated.
  async createAdmin (account: { username: string, email: string, password?: string }): Promise<AdminAccount> {
    const generatedPassword = account.password === undefined ? generatePassword(account.username) : undefined
    const password = account.password ?? generatedPassword as string
    const user = await this.createAccount({ ...account, password, customFields: {} }, { creator: null, roles: ['admin', 'user'], serviceAccount: true })
    return { user, generatedPassword }
  }

  // The way out of a lost admin password (the CLI): a new password, given or generated, for an
  // account with the admin role; every refresh token of the account stops working.
  async resetAdminPassword (username: string, password?: string): Promise<AdminAccount> {
    const user = await this.users.getUserByUsername(username)
    if (!user.roles.includes('admin')) throw new InvalidInput('not_an_admin', 'username', `${user.username} does not have the admin role`)
    const generatedPassword = password === undefined ? generatePassword(user.username) : undefined
    const newPassword = password ?? generatedPassword as string
    this.checkPassword(newPassword, user.username)
    const at = new Date()
    const found = await this.accounts.setPassword(user.id, {
      passwordHash: await hashPassword(newPassword, this.bcryptCost),
      audit: { actor: SERVICE_ACTOR, action: 'user.password_changed' },
      event: { type: 'user.password_changed', payload: { id: user.id, changed_at: at.toISOString(), by: 'operator' } },
      at
    })
    if (!found) throw new NotFound(`User ${username} not found`)
    return { user: await this.users.getUser(user.id), generatedPassword }
  }

  private checkPassword (password: string, username: string): void {
    checkNewPassword(password, username, this.refusedPasswords)
  }

  // Makes sure an admin exists: from the configured credentials, or else (only where `generate`
  // is allowed, in development) with a generated password. Several instances starting at once
  // may all try; the unique index lets one win and the others find its admin.
  async ensureFirstAdmin (credentials: FirstAdminCredentials | undefined, generate: boolean): Promise<FirstAdmin | undefined> {
    if (await this.accounts.hasUserWithRole('admin')) return undefined
    if (credentials === undefined && !generate) return undefined
    const generatedPassword = credentials === undefined ? generatePassword('admin') : undefined
    const account = credentials ?? { username: 'admin', email: 'admin@example.com', password: generatedPassword as string }
    try {
      const user = await this.createAccount({ ...account, customFields: {} }, { creator: null, roles: ['admin', 'user'], serviceAccount: true })
      return { user, generatedPassword }
    } catch (error) {
      // Say a mandatory custom field without a default was defined: no account can be made.
      if (error instanceof InvalidInput) throw new StartupError(`Cannot create the first admin: ${error.message}`)
      if (!(error instanceof Conflict)) throw error
      if (await this.accounts.hasUserWithRole('admin')) return undefined
      const field = error.field === 'email' ? 'email' : 'username'
      throw new StartupError(`Cannot create the first admin: ${account[field]} is the ${field} of an account ` +
        `without the admin role; set another ADMIN_${field.toUpperCase()}`)
    }
  }
}
