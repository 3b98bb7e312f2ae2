// Conventions shared by the repositories, so SQLite and MySQL/MariaDB behave alike.
import { AsyncLocalStorage } from 'node:async_hooks'
import type { Knex } from 'knex'
import { IdempotencyKeyInProgress } from '../domain/errors.js'

// Times are stored as UTC text 'YYYY-MM-DD HH:MM:SS.mmm' (mysql2 runs with dateStrings and timezone Z).
export function toDatabaseTime (date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '')
}

export function fromDatabaseTime (value: string): string {
  const [date, time = '00:00:00'] = value.split(' ')
  const [clock, fraction = ''] = time.split('.')
  return `${date}T${clock}.${fraction.padEnd(3, '0').slice(0, 3)}Z`
}

// Whether SELECT ... FOR SHARE / FOR UPDATE mean anything. SQLite has one writer at a time
// (and Knex warns on every locking clause there), so it needs none.
export function supportsRowLocks (db: Knex): boolean {
  return db.client.config.client === 'mysql2'
}

// The Idempotency-Key a request holds while it runs: each transaction it commits records, in
// itself, that the key's change was made, and rolls back if the key is no longer its own (a
// repeat took it over).
export interface HeldKey { keyId: number, claimToken: string }
export const idempotentChange = new AsyncLocalStorage<HeldKey>()

// Transactions that read committed, where the row locks they take are those of the rows they
// write, and no gap lock holds up the inserts of others.
export function readCommitted (db: Knex): Knex.TransactionConfig | undefined {
  return supportsRowLocks(db) ? { isolationLevel: 'read committed' } : undefined
}

// InnoDB gives up on a transaction caught in a deadlock (for instance two creates waiting on
// the gap left by a third's rolled-back duplicate); run again, it goes through.
const DEADLOCK_ATTEMPTS = 3

export async function retryingDeadlocks<T> (db: Knex, work: (trx: Knex.Transaction) => Promise<T>, config?: Knex.TransactionConfig): Promise<T> {
  const change = idempotentChange.getStore()
  for (let attempt = 1; ; attempt++) {
    let committing = false
    try {
      return await db.transaction(async (trx) => {
        const result = await work(trx)
        if (change !== undefined && await trx('idempotency_keys').where({ id: change.keyId, claim_token: change.claimToken }).update({ committed: true }) !== 1) {
          throw new IdempotencyKeyInProgress()
        }
        committing = true
        return result
      }, config)
    } catch (error) {
      if (committing && lostInFlight(error)) throw new CommitOutcomeUnknown(error)
      if ((error as { code?: string }).code !== 'ER_LOCK_DEADLOCK' || attempt === DEADLOCK_ATTEMPTS) throw error
    }
  }
}

// mysql2's codes for a connection that went away while a command was on it: the server may
// have done it. (A command that could not even be sent, a busy SQLite, a refusal by the server:
// the outcome of those is known, nothing was committed.)
const LOST_IN_FLIGHT_CODES = ['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'ETIMEDOUT', 'ER_CONNECTION_KILLED', 'ER_SERVER_SHUTDOWN']

function lostInFlight (error: unknown): boolean {
  const { fatal, code } = error as { fatal?: unknown, code?: unknown }
  return fatal === true && typeof code === 'string' && LOST_IN_FLIGHT_CODES.includes(code)
}

// Everything of a transaction was written, and then the connection was lost while its COMMIT
// was on the way: whether it took effect is unknown, as what was lost may be only the
// acknowledgement.
export class CommitOutcomeUnknown extends Error {
  constructor (cause: unknown) {
    super('The commit of a transaction failed; its outcome is unknown', { cause })
  }
}

// The column whose unique index rejected a write, or undefined when the error is something else.
// Only the index part of the message is read: the duplicate value itself may contain any text.
export function violatedUniqueColumn (error: unknown, columns: string[]): string | undefined {
  const { code, message = '' } = error as { code?: string, message?: string }
  let index: string | undefined
  if (code === 'SQLITE_CONSTRAINT_UNIQUE') index = /constraint failed: (.*)$/.exec(message)?.[1]
  if (code === 'ER_DUP_ENTRY') index = /for key '([^']*)'$/.exec(message)?.[1]
  if (index === undefined) return undefined
  return columns.find((column) => index.includes(column))
}

// A condition that `column` starts with `prefix`, its LIKE wildcards taken literally. The
// escape character is bound, as SQLite and MySQL read a backslash in a literal differently.
// For a lower-cased copy (a `_normalized` column, compared by code point on MySQL), pass the
// prefix lower-cased.
export function startsWith (column: string, prefix: string): [string, string[]] {
  return ['?? like ? escape ?', [column, `${prefix.replace(/[\\%_]/g, '\\$&')}%`, '\\']]
}

// Which part of a long result to read.
export interface PageWindow {
  limit: number
  offset: number
}

// One window of the rows `query` selects, in `order`, and how many it selects in all.
export async function windowOf<Row> (
  query: Knex.QueryBuilder,
  window: PageWindow,
  order: Array<{ column: string, order: 'asc' | 'desc' }>,
  columns: string[] = ['*']
): Promise<{ total: number, rows: Row[] }> {
  const [counted, rows] = await Promise.all([
    query.clone().count<Array<{ total: number | string }>>({ total: '*' }),
    query.clone().orderBy(order).limit(window.limit).offset(window.offset).select(columns)
  ])
  return { total: Number(counted[0]?.total ?? 0), rows: rows as Row[] }
}
