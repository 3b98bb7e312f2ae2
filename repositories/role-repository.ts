import type { Knex } from 'knex'
import { Conflict } from '../domain/errors.js'
import { retryingDeadlocks, supportsRowLocks, violatedUniqueColumn } from './sql.js'

export interface StoredRole {
  name: string
  description: string
  // Ordered by name.
  permissions: string[]
}

export interface StoredPermission {
  name: string
  description: string
}

export interface RoleChange {
  description?: string
  // Replaces every grant of the role.
  permissions?: string[]
}

interface RoleRow {
  id: number
  name: string
  description: string
}

// The permissions the role grants; undefined when there is no role of that name (compared here,
// not by the database, whose collation may ignore case). With `lock`, inside a transaction, the
// role's grants cannot change until it ends (a change locks the role's row).
export async function selectRolePermissions (knex: Knex, name: string, options: { lock: boolean }): Promise<string[] | undefined> {
  const query = knex('roles').where({ name }).select<Array<{ id: number, name: string }>>('id', 'name')
  if (options.lock && supportsRowLocks(knex)) void query.forShare()
  const role = (await query).find((candidate) => candidate.name === name)
  if (role === undefined) return undefined
  return await knex('role_permissions').where({ role_id: role.id }).pluck<string[]>('permission')
}

function roleExists (name: string): Conflict {
  return new Conflict('role_exists', 'name', `A role named ${name} already exists`)
}

// A role's name, compared regardless of case on every database: MySQL's default collations
// ignore case but SQLite's does not, and a role must mean the same on both.
function whereNameIs (query: Knex.QueryBuilder, name: string): Knex.QueryBuilder {
  return query.whereRaw('lower(??) = ?', ['name', name.toLowerCase()])
}

async function grant (trx: Knex.Transaction, roleId: number, permissions: string[]): Promise<void> {
  if (permissions.length === 0) return
  await trx('role_permissions').insert(permissions.map((permission) => ({ role_id: roleId, permission })))
}

// The roles, each with the permissions it grants.
export class RoleRepository {
  constructor (private readonly knex: Knex) {}

  // Every role, ordered by name: two queries however many roles.
  async list (): Promise<StoredRole[]> {
    const [roles, grants] = await Promise.all([
      this.knex('roles').orderBy('name').select<RoleRow[]>('id', 'name', 'description'),
      this.knex('role_permissions').orderBy('permission').select<Array<{ role_id: number, permission: string }>>('role_id', 'permission')
    ])
    return roles.map((role) => ({
      name: role.name,
      description: role.description,
      permissions: grants.filter((grant) => grant.role_id === role.id).map((grant) => grant.permission)
    }))
  }

  // The role of this name, whatever its case.
  async findByName (name: string): Promise<StoredRole | undefined> {
    const role = await whereNameIs(this.knex('roles'), name).first<RoleRow | undefined>('id', 'name', 'description')
    if (role === undefined) return undefined
    const permissions = await this.knex('role_permissions').where({ role_id: role.id }).orderBy('permission').pluck<string[]>('permission')
    return { name: role.name, description: role.description, permissions }
  }

  async listPermissions (): Promise<StoredPermission[]> {
    return await this.knex('permissions').orderBy('name').select<StoredPermission[]>('name', 'description')
  }

  // Adds the role with its grants in one transaction. A name taken in another case is found
  // here; two creates racing with one exact name are decided by the unique index.
  async insert (role: StoredRole): Promise<void> {
    await retryingDeadlocks(this.knex, async (trx) => {
      if (await whereNameIs(trx('roles'), role.name).first('id') !== undefined) throw roleExists(role.name)
      let ids: number[]
      try {
        ids = await trx('roles').insert({ name: role.name, description: role.description })
      } catch (error) {
        if (violatedUniqueColumn(error, ['name']) !== undefined) throw roleExists(role.name)
        throw error
      }
      await grant(trx, Number(ids[0]), role.permissions)
    })
  }

  // Changes the role in one transaction, its row locked meanwhile so that changes of one role
  // apply one after the other; false (and nothing changed) when there is no such role.
  // `authorize` sees the permissions the role grants before the change, read under the role's
  // lock (every change of them takes it), and may refuse by throwing.
  async update (name: string, change: RoleChange, authorize: (granted: string[]) => void): Promise<boolean> {
    return await retryingDeadlocks(this.knex, async (trx) => {
      const query = whereNameIs(trx('roles'), name).first<RoleRow | undefined>('id')
      if (supportsRowLocks(trx)) void query.forUpdate()
      const role = await query
      if (role === undefined) return false
      authorize(await trx('role_permissions').where({ role_id: role.id }).pluck<string[]>('permission'))
      if (change.description !== undefined) await trx('roles').where({ id: role.id }).update({ description: change.description })
      if (change.permissions !== undefined) {
        await trx('role_permissions').where({ role_id: role.id }).delete()
        await grant(trx, role.id, change.permissions)
      }
      return true
    })
  }
}
