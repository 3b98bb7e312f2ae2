// Idempotency-Key on the creates: a repeat gets the first answer again, from any instance, and the
// change is made once.
import { connect } from 'node:net'
import { IdempotencyKeyInProgress } from '../domain/errors.js'
import { idempotentChange, retryingDeadlocks } from '../repositories/sql.js'
import { generatePrivateKeyPem } from '../config/signing-keys.js'
import { TEST_JWT_PRIVATE_KEY, build, clientToken, createClient, createTestDatabase, newAccount, onEachDatabase, rowCount, type TestApp } from './helper.js'

const CREATE = '/api/v2/account/create/'

async function create (api: TestApp, token: string, key: string | undefined, payload: Record<string, unknown>): Promise<{ statusCode: number, headers: Record<string, unknown>, body: any, text: string }> {
  return await api.request({ method: 'POST', url: CREATE, token, headers: key === undefined ? {} : { 'idempotency-key': key }, payload })
}

onEachDatabase('Idempotency-Key', async (t, kind) => {
  t.test('a repeat gets the first 201 again, marked as a replay, and the account is made once', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const payload = newAccount({ username: 'jane_doe', email: 'jane@example.com' })
    const first = await create(api, token, '"8e03978e-40d5-43e8-bc93-6894a57f9324"', payload)
    t.equal(first.statusCode, 201)
    t.equal(first.headers['idempotent-replayed'], undefined)
    const again = await create(api, token, '"8e03978e-40d5-43e8-bc93-6894a57f9324"', payload)
    t.equal(again.statusCode, 201)
    t.equal(again.headers['idempotent-replayed'], 'true')
    t.equal(again.text, first.text, 'the same body')
    const bare = await create(api, token, '8e03978e-40d5-43e8-bc93-6894a57f9324', payload)
    t.equal(bare.headers['idempotent-replayed'], 'true', 'the key bare or quoted is one key')
    t.equal(await rowCount(api, 'users', { username: 'jane_doe' }), 1)
    t.equal(await rowCount(api, 'outbox_events', { type: 'user.created' }), 2, 'one event beside the admin\'s')
  })

  t.test('the same key with another body is 422, and changes nothing', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    t.equal((await create(api, token, 'k1', newAccount({ username: 'jane_doe', email: 'jane@example.com' }))).statusCode, 201)
    const reused = await create(api, token, 'k1', newAccount({ username: 'john_doe', email: 'john@example.com' }))
    t.match(reused, { statusCode: 422, body: { code: 'idempotency_key_reused', field: 'Idempotency-Key' } })
    t.equal(await rowCount(api, 'users', { username: 'john_doe' }), 0)
  })

  t.test('an answer that is not 2xx is not kept: the corrected request goes through with the same key', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const weak = await create(api, token, 'k2', newAccount({ username: 'jane_doe', email: 'jane@example.com', password: 'password' }))
    t.equal(weak.statusCode, 400)
    t.equal(await rowCount(api, 'idempotency_keys'), 0, 'the key is let go')
    t.equal((await create(api, token, 'k2', newAccount({ username: 'jane_doe', email: 'jane@example.com' }))).statusCode, 201)
  })

  t.test('keys are per caller: another caller\'s request with the same key runs anew', async (t) => {
    const api = await build(t, kind)
    const payload = newAccount({ username: 'jane_doe', email: 'jane@example.com' })
    t.equal((await create(api, await api.adminToken(), 'shared', payload)).statusCode, 201)
    const { client, secret } = await createClient(api, { roles: ['admin'] })
    const other = await create(api, await clientToken(api, client.client_id, secret), 'shared', payload)
    t.match(other, { statusCode: 409, body: { code: /_taken$/ } }, 'not the first caller\'s answer')
    t.equal(other.headers['idempotent-replayed'], undefined)
  })

  t.test('a key whose change was made and whose answer was lost is a 409 that says so; an expired key is used anew', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const payload = newAccount({ username: 'jane_doe', email: 'jane@example.com' })
    t.equal((await create(api, token, 'k3', payload)).statusCode, 201)
    t.match(await api.app.knex('idempotency_keys').first('committed', 'status'), { status: 'done' })
    t.ok(Boolean((await api.app.knex('idempotency_keys').first('committed')).committed), 'the change\'s transaction marked the key')
    await api.app.knex('idempotency_keys').update({ status: 'in_progress', claimed_at: '2026-01-01 00:00:00.000' })
    t.match(await create(api, token, 'k3', payload), { statusCode: 409, body: { code: 'idempotency_key_answer_lost' } })
    await api.app.knex('idempotency_keys').update({ expires_at: '2026-01-01 00:00:00.000' })
    t.match(await create(api, token, 'k3', payload), { statusCode: 409, body: { code: /_taken$/ } }, 'run anew')
  })

  t.test('answers are kept encrypted: a service client\'s secret is in no row; one that cannot be opened is lost', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const send = async (): Promise<{ statusCode: number, body: any }> =>
      await api.request({ method: 'POST', url: '/api/v2/oauth/client/', token, headers: { 'idempotency-key': 'client-1' }, payload: { name: 'mailer', roles: ['user'] } })
    const first = await send()
    t.equal(first.statusCode, 201)
    t.match(await send(), { statusCode: 201, body: { client_secret: first.body.client_secret } }, 'the repeat gets the secret again')
    const [row] = await api.app.knex('idempotency_keys').select('response_body', 'fingerprint')
    t.notOk(JSON.stringify(row).includes(first.body.client_secret), 'the secret is not stored as it is')
    t.notOk(JSON.stringify(row).includes('mailer'), 'nor is the answer readable')
    await api.app.knex('idempotency_keys').update({ response_body: 'AAAA.AAAA.AAAA' })
    t.match(await send(), { statusCode: 409, body: { code: 'idempotency_key_answer_lost' } })
  })

  t.test('after a new signing key is put first, a repeat still gets the answer kept before', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { migrated: true, shared: true })
    const before = await build(t, kind, { databaseUrl })
    const token = await before.adminToken()
    const payload = newAccount({ username: 'jane_doe', email: 'jane@example.com' })
    const first = await create(before, token, 'rotated', payload)
    t.equal(first.statusCode, 201)
    const after = await build(t, kind, { databaseUrl, env: { JWT_PRIVATE_KEY: `${generatePrivateKeyPem('ES256')}\n${TEST_JWT_PRIVATE_KEY}` } })
    t.match(await create(after, token, 'rotated', payload), { statusCode: 201, headers: { 'idempotent-replayed': 'true' }, text: first.text })
  })

  t.test('a malformed key is a 400 naming the header, and nothing is made', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    for (const key of ['"unclosed', 'with space', 'x'.repeat(256)]) {
      t.match(await create(api, token, key, newAccount({ username: 'jane_doe', email: 'jane@example.com' })), { statusCode: 400, body: { field: 'Idempotency-Key' } }, key.slice(0, 12))
    }
    t.equal(await rowCount(api, 'users', { username: 'jane_doe' }), 0)
  })

  t.test('twenty creates at once, each with a key of its own, all go through', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const answers = await Promise.all(Array.from({ length: 20 }, async (_, index) =>
      await api.request({ method: 'POST', url: '/api/v2/invite_code/', token, headers: { 'idempotency-key': `invite-${index}` }, payload: {} })))
    t.strictSame([...new Set(answers.map((answer) => answer.statusCode))], [201])
    t.equal(await rowCount(api, 'idempotency_keys', { status: 'done' }), 20)
  })

  t.test('a change whose key a repeat took over is rolled back', async (t) => {
    const api = await build(t, kind, { backgroundWorkers: false })
    const at = '2026-01-01 00:00:00.000'
    const [keyId] = await api.app.knex('idempotency_keys').insert({
      caller: 'u:1', idempotency_key: 'taken', fingerprint: 'f', claim_token: 'the repeat\'s', status: 'in_progress', committed: false, claimed_at: at, expires_at: '2999-01-01 00:00:00.000'
    })
    const change = idempotentChange.run({ keyId: Number(keyId), claimToken: 'the first\'s' }, async () =>
      await retryingDeadlocks(api.app.knex, async (trx) => await trx('roles').insert({ name: 'ghost' })))
    await t.rejects(change, IdempotencyKeyInProgress)
    t.equal(await rowCount(api, 'roles', { name: 'ghost' }), 0)
  })

  t.test('every create honours it: each is made once', async (t) => {
    const api = await build(t, kind, { env: { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' } })
    const token = await api.adminToken()
    const creates: Array<[string, Record<string, unknown>, string, number]> = [
      ['/api/v2/sso/signup/', { ext_id: 1, username: 'sso_user', email: 'sso@example.com', password: 'Corr3ct-Horse' }, 'user_identities', 201],
      ['/api/v2/invite_code/', {}, 'invite_codes', 201],
      ['/api/v2/promo_code/', {}, 'promo_codes', 201],
      ['/api/v2/webhook/endpoint/', { target: 'http://127.0.0.1:9/hooks', events: [{ type: 'user.created' }] }, 'webhook_endpoints', 201],
      ['/api/v2/oauth/client/', { name: 'mailer', roles: ['user'] }, 'oauth_clients', 201],
      ['/api/v1/users.create', { email: 'rc@example.com', name: 'RC', password: 'Corr3ct-Horse!', username: 'rc_user' }, 'users', 200]
    ]
    for (const [url, payload, table, status] of creates) {
      const before = await rowCount(api, table)
      const send = async (): Promise<{ statusCode: number, headers: Record<string, unknown>, text: string }> =>
        await api.request({ method: 'POST', url, token, headers: { 'idempotency-key': `key-${url}` }, payload })
      const first = await send()
      const again = await send()
      t.equal(first.statusCode, status, url)
      t.match(again, { statusCode: status, headers: { 'idempotent-replayed': 'true' }, text: first.text }, `${url}: the first answer again`)
      t.equal(await rowCount(api, table), before + 1, `${url}: made once`)
    }
  })
})

onEachDatabase('a create whose connection dropped, repeated on another instance', async (t, kind) => {
  if (kind !== 'mysql') return
  t.test('makes one account, and the repeat gets the 201', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { migrated: true })
    const [first, second] = [await build(t, kind, { databaseUrl }), await build(t, kind, { databaseUrl })] as [TestApp, TestApp]
    const token = await first.adminToken()
    const payload = JSON.stringify(newAccount({ username: 'jane_doe', email: 'jane@example.com' }))
    const address = new URL(await first.app.listen({ port: 0, host: '127.0.0.1' }))
    // The request goes out whole; once the first instance has taken its key, the client hangs up.
    const socket = connect(Number(address.port), address.hostname)
    socket.on('error', () => {})
    socket.write([
      `POST ${CREATE} HTTP/1.1`, `host: ${address.host}`, `authorization: Bearer ${token}`, 'content-type: application/json',
      'idempotency-key: "dropped-1"', `content-length: ${Buffer.byteLength(payload)}`, '', payload
    ].join('\r\n'))
    for (let poll = 0; poll < 200 && await rowCount(second, 'idempotency_keys') === 0; poll++) await new Promise((resolve) => setTimeout(resolve, 5))
    socket.destroy()
    let answer: { statusCode: number, headers: Record<string, unknown>, body: any } | undefined
    const statuses = new Set<number>()
    for (let attempt = 0; attempt < 100; attempt++) {
      answer = await create(second, token, '"dropped-1"', JSON.parse(payload))
      statuses.add(answer.statusCode)
      if (answer.statusCode !== 409) break
      t.equal(answer.body.code, 'idempotency_key_in_progress')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    t.match(answer, { statusCode: 201, headers: { 'idempotent-replayed': 'true' }, body: { username: 'jane_doe' } })
    t.ok([...statuses].every((status) => status === 201 || status === 409), `only 409 in progress, then 201: ${[...statuses].join(', ')}`)
    t.equal(await rowCount(second, 'users', { username: 'jane_doe' }), 1, 'one account')
  })
})
