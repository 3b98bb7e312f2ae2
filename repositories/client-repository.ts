import type { Knex } from 'knex'
import type { Actor, ClientPrincipal } from '../domain/principal.js'
import { type AuditEntry, insertAuditEntry } from './audit-log.js'
import { selectRolePermissions } from './role-repository.js'
import { type PageWindow, fromDatabaseTime, retryingDeadlocks, supportsRowLocks, toDatabaseTime, violatedUniqueColumn, windowOf } from './sql.js'

export interface StoredClient {
  id: number
  clientId: string
  name: string
  // Ordered by name.
  roles: string[]
  // What the roles grant.
  permissions: string[]
  scopes: string[]
  enabled: boolean
  createdBy: Actor
  // The client_id of the client that created it, when one did.
  createdByClientId: string | null
  createdAt: string
  updatedAt: string
  secretRotatedAt: string
  lastUsedAt: string | null
}

export interface NewClient {
  clientId: string
  name: string
  secretHash: string
  scopes: string[]
  enabled: boolean
  createdBy: Actor
  at: Date
}

export interface ClientChange {
  name?: string
  scopes?: string[]
  enabled?: boolean
  secretHash?: string
}

export interface ClientSecret {
  id: number
  secretHash: string
  enabled: boolean
  scopes: string[]
  lastUsedAt: string | null
}

interface ClientRow {
  id: number
  client_id: string
  name: string
  scopes: string
  enabled: number | boolean
  created_by: number | null
  created_by_client: number | null
  creator_client_id: string | null
  created_at: string
  updated_at: string
  secret_rotated_at: string
  last_used_at: string | null
}

const CLIENT_COLUMNS = ['c.id', 'c.client_id', 'c.name', 'c.scopes', 'c.enabled', 'c.created_by', 'c.created_by_client',
  'creator.client_id as creator_client_id', 'c.created_at', 'c.updated_at', 'c.secret_rotated_at', 'c.last_used_at']

function scopesOf (text: string): string[] {
  return text === '' ? [] : text.split(' ')
}

// The clients that are not deleted, with the client_id of their creator.
function liveClients (knex: Knex): Knex.QueryBuilder {
  return knex('oauth_clients as c')
    .leftJoin('oauth_clients as creator', 'creator.id', 'c.created_by_client')
    .whereNull('c.deleted_at')
}

// Each client with its roles and what they grant: two more queries however many clients.
async function withRoles (knex: Knex, rows: ClientRow[]): Promise<StoredClient[]> {
  if (rows.length === 0) return []
  const ids = rows.map((row) => row.id)
  const [roles, grants] = await Promise.all([
    knex('oauth_client_roles as cr').join('roles as r', 'r.id', 'cr.role_id').whereIn('cr.client_id', ids)
      .orderBy('r.name').select<Array<{ client_id: number, name: string }>>('cr.client_id', 'r.name'),
    knex('oauth_client_roles as cr').join('role_permissions as rp', 'rp.role_id', 'cr.role_id').whereIn('cr.client_id', ids)
      .distinct('cr.client_id', 'rp.permission').orderBy('rp.permission') as Promise<Array<{ client_id: number, permission: string }>>
  ])
  return rows.map((row) => ({
    id: row.id,
    clientId: row.client_id,
    name: row.name,
    roles: roles.filter((role) => role.client_id === row.id).map((role) => role.name),
    permissions: grants.filter((grant) => grant.client_id === row.id).map((grant) => grant.permission),
    scopes: scopesOf(row.scopes),
    enabled: Boolean(row.enabled),
    createdBy: { userId: row.created_by, clientRowId: row.created_by_client },
    createdByClientId: row.creator_client_id,
    createdAt: fromDatabaseTime(row.created_at),
    updatedAt: fromDatabaseTime(row.updated_at),
    secretRotatedAt: fromDatabaseTime(row.secret_rotated_at),
    lastUsedAt: row.last_used_at === null ? null : fromDatabaseTime(row.last_used_at)
  }))
}

// The writes of one change of the client registry; every method runs in the caller's transaction.
export class ClientWriter {
  constructor (private readonly trx: Knex.Transaction) {}

  // The client, its row locked until the transaction ends, so changes of one client apply one
  // after the other and what it is granted cannot change meanwhile.
  async lockClient (clientId: string): Promise<StoredClient | undefined> {
    const query = liveClients(this.trx).where('c.client_id', clientId).select<ClientRow[]>(CLIENT_COLUMNS)
    if (supportsRowLocks(this.trx)) void query.forUpdate()
    const [client] = await withRoles(this.trx, await query)
    return client
  }

  // What the role grants (undefined: no such role), unchanged until the transaction ends.
  async rolePermissions (name: string): Promise<string[] | undefined> {
    return await selectRolePermissions(this.trx, name, { lock: true })
  }

  // The new client's row id; undefined when its client_id is taken.
  async insert (client: NewClient): Promise<number | undefined> {
    const at = toDatabaseTime(client.at)
    try {
      const [id] = await this.trx('oauth_clients').insert({
        client_id: client.clientId,
        name: client.name,
        secret_hash: client.secretHash,
        scopes: client.scopes.join(' '),
        enabled: client.enabled,
        created_by: client.createdBy.userId,
        created_by_client: client.createdBy.clientRowId,
        created_at: at,
        updated_at: at,
        secret_rotated_at: at
      })
      return Number(id)
    } catch (error) {
      if (violatedUniqueColumn(error, ['client_id']) !== undefined) return undefined
      throw error
    }
  }

  // Replaces the client's roles with those of these names (which the caller made sure exist).
  async setRoles (id: number, roleNames: string[]): Promise<void> {
    await this.trx('oauth_client_roles').where({ client_id: id }).delete()
    if (roleNames.length === 0) return
    const roleIds = await this.trx('roles').whereIn('name', roleNames).pluck<number[]>('id')
    await this.trx('oauth_client_roles').insert(roleIds.map((roleId) => ({ client_id: id, role_id: roleId })))
  }

  async update (id: number, change: ClientChange, at: Date): Promise<void> {
    const time = toDatabaseTime(at)
    await this.trx('oauth_clients').where({ id }).update({
      ...(change.name !== undefined ? { name: change.name } : {}),
      ...(change.scopes !== undefined ? { scopes: change.scopes.join(' ') } : {}),
      ...(change.enabled !== undefined ? { enabled: change.enabled } : {}),
      ...(change.secretHash !== undefined ? { secret_hash: change.secretHash, secret_rotated_at: time } : {}),
      updated_at: time
    })
  }

  // Deletes the client: its row stays (records name it), without a secret, its roles and its
  // refresh tokens gone.
  async delete (id: number, at: Date): Promise<void> {
    const time = toDatabaseTime(at)
    await this.trx('oauth_clients').where({ id }).update({ deleted_at: time, enabled: false, secret_hash: null, updated_at: time })
    await this.trx('oauth_client_roles').where({ client_id: id }).delete()
    await this.trx('refresh_tokens').where({ client_id: id }).whereNull('revoked_at').update({ revoked_at: time })
  }

  async recordAudit (entry: AuditEntry): Promise<void> {
    await insertAuditEntry(this.trx, entry)
  }
}

// The service clients: principals of their own, with roles.
export class ClientRepository {
  constructor (private readonly knex: Knex) {}

  // Runs `work` in one transaction, again from the start if the database broke a deadlock.
  async transaction<T> (work: (writer: ClientWriter) => Promise<T>): Promise<T> {
    return await retryingDeadlocks(this.knex, async (trx) => await work(new ClientWriter(trx)))
  }

  async find (clientId: string): Promise<StoredClient | undefined> {
    const [client] = await withRoles(this.knex, await liveClients(this.knex).where('c.client_id', clientId).select<ClientRow[]>(CLIENT_COLUMNS))
    return client
  }

  // One page of the clients, newest first, and how many there are.
  async list (window: PageWindow): Promise<{ total: number, clients: StoredClient[] }> {
    const { total, rows } = await windowOf<ClientRow>(liveClients(this.knex), window, [{ column: 'c.id', order: 'desc' }], CLIENT_COLUMNS)
    return { total, clients: await withRoles(this.knex, rows) }
  }

  // What authenticating the client needs; undefined for an unknown or deleted client.
  async findSecret (clientId: string): Promise<ClientSecret | undefined> {
    const row = await this.knex('oauth_clients').where({ client_id: clientId }).whereNull('deleted_at')
      .first<{ id: number, secret_hash: string, enabled: number | boolean, scopes: string, last_used_at: string | null } | undefined>(
        'id', 'secret_hash', 'enabled', 'scopes', 'last_used_at')
    return row === undefined
      ? undefined
      : {
          id: row.id,
          secretHash: row.secret_hash,
          enabled: Boolean(row.enabled),
          scopes: scopesOf(row.scopes),
          lastUsedAt: row.last_used_at === null ? null : fromDatabaseTime(row.last_used_at)
        }
  }

  // The client behind a token, if it still exists and is enabled.
  async findActivePrincipal (clientId: string): Promise<ClientPrincipal | undefined> {
    const row = await this.knex('oauth_clients').where({ client_id: clientId, enabled: true }).whereNull('deleted_at')
      .first<{ id: number, name: string } | undefined>('id', 'name')
    if (row === undefined) return undefined
    const [roles, permissions] = await Promise.all([
      this.knex('oauth_client_roles as cr').join('roles as r', 'r.id', 'cr.role_id').where('cr.client_id', row.id).orderBy('r.name').pluck<string[]>('r.name'),
      this.knex('oauth_client_roles as cr').join('role_permissions as rp', 'rp.role_id', 'cr.role_id').where('cr.client_id', row.id)
        .distinct('rp.permission').orderBy('rp.permission').pluck<string[]>('rp.permission')
    ])
    return { kind: 'client', clientRowId: row.id, clientId, name: row.name, roles, permissions }
  }

  // The scopes the client may have now, if it exists and is enabled.
  async activeScopes (clientId: string): Promise<string[] | undefined> {
    const row = await this.knex('oauth_clients').where({ client_id: clientId, enabled: true }).whereNull('deleted_at')
      .first<{ scopes: string } | undefined>('scopes')
    return row === undefined ? undefined : scopesOf(row.scopes)
  }

  async recordUse (id: number, at: Date): Promise<void> {
    await this.knex('oauth_clients').where({ id }).update({ last_used_at: toDatabaseTime(at) })
  }
}
