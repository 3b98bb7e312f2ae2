// Who is calling: a user (through a token of their own) or a service client (through a
// client-credentials token). Both hold roles, and so permissions; a token also carries scopes.
// The two kinds name their ids differently on purpose: a client's row id is never a user's id.
import { Forbidden } from './errors.js'

export interface UserPrincipal {
  kind: 'user'
  userId: number
  username: string
  roles: string[]
  // What the roles grant.
  permissions: string[]
  // When the password was last reset or changed (epoch ms): tokens issued before then are void.
  passwordChangedAt?: number
  // Set until the user changes the password they were given (Rocket.Chat's requirePasswordChange):
  // until then they may only read themselves and change it.
  requirePasswordChange?: boolean
}

export interface ClientPrincipal {
  kind: 'client'
  // The client's row, as the tables that record who did what refer to it.
  clientRowId: number
  // The client's public identifier (`client_id` in OAuth2), as its tokens name it.
  clientId: string
  name: string
  roles: string[]
  permissions: string[]
}

export type StoredPrincipal = UserPrincipal | ClientPrincipal

// A principal as a request knows it: with the scopes its token was granted.
export type Principal = StoredPrincipal & { scopes: string[] }

// Who did something, as the tables record it: the user, or the client acting on its own behalf;
// both null for the service itself (the first admin, the operator's CLI).
export interface Actor {
  userId: number | null
  clientRowId: number | null
}

export const SERVICE_ACTOR: Actor = { userId: null, clientRowId: null }

export function actorOf (principal: StoredPrincipal | null): Actor {
  if (principal === null) return SERVICE_ACTOR
  return principal.kind === 'user'
    ? { userId: principal.userId, clientRowId: null }
    : { userId: null, clientRowId: principal.clientRowId }
}

// The user a principal is, or undefined for a service client, which is no user.
export function userIdOf (principal: StoredPrincipal): number | undefined {
  return principal.kind === 'user' ? principal.userId : undefined
}

// The user a caller is, for what only a user does: a service client's token is a 403 not_a_user.
export function callerUserId (principal: StoredPrincipal): number {
  const userId = userIdOf(principal)
  if (userId === undefined) throw new Forbidden('This token is a service client\'s, which is no user', undefined, 'not_a_user')
  return userId
}

// The first of the permissions the principal does not hold, or undefined when it holds them all.
export function firstNotHeld (principal: StoredPrincipal, permissions: readonly string[]): string | undefined {
  return permissions.find((permission) => !principal.permissions.includes(permission))
}

// Anyone may change themselves. Changing another user takes edit-other-user-info and every
// permission they have (`permissionsOfUser`): no one changes a user who can do more than they can.
export function checkMayChangeUser (caller: StoredPrincipal, userId: number, permissionsOfUser: readonly string[]): void {
  if (userIdOf(caller) === userId) return
  checkMayActOnUser(caller, 'edit-other-user-info', permissionsOfUser)
}

export function requirePermission (caller: StoredPrincipal, permission: string): void {
  if (!caller.permissions.includes(permission)) throw new Forbidden(`This operation requires the ${permission} permission`)
}

// Acting on a user in a way that takes `permission`: the caller holds it, and every permission
// the user has (`permissionsOfUser`).
export function checkMayActOnUser (caller: StoredPrincipal, permission: string, permissionsOfUser: readonly string[]): void {
  requirePermission(caller, permission)
  const notHeld = firstNotHeld(caller, permissionsOfUser)
  if (notHeld !== undefined) throw new Forbidden(`This user has the ${notHeld} permission, which you do not have`)
}

// How a token's `sub` names its principal: a user by its id in canonical decimal, a service
// client by its client_id (`cl_` and 24 letters and digits of base32), so the two never meet.
export const MAX_USER_ID = 4294967295
export const CLIENT_ID_PATTERN = /^cl_[a-z2-7]{24}$/

export type Subject = { kind: 'user', userId: number } | { kind: 'client', clientId: string }

export function subjectOf (sub: unknown): Subject | undefined {
  if (typeof sub !== 'string') return undefined
  if (CLIENT_ID_PATTERN.test(sub)) return { kind: 'client', clientId: sub }
  if (!/^[1-9][0-9]{0,9}$/.test(sub) || Number(sub) > MAX_USER_ID) return undefined
  return { kind: 'user', userId: Number(sub) }
}

export function subOf (principal: StoredPrincipal): string {
  return principal.kind === 'user' ? String(principal.userId) : principal.clientId
}
