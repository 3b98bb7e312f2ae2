import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import fp from 'fastify-plugin'
import knex, { type Knex } from 'knex'
import type { Config } from '../config.js'
import { migrationSource } from '../migrations/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    knex: Knex
  }
}

// A request waits at most this long for a connection, so a database that is down answers
// with an error instead of a hang.
const CONNECTION_TIMEOUT_MS = 5000

export function knexConfig (database: Config['database']): Knex.Config {
  // Errors must not carry SQL with the values bound in (they may be passwords or hashes).
  const common = { compileSqlOnError: false, acquireConnectionTimeout: CONNECTION_TIMEOUT_MS, migrations: { migrationSource } }
  if (database.client === 'sqlite') {
    return {
      ...common,
      client: 'better-sqlite3',
      connection: { filename: database.filename },
      useNullAsDefault: true,
      // One connection: SQLite has one writer, and an in-memory database exists per connection.
      pool: {
        min: 1,
        max: 1,
        afterCreate: (connection: { pragma: (statement: string) => void }, done: (error: Error | null) => void) => {
          connection.pragma('foreign_keys = ON')
          connection.pragma('busy_timeout = 5000')
          done(null)
        }
      }
    }
  }
  return {
    ...common,
    client: 'mysql2',
    connection: {
      uri: database.url,
      // Times travel as UTC text, exactly as SQLite stores them.
      dateStrings: true,
      timezone: 'Z',
      charset: 'utf8mb4',
      connectTimeout: CONNECTION_TIMEOUT_MS
    } as Knex.MySql2ConnectionConfig,
    pool: { min: 0, max: 10 }
  }
}

// The database (Knex over SQLite or MySQL/MariaDB), migrated to the latest schema at start.
export default fp(async (fastify) => {
  const { database } = fastify.config
  if (database.client === 'sqlite' && database.filename !== ':memory:') {
    mkdirSync(dirname(database.filename), { recursive: true })
  }
  const db = knex(knexConfig(database))
  fastify.addHook('onClose', async () => { await db.destroy() })
  await db.migrate.latest()
  fastify.decorate('knex', db)
}, { name: 'database', dependencies: ['config'] })
