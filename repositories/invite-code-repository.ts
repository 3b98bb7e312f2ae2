import type { Knex } from 'knex'
import type { Actor } from '../domain/principal.js'
import { selectRolePermissions } from './role-repository.js'
import { type PageWindow, fromDatabaseTime, retryingDeadlocks, startsWith, supportsRowLocks, toDatabaseTime, violatedUniqueColumn, windowOf } from './sql.js'

// Whether an invite can be used, and if not why (decided by inviteStatus in services/).
export type InviteStatus = 'valid' | 'used' | 'expired' | 'revoked'

export interface StoredInvite {
  id: number
  code: string
  name: string
  email: string | null
  role: string | null
  forcedUsername: string | null
  extraData: Record<string, unknown> | null
  generatedAt: string
  sentAt: string | null
  expiresAt: string | null
  usedAt: string | null
  revokedAt: string | null
  // The account created with the code, and the admin who issued it.
  userId: number | null
  invitedBy: number | null
}

interface InviteRow {
  id: number
  code: string
  name: string
  email: string | null
  role: string | null
  forced_username: string | null
  extra_data: string | null
  generated_at: string
  sent_at: string | null
  expires_at: string | null
  used_at: string | null
  revoked_at: string | null
  user_id: number | null
  invited_by: number | null
}

// Codes match regardless of case.
export function normalizedCode (code: string): string {
  return code.toLowerCase()
}

function optionalTime (value: string | null): string | null {
  return value === null ? null : fromDatabaseTime(value)
}

export function inviteFromRow (row: InviteRow): StoredInvite {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    email: row.email,
    role: row.role,
    forcedUsername: row.forced_username,
    extraData: row.extra_data === null ? null : JSON.parse(row.extra_data) as Record<string, unknown>,
    generatedAt: fromDatabaseTime(row.generated_at),
    sentAt: optionalTime(row.sent_at),
    expiresAt: optionalTime(row.expires_at),
    usedAt: optionalTime(row.used_at),
    revokedAt: optionalTime(row.revoked_at),
    userId: row.user_id,
    invitedBy: row.invited_by
  }
}

// The invite with this code (in any case). With `lock`, inside a transaction, no other
// transaction can use or revoke it until this one ends.
export async function selectInvite (db: Knex, code: string, options: { lock: boolean }): Promise<StoredInvite | undefined> {
  const query = db('invite_codes').where({ code_normalized: normalizedCode(code) }).first<InviteRow | undefined>('*')
  if (options.lock && supportsRowLocks(db)) void query.forUpdate()
  const row = await query
  return row === undefined ? undefined : inviteFromRow(row)
}

export interface NewInvite {
  code: string
  name: string
  email: string | null
  role: string | null
  forcedUsername: string | null
  extraData: Record<string, unknown> | null
  sentAt: Date | null
  expiresAt: Date | null
  invitedBy: Actor
}

export interface InviteFilter {
  status?: InviteStatus
  // Exact, regardless of case.
  email?: string
  // The start of the code or of the name, regardless of case.
  search?: string
}

function optionalDatabaseTime (time: Date | null): string | null {
  return time === null ? null : toDatabaseTime(time)
}

// The conditions of `inviteStatus`, in SQL: a used code stays used; then revoked; then expired.
function whereStatus (query: Knex.QueryBuilder, status: InviteStatus, now: string): void {
  if (status === 'used') {
    void query.whereNotNull('used_at')
    return
  }
  void query.whereNull('used_at')
  if (status === 'revoked') {
    void query.whereNotNull('revoked_at')
    return
  }
  void query.whereNull('revoked_at')
  if (status === 'expired') void query.where('expires_at', '<=', now)
  else void query.where((where) => { void where.whereNull('expires_at').orWhere('expires_at', '>', now) })
}

export class InviteCodeRepository {
  constructor (private readonly knex: Knex) {}

  async findByCode (code: string): Promise<StoredInvite | undefined> {
    return await selectInvite(this.knex, code, { lock: false })
  }

  // Stores the invite and returns it; undefined when its code is already one, in any case (the
  // unique index decides, so two concurrent issues of one code cannot both succeed).
  async insert (invite: NewInvite, at: Date): Promise<StoredInvite | undefined> {
    let ids: number[]
    try {
      // In a transaction of its own, as every change is (an Idempotency-Key's records it).
      ids = await retryingDeadlocks(this.knex, async (trx) => await trx('invite_codes').insert({
        code: invite.code,
        code_normalized: normalizedCode(invite.code),
        name: invite.name,
        email: invite.email,
        email_normalized: invite.email?.toLowerCase() ?? null,
        role: invite.role,
        forced_username: invite.forcedUsername,
        extra_data: invite.extraData === null ? null : JSON.stringify(invite.extraData),
        generated_at: toDatabaseTime(at),
        sent_at: optionalDatabaseTime(invite.sentAt),
        expires_at: optionalDatabaseTime(invite.expiresAt),
        invited_by: invite.invitedBy.userId,
        invited_by_client: invite.invitedBy.clientRowId
      }))
    } catch (error) {
      if (violatedUniqueColumn(error, ['code_normalized']) !== undefined) return undefined
      throw error
    }
    const row = await this.knex('invite_codes').where({ id: Number(ids[0]) }).first<InviteRow>('*')
    return inviteFromRow(row)
  }

  // One page of the invites that pass `filter` as they stand at `now`, newest first, and how
  // many pass it in all.
  async list (filter: InviteFilter, window: PageWindow, now: Date): Promise<{ total: number, invites: StoredInvite[] }> {
    const query = this.knex('invite_codes')
    if (filter.status !== undefined) whereStatus(query, filter.status, toDatabaseTime(now))
    if (filter.email !== undefined) void query.where({ email_normalized: filter.email.toLowerCase() })
    if (filter.search !== undefined) {
      const { search } = filter
      // The name is compared through its case-insensitive collation (LIKE folds ASCII case on SQLite).
      void query.where((either) => {
        void either.whereRaw(...startsWith('code_normalized', normalizedCode(search))).orWhereRaw(...startsWith('name', search))
      })
    }
    const { total, rows } = await windowOf<InviteRow>(query, window, [{ column: 'id', order: 'desc' }])
    return { total, invites: rows.map(inviteFromRow) }
  }

  // Marks the invite revoked at `at` unless it is already used or revoked, the row locked
  // meanwhile so a concurrent account creation either uses it first or finds it revoked.
  // Returns the invite as it then stands; undefined when there is none.
  async revoke (code: string, at: Date): Promise<StoredInvite | undefined> {
    return await retryingDeadlocks(this.knex, async (trx) => {
      const invite = await selectInvite(trx, code, { lock: true })
      if (invite === undefined || invite.usedAt !== null || invite.revokedAt !== null) return invite
      await trx('invite_codes').where({ id: invite.id }).update({ revoked_at: toDatabaseTime(at) })
      return await selectInvite(trx, code, { lock: false })
    })
  }

  // The permissions the role grants; undefined when there is no such role.
  async rolePermissions (name: string): Promise<string[] | undefined> {
    return await selectRolePermissions(this.knex, name, { lock: false })
  }
}
