import type { Permission, Role as RoleBody } from '../../../schemas/components.js'
import type { Role, StoredPermission } from '../../../services/roles.js'

export function roleRepresentation (role: Role): RoleBody {
  return { name: role.name, description: role.description, permissions: role.permissions, protected: role.protected }
}

export function permissionRepresentation (permission: StoredPermission): Permission {
  return { name: permission.name, description: permission.description }
}
