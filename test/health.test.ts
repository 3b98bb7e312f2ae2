import { build, onEachDatabase } from './helper.js'

onEachDatabase('health', async (t, kind) => {
  t.test('reports the process alive', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ url: '/health/live' })
    t.equal(response.statusCode, 200)
    t.strictSame(response.body, { status: 'ok' })
  })

  t.test('reports ready while the database answers', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ url: '/health/ready' })
    t.equal(response.statusCode, 200)
    t.match(response.body, { status: 'ok', details: { oldest_undelivered_event_seconds: Number } })
  })

  t.test('shows how long the oldest event the relays still have to deliver has waited', async (t) => {
    const api = await build(t, kind, { backgroundWorkers: false })
    const at = (secondsAgo: number): string => new Date(Date.now() - secondsAgo * 1000).toISOString().replace('T', ' ').replace('Z', '')
    await api.app.knex('outbox_events').update({ dispatched_at: at(0), published_at: at(0) })
    const waited = async (): Promise<number> => (await api.request({ url: '/health/ready' })).body.details.oldest_undelivered_event_seconds
    t.equal(await waited(), 0, 'none waits')
    const endpoint = async (active: boolean): Promise<number> => {
      const [id] = await api.app.knex('webhook_endpoints').insert({ target: 'https://hooks.example.com/', is_active: active, created_at: at(900), updated_at: at(900) })
      return Number(id)
    }
    const [active, off] = [await endpoint(true), await endpoint(false)]
    const event = async (secondsAgo: number, dispatched: boolean): Promise<number> => {
      const [id] = await api.app.knex('outbox_events').insert({ type: 'user.updated', payload: '{}', created_at: at(secondsAgo), dispatched_at: dispatched ? at(secondsAgo) : null })
      return Number(id)
    }
    const delivery = async (eventId: number, endpointId: number, status: string): Promise<void> => {
      await api.app.knex('webhook_deliveries').insert({ endpoint_id: endpointId, event_id: eventId, status, attempts: 1, next_attempt_at: at(0), created_at: at(0), body: '{}' })
    }
    await delivery(await event(600, true), active, 'failed')
    await delivery(await event(500, true), off, 'pending')
    await event(120, false)
    t.ok(await waited() >= 120 && await waited() < 130, 'an event not dispatched yet waits; a failed delivery and one to an endpoint that is off do not count')
    await delivery(await event(300, true), active, 'pending')
    t.ok(await waited() >= 300 && await waited() < 310, 'a delivery pending to an active endpoint waits')
  })

  t.test('answers 503 with Retry-After when the database is gone', async (t) => {
    const api = await build(t, kind)
    await api.app.knex.destroy()
    const response = await api.request({ url: '/health/ready' })
    t.equal(response.statusCode, 503)
    t.equal(response.body.code, 'database_unavailable')
    t.equal(response.headers['retry-after'], '5')
  })
})
