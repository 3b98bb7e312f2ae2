import type { StoredUser, UserOrder } from '../../../repositories/account-repository.js'
import type { StoredAuditEntry } from '../../../repositories/audit-log.js'
import type { CurrentPermissions } from '../../../services/user-directory.js'
import type { AuditEntry, PublicUser, User, UserAutocomplete, UserPermission } from '../../../schemas/components.js'
import { userRepresentation } from './representations.js'

// What a caller who may not see all of a user sees: no email, no roles, the public custom fields.
export function publicUserRepresentation (user: StoredUser, publicFields: ReadonlySet<string>): PublicUser {
  return {
    ...Object.fromEntries(Object.entries(user.customFields).filter(([name]) => publicFields.has(name))),
    id: user.id,
    username: user.username,
    real_name: user.realName,
    date_joined: user.dateJoined,
    status: user.status
  }
}

// The user in full or in public, as `seesAll` says for this caller.
export function listedUserRepresentation (user: StoredUser, seesAll: boolean, publicFields: ReadonlySet<string>): User | PublicUser {
  return seesAll ? userRepresentation(user) : publicUserRepresentation(user, publicFields)
}

export function autocompleteRepresentation (user: StoredUser): UserAutocomplete {
  return { id: user.id, username: user.username, real_name: user.realName }
}

// SelfCommunity's `ordering` (`-username`) as the repository's order.
export function userOrderOf (ordering = 'id'): UserOrder {
  const descending = ordering.startsWith('-')
  return { column: (descending ? ordering.slice(1) : ordering) as UserOrder['column'], direction: descending ? 'desc' : 'asc' }
}

// SelfCommunity's capabilities of a member are all the community's; here each is whether the
// account may act at all.
export function userPermissionRepresentation ({ member, permissions, roles }: CurrentPermissions): UserPermission {
  return {
    create_contribute: member,
    create_poll: member,
    create_group: member,
    create_event: member,
    create_course: member,
    create_live_stream: member,
    upload_video: member,
    locate_post: member,
    create_post: member,
    create_post_with_category: member,
    follow_user: member,
    request_connection: member,
    accept_connection: member,
    permissions,
    roles
  }
}

export function auditEntryRepresentation (entry: StoredAuditEntry): AuditEntry {
  return {
    id: entry.id,
    action: entry.action,
    actor: { user_id: entry.actor.userId, client_id: entry.actor.clientId },
    subject: { user_id: entry.subject.userId, client_id: entry.subject.clientId, webhook_endpoint_id: entry.subject.webhookEndpointId },
    created_at: entry.createdAt
  }
}
