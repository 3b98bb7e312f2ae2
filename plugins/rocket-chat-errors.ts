import type { FastifyRequest } from 'fastify'
import type { ErrorBody, ErrorOrigin } from './error-body.js'

// The Rocket.Chat-compatible surface: its clients read errors in its own shapes.
export function isRocketChatRequest (url: string): boolean {
  return url === '/api/v1' || url.startsWith('/api/v1/') || url.startsWith('/api/v1?')
}

// Decided by the route served, whose path is decoded (`/api/%761/login` is v1 login); by the
// URL as sent only where no route matched.
export function onRocketChatSurface (request: FastifyRequest): boolean {
  return isRocketChatRequest(request.routeOptions?.url ?? request.url)
}

const NOT_LOGGED_IN = 'You must be logged in to do this.'

// Rocket.Chat's errorTypes for the codes of our rules; any other code keeps its name, with `-`.
const ERROR_TYPES: Record<string, string> = {
  invalid_body: 'invalid-params',
  invalid_query: 'invalid-params',
  invalid_field: 'invalid-params',
  missing_field: 'error-the-field-is-required',
  username_reserved: 'error-blocked-username',
  username_taken: 'error-field-unavailable',
  email_taken: 'error-field-unavailable',
  unknown_role: 'error-action-not-allowed',
  password_too_weak: 'error-password-policy-not-met',
  password_contains_username: 'error-password-policy-not-met',
  password_too_common: 'error-password-policy-not-met',
  invalid_user: 'error-invalid-user',
  wrong_password: 'error-invalid-password',
  too_many_requests: 'error-too-many-requests',
  token_already_exists: 'error-token-already-exists',
  token_does_not_exist: 'error-token-does-not-exists'
}

// An invalid value of a field is its own errorType for the fields Rocket.Chat names.
const INVALID_FIELD_TYPES: Record<string, string> = {
  username: 'error-input-is-not-a-valid-field',
  email: 'error-invalid-email',
  password: 'error-password-policy-not-met',
  newPassword: 'error-password-policy-not-met'
}

function errorTypeOf (body: ErrorBody, origin: ErrorOrigin): string {
  if (origin.schema && body.statusCode === 400) return 'invalid-params'
  if (origin.customField) return 'error-user-registration-custom-field'
  if (body.code === 'password_change_required') return 'error-password-change-required'
  if (origin.forbidden) return 'error-action-not-allowed'
  if (body.code === 'invalid_field' && body.field !== undefined && INVALID_FIELD_TYPES[body.field] !== undefined) {
    return INVALID_FIELD_TYPES[body.field] as string
  }
  return ERROR_TYPES[body.code] ?? body.code.replaceAll('_', '-')
}

// An error in Rocket.Chat's shape: `{ success: false, error: '<reason> [<errorType>]', errorType,
// details }`, with its status codes (a refusal for lack of permission and a taken username are
// 400s there); authentication failures have their own bodies. Each also names the request.
export function rocketChatError (body: ErrorBody, origin: ErrorOrigin, requestId: string): { statusCode: number, body: Record<string, unknown> } {
  if (body.code === 'unauthorized') {
    return { statusCode: 401, body: { success: false, status: 'error', error: NOT_LOGGED_IN, message: NOT_LOGGED_IN, requestId } }
  }
  if (body.code === 'invalid_credentials') {
    return { statusCode: 401, body: { status: 'error', error: 'Unauthorized', message: body.message, requestId } }
  }
  if (body.code === 'account_not_active') {
    return { statusCode: 401, body: { status: 'error', error: 'error-user-is-not-activated', message: body.message, requestId } }
  }
  const errorType = errorTypeOf(body, origin)
  const statusCode = body.statusCode === 403 || body.statusCode === 409 ? 400 : body.statusCode
  return {
    statusCode,
    body: {
      success: false,
      error: `${body.message} [${errorType}]`,
      errorType,
      ...(body.field !== undefined ? { details: { field: body.field } } : {}),
      requestId
    }
  }
}
