import { setTimeout as sleep } from 'node:timers/promises'
import { AccountNotActive, Conflict, Forbidden, InvalidInput, MailNotConfigured, NotFound } from '../domain/errors.js'
import { checkEmail } from '../domain/accounts.js'
import type { OutgoingMail } from '../domain/mail.js'
import { checkNewPassword } from '../domain/password-policy.js'
import { type Actor, type StoredPrincipal, actorOf, checkMayActOnUser, checkMayChangeUser, userIdOf } from '../domain/principal.js'
import type { CodePurpose, StoredAccountCode } from '../repositories/account-codes.js'
import type { AccountRepository, AccountWriter, StoredUser } from '../repositories/account-repository.js'
import { newAccountCode, opaqueSecretDigest } from './opaque-secrets.js'
import { generatePassword, hashPassword, verifyPassword, verifyPasswordOrDigest } from './passwords.js'
import type { IssuedTokens, TokenService } from './tokens.js'

export interface AccountLifeOptions {
  // How long a mailed code works.
  codeSeconds: number
  bcryptCost: number
  // Passwords no account may have (in production, this repository's examples).
  refusedPasswords: ReadonlySet<string>
  // Whether mail can be sent at all (SMTP_URL, or the development mailbox).
  mailConfigured: boolean
  // Where a failure that must not change the answer is logged (a recovery's, say).
  log: { error: (details: { err: unknown }, message: string) => void }
}

// More recovery requests for one account within the hour mail nothing: the inbox of the
// account's owner is not a target.
const RECOVERY_CODES_PER_HOUR = 5
const HOUR_MS = 3_600_000
// A recovery is answered no sooner than this, whether an account has the email or not, so the
// time it takes tells nothing either (the work it does is a few queries, well within it).
const RECOVERY_ANSWER_MS = 250

export type UserTokens = IssuedTokens & { refreshToken: string }

// A password change checked and hashed, not yet written.
export interface PreparedPasswordChange {
  userId: number
  passwordHash: string
  // Where the notice goes, and whom it greets.
  email: string
  username: string
}

// A password an admin gives a user, or one generated that nobody knows (the user chooses their
// own with the code mailed to them), checked and hashed, not yet written.
export interface PreparedPasswordReset {
  passwordHash: string
  generated: boolean
}

function emailTaken (): Conflict {
  return new Conflict('email_taken', 'new_email', 'new_email is already the email of another account')
}

function passwordUnchanged (field: string): InvalidInput {
  return new InvalidInput('password_unchanged', field, `${field} is the current password: choose another one`)
}

function invalidCode (): InvalidInput {
  return new InvalidInput('validation_code_invalid', 'validation_code', 'The validation code is invalid, expired or already used')
}

// Usable: unspent, unexpired, of one of these purposes, and mailed to the address the account
// still has (a code sent to an old address confirms nothing about the new one).
function isUsable (code: StoredAccountCode | undefined, purposes: readonly CodePurpose[], user: StoredUser | undefined, at: Date): code is StoredAccountCode {
  return code !== undefined && user !== undefined && purposes.includes(code.purpose) && code.spentAt === null &&
    Date.parse(code.expiresAt) > at.getTime() && code.email?.toLowerCase() === user.email.toLowerCase()
}

// The life of an account after its creation: its mails as it is created, verifying its email and
// recovering it by mailed codes, changing its password and its email, and the mails Rocket.Chat's
// clients ask for. Each code is random (256 bits),
// stored as its SHA-256, works once, expires, and is replaced by a newer one of its purpose; the
// mail carrying it is queued in the transaction that writes it.
export class AccountLifeService {
  constructor (
    private readonly accounts: AccountRepository,
    private readonly tokens: TokenService,
    private readonly options: AccountLifeOptions
  ) {}

  // Marks the email verified and logs its user in; the code is spent in the same transaction.
  async verifyEmail (code: string): Promise<UserTokens> {
    const at = new Date()
    return await this.accounts.transaction(async (writer) => {
      const { stored, user } = await this.lockUsableCode(writer, code, ['verify_email'], at)
      await this.writeEmailVerified(writer, { userId: user.id, clientRowId: null }, user, at)
      return await this.logIn(writer, stored, at)
    })
  }

  // Marks the user's email verified, by its code or by an admin, in the caller's transaction;
  // no verification code of theirs works any more.
  async writeEmailVerified (writer: AccountWriter, actor: Actor, user: StoredUser, at: Date): Promise<void> {
    await writer.markEmailVerified(user.id, at)
    await writer.spendCodesOf(user.id, 'verify_email', at)
    await writer.recordAudit({ actor, action: 'user.email_verified', subject: { userId: user.id }, at })
    await writer.enqueueEvent({ type: 'user.email_verified', payload: { id: user.id, email: user.email, verified_at: at.toISOString() }, at })
  }

  // The account a verification or recovery code belongs to, while the code can be used; nothing
  // is spent.
  async accountOfCode (code: string): Promise<StoredUser> {
    const stored = await this.accounts.findCode(opaqueSecretDigest(code))
    const user = stored === undefined ? undefined : await this.accounts.findById(stored.userId)
    if (!isUsable(stored, ['verify_email', 'recover'], user, new Date())) throw invalidCode()
    // As verify and reset would refuse it: a blocked or unapproved account is not shown either.
    if (user?.status !== 'a') throw new AccountNotActive()
    return user
  }

  // Mails a recovery code to the approved account with this email, if there is one; answers alike
  // (and no sooner than RECOVERY_ANSWER_MS) either way.
  async recover (email: string): Promise<void> {
    this.checkMailConfigured()
    checkEmail(email)
    const answerAt = Date.now() + RECOVERY_ANSWER_MS
    try {
      const at = new Date()
      const userId = await this.accounts.findActiveIdByEmail(email)
      if (userId === undefined) return
      await this.accounts.transaction(async (writer) => {
        // Counted under the lock of the user's row, so concurrent requests cannot exceed it.
        if (!await writer.lockUser(userId)) return
        if (await writer.codesIssuedSince(userId, 'recover', new Date(at.getTime() - HOUR_MS)) >= RECOVERY_CODES_PER_HOUR) return
        const user = await writer.findUser(userId)
        if (user === undefined) return
        const code = await this.issueCode(writer, user, 'recover', at)
        await writer.enqueueMail({ template: 'recover', to: user.email, data: { username: user.username, code } }, at)
      })
    } catch (error) {
      // An error only an existing account meets would tell that it exists: logged, and
      // answered as any other request.
      this.options.log.error({ err: error }, 'A recovery request failed; it was answered as if no account had the email')
    } finally {
      await sleep(Math.max(0, answerAt - Date.now()))
    }
  }

  // Sets a new password with a recovery code, and logs its user in. Every earlier token of the
  // account stops working; the password-changed mail goes to the account's email.
  async resetPassword (code: string, password: string): Promise<UserTokens> {
    const codeHash = opaqueSecretDigest(code)
    // Checked before the password is hashed, which takes a while; again under lock afterwards.
    const found = await this.accounts.findCode(codeHash)
    const owner = found === undefined ? undefined : await this.accounts.findById(found.userId)
    if (!isUsable(found, ['recover'], owner, new Date()) || owner === undefined) throw invalidCode()
    checkNewPassword(password, owner.username, this.options.refusedPasswords)
    const credentials = await this.accounts.findCredentialsById(owner.id)
    if (credentials !== undefined && await verifyPassword(password, credentials.passwordHash)) throw passwordUnchanged('password')
    const passwordHash = await hashPassword(password, this.options.bcryptCost)
    const at = new Date()
    return await this.accounts.transaction(async (writer) => {
      const { stored, user } = await this.lockUsableCode(writer, code, ['recover'], at)
      await writer.changePassword(user.id, passwordHash, at)
      // The code reached the account's address: that verifies it as well.
      await writer.markEmailVerified(user.id, at)
      await writer.recordAudit({ actor: { userId: user.id, clientRowId: null }, action: 'user.password_changed', subject: { userId: user.id }, at })
      await writer.enqueueEvent({ type: 'user.password_changed', payload: { id: user.id, changed_at: at.toISOString(), by: 'recovery' }, at })
      await this.mail(writer, { template: 'password_changed', to: user.email, data: { username: user.username } }, at)
      return await this.logIn(writer, stored, at)
    })
  }

  // An account whose password is generated is reached only by the mail that lets its user choose
  // one: without mail it is refused, before anything is written.
  checkNewAccountMail (mails: { passwordGenerated: boolean }): void {
    if (mails.passwordGenerated) this.checkMailConfigured()
  }

  // The mails of a new account, in the transaction that creates it: the welcome mail when asked
  // for (sendWelcomeEmail); for a generated password, a code to choose one (which verifies the
  // email as well); else the verification mail, unless the email is verified already or the
  // preference verification_mail is off.
  async mailNewAccount (writer: AccountWriter, user: StoredUser, mails: { welcome: boolean, passwordGenerated: boolean }, at: Date): Promise<void> {
    if (!this.options.mailConfigured) return
    if (mails.welcome) await this.writeWelcomeMail(writer, user, at)
    if (mails.passwordGenerated) {
      await this.writeSetPasswordMail(writer, user, at)
      return
    }
    if (user.emailIsValid || !await writer.verificationMailOn()) return
    const code = await this.issueCode(writer, user, 'verify_email', at)
    await writer.enqueueMail({ template: 'verify_email', to: user.email, data: { username: user.username, code } }, at)
  }

  // The user changes their own password, proving the current one (`asRocketChat`: also by its
  // digest, as Rocket.Chat's clients send it). Every token of the account stops working, the
  // caller's too.
  async changePassword (caller: StoredPrincipal, userId: number, current: string, next: string, asRocketChat = false): Promise<void> {
    const change = await this.preparePasswordChange(caller, userId, current, next, asRocketChat)
    await this.accounts.transaction(async (writer) => { await this.writePasswordChange(writer, change, new Date()) })
  }

  // The checks of changePassword and the new hash, for a caller that writes the change in a
  // transaction of its own with writePasswordChange (with other changes, all or nothing).
  async preparePasswordChange (caller: StoredPrincipal, userId: number, current: string, next: string, asRocketChat = false): Promise<PreparedPasswordChange> {
    if (caller.kind !== 'user' || caller.userId !== userId) throw new Forbidden('A password is changed by its own user only')
    const credentials = await this.accounts.findCredentialsById(userId)
    if (credentials === undefined) throw new NotFound(`User ${userId} not found`)
    const proven = asRocketChat ? await verifyPasswordOrDigest(current, credentials.passwordHash) : await verifyPassword(current, credentials.passwordHash)
    if (!proven) throw new InvalidInput('wrong_password', 'password', 'password is not the current password')
    if (await verifyPassword(next, credentials.passwordHash)) throw passwordUnchanged('new_password')
    checkNewPassword(next, credentials.username, this.options.refusedPasswords)
    return { userId, passwordHash: await hashPassword(next, this.options.bcryptCost), email: credentials.email, username: credentials.username }
  }

  // The password change with its audit entry, event and notice, in the caller's transaction.
  async writePasswordChange (writer: AccountWriter, change: PreparedPasswordChange, at: Date): Promise<void> {
    const { userId } = change
    if (!await writer.changePassword(userId, change.passwordHash, at)) throw new NotFound(`User ${userId} not found`)
    await writer.recordAudit({ actor: { userId, clientRowId: null }, action: 'user.password_changed', subject: { userId }, at })
    await writer.enqueueEvent({ type: 'user.password_changed', payload: { id: userId, changed_at: at.toISOString(), by: 'user' }, at })
    await this.mail(writer, { template: 'password_changed', to: change.email, data: { username: change.username } }, at)
  }

  // The checks of a password an admin sets for a user (`password` undefined: a generated one,
  // which takes mail to reach the user), and its hash; writePasswordReset writes it.
  async preparePasswordReset (password: string | undefined, username: string): Promise<PreparedPasswordReset> {
    if (password === undefined) this.checkMailConfigured()
    if (password !== undefined) checkNewPassword(password, username, this.options.refusedPasswords)
    return { passwordHash: await hashPassword(password ?? generatePassword(username), this.options.bcryptCost), generated: password === undefined }
  }

  // The admin's new password for the user (edit-other-user-password, and every permission the
  // user has), in the caller's transaction, which locked the user: every token of the account
  // stops working. The user is told by mail of a password given; of a generated one, the caller
  // mails the code to choose their own (writeSetPasswordMail) once the rest of its change is
  // written, to the address the account then has.
  async writePasswordReset (writer: AccountWriter, caller: StoredPrincipal, user: StoredUser, reset: PreparedPasswordReset, at: Date): Promise<void> {
    checkMayActOnUser(caller, 'edit-other-user-password', await writer.permissionsOf(user.id))
    if (!await writer.changePassword(user.id, reset.passwordHash, at)) throw new NotFound(`User ${user.id} not found`)
    await writer.recordAudit({ actor: actorOf(caller), action: 'user.password_changed', subject: { userId: user.id }, at })
    await writer.enqueueEvent({ type: 'user.password_changed', payload: { id: user.id, changed_at: at.toISOString(), by: 'admin' }, at })
    if (!reset.generated) await this.mail(writer, { template: 'password_changed', to: user.email, data: { username: user.username } }, at)
  }

  // Asks for the account's email to become `newEmail`. The user's own request, and an admin's
  // with `confirm`, mail a change_email code to the new address (POST confirm_email spends it);
  // the email stays as it is until then. An admin's request without `confirm` (SelfCommunity's
  // direct change) changes it at once, unverified, and mails the new address a verification code.
  async requestEmailChange (caller: StoredPrincipal, userId: number, newEmail: string, confirm: boolean): Promise<void> {
    const self = userIdOf(caller) === userId
    checkMayChangeUser(caller, userId, await this.accounts.permissionsOf(userId))
    const user = await this.accounts.findById(userId)
    if (user === undefined) throw new NotFound(`User ${userId} not found`)
    checkEmail(newEmail, 'new_email')
    if (newEmail.toLowerCase() === user.email.toLowerCase()) throw new InvalidInput('email_unchanged', 'new_email', 'new_email is the email the account already has')
    this.checkMailConfigured()
    const byCode = self || confirm
    // Answered only to whoever may change the email directly (writeEmailChangeRequest says why).
    if (!byCode && await this.accounts.findIdByEmail(newEmail) !== undefined) throw emailTaken()
    const at = new Date()
    await this.accounts.transaction(async (writer) => {
      if (!await writer.lockUser(userId)) throw new NotFound(`User ${userId} not found`)
      checkMayChangeUser(caller, userId, await writer.permissionsOf(userId))
      if (byCode) {
        await this.writeEmailChangeRequest(writer, user, newEmail, at)
        return
      }
      await this.writeDirectEmailChange(writer, caller, user, newEmail, false, at)
    })
  }

  // A request for a new address confirmed by code, in the caller's transaction, which locked the
  // user: the code is mailed to the address, unless another account has it (then nothing is
  // mailed, and the caller answered alike: a user is not told who has an account; the unique
  // index would refuse the address at the confirmation anyway).
  async writeEmailChangeRequest (writer: AccountWriter, user: StoredUser, newEmail: string, at: Date): Promise<void> {
    if (await writer.findIdByEmail(newEmail) !== undefined) return
    const code = await this.issueCode(writer, user, 'change_email', at, newEmail)
    await writer.enqueueMail({ template: 'change_email', to: newEmail, data: { username: user.username, email: newEmail, code, user_id: String(user.id), email_query: encodeURIComponent(newEmail) } }, at)
  }

  // An admin's change of the user's email, at once, in the caller's transaction, which locked
  // the user: an address not verified is mailed a verification code (unless the preference
  // verification_mail is off).
  async writeDirectEmailChange (writer: AccountWriter, caller: StoredPrincipal, user: StoredUser, email: string, verified: boolean, at: Date): Promise<void> {
    await this.writeEmailChange(writer, actorOf(caller), user, email, verified, at)
    if (verified || !this.options.mailConfigured || !await writer.verificationMailOn()) return
    const changed = await writer.findUser(user.id) as StoredUser
    const code = await this.issueCode(writer, changed, 'verify_email', at)
    await writer.enqueueMail({ template: 'verify_email', to: email, data: { username: user.username, code } }, at)
  }

  // Changes the account's email to the address a change_email code was mailed to, and verifies
  // it: the code proves the address. Nothing else of the account changes; no token is revoked.
  async confirmEmailChange (userId: number, newEmail: string, code: string): Promise<void> {
    const at = new Date()
    await this.accounts.transaction(async (writer) => {
      const stored = await writer.lockCode(opaqueSecretDigest(code))
      const user = stored === undefined ? undefined : await writer.findUser(stored.userId)
      if (stored === undefined || user === undefined || stored.userId !== userId || stored.purpose !== 'change_email' || stored.spentAt !== null ||
        Date.parse(stored.expiresAt) <= at.getTime() || stored.email?.toLowerCase() !== newEmail.toLowerCase()) throw invalidCode()
      if (!await writer.spendCode(stored.id, at)) throw invalidCode()
      if (user.status !== 'a') throw new AccountNotActive()
      await this.writeEmailChange(writer, { userId, clientRowId: null }, user, stored.email, true, at)
    })
  }

  // Mails a new verification code to the account with this email, unless it is verified: the
  // caller's own account, or anyone's with send-mail.
  async resendVerification (caller: StoredPrincipal, email: string): Promise<void> {
    this.checkMailConfigured()
    const userId = await this.accounts.findIdByEmail(email)
    const own = userId !== undefined && userId === userIdOf(caller)
    if (!own && !caller.permissions.includes('send-mail')) throw new Forbidden('Only a user with the send-mail permission can ask this for another user\'s email')
    const user = userId === undefined ? undefined : await this.accounts.findById(userId)
    if (user === undefined) throw new InvalidInput('invalid_user', 'email', 'No account has this email')
    if (user.emailIsValid) throw new InvalidInput('email_already_verified', 'email', 'This email is verified already')
    const at = new Date()
    await this.accounts.transaction(async (writer) => {
      if (!await writer.lockUser(user.id)) throw new InvalidInput('invalid_user', 'email', 'No account has this email')
      const code = await this.issueCode(writer, user, 'verify_email', at)
      await writer.enqueueMail({ template: 'verify_email', to: user.email, data: { username: user.username, code } }, at)
    })
  }

  // Mails the welcome mail to the account with this email (the caller holds send-mail).
  async sendWelcome (email: string): Promise<void> {
    this.checkMailConfigured()
    const userId = await this.accounts.findIdByEmail(email)
    const user = userId === undefined ? undefined : await this.accounts.findById(userId)
    if (user === undefined) throw new InvalidInput('invalid_user', 'email', 'No account has this email')
    const at = new Date()
    await this.accounts.transaction(async (writer) => {
      if (!await writer.lockUser(user.id)) throw new InvalidInput('invalid_user', 'email', 'No account has this email')
      await this.writeWelcomeMail(writer, user, at)
    })
  }

  // Whether the mail a change asks for can be sent: a 503 before anything is written, if not.
  checkMailConfigured (): void {
    if (!this.options.mailConfigured) throw new MailNotConfigured()
  }

  // The welcome mail, in the caller's transaction (mail is configured: checkMailConfigured).
  async writeWelcomeMail (writer: AccountWriter, user: StoredUser, at: Date): Promise<void> {
    await writer.enqueueMail({ template: 'welcome', to: user.email, data: { username: user.username } }, at)
  }

  // A recovery code with which the user chooses a password they were not told.
  async writeSetPasswordMail (writer: AccountWriter, user: StoredUser, at: Date): Promise<void> {
    const code = await this.issueCode(writer, user, 'recover', at)
    await writer.enqueueMail({ template: 'set_password', to: user.email, data: { username: user.username, code } }, at)
  }

  // The new email with its audit entry and event, and a notice to the old address. The event
  // carries the new address, which the services that keep a copy need, and not the old one: they
  // have it already, and an event outlives the address it would keep.
  private async writeEmailChange (writer: AccountWriter, actor: Actor, user: StoredUser, email: string, verified: boolean, at: Date): Promise<void> {
    if (!await writer.changeEmail(user.id, email, verified, at)) throw new NotFound(`User ${user.id} not found`)
    await writer.recordAudit({ actor, action: 'user.email_changed', subject: { userId: user.id }, at })
    await writer.enqueueEvent({
      type: 'user.email_changed',
      payload: { id: user.id, email, email_isvalid: verified, changed_by: actor.userId, changed_by_client: actor.clientRowId, changed_at: at.toISOString() },
      at
    })
    await this.mail(writer, { template: 'email_changed', to: user.email, data: { username: user.username, email } }, at)
  }

  // A notice that needs no answer is sent when mail can be sent at all, and left out otherwise.
  private async mail (writer: AccountWriter, mail: OutgoingMail, at: Date): Promise<void> {
    if (this.options.mailConfigured) await writer.enqueueMail(mail, at)
  }

  // A new code of this purpose for the address (the account's current email unless given),
  // replacing any earlier one: only the newest code of a purpose works. The caller mails it in
  // the same transaction.
  async issueCode (writer: AccountWriter, user: StoredUser, purpose: CodePurpose, at: Date, email = user.email): Promise<string> {
    const code = newAccountCode()
    await writer.spendCodesOf(user.id, purpose, at)
    await writer.issueCode({
      userId: user.id,
      purpose,
      codeHash: opaqueSecretDigest(code),
      email,
      at,
      expiresAt: new Date(at.getTime() + this.options.codeSeconds * 1000)
    })
    return code
  }

  // The code, locked and spent, with its account: of two requests racing with one code, the
  // second waits for the first and then finds it spent.
  private async lockUsableCode (writer: AccountWriter, code: string, purposes: readonly CodePurpose[], at: Date): Promise<{ stored: StoredAccountCode, user: StoredUser }> {
    const stored = await writer.lockCode(opaqueSecretDigest(code))
    const user = stored === undefined ? undefined : await writer.findUser(stored.userId)
    if (!isUsable(stored, purposes, user, at) || user === undefined) throw invalidCode()
    if (!await writer.spendCode(stored.id, at)) throw invalidCode()
    return { stored, user }
  }

  // A token pair for the code's account, valid once the transaction commits; an account that is
  // not approved gets none, and its code stays unspent (the transaction rolls back).
  private async logIn (writer: AccountWriter, code: StoredAccountCode, at: Date): Promise<UserTokens> {
    const principal = await writer.activePrincipal(code.userId)
    if (principal === undefined) throw new AccountNotActive()
    const grant = this.tokens.newUserGrant(principal, at)
    await writer.insertRefreshToken(grant.refreshTokenRow)
    return grant.tokens
  }
}
