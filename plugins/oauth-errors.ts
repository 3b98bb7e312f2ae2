import type { FastifyRequest } from 'fastify'

// The OAuth2 endpoints (/oauth/token/, /oauth/revoke/, /oauth/introspect/) answer errors the way
// OAuth2 client libraries read them: RFC 6749 §5.2's `{ error, error_description }`.
export function isOAuthRequest (url: string): boolean {
  return url.startsWith('/oauth/')
}

export function onOAuthSurface (request: FastifyRequest): boolean {
  const route = request.routeOptions?.url
  return route !== undefined && isOAuthRequest(route)
}

// RFC 6749 §5.2's codes, which our domain errors of these endpoints carry as they are.
const OAUTH_ERROR_CODES = ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope']

// Any other failure in the nearest registered code: a request the service cannot take is
// `invalid_request`; being rate-limited or without a database, `temporarily_unavailable`; and
// anything else, `server_error` (both RFC 6749 §4.1.2.1's).
function oauthErrorCode (statusCode: number, code: string): string {
  if (OAUTH_ERROR_CODES.includes(code)) return code
  if (statusCode === 429 || statusCode === 503) return 'temporarily_unavailable'
  if (statusCode >= 500) return 'server_error'
  return 'invalid_request'
}

export function oauthError (body: { statusCode: number, code: string, message: string }, requestId: string): { error: string, error_description: string, request_id: string } {
  return { error: oauthErrorCode(body.statusCode, body.code), error_description: body.message, request_id: requestId }
}
