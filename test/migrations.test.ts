// The migrations go down as well as up, on both databases, so a release can be rolled back.
import knex from 'knex'
import { loadConfig } from '../config.js'
import { knexConfig } from '../plugins/database.js'
import { TEST_JWT_PRIVATE_KEY, createTestDatabase, onEachDatabase } from './helper.js'

onEachDatabase('migrations', async (t, kind) => {
  t.test('roll back to an empty database and forward again to the same tables', async (t) => {
    const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: t.testdirName, DATABASE_URL: await createTestDatabase(t, kind), JWT_PRIVATE_KEY: TEST_JWT_PRIVATE_KEY })
    const silent = { warn: () => {}, error: () => {}, debug: () => {}, info: () => {} } as unknown as Parameters<typeof knexConfig>[1]
    const db = knex(knexConfig(config.database, silent))
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
