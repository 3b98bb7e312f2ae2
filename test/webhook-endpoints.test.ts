// SelfCommunity's webhook endpoint API (/api/v2/webhook/endpoint/): the registry of the URLs
// other services are sent events at, their secrets, their attempts and resending.
import { EVENT_TYPES } from '../domain/events.js'
import { ADMIN, build, clientToken, createClient, createUserWithToken, giveRole, onEachDatabase, rowCount, selfCommunity, selfCommunityTarget, type TestApp } from './helper.js'

const ENDPOINTS = '/api/v2/webhook/endpoint/'
const DAY = 24 * 60 * 60 * 1000
const SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/
// The tests' receivers listen on loopback, which only WEBHOOK_ALLOWED_HOSTS opens.
const LOOPBACK_OPEN = { env: { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' } }
const TARGET = 'http://127.0.0.1:9/hooks'

function databaseTime (date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '')
}

async function createEndpoint (api: TestApp, payload: Record<string, unknown>, token?: string) {
  return await api.request({ method: 'POST', url: ENDPOINTS, token: token ?? await api.adminToken(), payload })
}

// An endpoint the test starts from; its representation.
async function givenEndpoint (api: TestApp, payload: Record<string, unknown> = {}): Promise<any> {
  const response = await createEndpoint(api, { target: TARGET, events: [{ type: 'user.created' }], ...payload })
  if (response.statusCode !== 201) throw new Error(`Could not create the endpoint: ${response.text}`)
  return response.body
}

// The id of the outbox event an account creation wrote (of `type`, the latest).
async function latestEvent (api: TestApp, type: string): Promise<number> {
  const row = await api.app.knex('outbox_events').where({ type }).orderBy('id', 'desc').first('id')
  return Number(row.id)
}

async function delivery (api: TestApp, endpointId: number, eventId: number): Promise<any> {
  return await api.app.knex('webhook_deliveries').where({ endpoint_id: endpointId, event_id: eventId }).first('id', 'status', 'attempts', 'next_attempt_at', 'body')
}

// A delivery and an attempt at it, as the relay records them.
async function recordAttempt (api: TestApp, endpointId: number, eventId: number, attempt: { at: Date, code: number | null, nextRetry: Date | null }): Promise<void> {
  let row = await delivery(api, endpointId, eventId)
  if (row === undefined) {
    await api.app.knex('webhook_deliveries').insert({
      endpoint_id: endpointId, event_id: eventId, status: 'pending', attempts: 0, next_attempt_at: databaseTime(attempt.at), created_at: databaseTime(attempt.at), body: '{}'
    })
    row = await delivery(api, endpointId, eventId)
  }
  await api.app.knex('webhook_attempts').insert({
    delivery_id: row.id,
    created_at: databaseTime(attempt.at),
    sent_at: attempt.code === null ? null : databaseTime(attempt.at),
    http_request_body: `{"type":"user.created","id":${eventId}}`,
    http_request_signature_header: 'v1,c2lnbmF0dXJl',
    http_response_code: attempt.code,
    http_response_body: attempt.code === null ? 'connect ECONNREFUSED' : 'oops',
    next_retry: attempt.nextRetry === null ? null : databaseTime(attempt.nextRetry)
  })
}

// A user holding every permission of `user` but manage-webhooks.
async function userWithoutPermission (api: TestApp): Promise<string> {
  return (await createUserWithToken(api, { username: 'someone', email: 'someone@example.com' })).token
}

async function secretsOf (api: TestApp, endpointId: number): Promise<Array<{ secret: string, expires_at: string | null }>> {
  return await api.app.knex('webhook_secrets').where({ endpoint_id: endpointId }).orderBy('id').select('secret', 'expires_at')
}

onEachDatabase('SelfCommunity\'s client managing webhook endpoints', async (t, kind) => {
  t.test('creates, reads, changes, rotates, reveals, resends and deletes an endpoint over HTTP', async (t) => {
    const api = await build(t, kind, LOOPBACK_OPEN)
    const { WebhookService } = selfCommunity
    const target = await selfCommunityTarget(api, await api.adminToken())

    t.strictSame(await WebhookService.getAllWebhookEvents(target), [...EVENT_TYPES], 'every event type the service writes')

    const before = Date.now()
    const created = await WebhookService.createWebhookEndpoint({
      target: TARGET, description: 'Welcome mails', events: [{ type: 'user.created' }, { type: 'user.deleted' }]
    }, target)
    t.match(created, {
      id: Number, target: TARGET, description: 'Welcome mails', is_active: true, ssl_cert_verification: true,
      events: [{ type: 'user.created', added_at: String }, { type: 'user.deleted', added_at: String }]
    })
    t.ok(Date.parse(String(created.created_at)) >= before - 1)
    t.equal(created.updated_at, created.created_at)
    t.strictSame(await WebhookService.getASpecificWebhookEndpoint(created.id, target), created)
    const listed = await WebhookService.getAllWebhookEndpoints(target)
    t.match(listed, { count: 1, next: null, previous: null, results: [created] })

    const replaced = await WebhookService.updateASpecificWebhookEndpoint(created.id, {
      target: 'http://127.0.0.1:10/other', events: [{ type: 'user.created' }, { type: 'user.updated' }], ssl_cert_verification: false
    }, target)
    t.match(replaced, { target: 'http://127.0.0.1:10/other', description: '', is_active: true, ssl_cert_verification: false })
    t.strictSame(replaced.events.map((event) => event.type), ['user.created', 'user.updated'])
    t.equal(replaced.events[0]?.added_at, created.events[0]?.added_at, 'a kept type keeps its added_at')
    const patched = await WebhookService.updateASingleWebhookEndpointField(created.id, { is_active: false } as never, target)
    t.match(patched, { is_active: false, target: 'http://127.0.0.1:10/other', ssl_cert_verification: false })
    t.strictSame(patched.events, replaced.events, 'events left out stay')

    const first = await WebhookService.revealWebhookSigningSecret(created.id, target)
    t.match(first, { signing_secret: SECRET })
    const expired = await WebhookService.expireWebhookSigningSecret(created.id, target)
    t.match(expired, { id: created.id, target: 'http://127.0.0.1:10/other' })
    t.notOk('signing_secret' in expired, 'expiring shows no secret')
    const second = await WebhookService.revealWebhookSigningSecret(created.id, target)
    t.not(second.signing_secret, first.signing_secret, 'a new secret')

    await createUserWithToken(api, { username: 'jane_doe' })
    const event = await latestEvent(api, 'user.created')
    t.equal(await WebhookService.resendWebhookEndpointEvent(created.id, event, target), '', '204')
    t.match(await delivery(api, created.id, event), { status: 'pending', attempts: 0 })
    await recordAttempt(api, created.id, event, { at: new Date(), code: 500, nextRetry: new Date(Date.now() + 60_000) })
    await WebhookService.resendMultipleWebhookEndpointEvent(created.id, [event], target)
    const attempts = await WebhookService.getAllWebhookEndpointAttempts(created.id, target)
    t.match(attempts, {
      count: 1,
      results: [{ id: Number, event: { id: event, type: 'user.created', added_at: String }, http_response_code: 500, http_response_body: 'oops', sent_at: String, next_retry: String }]
    })

    t.equal(await WebhookService.deleteWebhookEndpoint(created.id, target), '', '204')
    t.equal((await api.request({ url: `${ENDPOINTS}${created.id}/`, token: await api.adminToken() })).statusCode, 404)
    for (const table of ['webhook_endpoint_events', 'webhook_secrets', 'webhook_deliveries']) {
      t.equal(await rowCount(api, table, { endpoint_id: created.id }), 0, `nothing of it in ${table}`)
    }
    t.equal(await rowCount(api, 'webhook_attempts'), 0, 'its attempts went with its deliveries')
    t.equal(await rowCount(api, 'outbox_events', { id: event }), 1, 'the event stays')
  })
})

onEachDatabase('webhook endpoints', async (t, kind) => {
  t.test('stores a fresh secret with each endpoint, and each change in the audit log', async (t) => {
    const api = await build(t, kind, LOOPBACK_OPEN)
    const one = await givenEndpoint(api)
    const other = await givenEndpoint(api)
    const [mine] = await secretsOf(api, one.id)
    const [theirs] = await secretsOf(api, other.id)
    t.match(mine, { secret: SECRET, expires_at: null })
    t.not(mine?.secret, theirs?.secret)
    const admin = await api.app.knex('users').where({ username: ADMIN.username }).first('id')
    await api.request({ method: 'PATCH', url: `${ENDPOINTS}${one.id}/`, token: await api.adminToken(), payload: { description: 'x' } })
    await api.request({ method: 'DELETE', url: `${ENDPOINTS}${other.id}/`, token: await api.adminToken() })
    const actions = await api.app.knex('audit_log').where('action', 'like', 'webhook.%').orderBy('id').select('action', 'actor_id', 'subject_webhook_endpoint_id')
    t.strictSame(actions.map((entry: { action: string, actor_id: number, subject_webhook_endpoint_id: number }) => [entry.action, entry.actor_id, entry.subject_webhook_endpoint_id]), [
      ['webhook.endpoint_created', admin.id, one.id], ['webhook.endpoint_created', admin.id, other.id], ['webhook.endpoint_updated', admin.id, one.id], ['webhook.endpoint_deleted', admin.id, other.id]
    ], 'each names its endpoint')
    t.equal(await rowCount(api, 'outbox_events', { type: 'webhook.endpoint_created' }), 0, 'no outbox event')
    const audit = await api.request({ url: '/api/v2/audit/?action=webhook.endpoint_deleted', token: await api.adminToken() })
    t.match(audit.body, { count: 1, results: [{ action: 'webhook.endpoint_deleted', actor: { user_id: admin.id }, subject: { user_id: null, client_id: null, webhook_endpoint_id: other.id } }] }, 'read through the audit log, naming the endpoint deleted')
  })

  t.test('PUT gives what it leaves out its default; PATCH keeps it', async (t) => {
    const api = await build(t, kind, LOOPBACK_OPEN)
    const endpoint = await givenEndpoint(api, { description: 'Welcome', is_active: false, ssl_cert_verification: false })
    const url = `${ENDPOINTS}${endpoint.id}/`
    const patched = await api.request({ method: 'PATCH', url, token: await api.adminToken(), payload: { events: [{ type: 'user.blocked' }] } })
    t.match(patched.body, { description: 'Welcome', is_active: false, ssl_cert_verification: false, events: [{ type: 'user.blocked' }] })
    t.ok(Date.parse(patched.body.updated_at) >= Date.parse(endpoint.updated_at))
    const put = await api.request({ method: 'PUT', url, token: await api.adminToken(), payload: { target: TARGET, events: [] } })
    t.match(put.body, { description: '', is_active: true, ssl_cert_verification: true, events: [] })
  })

  t.test('lists endpoints in the ordering asked, newest first by default, a page at a time', async (t) => {
    const api = await build(t, kind, LOOPBACK_OPEN)
    const ids: number[] = []
    for (const isActive of [true, false, true]) ids.push((await givenEndpoint(api, { is_active: isActive })).id)
    const token = await api.adminToken()
    const list = async (query: string): Promise<any> => (await api.request({ url: `${ENDPOINTS}${query}`, token })).body
    t.strictSame((await list('')).results.map((endpoint: { id: number }) => endpoint.id), [...ids].reverse())
    t.strictSame((await list('?ordering=created_at')).results.map((endpoint: { id: number }) => endpoint.id), ids)
    t.strictSame((await list('?ordering=is_active')).results.map((endpoint: { id: number }) => endpoint.id), [ids[1], ids[0], ids[2]])
    const page = await list('?limit=2')
    t.match(page, { count: 3, next: '/api/v2/webhook/endpoint/?limit=2&offset=2', previous: null })
    t.equal((await api.request({ url: `${ENDPOINTS}?ordering=target`, token })).statusCode, 400)
  })

  t.test('lists an endpoint\'s attempts by created_at, sent_at or next_retry', async (t) => {
    const api = await build(t, kind, LOOPBACK_OPEN)
    const endpoint = await givenEndpoint(api)
    const other = await givenEndpoint(api)
    await createUserWithToken(api, { username: 'jane_doe' })
    const event = await latestEvent(api, 'user.created')
    const now = Date.now()
    await recordAttempt(api, endpoint.id, event, { at: new Date(now - 3000), code: null, nextRetry: new Date(now + 9000) })
    await recordAttempt(api, endpoint.id, event, { at: new Date(now - 2000), code: 500, nextRetry: new Date(now + 1000) })
    await recordAttempt(api, endpoint.id, event, { at: new Date(now - 1000), code: 200, nextRetry: null })
    await recordAttempt(api, other.id, event, { at: new Date(now), code: 200, nextRetry: null })
    const token = await api.adminToken()
    const codes = async (query: string): Promise<unknown[]> =>
      (await api.request({ url: `${ENDPOINTS}${endpoint.id}/attempt/${query}`, token })).body.results.map((attempt: { http_response_code: unknown }) => attempt.http_response_code)
    t.strictSame(await codes(''), [200, 500, null], 'newest first, only this endpoint\'s')
    t.strictSame(await codes('?ordering=created_at'), [null, 500, 200])
    t.strictSame(await codes('?ordering=-next_retry'), [null, 500, 200])
    t.strictSame(await codes('?ordering=sent_at&limit=1&offset=1'), [500])
    const [unsent] = (await api.request({ url: `${ENDPOINTS}${endpoint.id}/attempt/?ordering=created_at`, token })).body.results
    t.match(unsent, { sent_at: null, http_response_code: null, http_response_body: 'connect ECONNREFUSED', event: { id: event, type: 'user.created' } })
  })

  t.test('expiring a secret makes a new current one; the old one signs for 24 hours more', async (t) => {
    const api = await build(t, kind, LOOPBACK_OPEN)
    const endpoint = await givenEndpoint(api)
    const token = await api.adminToken()
    const reveal = async (): Promise<any> => await api.request({ method: 'POST', url: `${ENDPOINTS}${endpoint.id}/secret/reveal/`, token })
    const revealed = await reveal()
    t.equal(revealed.statusCode, 201)
    t.equal(revealed.headers['cache-control'], 'no-store')
    const before = Date.now()
    const expired = await api.request({ method: 'POST', url: `${ENDPOINTS}${endpoint.id}/secret/expire/`, token })
    t.equal(expired.statusCode, 200)
    const after = Date.now()
    const [old, current] = await secretsOf(api, endpoint.id)
    t.equal(old?.secret, revealed.body.signing_secret)
    const expiresAt = Date.parse(`${String(old?.expires_at).replace(' ', 'T')}Z`)
    t.ok(expiresAt >= before + DAY - 1 && expiresAt <= after + DAY + 1, 'expires in 24 hours')
    t.match(current, { secret: SECRET, expires_at: null })
    t.equal((await reveal()).body.signing_secret, current?.secret, 'reveal shows the new one')
    t.equal(await rowCount(api, 'audit_log', { action: 'webhook.secret_expired' }), 1)
    t.equal(await rowCount(api, 'audit_log', { action: 'webhook.secret_revealed' }), 2)
    const again = Date.now()
    await api.request({ method: 'POST', url: `${ENDPOINTS}${endpoint.id}/secret/expire/`, token })
    const live = (await secretsOf(api, endpoint.id)).filter((row) => row.expires_at === null || Date.parse(`${row.expires_at.replace(' ', 'T')}Z`) > again + 1000)
    t.equal(live.length, 2, 'a second expiry ends the first expired secret now: two sign at most')
  })

  t.test('resending makes the delivery pending again now, from its first attempt', async (t) => {
    const api = await build(t, kind, LOOPBACK_OPEN)
    const endpoint = await givenEndpoint(api, { events: [{ type: 'user.created' }, { type: 'user.updated' }] })
    await createUserWithToken(api, { username: 'jane_doe' })
    await createUserWithToken(api, { username: 'john_doe', email: 'john@example.com' })
    const [jane, john] = (await api.app.knex('outbox_events').where({ type: 'user.created' }).orderBy('id').pluck('id')).map(Number) as [number, number]
    const longAgo = databaseTime(new Date(Date.now() - DAY))
    await api.app.knex('webhook_deliveries').insert({
      endpoint_id: endpoint.id, event_id: jane, status: 'delivered', attempts: 7, next_attempt_at: longAgo, lease_until: longAgo, created_at: longAgo, delivered_at: longAgo, body: '{}'
    })
    const before = Date.now()
    const url = `${ENDPOINTS}${endpoint.id}/event/resend/bulk/`
    const response = await api.request({ method: 'POST', url, token: await api.adminToken(), payload: { event: [jane, john], password: ADMIN.password } })
    t.equal(response.statusCode, 204)
    for (const id of [jane, john]) {
      const row = await delivery(api, endpoint.id, id)
      t.match(row, { status: 'pending', attempts: 0 })
      t.ok(Date.parse(`${String(row.next_attempt_at).replace(' ', 'T')}Z`) >= before - 1, 'due now')
    }
    t.equal(await rowCount(api, 'webhook_deliveries'), 2, 'one delivery per event')
    t.equal((await delivery(api, endpoint.id, jane)).body, '{}', 'a delivery made before keeps its body')
    t.match(JSON.parse((await delivery(api, endpoint.id, john)).body), { type: 'user.created', data: { id: Number, user: { username: String } } }, 'one made now gets the envelope')
    t.equal(await rowCount(api, 'webhook_deliveries', { event_id: jane, delivered_at: null }), 1, 'delivered no more')
    t.equal(await rowCount(api, 'audit_log', { action: 'webhook.event_resent' }), 1)
  })

  t.test('every operation needs manage-webhooks', async (t) => {
    const api = await build(t, kind, LOOPBACK_OPEN)
    const endpoint = await givenEndpoint(api)
    const token = await userWithoutPermission(api)
    const operations: Array<[string, string, unknown?]> = [
      ['GET', ENDPOINTS], ['POST', ENDPOINTS, { target: TARGET, events: [] }], ['GET', `${ENDPOINTS}event/`],
      ['GET', `${ENDPOINTS}${endpoint.id}/`], ['PUT', `${ENDPOINTS}${endpoint.id}/`, { target: TARGET, events: [] }],
      ['PATCH', `${ENDPOINTS}${endpoint.id}/`, { is_active: false }], ['DELETE', `${ENDPOINTS}${endpoint.id}/`],
      ['GET', `${ENDPOINTS}${endpoint.id}/attempt/`], ['POST', `${ENDPOINTS}${endpoint.id}/secret/expire/`],
      ['POST', `${ENDPOINTS}${endpoint.id}/secret/reveal/`], ['POST', `${ENDPOINTS}${endpoint.id}/event/resend/`, { event: 1 }],
      ['POST', `${ENDPOINTS}${endpoint.id}/event/resend/bulk/`, { event: [1] }]
    ]
    for (const [method, url, payload] of operations) {
      const response = await api.request({ method: method as 'GET', url, token, ...(payload !== undefined ? { payload: payload as object } : {}) })
      t.equal(response.statusCode, 403, `${method} ${url}`)
      t.match(response.body.message, /manage-webhooks/)
    }
    t.equal(await rowCount(api, 'webhook_endpoints'), 1)
    t.strictSame(await api.request({ url: `${ENDPOINTS}${endpoint.id}/`, token: await api.adminToken() }).then((response) => response.body), endpoint, 'unchanged')
  })

  t.test('a role given manage-webhooks may manage endpoints', async (t) => {
    const api = await build(t, kind, LOOPBACK_OPEN)
    await api.request({ method: 'POST', url: '/api/v2/role/', token: await api.adminToken(), payload: { name: 'integrator', permissions: ['manage-webhooks'] } })
    const { user, token } = await createUserWithToken(api, { username: 'integrator', email: 'integrator@example.com' })
    await giveRole(api, user.id, 'integrator')
    t.equal((await createEndpoint(api, { target: TARGET, events: [] }, token)).statusCode, 201)
  })

  t.test('answers 404 for an endpoint that does not exist', async (t) => {
    const api = await build(t, kind, LOOPBACK_OPEN)
    const token = await api.adminToken()
    const missing = `${ENDPOINTS}99/`
    const operations: Array<[string, string, unknown?]> = [
      ['GET', missing], ['PUT', missing, { target: TARGET, events: [] }], ['PATCH', missing, { is_active: false }], ['DELETE', missing],
      ['GET', `${missing}attempt/`], ['POST', `${missing}secret/expire/`], ['POST', `${missing}secret/reveal/`],
      ['POST', `${missing}event/resend/`, { event: 1 }], ['POST', `${missing}event/resend/bulk/`, { event: [1] }]
    ]
    for (const [method, url, payload] of operations) {
      const response = await api.request({ method: method as 'GET', url, token, ...(payload !== undefined ? { payload: payload as object } : {}) })
      t.equal(response.statusCode, 404, `${method} ${url}`)
    }
    t.equal(await rowCount(api, 'audit_log', {}), await rowCount(api, 'audit_log', { action: 'account.create' }), 'nothing recorded')
  })
})

onEachDatabase('webhook endpoint refusals', async (t, kind) => {
  t.test('refuses event types it does not emit, and a type given twice, naming the entry', async (t) => {
    const api = await build(t, kind, LOOPBACK_OPEN)
    const unknown = await createEndpoint(api, { target: TARGET, events: [{ type: 'user.created' }, { type: 'post.created' }] })
    t.match(unknown, { statusCode: 400, body: { code: 'invalid_field', field: 'events[1].type' } })
    const twice = await createEndpoint(api, { target: TARGET, events: [{ type: 'user.created' }, { type: 'user.created' }] })
    t.match(twice, { statusCode: 400, body: { code: 'duplicate_field', field: 'events[1].type' } })
    const endpoint = await givenEndpoint(api)
    const patched = await api.request({ method: 'PATCH', url: `${ENDPOINTS}${endpoint.id}/`, token: await api.adminToken(), payload: { description: 'x', events: [{ type: 'nope' }] } })
    t.match(patched, { statusCode: 400, body: { field: 'events[0].type' } })
    t.equal(await rowCount(api, 'webhook_endpoints'), 1)
    t.strictSame((await api.request({ url: `${ENDPOINTS}${endpoint.id}/`, token: await api.adminToken() })).body, endpoint, 'nothing changed')
  })

  t.test('refuses targets that are not http(s) URLs without credentials', async (t) => {
    const api = await build(t, kind, LOOPBACK_OPEN)
    for (const [target, reason] of [
      ['ftp://127.0.0.1/hooks', /http or https/], ['http://user:pass@127.0.0.1/hooks', /credentials/], ['not a url', /absolute/]
    ] as const) {
      const response = await createEndpoint(api, { target, events: [] })
      t.match(response, { statusCode: 400, body: { code: 'invalid_field', field: 'target', message: reason } }, target)
    }
    t.equal(await rowCount(api, 'webhook_endpoints'), 0)
  })

  t.test('refuses loopback, link-local and private targets unless WEBHOOK_ALLOWED_HOSTS opens them', async (t) => {
    const api = await build(t, kind)
    for (const target of ['http://127.0.0.1/', 'http://localhost/', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]/', 'http://10.0.0.1/', 'http://[::ffff:127.0.0.1]/', 'http://[::127.0.0.1]/', 'http://2130706433/', 'http://0x7f.1/', 'http://100.100.100.200/', 'http://[2002:7f00:1::]/', 'http://[fec0::1]/', 'http://[64:ff9b:1::a00:1]/']) {
      const response = await createEndpoint(api, { target, events: [] })
      t.match(response, { statusCode: 400, body: { code: 'invalid_field', field: 'target', message: /not allowed/ } }, target)
    }
    const byName = await createEndpoint(api, { target: 'http://localhost:8080/hooks', events: [] })
    t.match(byName.body.message, /localhost resolves to 127\.0\.0\.1/, 'a name is refused for what it resolves to')
    const unresolved = await createEndpoint(api, { target: 'https://nothing.invalid/hooks', events: [] })
    t.match(unresolved, { statusCode: 400, body: { field: 'target', message: /does not resolve/ } })
    t.equal(await rowCount(api, 'webhook_endpoints'), 0)
    t.equal(await rowCount(api, 'audit_log', { action: 'webhook.endpoint_created' }), 0)
  })

  t.test('WEBHOOK_ALLOWED_HOSTS opens exactly what it names', async (t) => {
    const api = await build(t, kind, { env: { WEBHOOK_ALLOWED_HOSTS: 'localhost' } })
    t.equal((await createEndpoint(api, { target: 'http://localhost:8080/hooks', events: [] })).statusCode, 201, 'the name given')
    t.equal((await createEndpoint(api, { target: 'http://127.0.0.1:8080/hooks', events: [] })).statusCode, 400, 'not the address it resolves to')
  })

  t.test('a change to a refused target changes nothing', async (t) => {
    const api = await build(t, kind, LOOPBACK_OPEN)
    const endpoint = await givenEndpoint(api)
    const url = `${ENDPOINTS}${endpoint.id}/`
    const response = await api.request({ method: 'PUT', url, token: await api.adminToken(), payload: { target: 'http://169.254.169.254/', events: [] } })
    t.match(response, { statusCode: 400, body: { field: 'target' } })
    t.strictSame((await api.request({ url, token: await api.adminToken() })).body, endpoint)
  })

  t.test('refuses resending an event that does not exist or that the endpoint does not subscribe to', async (t) => {
    const api = await build(t, kind, LOOPBACK_OPEN)
    const endpoint = await givenEndpoint(api)
    await createUserWithToken(api, { username: 'jane_doe' })
    const created = await latestEvent(api, 'user.created')
    await api.app.knex('outbox_events').insert({ type: 'user.blocked', payload: '{}', created_at: databaseTime(new Date()) })
    const blocked = await latestEvent(api, 'user.blocked')
    const token = await api.adminToken()
    const resend = `${ENDPOINTS}${endpoint.id}/event/resend/`
    t.match(await api.request({ method: 'POST', url: resend, token, payload: { event: 999999 } }), { statusCode: 400, body: { code: 'invalid_field', field: 'event', message: /no event 999999/ } })
    t.match(await api.request({ method: 'POST', url: `${resend}bulk/`, token, payload: { event: [created, blocked] } }),
      { statusCode: 400, body: { code: 'invalid_field', field: 'event[1]', message: /user\.blocked/ } })
    t.equal(await rowCount(api, 'webhook_deliveries'), 0, 'all or none')
    t.equal(await rowCount(api, 'audit_log', { action: 'webhook.event_resent' }), 0)
  })

  t.test('a password given must be the caller\'s', async (t) => {
    const api = await build(t, kind, LOOPBACK_OPEN)
    const endpoint = await givenEndpoint(api)
    await createUserWithToken(api, { username: 'jane_doe' })
    const event = await latestEvent(api, 'user.created')
    const token = await api.adminToken()
    for (const url of [`${ENDPOINTS}${endpoint.id}/event/resend/`, `${ENDPOINTS}${endpoint.id}/event/resend/bulk/`]) {
      const payload = { event: url.endsWith('bulk/') ? [event] : event, password: 'not-the-password' }
      t.match(await api.request({ method: 'POST', url, token, payload }), { statusCode: 400, body: { code: 'wrong_password', field: 'password' } })
    }
    for (const action of ['expire', 'reveal']) {
      const url = `${ENDPOINTS}${endpoint.id}/secret/${action}/`
      t.match(await api.request({ method: 'POST', url, token, payload: { password: 'not-the-password' } }), { statusCode: 400, body: { code: 'wrong_password', field: 'password' } }, action)
    }
    t.equal(await rowCount(api, 'webhook_deliveries'), 0)
    t.equal(await rowCount(api, 'webhook_secrets'), 1, 'the secret did not change')
    t.equal(await rowCount(api, 'audit_log', {}), await rowCount(api, 'audit_log', { action: 'account.create' }) + 1, 'only the creation is recorded')
    t.equal((await api.request({ method: 'POST', url: `${ENDPOINTS}${endpoint.id}/event/resend/`, token, payload: { event, password: ADMIN.password } })).statusCode, 204)
    t.equal((await api.request({ method: 'POST', url: `${ENDPOINTS}${endpoint.id}/secret/expire/`, token, payload: { password: ADMIN.password } })).statusCode, 200)
    t.equal((await api.request({ method: 'POST', url: `${ENDPOINTS}${endpoint.id}/secret/reveal/`, token, payload: { password: ADMIN.password } })).statusCode, 201)
  })

  t.test('a service client, which has no password, is refused any password', async (t) => {
    const api = await build(t, kind, LOOPBACK_OPEN)
    const endpoint = await givenEndpoint(api)
    const { client, secret } = await createClient(api)
    const token = await clientToken(api, client.client_id, secret)
    const url = `${ENDPOINTS}${endpoint.id}/secret/reveal/`
    t.match(await api.request({ method: 'POST', url, token, payload: { password: ADMIN.password } }), { statusCode: 400, body: { code: 'wrong_password' } })
    t.equal((await api.request({ method: 'POST', url, token })).statusCode, 201, 'without one it may')
  })

  t.test('no secret reaches a log line or any answer but reveal\'s', async (t) => {
    const api = await build(t, kind, LOOPBACK_OPEN)
    const token = await api.adminToken()
    const answers: string[] = []
    const call = async (method: string, url: string, payload?: object): Promise<any> => {
      const response = await api.request({ method: method as 'GET', url, token, ...(payload !== undefined ? { payload } : {}) })
      answers.push(response.text)
      return response
    }
    const endpoint = (await call('POST', ENDPOINTS, { target: TARGET, events: [{ type: 'user.created' }] })).body
    await call('GET', ENDPOINTS)
    await call('GET', `${ENDPOINTS}${endpoint.id}/`)
    await call('PATCH', `${ENDPOINTS}${endpoint.id}/`, { description: 'x' })
    await call('POST', `${ENDPOINTS}${endpoint.id}/secret/expire/`)
    await call('GET', `${ENDPOINTS}${endpoint.id}/attempt/`)
    const revealed = await api.request({ method: 'POST', url: `${ENDPOINTS}${endpoint.id}/secret/reveal/`, token })
    const secrets = (await secretsOf(api, endpoint.id)).map((row) => row.secret)
    t.equal(secrets.length, 2)
    t.equal(revealed.body.signing_secret, secrets[1])
    for (const secret of secrets) {
      const base64 = secret.slice('whsec_'.length)
      t.notOk(answers.some((answer) => answer.includes(base64)), 'in no other answer')
      t.notOk(api.logs.some((line) => line.includes(base64)), 'in no log line')
    }
    t.ok(api.logs.length > 0)
  })
})
