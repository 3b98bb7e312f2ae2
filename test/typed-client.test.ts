// The typed client of clients/typescript (generated from openapi.yaml), over real HTTP against a
// running app: a call of every tag, each answer checked against the contract as well.
import { createAccountServiceClient, type AccountServiceClient } from '../clients/typescript/index.js'
import { contractViolations } from './contract.js'
import { ADMIN, basicAuthorization, build, createClient, onEachDatabase, type TestApp } from './helper.js'

// fetch, refusing an answer that breaks openapi.yaml.
function checkedFetch (): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init)
    const response = await fetch(request)
    const url = new URL(request.url)
    const violations = contractViolations(request.method, `${url.pathname}${url.search}`, {
      statusCode: response.status, headers: Object.fromEntries(response.headers.entries()), body: await response.clone().text()
    })
    if (violations.length > 0) throw new Error(`${request.method} ${url.pathname} → ${response.status} breaks openapi.yaml:\n  ${violations.join('\n  ')}`)
    return response
  }
}

async function clientOf (api: TestApp, token?: string | (() => Promise<string>)): Promise<AccountServiceClient> {
  const baseUrl = api.app.server.listening ? api.app.listeningOrigin : await api.app.listen({ port: 0, host: '127.0.0.1' })
  return createAccountServiceClient({ baseUrl, token, fetch: checkedFetch() })
}

onEachDatabase('the typed client', async (t, kind) => {
  t.test('a service gets a client-credentials token, creates with an Idempotency-Key and looks up by ext_id', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api, { roles: ['admin'] })
    const anonymous = await clientOf(api)
    const token = await anonymous.POST('/oauth/token/', {
      body: { grant_type: 'client_credentials', scope: 'read write' },
      bodySerializer: (body) => new URLSearchParams(body as Record<string, string>).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuthorization(client.client_id, secret) }
    })
    t.equal(token.response.status, 200)
    const accessToken = (token.data as { access_token: string }).access_token
    const service = await clientOf(api, async () => accessToken)

    const headers = { 'Idempotency-Key': '"typed-client-1"' }
    const body = { username: 'jane_doe', email: 'jane@example.com', password: 'Corr3ct-Horse!' }
    const created = await service.POST('/api/v2/account/create/', { params: { header: headers }, body })
    t.equal(created.response.status, 201)
    const again = await service.POST('/api/v2/account/create/', { params: { header: headers }, body })
    t.equal(again.response.headers.get('idempotent-replayed'), 'true')
    t.equal(again.data?.id, created.data?.id)

    const signedUp = await service.POST('/api/v2/sso/signup/', { body: { ext_id: 4711, username: 'platform_user', email: 'platform@example.com', password: 'Corr3ct-Horse!' } })
    t.equal(signedUp.data?.ext_id, 4711)
    const found = await service.GET('/api/v2/account/search/', { params: { query: { ext_id: '4711', provider: 'external' } } })
    t.equal(found.data?.username, 'platform_user')
    const missing = await service.GET('/api/v2/account/search/', { params: { query: { ext_id: '1', provider: 'external' } } })
    t.equal(missing.error?.code, 'not_found', 'an error comes back typed too')
  })

  t.test('calls an operation of every tag', async (t) => {
    const api = await build(t, kind, { env: { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' } })
    const admin = await clientOf(api, await api.adminToken())
    const anonymous = await clientOf(api)
    const statuses = {
      'Account life': (await anonymous.POST('/api/v2/account/recover/', { body: { email: 'nobody@example.com' } })).response.status,
      Authentication: (await anonymous.GET('/.well-known/jwks.json')).response.status,
      'Service clients': (await admin.GET('/api/v2/oauth/client/')).response.status,
      'Custom fields': (await admin.GET('/api/v2/custom_field/')).response.status,
      Operations: (await anonymous.GET('/health/ready')).response.status,
      'Invite codes': (await admin.POST('/api/v2/invite_code/', { params: { header: { 'Idempotency-Key': 'invite-1' } }, body: {} })).response.status,
      'Promo codes': (await admin.GET('/api/v2/promo_code/')).response.status,
      'Preferences and features': (await admin.GET('/api/v2/feature/')).response.status,
      Webhooks: (await admin.GET('/api/v2/webhook/endpoint/event/')).response.status,
      'Roles and permissions': (await admin.GET('/api/v2/permission/')).response.status,
      Accounts: (await admin.GET('/api/v2/user/me/')).response.status,
      'Rocket.Chat v1': (await admin.GET('/api/v1/users.info', { params: { query: { username: ADMIN.username } } })).response.status
    }
    t.strictSame(statuses, {
      'Account life': 204,
      Authentication: 200,
      'Service clients': 200,
      'Custom fields': 200,
      Operations: 200,
      'Invite codes': 201,
      'Promo codes': 200,
      'Preferences and features': 200,
      Webhooks: 200,
      'Roles and permissions': 200,
      Accounts: 200,
      'Rocket.Chat v1': 200
    })
  })
})
