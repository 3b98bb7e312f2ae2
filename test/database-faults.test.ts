// What a caller hears when the database fails under a request: a connection lost mid-request is
// a 503 with Retry-After on both surfaces, never a 500; a create that committed is a 201 whatever
// happens after; a commit whose outcome is lost says so. The faults are real: a connection
// killed by the server, a socket or a database closed while the COMMIT goes out, a pool that
// stops giving connections right after one.
import { createConnection } from 'mysql2/promise'
import knex, { type Knex } from 'knex'
import t from 'tap'
import { build, databaseKinds, newAccount, onEachDatabase, type TestApp } from './helper.js'
import { USERS_CREATE, newRocketChatUser, rocketChatHeaders, rocketChatLogin } from './rocket-chat-helper.js'

const CREATE = '/api/v2/account/create/'
// The faults strike the first COMMIT the app sends: that of the request, with no relay polling
// (each poll of the mail and webhook relays commits too).
const WITHOUT_RELAYS = { backgroundWorkers: false }

interface PoolResource { resource: { __knexUid?: string, stream?: { destroy: () => void }, close?: () => void } }

// Runs `fault` on the connection that is about to send the transaction's COMMIT, once.
function onCommit (knex: Knex, fault: (connection: PoolResource['resource']) => void): void {
  const listener = (query: { sql: string, __knexUid?: string }): void => {
    if (!/^commit/i.test(query.sql)) return
    knex.off('query', listener)
    const used = (knex.client as { pool: { used: PoolResource[] } }).pool.used
    const connection = used.find(({ resource }) => resource.__knexUid === query.__knexUid)?.resource
    if (connection !== undefined) fault(connection)
  }
  knex.on('query', listener)
}

// From the first COMMIT on, the pool gives no connection (the COMMIT goes out on the
// transaction's own), as when the database goes away right after a commit.
function poolFailsAfterCommit (db: Knex): void {
  const client = db.client as { acquireConnection: () => Promise<unknown> }
  onCommit(db, () => {
    client.acquireConnection = async () => { throw new knex.KnexTimeoutError('Knex: Timeout acquiring a connection. The pool is probably full.') }
  })
}

async function userCount (api: TestApp): Promise<number> {
  const [row] = await api.app.knex('users').count({ count: '*' }) as Array<{ count: number | string }>
  return Number(row?.count)
}

onEachDatabase('database faults', async (t, kind) => {
  t.test('a create that committed answers 201 even when the database is gone right after', async (t) => {
    const api = await build(t, kind, WITHOUT_RELAYS)
    const token = await api.adminToken()
    poolFailsAfterCommit(api.app.knex)
    const response = await api.request({ method: 'POST', url: CREATE, token, payload: newAccount() })
    t.equal(response.statusCode, 201, response.text)
    t.match(response.body, { username: 'jane_doe', email: 'jane@example.com', roles: ['user'] })
  })

  t.test('a COMMIT that cannot be sent answers 503 database_unavailable: nothing was committed', async (t) => {
    const api = await build(t, kind, WITHOUT_RELAYS)
    const token = await api.adminToken()
    onCommit(api.app.knex, (connection) => {
      if (kind === 'mysql') connection.stream?.destroy()
      else connection.close?.()
    })
    const response = await api.request({ method: 'POST', url: CREATE, token, payload: newAccount() })
    t.equal(response.statusCode, 503, response.text)
    t.equal(response.body.code, 'database_unavailable')
    t.equal(response.headers['retry-after'], '5')
  })
})

// The COMMIT reaches the server, and the connection is lost before its acknowledgement is read:
// the account was made, and the caller is told the outcome is unknown, not that nothing changed.
for (const kind of databaseKinds.filter((kind) => kind === 'mysql')) {
  void t.test(`a connection lost while the COMMIT is on its way answers 503 outcome_unknown (${kind})`, async (t) => {
    const api = await build(t, kind, WITHOUT_RELAYS)
    const token = await api.adminToken()
    onCommit(api.app.knex, (connection) => {
      const stream = connection.stream as unknown as { pause: () => void, destroy: () => void }
      stream.pause()
      setTimeout(() => { stream.destroy() }, 100)
    })
    const response = await api.request({ method: 'POST', url: CREATE, token, payload: newAccount() })
    t.equal(response.statusCode, 503, response.text)
    t.equal(response.body.code, 'outcome_unknown')
    t.equal(response.headers['retry-after'], '5')
    t.equal(await userCount(api), 2, 'the account was in fact made: the outcome was unknown, not nothing')
  })
}

// A request whose connection the server kills while it waits for a lock: MariaDB answers it with
// ER_CONNECTION_KILLED, which no driver code said was a lost connection before. (Only
// on MariaDB/MySQL, which CI always has: helper.ts fails there without it.)
for (const kind of databaseKinds.filter((kind) => kind === 'mysql')) {
  void t.test(`a connection killed mid-request answers 503 database_unavailable on both surfaces, changing nothing (${kind})`, async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const v1 = rocketChatHeaders(await rocketChatLogin(api))
    const [[{ name: database }]] = await api.app.knex.raw('SELECT DATABASE() AS name') as [[{ name: string }]]
    const admin = await createConnection(String(process.env.TEST_MYSQL_URL))
    t.teardown(async () => { await admin.end() })
    const before = await userCount(api)
    for (const [surface, send] of [
      ['v2', async () => await api.request({ method: 'POST', url: CREATE, token, payload: newAccount() })],
      ['v1', async () => await api.request({ method: 'POST', url: USERS_CREATE, headers: v1, payload: newRocketChatUser() })]
    ] as const) {
      // The create's INSERT waits for this lock to be released.
      await admin.query(`LOCK TABLES \`${database}\`.users WRITE`)
      const pending = send()
      let killed = false
      for (let attempt = 0; attempt < 100 && !killed; attempt++) {
        const [waiting] = await admin.query('SELECT id FROM information_schema.processlist WHERE db = ? AND state LIKE ? AND id <> CONNECTION_ID()', [database, 'Waiting for%lock']) as [Array<{ id: number }>, unknown]
        for (const { id } of waiting) {
          await admin.query(`KILL CONNECTION ${id}`)
          killed = true
        }
        if (!killed) await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await admin.query('UNLOCK TABLES')
      t.ok(killed, `${surface}: the request was caught waiting`)
      const response = await pending
      t.equal(response.statusCode, 503, `${surface}: ${response.text}`)
      t.equal(response.headers['retry-after'], '5', surface)
      if (surface === 'v2') t.equal(response.body.code, 'database_unavailable')
      else t.match(response.body, { success: false, errorType: String })
    }
    t.equal(await userCount(api), before, 'no account was made')
    const after = await api.request({ method: 'POST', url: CREATE, token, payload: newAccount() })
    t.equal(after.statusCode, 201, 'the service goes on with fresh connections')
  })
}
