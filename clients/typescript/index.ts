// A typed client of account-service: openapi-fetch over the paths, parameters, bodies and answers
// that openapi-typescript generated from openapi.yaml (schema.d.ts, by `npm run generate`). Every
// call is typed by its path and method; answers come back as { data } or { error }.
import createClient, { type Client, type Middleware } from 'openapi-fetch'
import type { components, paths } from './schema.js'

export type { components, paths }
export type AccountServiceClient = Client<paths>

export interface ClientOptions {
  // Where the service listens, such as https://accounts.example.com.
  baseUrl: string
  // A bearer token, or a function that gives the current one (a client-credentials token that is
  // renewed before it expires).
  token?: string | (() => string | Promise<string>)
  fetch?: typeof globalThis.fetch
}

export function createAccountServiceClient (options: ClientOptions): AccountServiceClient {
  const client = createClient<paths>({ baseUrl: options.baseUrl, ...(options.fetch === undefined ? {} : { fetch: options.fetch }) })
  const { token } = options
  if (token !== undefined) {
    const authorization: Middleware = {
      async onRequest ({ request }) {
        if (!request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${typeof token === 'string' ? token : await token()}`)
        return request
      }
    }
    client.use(authorization)
  }
  return client
}
