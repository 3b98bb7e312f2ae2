// Conventions shared by the repositories, so SQLite and MySQL/MariaDB behave alike.
import type { Knex } from 'knex'

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
