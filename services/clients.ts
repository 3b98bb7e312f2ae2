import { type StoredPrincipal, actorOf, firstNotHeld } from '../domain/principal.js'
import { ALL_SCOPES, parseScope } from '../domain/scopes.js'
import type { ClientChange, ClientRepository, ClientWriter, StoredClient } from '../repositories/client-repository.js'
import type { PageWindow } from '../repositories/sql.js'
import { Forbidden, InvalidInput, NotFound } from '../domain/errors.js'
import { characterCount } from '../domain/formats.js'
import { clientSecretHash, newClientId, newClientSecret } from './opaque-secrets.js'
import { checkRoleGrantable } from './roles.js'

export type { StoredClient }

export const CLIENT_NAME_MAX_LENGTH = 255

export interface NewClientInput {
  name: string
  roles?: string[]
  // Space-separated: the scopes the client's tokens may have (all by default).
  scope?: string
  enabled?: boolean
}

export interface ClientChanges {
  name?: string
  roles?: string[]
  scope?: string
  enabled?: boolean
}

// A client with its secret, which exists only in this answer: it is kept as a hash.
export interface ClientWithSecret {
  client: StoredClient
  secret: string
}

// Who manages a client: a principal through the API, or null for the operator's CLI, which
// may do anything (it holds the database's credentials anyway).
export type ClientManager = StoredPrincipal | null

// A generated client_id that is already taken is drawn again (a 120-bit collision is not expected).
const CLIENT_ID_ATTEMPTS = 3

// Service clients: principals of their own, which get tokens with client_credentials. Granting
// one roles follows the rule of granting roles to users: only what the granter holds. Changing,
// rotating or deleting one takes every permission it has, so no one takes over a client that can
// do more than they can.
export class ClientService {
  constructor (private readonly repository: ClientRepository) {}

  async create (input: NewClientInput, creator: ClientManager): Promise<ClientWithSecret> {
    const name = checkedName(input.name)
    const scopes = checkedScopes(input.scope ?? ALL_SCOPES.join(' '))
    const roles = uniqueRoles(input.roles ?? [])
    const at = new Date()
    for (let attempt = 1; ; attempt++) {
      const clientId = newClientId()
      const secret = newClientSecret()
      const client = await this.repository.transaction(async (writer) => {
        await checkRolesGrantable(writer, roles, creator)
        const id = await writer.insert({ clientId, name, secretHash: clientSecretHash(clientId, secret), scopes, enabled: input.enabled ?? true, createdBy: actorOf(creator), at })
        if (id === undefined) return undefined
        await writer.setRoles(id, roles)
        await writer.recordAudit({ actor: actorOf(creator), action: 'client.create', subject: { clientRowId: id }, at })
        return await writer.lockClient(clientId)
      })
      if (client !== undefined) return { client, secret }
      if (attempt === CLIENT_ID_ATTEMPTS) throw new Error('No free client_id was drawn')
    }
  }

  async list (window: PageWindow): Promise<{ total: number, clients: StoredClient[] }> {
    return await this.repository.list(window)
  }

  async get (clientId: string): Promise<StoredClient> {
    const client = await this.repository.find(clientId)
    if (client === undefined) throw notFound(clientId)
    return client
  }

  async update (clientId: string, changes: ClientChanges, caller: ClientManager): Promise<StoredClient> {
    const name = changes.name === undefined ? undefined : checkedName(changes.name)
    const scopes = changes.scope === undefined ? undefined : checkedScopes(changes.scope)
    const roles = changes.roles === undefined ? undefined : uniqueRoles(changes.roles)
    return await this.change(clientId, caller, 'client.update', async (writer, client, at) => {
      if (roles !== undefined) {
        await checkRolesGrantable(writer, roles, caller)
        await writer.setRoles(client.id, roles)
      }
      const change: ClientChange = { name, scopes, enabled: changes.enabled }
      await writer.update(client.id, change, at)
    })
  }

  // A new secret; the old one stops working at once. Tokens already issued stay valid until they
  // expire (disable the client to stop them too).
  async rotateSecret (clientId: string, caller: ClientManager): Promise<ClientWithSecret> {
    const secret = newClientSecret()
    const client = await this.change(clientId, caller, 'client.rotate_secret', async (writer, client, at) => {
      await writer.update(client.id, { secretHash: clientSecretHash(clientId, secret) }, at)
    })
    return { client, secret }
  }

  // The client's tokens stop working at once, its refresh tokens are revoked, and its client_id
  // is never given out again.
  async delete (clientId: string, caller: ClientManager): Promise<void> {
    await this.repository.transaction(async (writer) => {
      const at = new Date()
      const client = await lockedForChange(writer, clientId, caller)
      await writer.delete(client.id, at)
      await writer.recordAudit({ actor: actorOf(caller), action: 'client.delete', subject: { clientRowId: client.id }, at })
    })
  }

  // Runs `apply` on the locked client in one transaction with the audit entry; the client as it is after.
  private async change (
    clientId: string,
    caller: ClientManager,
    action: string,
    apply: (writer: ClientWriter, client: StoredClient, at: Date) => Promise<void>
  ): Promise<StoredClient> {
    return await this.repository.transaction(async (writer) => {
      const at = new Date()
      const client = await lockedForChange(writer, clientId, caller)
      await apply(writer, client, at)
      await writer.recordAudit({ actor: actorOf(caller), action, subject: { clientRowId: client.id }, at })
      return await writer.lockClient(clientId) as StoredClient
    })
  }
}

async function lockedForChange (writer: ClientWriter, clientId: string, caller: ClientManager): Promise<StoredClient> {
  const client = await writer.lockClient(clientId)
  if (client === undefined) throw notFound(clientId)
  const notHeld = caller === null ? undefined : firstNotHeld(caller, client.permissions)
  if (notHeld !== undefined) throw new Forbidden(`This client has the ${notHeld} permission, which you do not have`)
  return client
}

// Every role must exist, and the granter hold what it grants (the operator holds everything);
// checked on the roles' rows, which cannot change until the transaction ends.
async function checkRolesGrantable (writer: ClientWriter, roles: string[], granter: ClientManager): Promise<void> {
  for (const role of roles) {
    const permissions = await writer.rolePermissions(role)
    if (granter !== null) checkRoleGrantable(role, permissions, granter, 'roles')
    else if (permissions === undefined) throw new InvalidInput('unknown_role', 'roles', `${role} is not a role`)
  }
}

function checkedName (name: string): string {
  const trimmed = name.trim()
  if (trimmed === '' || characterCount(trimmed) > CLIENT_NAME_MAX_LENGTH) {
    throw new InvalidInput('invalid_field', 'name', `name must be 1 to ${CLIENT_NAME_MAX_LENGTH} characters, not only spaces`)
  }
  return trimmed
}

function checkedScopes (scope: string): string[] {
  const scopes = parseScope(scope)
  if (scopes === undefined || scopes.length === 0) {
    throw new InvalidInput('invalid_field', 'scope', `scope must be one or more of ${ALL_SCOPES.join(', ')}, separated by spaces`)
  }
  return scopes
}

function uniqueRoles (roles: string[]): string[] {
  return [...new Set(roles)]
}

function notFound (clientId: string): NotFound {
  return new NotFound(`Client ${clientId} not found`)
}
