// Talking to the Rocket.Chat surface (/api/v1/) the way its clients do: log in, then send
// X-Auth-Token and X-User-Id on every request.
import type { RestClient } from '@rocket.chat/api-client'
import { ADMIN, type ApiResponse, type TestApp } from './helper.js'
import { clientFor, logIn } from './rocket-chat-rest-client.js'

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

// Rocket.Chat's own REST client for the app listening on a free local port, logged in as the
// user; a response that breaks openapi.yaml fails the call, a refusal rejects with its Response.
export async function rocketChatClientFor (api: TestApp, user = ADMIN.username, password = ADMIN.password): Promise<RestClient> {
  const client = clientFor({ api, baseUrl: await api.app.listen({ port: 0, host: '127.0.0.1' }) })
  await logIn(client, user, password)
  return client
}
