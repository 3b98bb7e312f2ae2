// Load shedding (@fastify/under-pressure): over a configured limit, requests get 503 overloaded
// with Retry-After in their surface's body, before any work; probes and the JWKS still answer.
import t from 'tap'
import { accessTokenClaims, build, signToken, untilUnderPressure } from './helper.js'
import { USERS_CREATE, newRocketChatUser } from './rocket-chat-helper.js'

// under-pressure samples the process every second; nothing tells that a sample found it under
// its limits but the time.
async function nextSample (): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1100))
}

t.test('over its heap limit the service sheds requests with 503 overloaded on each surface, and changes nothing', async (t) => {
  // Any heap is more than one byte.
  const api = await build(t, 'sqlite', { env: { MAX_HEAP_USED_BYTES: '1' } })
  // Signed here, not granted: a grant through this app could itself be shed if the build took a
  // second.
  const token = await signToken(accessTokenClaims('1'))
  await untilUnderPressure(api.app)
  const v2 = await api.request({ method: 'POST', url: '/api/v2/account/create/', token, payload: { username: 'jane_doe', email: 'jane@example.com', password: 'Corr3ct-Horse!' } })
  t.equal(v2.statusCode, 503)
  t.strictSame(v2.body, { statusCode: 503, code: 'overloaded', message: 'The service is overloaded; retry shortly' })
  t.equal(v2.headers['retry-after'], '5')
  const v1 = await api.request({ method: 'POST', url: USERS_CREATE, headers: { 'x-auth-token': token, 'x-user-id': '1' }, payload: newRocketChatUser() })
  t.equal(v1.statusCode, 503)
  t.match(v1.body, { success: false })
  const oauth = await api.request({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'password', username: 'admin', password: 'x' } })
  t.equal(oauth.statusCode, 503)
  t.equal(oauth.body.error, 'temporarily_unavailable')
  t.equal((await api.app.knex('users').count({ count: '*' }) as Array<{ count: number }>)[0]?.count, 1, 'no account was made')
  for (const url of ['/health/live', '/health/ready', '/.well-known/jwks.json']) {
    t.equal((await api.request({ url })).statusCode, 200, `${url} still answers`)
  }
  t.equal(api.logs.filter((line) => line.includes('shedding requests')).length, 1, 'one warning, not one per request')
})

t.test('under its limits nothing is shed, and the limits come from the configuration', async (t) => {
  const api = await build(t, 'sqlite', { env: { MAX_EVENT_LOOP_DELAY_MS: '30000', MAX_RSS_BYTES: String(64 * 1024 ** 3) } })
  await nextSample()
  t.equal((await api.request({ url: '/api/v2/feature/', token: await signToken(accessTokenClaims('1')) })).statusCode, 200)
  t.match(api.app.config.overload, { maxEventLoopDelayMs: 30000, maxHeapUsedBytes: 0, maxRssBytes: 64 * 1024 ** 3 })
})
