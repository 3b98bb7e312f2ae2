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
    t.strictSame(response.body, { status: 'ok' })
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
