import type { Invite, InviteCheck as InviteCheckBody } from '../../../schemas/components.js'
import type { InviteCheck, InviteDetails } from '../../../services/invite-codes.js'
import { userRepresentation } from './representations.js'

export function inviteRepresentation ({ invite, status, invitedBy, user }: InviteDetails): Invite {
  return {
    id: invite.id,
    name: invite.name,
    forced_username: invite.forcedUsername,
    email: invite.email,
    code: invite.code,
    role: invite.role,
    generated_at: invite.generatedAt,
    sent_at: invite.sentAt,
    used_at: invite.usedAt,
    expires_at: invite.expiresAt,
    revoked_at: invite.revokedAt,
    status,
    invited_by: invitedBy === null ? null : userRepresentation(invitedBy),
    user: user === null ? null : userRepresentation(user),
    extra_data: invite.extraData
  }
}

export function inviteCheckRepresentation (check: InviteCheck): InviteCheckBody {
  const body = { code: check.code, status: check.status, valid: check.status === 'valid', expires_at: check.expiresAt }
  return check.details === undefined ? body : { ...body, invite: inviteRepresentation(check.details) }
}
