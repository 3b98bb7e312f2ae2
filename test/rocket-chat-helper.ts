// Talking to the Rocket.Chat surface (/api/v1/) the way its clients do: log in, then send
// X-Auth-Token and X-User-Id on every request.
import { RestClient } from '@rocket.chat/api-client'
import type { Test } from 'tap'
import { contractViolations } from './contract.js'
import { ADMIN, type ApiResponse, type BuildOptions, type DatabaseKind, type TestApp, build, withoutRequestId } from './helper.js'

export const USERS_CREATE = '/api/v1/users.create'

export interface RocketChatCredentials {
  userId: string
  authToken: string
}

export async function rocketChatLogin (api: TestApp, user = ADMIN.username, password = ADMIN.password): Promise<RocketChatCredentials> {
  const response = await api.request({ method: 'POST', url: '/api/v1/login', payload: { user, password } })
  if (response.statusCode !== 200) throw new Error(`${user} could not log in: ${response.text}`)
  return { userId: response.body.data.userId, authToken: response.body.data.authToken }
}

export function rocketChatHeaders (credentials: RocketChatCredentials): Record<string, string> {
  return { 'x-auth-token': credentials.authToken, 'x-user-id': credentials.userId }
}

// A valid users.create body; override any parameter.
export function newRocketChatUser (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'Jane Doe', email: 'jane@example.com', password: 'Corr3ct-Horse!', username: 'jane_doe', ...overrides }
}

export async function createRocketChatUser (api: TestApp, credentials: RocketChatCredentials, payload: unknown): Promise<ApiResponse> {
  return await api.request({ method: 'POST', url: USERS_CREATE, headers: rocketChatHeaders(credentials), payload: payload as Record<string, unknown> })
}

// Gives the user a role directly: no endpoint assigns roles yet.
export { giveRole, rowCount } from './helper.js'

// The user.created event written for the user.
export async function createdEventOf (api: TestApp, userId: number | string): Promise<Record<string, unknown> | undefined> {
  const events = await api.app.knex('outbox_events').where({ type: 'user.created' }).select('payload')
  return events.map((event: { payload: string }) => JSON.parse(event.payload) as Record<string, unknown>)
    .find((payload) => payload.id === Number(userId))
}

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
