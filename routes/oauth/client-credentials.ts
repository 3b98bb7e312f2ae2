import type { FastifyRequest } from 'fastify'
import { InvalidClient, InvalidRequest } from '../../domain/errors.js'
import type { ClientCredentials } from '../../services/tokens.js'

// RFC 6749 §2.3.1: the client's id and secret are form-encoded before they go into HTTP Basic.
function formDecoded (text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '))
  } catch {
    throw new InvalidClient()
  }
}

// The client credentials of an OAuth2 request: HTTP Basic (client_secret_basic) or client_id and
// client_secret in the body (client_secret_post), never both; undefined when the request names no
// client. Swagger UI's password flow sends `Basic` of an empty id and secret when none is given,
// which names no client either.
export function clientCredentialsOf (request: FastifyRequest, body: { client_id?: string, client_secret?: string }): ClientCredentials | undefined {
  const inBody = (body.client_id ?? '') !== '' || (body.client_secret ?? '') !== ''
  const authorization = request.headers.authorization
  if (authorization !== undefined) {
    const encoded = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(authorization)?.[1]
    if (encoded === undefined) throw new InvalidClient()
    const decoded = Buffer.from(encoded, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon === -1) throw new InvalidClient()
    const credentials = { clientId: formDecoded(decoded.slice(0, colon)), clientSecret: formDecoded(decoded.slice(colon + 1)) }
    const named = credentials.clientId !== '' || credentials.clientSecret !== ''
    if (named && inBody) throw new InvalidRequest('Authenticate the client one way: HTTP Basic or the body, not both')
    if (named) return credentials
  }
  if (!inBody) return undefined
  return { clientId: body.client_id ?? '', clientSecret: body.client_secret ?? '' }
}
