import type { RoleRepository, StoredPermission, StoredRole } from '../repositories/role-repository.js'
import { type StoredPrincipal, firstNotHeld } from '../domain/principal.js'
import { Forbidden, InvalidInput, NotFound } from '../domain/errors.js'

export type { StoredPermission }

export interface Role extends StoredRole {
  // Whether the role's grants are fixed.
  protected: boolean
}

export interface NewRole {
  name: string
  description?: string
  permissions?: string[]
}

export interface RoleChanges {
  description?: string
  permissions?: string[]
}

// Grants every permission, and cannot change, so no change of roles can lock every admin out.
const PROTECTED_ROLE = 'admin'

function withProtection (role: StoredRole): Role {
  return { ...role, protected: role.name === PROTECTED_ROLE }
}

// The registry of roles and the permissions each grants. Who may do what is read from it on
// every request, so a change applies at once, on every instance.
export class RoleService {
  constructor (private readonly repository: RoleRepository) {}

  async list (): Promise<Role[]> {
    return (await this.repository.list()).map(withProtection)
  }

  async listPermissions (): Promise<StoredPermission[]> {
    return await this.repository.listPermissions()
  }

  async create (input: NewRole, caller: StoredPrincipal): Promise<Role> {
    const permissions = await this.checkedPermissions(input.permissions ?? [], caller)
    await this.repository.insert({ name: input.name, description: input.description ?? '', permissions })
    return await this.get(input.name)
  }

  async change (name: string, changes: RoleChanges, caller: StoredPrincipal): Promise<Role> {
    if (name.toLowerCase() === PROTECTED_ROLE) {
      throw new InvalidInput('protected_role', 'name', `The ${PROTECTED_ROLE} role grants every permission and cannot change`)
    }
    const permissions = changes.permissions === undefined ? undefined : await this.checkedPermissions(changes.permissions, caller)
    // As with changing a user: only a caller who holds everything the role grants may change it,
    // or taking a permission away would be open to someone who could never grant it.
    const found = await this.repository.update(name, { description: changes.description, permissions }, (granted) => {
      const notHeld = firstNotHeld(caller, granted)
      if (notHeld !== undefined) throw new Forbidden(`The ${name} role grants the ${notHeld} permission, which only a user who has it can change`)
    })
    if (!found) throw notFound(name)
    return await this.get(name)
  }

  private async get (name: string): Promise<Role> {
    const role = await this.repository.findByName(name)
    if (role === undefined) throw notFound(name)
    return withProtection(role)
  }

  // The permissions given, each once, in order; every one must exist, and the caller must hold
  // it: managing roles is no way to gain a permission.
  private async checkedPermissions (given: string[], caller: StoredPrincipal): Promise<string[]> {
    const known = new Set((await this.repository.listPermissions()).map((permission) => permission.name))
    const unknown = given.findIndex((permission) => !known.has(permission))
    if (unknown !== -1) {
      throw new InvalidInput('unknown_permission', `permissions[${unknown}]`, `${given[unknown] ?? ''} is not a permission`)
    }
    const notHeld = firstNotHeld(caller, given)
    if (notHeld !== undefined) throw new Forbidden(`Only a user who has the ${notHeld} permission can grant it`)
    return [...new Set(given)]
  }
}

// Granting a role hands out every permission it grants, so it takes a granter who holds them all,
// and the admin role also takes assign-admin-role: granting roles is no way to gain a permission.
// `permissions` is undefined when there is no such role.
export function checkRoleGrantable (role: string, permissions: string[] | undefined, granter: StoredPrincipal, field: string): void {
  if (permissions === undefined) throw new InvalidInput('unknown_role', field, `${role} is not a role`)
  if (role === PROTECTED_ROLE && !granter.permissions.includes('assign-admin-role')) {
    throw new Forbidden(`Granting the ${PROTECTED_ROLE} role requires the assign-admin-role permission`, field)
  }
  const notHeld = firstNotHeld(granter, permissions)
  if (notHeld !== undefined) {
    throw new Forbidden(`The ${role} role grants the ${notHeld} permission, which only a user who has it can hand out`, field)
  }
}

function notFound (name: string): NotFound {
  return new NotFound(`Role ${name} not found`)
}
