import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import fp from 'fastify-plugin'
import knex, { type Knex } from 'knex'
import type { Config } from '../config.js'
import { migrationSource } from '../migrations/index.js'
import { StartupError } from '../domain/errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    knex: Knex
  }
}

// A request waits at most this long for a connection, so a database that is down answers
// with an error instead of a hang.
const CONNECTION_TIMEOUT_MS = 5000

export function knexConfig (database: Config['database'], logger: FastifyBaseLogger): Knex.Config {
  // Errors must not carry SQL with the values bound in (they may be passwords or hashes).
  const common = {
    compileSqlOnError: false,
    acquireConnectionTimeout: CONNECTION_TIMEOUT_MS,
    migrations: { migrationSource },
    // Knex's own warnings go to the service's log as JSON lines, not to the console.
    log: {
      warn: (message: unknown) => { logger.warn({ knex: String(message) }, 'database warning') },
      error: (message: unknown) => { logger.error({ knex: String(message) }, 'database error') },
      deprecate: (method: string, alternative: string) => { logger.warn(`database: ${method} is deprecated, use ${alternative}`) },
      debug: (message: unknown) => { logger.debug({ knex: message }, 'database debug') }
    }
  }
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

// Where the database is, without the credentials of its URL.
function describeDatabase (database: Config['database']): string {
  if (database.client === 'sqlite') return database.filename
  const url = new URL(database.url)
  return `${url.hostname}:${url.port === '' ? '3306' : url.port}${url.pathname}`
}

// The database (Knex over SQLite or MySQL/MariaDB), migrated to the latest schema at start.
export default fp(async (fastify) => {
  const { database } = fastify.config
  if (database.client === 'sqlite' && database.filename !== ':memory:') {
    mkdirSync(dirname(database.filename), { recursive: true })
  }
  const db = knex(knexConfig(database, fastify.log))
  fastify.addHook('onClose', async () => { await db.destroy() })
  try {
    await db.migrate.latest()
  } catch (error) {
    throw new StartupError(`Cannot use the database ${describeDatabase(database)}: ${(error as Error).message}`)
  }
  fastify.decorate('knex', db)
}, { name: 'database', dependencies: ['config'] })
