import type { Knex } from 'knex'
import { supportsRowLocks } from './sql.js'

// Locks the user's row until the transaction ends: changes that count or replace what the
// account has (its codes, say) then apply one after the other. False when there is no such user.
export async function lockUserRow (trx: Knex.Transaction, id: number): Promise<boolean> {
  const query = trx('users').where({ id }).first<{ id: number } | undefined>('id')
  return await (supportsRowLocks(trx) ? query.forUpdate() : query) !== undefined
}
