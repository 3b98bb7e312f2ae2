// The webhook relay against a real receiver on loopback (node:http), on SQLite and MariaDB:
// delivery, signatures the receivers' own library (standardwebhooks) verifies, retries, timeouts,
// endpoints going away, secret rollover, targets refused when connecting, redirects, and four
// instances sharing one MariaDB. Most endpoints are made with rows here, each test setting just the
// state it needs; the first test goes through SelfCommunity's WebhookService from end to end.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { Webhook } from 'standardwebhooks'
import type { Test } from 'tap'
import t from 'tap'
import { EVENT_TYPES } from '../domain/events.js'
import { WebhookTargetPolicy } from '../domain/webhook-targets.js'
import { WebhookRelay, webhookBody, webhookRetryDelayMs } from '../services/webhook-relay.js'
import { signatureHeader } from '../services/webhook-requests.js'
import { build, createTestDatabase, newAccount, onEachDatabase, rowCount, selfCommunity, selfCommunityTarget, type BuildOptions, type DatabaseKind, type TestApp } from './helper.js'
import { webhookViolations } from './contract.js'
import { until } from './smtp-mailbox.js'

interface Received {
  url: string
  method: string
  headers: IncomingHttpHeaders
  body: string
}

// How the receiver answers the request number `index` (0 for the first): a status, after a delay.
type Answer = (index: number, received: Received) => { status: number, delayMs?: number, location?: string }

interface Receiver {
  url: string
  port: number
  received: Received[]
  answer: Answer
  // The most requests ever in flight at once for one webhook-id, and in all.
  maxConcurrentPerId: number
  maxConcurrent: number
  close: () => Promise<void>
}

async function startReceiver (t: Test, answer: Answer = () => ({ status: 204 }), port = 0): Promise<Receiver> {
  const inFlight = new Map<string, number>()
  let answering = 0
  const receiver: Receiver = { url: '', port: 0, received: [], answer, maxConcurrentPerId: 0, maxConcurrent: 0, close: async () => {} }
  const server = createServer((request, response: ServerResponse) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const received = { url: request.url ?? '', method: request.method ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') }
      const id = String(request.headers['webhook-id'])
      inFlight.set(id, (inFlight.get(id) ?? 0) + 1)
      receiver.maxConcurrentPerId = Math.max(receiver.maxConcurrentPerId, inFlight.get(id) ?? 0)
      answering++
      receiver.maxConcurrent = Math.max(receiver.maxConcurrent, answering)
      const index = receiver.received.push(received) - 1
      const { status, delayMs = 0, location } = receiver.answer(index, received)
      let counted = true
      const answered = (): void => {
        if (!counted) return
        counted = false
        inFlight.set(id, (inFlight.get(id) ?? 1) - 1)
        answering--
      }
      const timer = setTimeout(() => {
        answered()
        if (response.destroyed) return
        response.writeHead(status, location !== undefined ? { location } : {})
        response.end(`answer ${index}`)
      }, delayMs)
      response.on('close', () => { clearTimeout(timer); if (!response.writableFinished) answered() })
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  receiver.port = (server.address() as AddressInfo).port
  receiver.url = `http://127.0.0.1:${receiver.port}/hooks`
  let closed = false
  receiver.close = async () => {
    if (closed) return
    closed = true
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => { resolve() }))
  }
  t.teardown(receiver.close)
  return receiver
}

function newSecret (): string {
  return `whsec_${randomBytes(32).toString('base64')}`
}

// An endpoint as the management API would save it, subscribed to the types, with a current secret.
async function addEndpoint (api: TestApp, target: string, options: { types?: string[], active?: boolean, secret?: string } = {}): Promise<{ id: number, secret: string }> {
  const now = new Date().toISOString().replace('T', ' ').replace('Z', '')
  const [id] = await api.app.knex('webhook_endpoints').insert({ target, description: '', is_active: options.active ?? true, ssl_cert_verification: true, created_at: now, updated_at: now })
  const endpointId = Number(id)
  for (const type of options.types ?? ['user.created']) await api.app.knex('webhook_endpoint_events').insert({ endpoint_id: endpointId, type, added_at: now })
  const secret = options.secret ?? newSecret()
  await api.app.knex('webhook_secrets').insert({ endpoint_id: endpointId, secret, created_at: now, expires_at: null })
  return { id: endpointId, secret }
}

// A relay of the test's own on the app's database (built without background workers), started.
function startRelay (t: Test, api: TestApp, allowedHosts: string[]): void {
  const relay = new WebhookRelay({
    deliveries: api.app.repositories.webhookDeliveries,
    policy: new WebhookTargetPolicy(allowedHosts),
    logger: { info: () => {}, warn: () => {}, error: () => {} },
    timeoutMs: 1000,
    maxAttempts: 3,
    maxAgeSeconds: 3600,
    retentionDays: 30,
    pollIntervalMs: 20
  })
  relay.start()
  t.teardown(async () => { await relay.stop() })
}

const FAST: BuildOptions = { webhookPollIntervalMs: 20, webhookFirstRetryMs: 50 }

async function buildWithHooks (t: Test, kind: DatabaseKind, env: Record<string, string> = {}, options: BuildOptions = {}): Promise<TestApp> {
  return await build(t, kind, { ...FAST, ...options, env: { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', ...env } })
}

// Creates an account; answers the id of its user.created event.
async function createAccount (api: TestApp, token: string, username: string): Promise<number> {
  const response = await api.request({ method: 'POST', url: '/api/v2/account/create/', token, payload: newAccount({ username, email: `${username}@example.com` }) })
  if (response.statusCode !== 201) throw new Error(`Could not create ${username}: ${response.text}`)
  const events = await api.app.knex('outbox_events').where({ type: 'user.created' }).select('id', 'payload')
  const event = events.find((row: { payload: string }) => JSON.parse(row.payload).id === response.body.id)
  return Number(event.id)
}

function forEvent (receiver: Receiver, eventId: number): Received[] {
  return receiver.received.filter((request) => request.headers['webhook-id'] === String(eventId))
}

async function attemptsOf (api: TestApp, eventId: number): Promise<any[]> {
  return await api.app.knex('webhook_attempts as a').join('webhook_deliveries as d', 'd.id', 'a.delivery_id')
    .where('d.event_id', eventId).orderBy('a.id').select('a.*')
}

async function publishedAt (api: TestApp, eventId: number): Promise<unknown> {
  return (await api.app.knex('outbox_events').where({ id: eventId }).first('published_at')).published_at
}

onEachDatabase('an endpoint registered with SelfCommunity\'s WebhookService gets each account created after, signed; its attempts are listed, and a resend sends it again', async (t, kind) => {
  const receiver = await startReceiver(t)
  const api = await buildWithHooks(t, kind)
  const { WebhookService } = selfCommunity
  const target = await selfCommunityTarget(api, await api.adminToken())
  const endpoint = await WebhookService.createWebhookEndpoint({ target: receiver.url, events: [{ type: 'user.created' }] }, target)
  const { signing_secret: secret } = await WebhookService.revealWebhookSigningSecret(endpoint.id, target)
  const eventId = await createAccount(api, await api.adminToken(), 'jane_doe')
  await until(() => forEvent(receiver, eventId).length === 1, 'the delivery')
  const [request] = forEvent(receiver, eventId) as [Received]
  t.match(new Webhook(secret).verify(request.body, request.headers as Record<string, string>), { type: 'user.created', data: { user: { username: 'jane_doe' } } })
  await until(async () => await publishedAt(api, eventId) !== null, 'the event to be published')
  const attempts = await WebhookService.getAllWebhookEndpointAttempts(endpoint.id, target)
  t.match(attempts, { count: 1, results: [{ http_response_code: 204, http_request_body: request.body, next_retry: null }] })
  await WebhookService.resendWebhookEndpointEvent(endpoint.id, eventId, target)
  await until(() => forEvent(receiver, eventId).length === 2, 'the resent delivery')
  t.equal(forEvent(receiver, eventId)[1]?.body, request.body, 'the same body, under the same webhook-id')
  await until(async () => await publishedAt(api, eventId) !== null, 'the event to be published again')
  t.equal((await WebhookService.getAllWebhookEndpointAttempts(endpoint.id, target)).count, 2)
})

onEachDatabase('a user.created event reaches its endpoint, signed so that standardwebhooks verifies it', async (t, kind) => {
  const receiver = await startReceiver(t)
  const api = await buildWithHooks(t, kind)
  const { secret } = await addEndpoint(api, receiver.url)
  const eventId = await createAccount(api, await api.adminToken(), 'jane_doe')
  await until(() => forEvent(receiver, eventId).length === 1, 'the delivery')
  const [request] = forEvent(receiver, eventId) as [Received]
  t.equal(request.method, 'POST')
  t.equal(request.headers['content-type'], 'application/json')
  const verified = new Webhook(secret).verify(request.body, request.headers as Record<string, string>) as any
  t.equal(request.headers['webhook-id'], String(eventId), 'webhook-id is the event id')
  t.match(verified, { type: 'user.created', data: { username: 'jane_doe', email: 'jane_doe@example.com', user: { username: 'jane_doe', email: 'jane_doe@example.com', status: 'a' } } })
  const user = await api.request({ method: 'GET', url: `/api/v2/user/${String(verified.data.user.id)}/`, token: await api.adminToken() })
  t.strictSame(verified.data.user, user.body, 'data.user is the v2 User')
  t.equal(verified.created, new Date(verified.data.date_joined).toISOString())
  t.notMatch(request.body, /[_"](password|hash|token|secret|code)":|\$2[aby]\$/i, 'no password, hash, token or code in the body')
  await until(async () => await publishedAt(api, eventId) !== null, 'the event to be published')
  t.match(await attemptsOf(api, eventId), [{ http_response_code: 204, next_retry: null, http_request_body: request.body, http_request_signature_header: request.headers['webhook-signature'] }])
})

onEachDatabase('the body of every event type matches openapi.yaml\'s webhooks', async (t, kind) => {
  const receiver = await startReceiver(t)
  const api = await buildWithHooks(t, kind)
  await addEndpoint(api, receiver.url, { types: [...EVENT_TYPES] })
  const token = await api.adminToken()
  const createdId = await createAccount(api, token, 'jane_doe')
  const userId = Number(JSON.parse((await api.app.knex('outbox_events').where({ id: createdId }).first('payload')).payload).id)
  const jane = await api.tokenFor('jane_doe', newAccount().password as string)
  const steps = [
    { method: 'PATCH' as const, url: `/api/v2/user/${userId}/`, payload: { bio: 'Climbs things.' } },
    { method: 'PATCH' as const, url: `/api/v2/user/${userId}/change_email/`, payload: { new_email: 'jane.roe@example.com' } },
    { method: 'POST' as const, url: '/api/v1/users.update', payload: { userId: String(userId), data: { verified: true } } },
    { method: 'PATCH' as const, url: `/api/v2/user/${userId}/change_password/`, payload: { password: newAccount().password, new_password: 'N3w-Passw0rd-Jane' }, as: jane },
    { method: 'PUT' as const, url: `/api/v2/user/${userId}/roles/`, payload: { roles: ['user', 'moderator'] } },
    { method: 'PATCH' as const, url: `/api/v2/moderation/user/${userId}/`, payload: { status: 'b' } },
    { method: 'PATCH' as const, url: `/api/v2/moderation/user/${userId}/`, payload: { status: 'a' } },
    { method: 'DELETE' as const, url: `/api/v2/user/${userId}/?hard=1` }
  ]
  for (const { as, ...step } of steps) {
    const response = await api.request({ ...step, token: as ?? token })
    t.ok(response.statusCode < 300, `${step.method} ${step.url} → ${response.statusCode}`)
  }
  const types = [...EVENT_TYPES]
  await until(() => types.every((type) => receiver.received.some((request) => JSON.parse(request.body).type === type)), 'an event of each type')
  for (const request of receiver.received) {
    const body = JSON.parse(request.body)
    t.strictSame(webhookViolations(body.type, body), [], body.type)
    t.notMatch(request.body, /[_"](password|hash|token|secret|code)":|\$2[aby]\$/i, `no secret in ${String(body.type)}`)
  }
  const deleted = receiver.received.map((request) => JSON.parse(request.body)).find((body) => body.type === 'user.deleted')
  t.equal(deleted.data.user, null, 'the user erased by then is null')
})

onEachDatabase('an endpoint gets its events in the order of their ids', async (t, kind) => {
  const receiver = await startReceiver(t)
  const api = await buildWithHooks(t, kind, {}, { backgroundWorkers: false })
  await addEndpoint(api, receiver.url)
  const token = await api.adminToken()
  const ids: number[] = []
  for (let index = 0; index < 8; index++) ids.push(await createAccount(api, token, `user${index}`))
  startRelay(t, api, ['127.0.0.1'])
  await until(() => ids.every((id) => forEvent(receiver, id).length === 1), 'the eight deliveries')
  t.strictSame(receiver.received.map((request) => Number(request.headers['webhook-id'])).filter((id) => ids.includes(id)), ids)
})

// A self-signed certificate for 127.0.0.1, made by openssl for this run.
async function selfSignedCertificate (t: Test): Promise<{ key: string, cert: string }> {
  const folder = t.testdir()
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(folder, 'key.pem'), '-out', join(folder, 'cert.pem')])
  return { key: await readFile(join(folder, 'key.pem'), 'utf8'), cert: await readFile(join(folder, 'cert.pem'), 'utf8') }
}

onEachDatabase('ssl_cert_verification false accepts a self-signed certificate for that endpoint only', async (t, kind) => {
  const server = createHttpsServer(await selfSignedCertificate(t), (request, response) => {
    request.resume()
    request.on('end', () => { response.writeHead(200).end() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) })
  const target = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`
  const api = await buildWithHooks(t, kind, { WEBHOOK_MAX_ATTEMPTS: '1' })
  const unchecked = await addEndpoint(api, target)
  await api.app.knex('webhook_endpoints').where({ id: unchecked.id }).update({ ssl_cert_verification: false })
  const checked = await addEndpoint(api, target)
  const eventId = await createAccount(api, await api.adminToken(), 'jane_doe')
  const statusOf = async (endpointId: number): Promise<string | undefined> =>
    (await api.app.knex('webhook_deliveries').where({ event_id: eventId, endpoint_id: endpointId }).first('status'))?.status
  await until(async () => await statusOf(unchecked.id) === 'delivered' && await statusOf(checked.id) === 'failed', 'one delivered, one refused')
  const refused = await api.app.knex('webhook_attempts as a').join('webhook_deliveries as d', 'd.id', 'a.delivery_id').where('d.endpoint_id', checked.id).first('a.*')
  t.match(refused, { http_response_code: null, http_response_body: /self[- ]signed/i })
})

t.test('the envelope leaves out every password, hash, token and code a payload might carry', async (t) => {
  const body = JSON.parse(webhookBody({ id: 1, type: 'user.created', createdAt: new Date(0), payload: { id: 7, username: 'jane', password: 'x', password_hash: 'y', invite_code: 'z', promo_code: 'w', token: 'v', code: 'u' } }, undefined))
  t.strictSame(body, { type: 'user.created', created: '1970-01-01T00:00:00.000Z', data: { id: 7, username: 'jane', user: null } })
})

t.test('retries wait longer each time, by a jitter of a quarter either way', async (t) => {
  t.equal(webhookRetryDelayMs(1, 10_000, () => 0.5), 10_000)
  t.equal(webhookRetryDelayMs(3, 10_000, () => 0), 30_000)
  t.equal(webhookRetryDelayMs(3, 10_000, () => 1), 50_000)
  t.equal(webhookRetryDelayMs(40, 10_000, () => 0.5), 6 * 3_600_000)
})

onEachDatabase('a 500 is retried; the 200 after it delivers the event, two attempts recorded, with the same body', async (t, kind) => {
  const receiver = await startReceiver(t, (index) => ({ status: index === 0 ? 500 : 200 }))
  const api = await buildWithHooks(t, kind)
  await addEndpoint(api, receiver.url)
  const eventId = await createAccount(api, await api.adminToken(), 'jane_doe')
  await until(async () => await publishedAt(api, eventId) !== null, 'the event to be published')
  const attempts = await attemptsOf(api, eventId)
  t.match(attempts, [{ http_response_code: 500, http_response_body: 'answer 0' }, { http_response_code: 200, next_retry: null }])
  t.not(attempts[0].next_retry, null, 'the failed attempt says when the next comes')
  t.equal(attempts[0].http_request_body, attempts[1].http_request_body, 'every retry sends the same bytes')
  const requests = forEvent(receiver, eventId)
  t.equal(requests.length, 2)
  t.equal(requests[0]?.headers['webhook-id'], requests[1]?.headers['webhook-id'], 'the webhook-id stays across retries')
  t.match(await api.app.knex('webhook_deliveries').where({ event_id: eventId }).first(), { status: 'delivered', attempts: 2, lease_until: null })
})

onEachDatabase('an answer that does not come within WEBHOOK_TIMEOUT_SECONDS is a failed attempt, retried', async (t, kind) => {
  const receiver = await startReceiver(t, (index) => ({ status: 200, delayMs: index === 0 ? 2_500 : 0 }))
  const api = await buildWithHooks(t, kind, { WEBHOOK_TIMEOUT_SECONDS: '1' })
  await addEndpoint(api, receiver.url)
  const eventId = await createAccount(api, await api.adminToken(), 'jane_doe')
  await until(async () => await publishedAt(api, eventId) !== null, 'the event to be published', 8_000)
  t.match(await attemptsOf(api, eventId), [{ http_response_code: null, http_response_body: 'no answer within 1000 ms' }, { http_response_code: 200 }])
})

onEachDatabase('a 2xx whose body is still coming at WEBHOOK_TIMEOUT_SECONDS is delivered, with the body that came', async (t, kind) => {
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => { response.writeHead(202); response.write('accepted, and more to') })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) })
  const api = await buildWithHooks(t, kind, { WEBHOOK_TIMEOUT_SECONDS: '1' })
  await addEndpoint(api, `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`)
  const eventId = await createAccount(api, await api.adminToken(), 'jane_doe')
  await until(async () => await publishedAt(api, eventId) !== null, 'the event to be published', 8_000)
  t.match(await attemptsOf(api, eventId), [{ http_response_code: 202, http_response_body: 'accepted, and more to' }])
})

onEachDatabase('a receiver down for a while gets the event once it is up again', async (t, kind) => {
  const first = await startReceiver(t)
  const port = first.port
  await first.close()
  const api = await buildWithHooks(t, kind)
  await addEndpoint(api, first.url)
  const eventId = await createAccount(api, await api.adminToken(), 'jane_doe')
  await until(async () => (await attemptsOf(api, eventId)).length >= 2, 'two refused attempts')
  t.match(await attemptsOf(api, eventId), [{ http_response_code: null, sent_at: null, http_response_body: /ECONNREFUSED/ }, { http_response_code: null }])
  const receiver = await startReceiver(t, () => ({ status: 200 }), port)
  await until(() => forEvent(receiver, eventId).length === 1, 'the delivery once the receiver is up', 8_000)
  await until(async () => await publishedAt(api, eventId) !== null, 'the event to be published')
})

for (const [change, apply] of [
  ['deleted', async (api: TestApp, id: number) => { await api.app.knex('webhook_endpoints').where({ id }).delete() }],
  ['deactivated', async (api: TestApp, id: number) => { await api.app.knex('webhook_endpoints').where({ id }).update({ is_active: false }) }]
] as const) {
  onEachDatabase(`an endpoint ${change} while its delivery is retried gets no further attempt`, async (t, kind) => {
    const receiver = await startReceiver(t, () => ({ status: 503 }))
    const api = await buildWithHooks(t, kind, {}, { webhookFirstRetryMs: 200 })
    const endpoint = await addEndpoint(api, receiver.url)
    const eventId = await createAccount(api, await api.adminToken(), 'jane_doe')
    await until(() => forEvent(receiver, eventId).length === 1, 'the first attempt')
    await apply(api, endpoint.id)
    // A second endpoint's delivery, made after the change, shows the relay went on working.
    const witness = await startReceiver(t)
    await addEndpoint(api, witness.url)
    const laterEventId = await createAccount(api, await api.adminToken(), 'john_doe')
    await until(() => forEvent(witness, laterEventId).length === 1, 'the witness delivery')
    // Longer than the retry delay (200 ms, jittered up to 250 ms) and several polls.
    await sleep(600)
    t.equal(forEvent(receiver, eventId).length, 1, 'no attempt after the change')
  })
}

onEachDatabase('an endpoint deactivated mid-retry gets the delivery once it is active again, and no event written while it was off', async (t, kind) => {
  const receiver = await startReceiver(t, (index) => ({ status: index === 0 ? 503 : 204 }))
  const api = await buildWithHooks(t, kind)
  const endpoint = await addEndpoint(api, receiver.url)
  const token = await api.adminToken()
  const eventId = await createAccount(api, token, 'jane_doe')
  await until(() => forEvent(receiver, eventId).length === 1, 'the first attempt')
  await api.app.knex('webhook_endpoints').where({ id: endpoint.id }).update({ is_active: false })
  const whileOff = await createAccount(api, token, 'john_doe')
  await until(async () => await publishedAt(api, whileOff) !== null, 'the event written while it is off to be dispatched')
  // Longer than the retry delay (50 ms, jittered) and several polls.
  await sleep(300)
  t.equal(forEvent(receiver, eventId).length, 1, 'no attempt while it is off')
  await api.app.knex('webhook_endpoints').where({ id: endpoint.id }).update({ is_active: true })
  await until(() => forEvent(receiver, eventId).length === 2, 'the retry once it is on')
  t.equal(forEvent(receiver, whileOff).length, 0)
})

onEachDatabase('during a rollover both secrets sign, and each verifies with standardwebhooks; an expired one no longer signs', async (t, kind) => {
  const receiver = await startReceiver(t)
  const api = await buildWithHooks(t, kind)
  const { id, secret: current } = await addEndpoint(api, receiver.url)
  const time = (offsetMs: number): string => new Date(Date.now() + offsetMs).toISOString().replace('T', ' ').replace('Z', '')
  const previous = newSecret()
  const gone = newSecret()
  await api.app.knex('webhook_secrets').insert([
    { endpoint_id: id, secret: previous, created_at: time(-60_000), expires_at: time(24 * 3_600_000) },
    { endpoint_id: id, secret: gone, created_at: time(-120_000), expires_at: time(-1_000) }
  ])
  const eventId = await createAccount(api, await api.adminToken(), 'jane_doe')
  await until(() => forEvent(receiver, eventId).length === 1, 'the delivery')
  const [request] = forEvent(receiver, eventId) as [Received]
  const signatures = String(request.headers['webhook-signature']).split(' ')
  t.equal(signatures.length, 2, 'two signatures')
  t.ok(signatures.every((signature) => signature.startsWith('v1,')))
  for (const secret of [current, previous]) {
    t.doesNotThrow(() => new Webhook(secret).verify(request.body, request.headers as Record<string, string>))
  }
  t.throws(() => new Webhook(gone).verify(request.body, request.headers as Record<string, string>), 'the expired secret signs no more')
  const timestamp = Number(request.headers['webhook-timestamp'])
  t.equal(request.headers['webhook-signature'], signatureHeader([current, previous], String(eventId), timestamp, request.body))
})

onEachDatabase('a name that resolves to 127.0.0.1 is refused when connecting, without WEBHOOK_ALLOWED_HOSTS', async (t, kind) => {
  const receiver = await startReceiver(t)
  const api = await build(t, kind, { ...FAST, env: { WEBHOOK_MAX_ATTEMPTS: '2' } })
  await addEndpoint(api, `http://localhost:${receiver.port}/hooks`)
  await addEndpoint(api, receiver.url)
  const eventId = await createAccount(api, await api.adminToken(), 'jane_doe')
  await until(async () => (await api.app.knex('webhook_deliveries').where({ event_id: eventId, status: 'failed' })).length === 2, 'both deliveries to fail')
  const attempts = await attemptsOf(api, eventId)
  t.equal(attempts.length, 4)
  t.ok(attempts.every((attempt) => attempt.http_response_code === null && attempt.sent_at === null), 'no answer, nothing sent')
  t.ok(attempts.some((attempt) => /localhost resolves to .*which webhooks may not reach/.test(attempt.http_response_body)))
  t.ok(attempts.some((attempt) => /127\.0\.0\.1 is an address webhooks may not reach/.test(attempt.http_response_body)))
  t.equal(receiver.received.length, 0, 'no request reached the receiver')
})

onEachDatabase('a redirect is not followed: it is a failed attempt', async (t, kind) => {
  const receiver = await startReceiver(t, () => ({ status: 302, location: '/elsewhere' }))
  const api = await buildWithHooks(t, kind, { WEBHOOK_MAX_ATTEMPTS: '1' })
  await addEndpoint(api, receiver.url)
  const eventId = await createAccount(api, await api.adminToken(), 'jane_doe')
  await until(async () => (await api.app.knex('webhook_deliveries').where({ event_id: eventId, status: 'failed' })).length === 1, 'the delivery to fail')
  t.match(await attemptsOf(api, eventId), [{ http_response_code: 302, next_retry: null }])
  t.strictSame(forEvent(receiver, eventId).map((request) => request.url), ['/hooks'], 'nothing asked for /elsewhere')
  t.equal(await publishedAt(api, eventId), null, 'a failed event is not published')
})

onEachDatabase('a receiver that never answers does not hold the shutdown up for its timeout', async (t, kind) => {
  const receiver = await startReceiver(t, () => ({ status: 200, delayMs: 60_000 }))
  const api = await buildWithHooks(t, kind)
  await addEndpoint(api, receiver.url)
  await createAccount(api, await api.adminToken(), 'jane_doe')
  await until(() => receiver.received.length === 1, 'the request in flight')
  const closing = Date.now()
  await api.app.close()
  t.ok(Date.now() - closing < 5_000, 'closed within the relay\'s grace')
})

onEachDatabase('an event nobody subscribes to is published as it is dispatched', async (t, kind) => {
  const api = await buildWithHooks(t, kind)
  const eventId = await createAccount(api, await api.adminToken(), 'jane_doe')
  await until(async () => await publishedAt(api, eventId) !== null, 'the event to be published')
  t.equal(await api.app.knex('webhook_deliveries').where({ event_id: eventId }).first(), undefined)
})

onEachDatabase('events whose delivery ended longer ago than WEBHOOK_RETENTION_DAYS go with their deliveries and attempts; one whose endpoint went is published', async (t, kind) => {
  const api = await build(t, kind, { backgroundWorkers: false })
  const { id: endpointId } = await addEndpoint(api, 'http://127.0.0.1:9/hooks')
  const { id: offId } = await addEndpoint(api, 'http://127.0.0.1:9/off', { active: false })
  const at = (daysAgo: number): string => new Date(Date.now() - daysAgo * 86_400_000).toISOString().replace('T', ' ').replace('Z', '')
  const event = async (daysAgo: number, published: boolean): Promise<number> => {
    const [id] = await api.app.knex('outbox_events').insert({ type: 'user.updated', payload: '{"id":1}', created_at: at(daysAgo), dispatched_at: at(daysAgo), published_at: published ? at(daysAgo) : null })
    return Number(id)
  }
  const delivery = async (eventId: number, fields: Record<string, unknown>): Promise<number> => {
    const [id] = await api.app.knex('webhook_deliveries').insert({ endpoint_id: endpointId, event_id: eventId, status: 'delivered', attempts: 1, next_attempt_at: at(31), created_at: at(31), body: '{}', ...fields })
    return Number(id)
  }
  const [old, recent, orphaned] = [await event(31, true), await event(29, true), await event(1, false)]
  const deliveryId = await delivery(old, { delivered_at: at(31) })
  await api.app.knex('webhook_attempts').insert({ delivery_id: deliveryId, created_at: at(31), http_request_body: '{}', http_request_signature_header: '', http_response_code: 200, http_response_body: '' })
  const [failedLongAgo, failedLately, stillPending, waitingForOff] = [await event(40, false), await event(40, false), await event(40, false), await event(40, false)]
  await delivery(failedLongAgo, { status: 'failed', failed_at: at(31) })
  await delivery(failedLately, { status: 'failed', failed_at: at(2) })
  await delivery(stillPending, { status: 'pending', next_attempt_at: at(-1) })
  await delivery(waitingForOff, { status: 'pending', endpoint_id: offId })
  startRelay(t, api, [])
  const gone = async (id: number): Promise<boolean> => (await api.app.knex('outbox_events').where({ id }).first()) === undefined
  await until(async () => await gone(old), 'the old event to be purged')
  t.equal((await api.app.knex('webhook_deliveries').where({ event_id: old })).length, 0)
  t.equal((await api.app.knex('webhook_attempts').where({ delivery_id: deliveryId })).length, 0)
  t.notOk(await gone(recent), 'a recent one stays')
  t.ok(await gone(failedLongAgo), 'one failed longer ago goes')
  t.notOk(await gone(failedLately), 'one failed lately stays, for a resend')
  t.notOk(await gone(stillPending), 'one still to be delivered stays, however old')
  t.ok(await gone(waitingForOff), 'one waiting that long for an endpoint that is off goes')
  t.not(await publishedAt(api, orphaned), null, 'an event with no delivery left is published')
})

onEachDatabase('four instances on one database', async (t, kind) => {
  if (kind !== 'mysql') return
  t.test('1,000 accounts created across them reach a receiver failing one request in five: each once at a time, all delivered', async (t) => {
    const receiver = await startReceiver(t, (index) => ({ status: index % 5 === 4 ? 500 : 200 }))
    const databaseUrl = await createTestDatabase(t, kind, { migrated: true })
    const apps: TestApp[] = []
    for (let index = 0; index < 4; index++) {
      apps.push(await build(t, kind, { databaseUrl, webhookPollIntervalMs: 20, webhookFirstRetryMs: 100, env: { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' } }))
    }
    const [first] = apps as [TestApp]
    await addEndpoint(first, receiver.url)
    const tokens = await Promise.all(apps.map(async (api) => await api.adminToken()))
    const createStatuses = new Set<number>()
    for (let batch = 0; batch < 50; batch++) {
      await Promise.all(Array.from({ length: 20 }, async (_, index) => {
        const number = batch * 20 + index
        const api = apps[number % 4] as TestApp
        const response = await api.request({
          method: 'POST', url: '/api/v2/account/create/', token: tokens[number % 4] as string, payload: newAccount({ username: `many${number}`, email: `many${number}@example.com` })
        })
        createStatuses.add(response.statusCode)
      }))
    }
    t.strictSame([...createStatuses], [201], 'every create succeeds')
    const created = await first.app.knex('outbox_events').where({ type: 'user.created' }).whereRaw("payload like '%\"many%'").pluck('id')
    t.equal(created.length, 1000)
    const delivered = (): number => new Set(receiver.received.filter((request) => request.body.includes('"many')).map((request) => request.headers['webhook-id'])).size
    await until(async () => {
      const [row] = await first.app.knex('outbox_events').whereIn('id', created).whereNull('published_at').count({ count: '*' })
      return Number(row?.count) === 0
    }, 'every event to be published', 90_000)
    t.equal(delivered(), 1000, 'the receiver has each of the 1,000 events')
    t.equal(receiver.maxConcurrent, 1, 'the endpoint had one request in flight at a time, from the four instances together')
    const [statuses] = await first.app.knex('webhook_deliveries').groupBy('status').select('status', first.app.knex.raw('count(*) as count')) as any[]
    t.match(statuses, { status: 'delivered' })
  })
})

onEachDatabase('an endpoint gets its deliveries one at a time in the order of the events, from every instance together, and holds up no other endpoint', async (t, kind) => {
  const slow = await startReceiver(t, () => ({ status: 204, delayMs: 80 }))
  const quick = await startReceiver(t)
  const databaseUrl = await createTestDatabase(t, kind, { migrated: true })
  const api = await buildWithHooks(t, kind, {}, { databaseUrl, backgroundWorkers: false })
  await addEndpoint(api, slow.url)
  await addEndpoint(api, quick.url)
  const token = await api.adminToken()
  const events: number[] = []
  for (let index = 0; index < 8; index++) events.push(await createAccount(api, token, `in_order${index}`))
  t.ok(await api.app.repositories.webhookDeliveries.dispatchBatch(100, new Date(), webhookBody) > 0)
  startRelay(t, api, ['127.0.0.1'])
  // SQLite has one writer: a second instance shares a MariaDB.
  if (kind === 'mysql') startRelay(t, await build(t, kind, { databaseUrl, backgroundWorkers: false }), ['127.0.0.1'])
  await until(() => quick.received.length === events.length, 'the quick endpoint\'s deliveries')
  t.ok(slow.received.length < events.length, `the slow endpoint had ${slow.received.length} of them then`)
  await until(() => slow.received.length === events.length, 'the slow endpoint\'s deliveries')
  for (const receiver of [slow, quick]) {
    t.strictSame(receiver.received.map((request) => Number(request.headers['webhook-id'])), events, 'in the order of the events')
    t.equal(receiver.maxConcurrent, 1, 'one at a time')
  }
})

onEachDatabase('a resend while an attempt is in flight is not written over by that attempt', async (t, kind) => {
  const api = await buildWithHooks(t, kind, {}, { backgroundWorkers: false })
  const { id: endpointId } = await addEndpoint(api, 'http://127.0.0.1:9/hooks')
  await createAccount(api, await api.adminToken(), 'jane_doe')
  const deliveries = api.app.repositories.webhookDeliveries
  t.ok(await deliveries.dispatchBatch(100, new Date(), webhookBody) > 0)
  const attempt = { createdAt: new Date(), sentAt: undefined, body: '{}', signatureHeader: 'v1,x', responseCode: undefined, responseBody: 'refused', nextRetry: new Date() }
  const lease = (): Date => new Date(Date.now() + 60_000)
  const first = await deliveries.claimNext(new Date(), lease())
  if (first === undefined) throw new Error('nothing to claim')
  t.ok(await deliveries.recordAttempt(first, attempt, 'retry'), 'a first attempt failed')
  const inFlight = await deliveries.claimNext(new Date(), lease())
  t.match(inFlight, { id: first.id, attempts: 1 })
  const resent = await api.request({ method: 'POST', url: `/api/v2/webhook/endpoint/${endpointId}/event/resend/`, token: await api.adminToken(), payload: { event: first.eventId } })
  t.equal(resent.statusCode, 204)
  t.notOk(await deliveries.recordAttempt(inFlight as NonNullable<typeof inFlight>, { ...attempt, nextRetry: undefined }, 'failed'), 'the attempt in flight is not recorded')
  t.match(await api.app.knex('webhook_deliveries').where({ id: first.id }).first('status', 'attempts'), { status: 'pending', attempts: 0 }, 'the resend stands')
})

onEachDatabase('an event resent before the relay dispatched it is delivered once, and the relay goes on with the others', async (t, kind) => {
  const receiver = await startReceiver(t)
  const api = await buildWithHooks(t, kind, {}, { backgroundWorkers: false })
  const { id: endpointId } = await addEndpoint(api, receiver.url)
  const first = await createAccount(api, await api.adminToken(), 'jane_doe')
  const second = await createAccount(api, await api.adminToken(), 'john_doe')
  const resent = await api.request({ method: 'POST', url: `/api/v2/webhook/endpoint/${endpointId}/event/resend/`, token: await api.adminToken(), payload: { event: first } })
  t.equal(resent.statusCode, 204)
  startRelay(t, api, ['127.0.0.1'])
  await until(() => forEvent(receiver, first).length === 1 && forEvent(receiver, second).length === 1, 'both events')
  t.equal(await rowCount(api, 'webhook_deliveries', { event_id: first }), 1)
})

onEachDatabase('an endpoint gets the events written after it subscribed, none from before', async (t, kind) => {
  const receiver = await startReceiver(t)
  const api = await buildWithHooks(t, kind, {}, { backgroundWorkers: false })
  const before = await createAccount(api, await api.adminToken(), 'jane_doe')
  await sleep(5)
  await addEndpoint(api, receiver.url)
  const after = await createAccount(api, await api.adminToken(), 'john_doe')
  startRelay(t, api, ['127.0.0.1'])
  await until(() => forEvent(receiver, after).length === 1, 'the later event')
  await until(async () => await publishedAt(api, before) !== null, 'the earlier event to be published')
  t.equal(forEvent(receiver, before).length, 0, 'the earlier event is not sent')
})
