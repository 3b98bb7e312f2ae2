// The gates of registration: an invite code when the `invite_code` preference is on, a promo
// code when the `promo_code` feature is. Each is decided inside the create transaction, on the
// code's row locked, with a distinct error code for every reason a code is refused.
import type { AccountWriter } from '../repositories/account-repository.js'
import type { StoredInvite } from '../repositories/invite-code-repository.js'
import type { StoredPromo } from '../repositories/promo-code-repository.js'
import { InvalidInput } from '../domain/errors.js'
import { type InviteStatus, inviteStatus } from './invite-codes.js'
import { type PromoProblem, promoProblem } from './promo-codes.js'

type InviteRefusal = Exclude<InviteStatus, 'valid'> | 'not_found' | 'email_mismatch' | 'username_mismatch'

const INVITE_REFUSALS: Record<InviteRefusal, string> = {
  not_found: 'invite_code is not a known invite code',
  used: 'invite_code has already been used',
  expired: 'invite_code has expired',
  revoked: 'invite_code has been revoked',
  email_mismatch: 'invite_code was issued for another email',
  username_mismatch: 'invite_code was issued for another username'
}

export function inviteRefusal (reason: InviteRefusal): InvalidInput {
  return new InvalidInput(`invite_code_${reason}`, 'invite_code', INVITE_REFUSALS[reason])
}

// The invite the account is created with, checked; undefined when none is needed or given.
export async function admittingInvite (writer: AccountWriter, input: { inviteCode?: string, email: string, username: string }, required: boolean, at: Date): Promise<StoredInvite | undefined> {
  const code = input.inviteCode ?? ''
  if (!required) {
    if (code !== '') throw new InvalidInput('invite_code_not_accepted', 'invite_code', 'invite codes are not enabled; leave invite_code out')
    return undefined
  }
  if (code === '') throw new InvalidInput('invite_code_required', 'invite_code', 'invite_code is required: registration is by invitation')
  const invite = await writer.lockInvite(code)
  if (invite === undefined) throw inviteRefusal('not_found')
  const status = inviteStatus(invite, at)
  if (status !== 'valid') throw inviteRefusal(status)
  if (invite.email !== null && invite.email.toLowerCase() !== input.email.toLowerCase()) throw inviteRefusal('email_mismatch')
  if (invite.forcedUsername !== null && invite.forcedUsername.toLowerCase() !== input.username.toLowerCase()) throw inviteRefusal('username_mismatch')
  return invite
}

const PROMO_REFUSALS: Record<PromoProblem | 'not_found', string> = {
  not_found: 'promo_code is not a known promo code',
  inactive: 'promo_code is no longer active',
  not_yet_valid: 'promo_code is not valid yet',
  expired: 'promo_code has expired',
  exhausted: 'promo_code has been used as often as it can be'
}

export function promoRefusal (reason: keyof typeof PROMO_REFUSALS): InvalidInput {
  return new InvalidInput(`promo_code_${reason}`, 'promo_code', PROMO_REFUSALS[reason])
}

// The promo code to redeem, checked; undefined when none is given.
export async function admittingPromo (writer: AccountWriter, code: string | undefined, accepted: boolean, at: Date): Promise<StoredPromo | undefined> {
  if (code === undefined || code === '') return undefined
  if (!accepted) throw new InvalidInput('promo_code_not_accepted', 'promo_code', 'promo codes are not enabled; leave promo_code out')
  const promo = await writer.lockPromo(code)
  if (promo === undefined) throw promoRefusal('not_found')
  const problem = promoProblem(promo, at)
  if (problem !== undefined) throw promoRefusal(problem)
  return promo
}
