// The migrations go down as well as up, on both databases, so a release can be rolled back.
import knex from 'knex'
import { loadConfig } from '../config.js'
import { knexConfig } from '../plugins/database.js'
import { TEST_JWT_PRIVATE_KEY, createTestDatabase, onEachDatabase, silentLogger } from './helper.js'

onEachDatabase('migrations', async (t, kind) => {
  t.test('roll back to an empty database and forward again to the same tables', async (t) => {
    const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: t.testdirName, DATABASE_URL: await createTestDatabase(t, kind), JWT_PRIVATE_KEY: TEST_JWT_PRIVATE_KEY })
    const db = knex(knexConfig(config.database, silentLogger))
    t.teardown(async () => { await db.destroy() })
    const tables = async (): Promise<string[]> => {
      const rows = kind === 'sqlite'
        ? await db('sqlite_master').where({ type: 'table' }).whereNot('name', 'like', 'sqlite_%').pluck('name')
        : await db('information_schema.tables').where('table_schema', db.raw('database()')).pluck('table_name')
      return (rows as string[]).filter((name) => !name.startsWith('knex_')).sort()
    }
    await db.migrate.latest()
    const latest = await tables()
    t.ok(latest.includes('oauth_clients') && latest.includes('refresh_tokens'), 'the latest schema has the OAuth tables')
    await db.migrate.rollback(undefined, true)
    t.strictSame(await tables(), [], 'nothing is left')
    await db.migrate.latest()
    t.strictSame(await tables(), latest)
  })
})

// The tests' apps on MariaDB start on a copy of a migrated database (helper's createTestDatabase):
// that copy must be what the migrations make.
onEachDatabase('the tests\' migrated database', async (t, kind) => {
  if (kind !== 'mysql') return
  t.test('is table for table and row for row what the migrations make', async (t) => {
    const schemaOf = async (databaseUrl: string, migrate: boolean): Promise<Record<string, unknown>> => {
      const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: t.testdirName, DATABASE_URL: databaseUrl, JWT_PRIVATE_KEY: TEST_JWT_PRIVATE_KEY })
        const db = knex(knexConfig(config.database, silentLogger))
      try {
        if (migrate) await db.migrate.latest()
        const tables = await db('information_schema.tables').where('table_schema', db.raw('database()')).orderBy('table_name').pluck('table_name') as string[]
        const schema: Record<string, unknown> = {}
        for (const table of tables) {
          const [created] = await db.raw(`SHOW CREATE TABLE \`${table}\``) as [Array<Record<string, string>>]
          // knex_migrations' migration_time is when it ran.
          const rows = table === 'knex_migrations' ? await db(table).orderBy('id').select('id', 'name', 'batch') : await db(table).select()
          schema[table] = { created: created[0]?.['Create Table'], rows: JSON.parse(JSON.stringify(rows)).sort((a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b))) }
        }
        return schema
      } finally {
        await db.destroy()
      }
    }
    const migrated = await schemaOf(await createTestDatabase(t, kind), true)
    const copied = await schemaOf(await createTestDatabase(t, kind, { migrated: true }), false)
    t.ok(Object.keys(migrated).length > 10, 'the migrations make the tables')
    t.strictSame(copied, migrated)
  })
})
