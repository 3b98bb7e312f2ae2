import type { OAuthClient } from '../../../schemas/components.js'
import type { StoredClient } from '../../../services/clients.js'
import { formatScope } from '../../../domain/scopes.js'

// A service client as the contract shows it; its secret never, but in the answer that makes it.
export function clientRepresentation (client: StoredClient): OAuthClient {
  return {
    client_id: client.clientId,
    name: client.name,
    roles: client.roles,
    permissions: client.permissions,
    scope: formatScope(client.scopes),
    enabled: client.enabled,
    created_by: client.createdBy.userId,
    created_by_client: client.createdByClientId,
    created_at: client.createdAt,
    updated_at: client.updatedAt,
    secret_rotated_at: client.secretRotatedAt,
    last_used_at: client.lastUsedAt
  }
}
