// Rocket.Chat's own REST client (@rocket.chat/api-client) against the app over real HTTP, every
// answer it gets checked against openapi.yaml.
import { RestClient } from '@rocket.chat/api-client'
import type { Test } from 'tap'
import { contractViolations } from './contract.js'
import { ADMIN, build, type BuildOptions, type DatabaseKind, type TestApp, withoutRequestId } from './helper.js'

export interface Served { api: TestApp, baseUrl: string }

// The app listening on a free local port, for a client that speaks HTTP.
export async function serve (t: Test, kind: DatabaseKind, options?: BuildOptions): Promise<Served> {
  const api = await build(t, kind, options)
  return { api, baseUrl: await api.app.listen({ port: 0, host: '127.0.0.1' }) }
}

// Rocket.Chat's client, refusing any response that breaks openapi.yaml.
export function clientFor ({ baseUrl }: Served): RestClient {
  const client = new RestClient({ baseUrl })
  client.use(async ([endpoint, method, options], next) => {
    let response: Response
    try {
      response = await next(endpoint, method, options)
    } catch (error) {
      if (!(error instanceof Response)) throw error
      response = error
    }
    const url = new URL(response.url)
    const violations = contractViolations(method, `${url.pathname}${url.search}`, {
      statusCode: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      body: await response.clone().text()
    })
    if (violations.length > 0) throw new Error(`${method} ${url.pathname} → ${response.status} breaks openapi.yaml:\n  ${violations.join('\n  ')}`)
    if (!response.ok) throw response
    return response
  })
  return client
}

// Logs the client in as Rocket.Chat's tooling does: POST /v1/login, then the credentials.
export async function logIn (client: RestClient, user: string, password: string): Promise<Record<string, any>> {
  const result = await client.post('/v1/login', { user, password })
  client.setCredentials({ 'X-User-Id': result.data.userId, 'X-Auth-Token': result.data.authToken })
  return result
}

export async function adminClient (served: Served): Promise<RestClient> {
  const client = clientFor(served)
  await logIn(client, ADMIN.username, ADMIN.password)
  return client
}

// The raw Response the client rejects with on a non-2xx answer, as its callers receive it.
export async function rejectionOf (promise: Promise<unknown>): Promise<Response> {
  try {
    await promise
  } catch (error) {
    if (error instanceof Response) return error
    throw error
  }
  throw new Error('The client resolved where the service should have refused')
}

// The status and JSON body of that Response (its request id checked against X-Request-Id).
export async function refusal (promise: Promise<unknown>): Promise<{ status: number, body: unknown }> {
  const response = await rejectionOf(promise)
  return { status: response.status, body: withoutRequestId(response.url, response.headers.get('x-request-id'), await response.json()) }
}
