import type { Knex } from 'knex'
import { fromDatabaseTime, supportsRowLocks, toDatabaseTime } from './sql.js'

export type CodePurpose = 'verify_email' | 'recover' | 'change_email'

export interface NewAccountCode {
  userId: number
  purpose: CodePurpose
  codeHash: string
  // For change_email: the address the code confirms.
  email?: string
  at: Date
  expiresAt: Date
}

export interface StoredAccountCode {
  id: number
  userId: number
  purpose: CodePurpose
  email: string | null
  expiresAt: string
  spentAt: string | null
}

interface AccountCodeRow {
  id: number
  user_id: number
  purpose: CodePurpose
  email: string | null
  expires_at: string
  spent_at: string | null
}

export async function insertAccountCode (trx: Knex.Transaction, code: NewAccountCode): Promise<void> {
  const at = toDatabaseTime(code.at)
  await trx('account_codes').insert({
    user_id: code.userId,
    purpose: code.purpose,
    code_hash: code.codeHash,
    email: code.email ?? null,
    created_at: at,
    expires_at: toDatabaseTime(code.expiresAt)
  })
}

// The code with this hash, locked until the transaction ends when `lock` is set: of two requests
// racing with one code, the second finds it as the first left it.
export async function selectAccountCode (knex: Knex, codeHash: string, options: { lock?: boolean } = {}): Promise<StoredAccountCode | undefined> {
  const query = knex('account_codes').where({ code_hash: codeHash })
    .first<AccountCodeRow | undefined>('id', 'user_id', 'purpose', 'email', 'expires_at', 'spent_at')
  const row = await (options.lock === true && supportsRowLocks(knex) ? query.forUpdate() : query)
  if (row === undefined) return undefined
  return {
    id: Number(row.id),
    userId: row.user_id,
    purpose: row.purpose,
    email: row.email,
    expiresAt: fromDatabaseTime(row.expires_at),
    spentAt: row.spent_at === null ? null : fromDatabaseTime(row.spent_at)
  }
}

// Spends every unspent code of this purpose the account has.
export async function spendAccountCodesOf (trx: Knex.Transaction, userId: number, purpose: CodePurpose, at: Date): Promise<void> {
  await trx('account_codes').where({ user_id: userId, purpose }).whereNull('spent_at').update({ spent_at: toDatabaseTime(at) })
}

// Spends the code; false (and nothing changed) when it was spent already.
export async function spendAccountCode (trx: Knex.Transaction, id: number, at: Date): Promise<boolean> {
  const changed = await trx('account_codes').where({ id }).whereNull('spent_at').update({ spent_at: toDatabaseTime(at) })
  return changed === 1
}

// How many codes of this purpose the account was given since then.
export async function countAccountCodesSince (knex: Knex, userId: number, purpose: CodePurpose, since: Date): Promise<number> {
  const row = await knex('account_codes').where({ user_id: userId, purpose }).where('created_at', '>=', toDatabaseTime(since))
    .count<Array<{ count: number | string }>>({ count: '*' })
  return Number(row[0]?.count ?? 0)
}
