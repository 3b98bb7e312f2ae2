// Prometheus metrics at /metrics: served only with METRICS_TOKEN, to its bearer; requests by route
// template, account creations by outcome on both surfaces, the bcrypt work and the database pool.
import t from 'tap'
import { bcryptOperationsInFlight, hashPassword } from '../services/passwords.js'
import { build, newAccount, onEachDatabase, untilUnderPressure, type TestApp } from './helper.js'
import { USERS_CREATE, createRocketChatUser, newRocketChatUser, rocketChatLogin } from './rocket-chat-helper.js'

const METRICS_TOKEN = 'metrics-token-of-the-tests-0123456789abcdef'

interface Sample { name: string, labels: Record<string, string>, value: number }

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y
const TYPES = ['counter', 'gauge', 'histogram', 'summary', 'untyped']

// Prometheus's text format 0.0.4, read strictly: every line a HELP, a TYPE or a sample of a
// declared family, with well-formed labels and a number; anything else throws.
function parseExposition (text: string): Sample[] {
  const types = new Map<string, string>()
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/.exec(line)
    if (type !== null) {
      if (!TYPES.includes(type[2] as string)) throw new Error(`Unknown type: ${line}`)
      types.set(type[1] as string, type[2] as string)
      continue
    }
    const sample = SAMPLE_LINE.exec(line)
    if (sample === null) throw new Error(`Not a sample: ${line}`)
    const [, name, labelText, valueText] = sample as unknown as [string, string, string | undefined, string]
    const family = [name, name.replace(/_(bucket|sum|count)$/, '')].find((candidate) => types.has(candidate))
    if (family === undefined) throw new Error(`A sample of no declared family: ${line}`)
    const labels: Record<string, string> = {}
    if (labelText !== undefined) {
      LABEL_PAIR.lastIndex = 0
      while (LABEL_PAIR.lastIndex < labelText.length) {
        const pair = LABEL_PAIR.exec(labelText)
        if (pair === null) throw new Error(`Malformed labels: ${line}`)
        labels[pair[1] as string] = (pair[2] as string).replace(/\\(.)/g, (_, escaped: string) => escaped === 'n' ? '\n' : escaped)
      }
    }
    // Prometheus reads a value as Go's ParseFloat does: NaN and Inf in any case (prom-client writes Nan).
    const value = /^nan$/i.test(valueText) ? NaN : /^[+-]?inf$/i.test(valueText) ? Number(valueText.replace(/inf/i, 'Infinity')) : Number(valueText)
    if (Number.isNaN(value) && !/^nan$/i.test(valueText)) throw new Error(`Not a number: ${line}`)
    samples.push({ name, labels, value })
  }
  return samples
}

// The value of the one sample of that name whose labels include these.
function valueOf (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const matching = samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
  if (matching.length > 1) throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}`)
  return matching[0]?.value
}

async function scrape (api: TestApp): Promise<Sample[]> {
  const response = await api.request({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  if (response.statusCode !== 200) throw new Error(`The scrape answered ${response.statusCode}: ${response.text}`)
  return parseExposition(response.text)
}

async function withMetrics (t: Parameters<typeof build>[0], kind: Parameters<typeof build>[1], env: Record<string, string> = {}): Promise<TestApp> {
  // No mail relay: its polls would take connections while the pool gauges are read.
  return await build(t, kind, { env: { METRICS_TOKEN, ...env }, backgroundWorkers: false })
}

// The account creations through one door, by outcome.
function creations (samples: Sample[], surface: string): Record<string, number | undefined> {
  return Object.fromEntries(['created', 'conflict', 'invalid', 'refused', 'error'].map((outcome) =>
    [outcome, valueOf(samples, 'account_service_account_creations_total', { surface, outcome })]))
}

t.test('the exposition reader refuses what is not the text format', async (t) => {
  t.strictSame(parseExposition('# TYPE up gauge\nup{job="a\\"b"} 1\n'), [{ name: 'up', labels: { job: 'a"b' }, value: 1 }])
  for (const text of ['up 1', '# TYPE up gauge\nup{job=a} 1', '# TYPE up gauge\nup one', '# TYPE up gauge\nup {} 1', '# TYPE up kind\nup 1']) {
    t.throws(() => parseExposition(text), text)
  }
})

t.test('without METRICS_TOKEN /metrics answers 404, as a path that is not served', async (t) => {
  const api = await build(t, 'sqlite')
  const metrics = await api.request({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  const unknown = await api.request({ url: '/nowhere' })
  t.equal(metrics.statusCode, 404)
  t.strictSame(metrics.body, { ...unknown.body, message: 'No route for GET /metrics' })
  t.equal(api.app.metrics, null)
})

t.test('/metrics refuses a request without the metrics token with 401 and a Bearer challenge', async (t) => {
  const api = await withMetrics(t, 'sqlite')
  const missing = await api.request({ url: '/metrics' })
  t.equal(missing.statusCode, 401)
  t.strictSame(missing.body, { statusCode: 401, code: 'unauthorized', message: 'The metrics token is required' })
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="account-service"')
  const adminToken = await api.adminToken()
  for (const authorization of [`Bearer ${METRICS_TOKEN}x`, `Bearer ${METRICS_TOKEN.slice(1)}`, `Bearer ${adminToken}`, `Bearer ${METRICS_TOKEN} extra`]) {
    const wrong = await api.request({ url: '/metrics', headers: { authorization } })
    t.equal(wrong.statusCode, 401, authorization.slice(0, 20))
    t.match(wrong.headers['www-authenticate'], /^Bearer realm="account-service", error="invalid_token"/)
  }
  const basic = await api.request({ url: '/metrics', headers: { authorization: `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}` } })
  t.equal(basic.statusCode, 401)
  t.equal(basic.headers['www-authenticate'], 'Bearer realm="account-service"')
  t.notOk(api.logs.some((line) => line.includes(METRICS_TOKEN)), 'the token is never logged')
})

t.test('/metrics answers its bearer in Prometheus\'s text format, with process metrics, trailing slash or not', async (t) => {
  const api = await withMetrics(t, 'sqlite')
  const response = await api.request({ url: '/metrics/', headers: { authorization: `bearer ${METRICS_TOKEN}` } })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  const samples = parseExposition(response.text)
  t.type(valueOf(samples, 'process_cpu_user_seconds_total'), 'number')
  t.type(valueOf(samples, 'nodejs_eventloop_lag_seconds'), 'number')
})

t.test('each app counts in a registry of its own', async (t) => {
  const first = await withMetrics(t, 'sqlite')
  const second = await withMetrics(t, 'sqlite')
  await first.request({ url: '/health/live' })
  await first.request({ url: '/health/live' })
  const labels = { method: 'GET', route: '/health/live', status_code: '200' }
  t.equal(valueOf(await scrape(first), 'http_requests_total', labels), 2)
  t.equal(valueOf(await scrape(second), 'http_requests_total', labels), undefined)
})

t.test('requests are counted and timed by route template, method and status; unmatched paths under one label', async (t) => {
  const api = await withMetrics(t, 'sqlite')
  const token = await api.adminToken()
  await api.request({ url: '/api/v2/user/1/', token })
  await api.request({ url: '/api/v2/user/1', token })
  await api.request({ url: '/api/v2/user/12345/', token })
  await api.request({ url: '/no/such/path/42' })
  const samples = await scrape(api)
  const found = { method: 'GET', route: '/api/v2/user/:id/', status_code: '200' }
  t.equal(valueOf(samples, 'http_requests_total', found), 2)
  t.equal(valueOf(samples, 'http_requests_total', { ...found, status_code: '404' }), 1)
  t.equal(valueOf(samples, 'http_request_duration_seconds_count', found), 2)
  t.ok((valueOf(samples, 'http_request_duration_seconds_sum', found) as number) > 0)
  t.equal(valueOf(samples, 'http_request_duration_seconds_bucket', { ...found, le: '+Inf' }), 2)
  t.equal(valueOf(samples, 'http_requests_total', { method: 'GET', route: 'unmatched', status_code: '404' }), 1)
  t.notOk(samples.some((sample) => Object.values(sample.labels).some((value) => value.includes('12345') || value.includes('/no/such'))),
    'no raw URL becomes a label')
})

onEachDatabase('account creations by outcome', async (t, kind) => {
  t.test('count the v2 door\'s created, conflict, invalid and refused creates', async (t) => {
    const api = await withMetrics(t, kind)
    const token = await api.adminToken()
    t.strictSame(creations(await scrape(api), 'v2'), { created: 0, conflict: 0, invalid: 0, refused: 0, error: 0 }, 'every outcome starts at 0')
    t.equal((await api.request({ method: 'POST', url: '/api/v2/account/create/', token, payload: newAccount() })).statusCode, 201)
    t.equal(creations(await scrape(api), 'v2').created, 1)
    t.equal((await api.request({ method: 'POST', url: '/api/v2/account/create/', token, payload: newAccount() })).statusCode, 409)
    t.equal((await api.request({ method: 'POST', url: '/api/v2/account/create/', token, payload: newAccount({ email: 'other@example.com' }) })).statusCode, 409)
    t.equal((await api.request({ method: 'POST', url: '/api/v2/account/create/', token, payload: newAccount({ username: 'x', password: 'short' }) })).statusCode, 400)
    t.equal((await api.request({ method: 'POST', url: '/api/v2/account/create/', token, payload: { username: 'nobody' } })).statusCode, 400)
    t.equal((await api.request({ method: 'POST', url: '/api/v2/account/create/', payload: newAccount({ username: 'anon' }) })).statusCode, 401)
    const userToken = await api.tokenFor('jane_doe', 'Corr3ct-Horse!')
    t.equal((await api.request({ method: 'POST', url: '/api/v2/account/create/', token: userToken, payload: newAccount({ username: 'x2' }) })).statusCode, 403)
    const after = await scrape(api)
    t.strictSame(creations(after, 'v2'), { created: 1, conflict: 2, invalid: 2, refused: 2, error: 0 })
    t.equal(creations(after, 'v1').created, 0, 'the other door counts apart')
  })

  t.test('count the Rocket.Chat door\'s creates by the same outcomes, though it answers a conflict with 400', async (t) => {
    const api = await withMetrics(t, kind)
    const credentials = await rocketChatLogin(api)
    t.equal((await createRocketChatUser(api, credentials, newRocketChatUser())).statusCode, 200)
    const taken = await createRocketChatUser(api, credentials, newRocketChatUser())
    t.equal(taken.statusCode, 400)
    t.equal((await createRocketChatUser(api, credentials, newRocketChatUser({ username: 'x', email: 'not-an-email' }))).statusCode, 400)
    t.equal((await api.request({ method: 'POST', url: USERS_CREATE, payload: newRocketChatUser({ username: 'anon' }) })).statusCode, 401)
    const samples = await scrape(api)
    t.strictSame(creations(samples, 'v1'), { created: 1, conflict: 1, invalid: 1, refused: 1, error: 0 })
    t.equal(creations(samples, 'v2').created, 0)
  })

  t.test('count a create the database could not take as an error', async (t) => {
    const api = await withMetrics(t, kind)
    const token = await api.adminToken()
    await api.app.knex.destroy()
    const response = await api.request({ method: 'POST', url: '/api/v2/account/create/', token, payload: newAccount() })
    t.equal(response.statusCode, 503)
    t.equal(creations(await scrape(api), 'v2').error, 1)
  })
})

onEachDatabase('the database pool gauges', async (t, kind) => {
  const api = await withMetrics(t, kind)
  await api.request({ url: '/health/ready' })
  const idle = await scrape(api)
  t.equal(valueOf(idle, 'account_service_database_pool_connections_used'), 0)
  t.ok((valueOf(idle, 'account_service_database_pool_connections_free') as number) >= 1, 'the connection the probe used is kept')
  t.equal(valueOf(idle, 'account_service_database_pool_acquires_pending'), 0)
  const transaction = await api.app.knex.transaction()
  const busy = await scrape(api)
  t.equal(valueOf(busy, 'account_service_database_pool_connections_used'), 1, 'a transaction holds its connection')
  if (kind === 'sqlite') {
    // SQLite's pool has one connection: a query now waits for it.
    const waiting = api.app.knex('users').count({ count: '*' })
    const queued = waiting.then(() => undefined)
    await new Promise((resolve) => setImmediate(resolve))
    t.equal(valueOf(await scrape(api), 'account_service_database_pool_acquires_pending'), 1)
    await transaction.commit()
    await queued
  } else {
    await transaction.commit()
  }
  t.equal(valueOf(await scrape(api), 'account_service_database_pool_connections_used'), 0)
})

t.test('the bcrypt gauges show hashes in flight, and those beyond the thread pool as waiting', async (t) => {
  const api = await withMetrics(t, 'sqlite', { UV_THREADPOOL_SIZE: '1' })
  // The count is the process's: a hash an earlier test left running (a create refused while its
  // password was being hashed) finishes first.
  for (let waited = 0; bcryptOperationsInFlight() > 0 && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50))
  const idle = await scrape(api)
  t.equal(valueOf(idle, 'account_service_bcrypt_operations_in_flight'), 0)
  t.equal(valueOf(idle, 'account_service_bcrypt_operations_waiting'), 0)
  // Cost 12 takes a while: the hashes are still running when the scrape reads the gauges.
  const hashes = Promise.all([1, 2, 3].map(async () => await hashPassword('Corr3ct-Horse!', 12)))
  const busy = await scrape(api)
  await hashes
  t.equal(valueOf(busy, 'account_service_bcrypt_operations_in_flight'), 3)
  t.equal(valueOf(busy, 'account_service_bcrypt_operations_waiting'), 2)
  t.equal(valueOf(await scrape(api), 'account_service_bcrypt_operations_in_flight'), 0)
})

t.test('scrapes are logged at debug, as health probes, unless refused', async (t) => {
  const api = await withMetrics(t, 'sqlite')
  const scraped = await api.request({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  const refused = await api.request({ url: '/metrics' })
  const entries = api.logs.map((line) => JSON.parse(line) as { msg: string, level: number, reqId?: string })
  const completed = (reqId: unknown): number | undefined => entries.find((entry) => entry.msg === 'request completed' && entry.reqId === reqId)?.level
  t.equal(completed(scraped.headers['x-request-id']), 20)
  t.equal(completed(refused.headers['x-request-id']), 30)
})

t.test('scrapes are not shed when the service is overloaded', async (t) => {
  // Any heap is more than one byte.
  const api = await withMetrics(t, 'sqlite', { MAX_HEAP_USED_BYTES: '1' })
  await untilUnderPressure(api.app)
  t.equal((await api.request({ url: '/api/v2/feature/' })).statusCode, 503, 'other requests are shed')
  t.type(valueOf(await scrape(api), 'http_requests_total', { route: '/api/v2/feature/', status_code: '503' }), 'number')
})

t.test('the webhook gauges show how long the oldest undelivered event has waited, and the failed deliveries', async (t) => {
  const api = await withMetrics(t, 'sqlite')
  await api.app.knex('outbox_events').update({ dispatched_at: '2026-01-01 00:00:00.000', published_at: '2026-01-01 00:00:00.000' })
  t.equal(valueOf(await scrape(api), 'account_service_webhook_oldest_undelivered_event_seconds'), 0)
  t.equal(valueOf(await scrape(api), 'account_service_webhook_deliveries_failed'), 0)
  const created = new Date(Date.now() - 90_000).toISOString().replace('T', ' ').replace('Z', '')
  const [eventId] = await api.app.knex('outbox_events').insert({ type: 'user.updated', payload: '{}', created_at: created })
  const seconds = valueOf(await scrape(api), 'account_service_webhook_oldest_undelivered_event_seconds') ?? 0
  t.ok(seconds >= 90 && seconds < 100, `${seconds} s`)
  const [endpointId] = await api.app.knex('webhook_endpoints').insert({ target: 'https://hooks.example.com/', created_at: created, updated_at: created })
  await api.app.knex('webhook_deliveries').insert({ endpoint_id: endpointId, event_id: eventId, status: 'failed', attempts: 5, next_attempt_at: created, created_at: created, body: '{}' })
  t.equal(valueOf(await scrape(api), 'account_service_webhook_deliveries_failed'), 1)
})
