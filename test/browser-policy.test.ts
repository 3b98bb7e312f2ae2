// What a browser is told: security headers on every answer, a CSP that keeps /docs working, and
// CORS for the configured origins only. Preflights (OPTIONS, any path) are outside the contract's
// operations, so they are sent with app.inject itself.
import t from 'tap'
import { build } from './helper.js'

const APP = 'https://app.example.com'

t.test('puts security headers on every answer, and no HSTS nor https upgrade', async (t) => {
  const api = await build(t, 'sqlite')
  const token = await api.adminToken()
  for (const [url, status] of [['/api/v2/feature/', 200], ['/api/v2/user/me/', 401], ['/nowhere', 404], ['/health/live', 200]] as const) {
    const response = await api.request({ url, token: status === 401 ? undefined : token })
    t.equal(response.statusCode, status, url)
    t.equal(response.headers['x-content-type-options'], 'nosniff', url)
    t.equal(response.headers['x-frame-options'], 'SAMEORIGIN', url)
    t.match(response.headers['content-security-policy'], /default-src 'self'/, url)
    t.notMatch(response.headers['content-security-policy'], /upgrade-insecure-requests/, url)
    t.equal(response.headers['strict-transport-security'], undefined, url)
  }
})

t.test('gives /docs Swagger UI\'s own CSP, without an https upgrade', async (t) => {
  const api = await build(t, 'sqlite')
  for (const url of ['/docs/', '/docs/static/swagger-initializer.js']) {
    const page = await api.app.inject({ url })
    t.equal(page.statusCode, 200, url)
    const csp = String(page.headers['content-security-policy'])
    t.match(csp, /img-src 'self' data: validator\.swagger\.io/, url)
    t.match(csp, /script-src 'self'/, url)
    t.notMatch(csp, /upgrade-insecure-requests/, url)
  }
})

t.test('answers no cross-origin request while CORS_ORIGINS is empty', async (t) => {
  const api = await build(t, 'sqlite')
  const response = await api.request({ url: '/health/live', headers: { origin: APP } })
  t.equal(response.headers['access-control-allow-origin'], undefined)
  const preflight = await api.app.inject({ method: 'OPTIONS', url: '/api/v2/account/create/', headers: { origin: APP, 'access-control-request-method': 'POST' } })
  t.equal(preflight.headers['access-control-allow-origin'], undefined)
})

t.test('answers preflights and requests of the configured origins, and of no other', async (t) => {
  const api = await build(t, 'sqlite', { env: { CORS_ORIGINS: `${APP}, http://localhost:5173` } })
  const preflight = await api.app.inject({
    method: 'OPTIONS',
    url: '/api/v2/account/create/',
    headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' }
  })
  t.equal(preflight.statusCode, 204)
  t.equal(preflight.headers['access-control-allow-origin'], APP)
  t.match(preflight.headers['access-control-allow-methods'], /POST/)
  t.match(String(preflight.headers['access-control-allow-headers']).toLowerCase(), /authorization/)
  t.equal(preflight.headers['access-control-max-age'], '600')
  t.equal(preflight.headers['access-control-allow-credentials'], undefined, 'no cookies, so no credentials')
  const response = await api.request({ url: '/api/v2/feature/', token: await api.adminToken(), headers: { origin: 'http://localhost:5173' } })
  t.equal(response.headers['access-control-allow-origin'], 'http://localhost:5173')
  t.match(response.headers.vary, /Origin/)
  t.match(response.headers['access-control-expose-headers'], /X-Request-Id/)
  const foreign = await api.request({ url: '/health/live', headers: { origin: 'https://evil.example.com' } })
  t.equal(foreign.headers['access-control-allow-origin'], undefined, 'another origin is not allowed')
})
