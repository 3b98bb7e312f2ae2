import type { Knex } from 'knex'
import { Conflict } from '../domain/errors.js'
import { supportsRowLocks, toDatabaseTime, violatedUniqueColumn } from './sql.js'

// The account's new email, verified or not; the unique index decides whether another account
// has it (regardless of case), so of two accounts racing for one address one gets it.
export async function updateAccountEmail (trx: Knex.Transaction, id: number, email: string, verified: boolean, at: Date): Promise<boolean> {
  try {
    const found = await trx('users').where({ id }).whereNot('status', 'd')
      .update({ email, email_normalized: email.toLowerCase(), email_isvalid: verified, updated_at: toDatabaseTime(at) })
    return found === 1
  } catch (error) {
    if (violatedUniqueColumn(error, ['email_normalized']) === 'email_normalized') {
      throw new Conflict('email_taken', 'new_email', 'new_email is already the email of another account')
    }
    throw error
  }
}

// The account with this email (regardless of case, whatever its status), if there is one.
export async function selectIdByEmail (knex: Knex, email: string): Promise<number | undefined> {
  const row = await knex('users').where({ email_normalized: email.toLowerCase() }).first<{ id: number } | undefined>('id')
  return row?.id
}

// Locks the user's row until the transaction ends: changes that count or replace what the
// account has (its codes, its profile) then apply one after the other. False when there is no
// such user or it is deleted.
export async function lockUserRow (trx: Knex.Transaction, id: number): Promise<boolean> {
  const query = trx('users').where({ id }).whereNot('status', 'd').first<{ id: number } | undefined>('id')
  return await (supportsRowLocks(trx) ? query.forUpdate() : query) !== undefined
}
