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

  t.test('shows how long the oldest undelivered event has waited', async (t) => {
    const api = await build(t, kind, { backgroundWorkers: false })
    const at = (secondsAgo: number): string => new Date(Date.now() - secondsAgo * 1000).toISOString().replace('T', ' ').replace('Z', '')
    await api.app.knex('outbox_events').update({ published_at: at(0) })
    t.strictSame((await api.request({ url: '/health/ready' })).body, { status: 'ok', details: { oldest_undelivered_event_seconds: 0 } }, 'none waits')
    await api.app.knex('outbox_events').insert([
      { type: 'user.updated', payload: '{}', created_at: at(300), published_at: at(200) },
      { type: 'user.updated', payload: '{}', created_at: at(120), published_at: null },
      { type: 'user.updated', payload: '{}', created_at: at(60), published_at: null }
    ])
    const seconds = (await api.request({ url: '/health/ready' })).body.details.oldest_undelivered_event_seconds
    t.ok(seconds >= 120 && seconds < 130, `the oldest unpublished one: ${String(seconds)} s`)
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
