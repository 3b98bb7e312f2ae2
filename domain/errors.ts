// The service cannot start as configured; the message says why in one line.
export class StartupError extends Error {
  override name = 'StartupError'
}

// Domain errors: services throw these; the error plugin turns them into each surface's body.
export class DomainError extends Error {
  // Set when the request may be retried after that many seconds (the Retry-After header).
  readonly retryAfterSeconds?: number
  // The authentication challenge to answer with (the WWW-Authenticate header), when there is one.
  readonly challenge?: string

  constructor (
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string
  ) {
    super(message)
    this.name = new.target.name
  }
}

export class InvalidInput extends DomainError {
  constructor (code: string, field: string | undefined, message: string) {
    super(400, code, message, field)
  }
}

// The realm of every challenge: the service's own (RFC 6750 §3).
const REALM = 'account-service'

// RFC 6750 §3: error_description is a quoted string of printable ASCII without `"` or `\`.
function quotedDescription (reason: string): string {
  return `"${reason.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, ' ')}"`
}

// No credentials at all: RFC 6750 §3.1 says the challenge then carries no error.
export class Unauthorized extends DomainError {
  override readonly challenge: string = `Bearer realm="${REALM}"`

  constructor (message = 'A valid bearer token is required') {
    super(401, 'unauthorized', message)
  }
}

// A token that is malformed, expired, revoked, not ours, or whose principal can no longer act.
export class InvalidToken extends Unauthorized {
  override readonly challenge: string

  constructor (reason: string) {
    super(reason)
    this.challenge = `Bearer realm="${REALM}", error="invalid_token", error_description=${quotedDescription(reason)}`
  }
}

export class Forbidden extends DomainError {
  constructor (message: string, field?: string, code = 'forbidden') {
    super(403, code, message, field)
  }
}

// The token is valid, but was not granted the scope the operation needs (RFC 6750 §3.1).
export class InsufficientScope extends Forbidden {
  override readonly challenge: string

  constructor (scope: string) {
    super(`This operation needs a token with the ${scope} scope`, undefined, 'insufficient_scope')
    this.challenge = `Bearer realm="${REALM}", error="insufficient_scope", scope="${scope}"`
  }
}

// The database does not answer (or is too busy); the request may be retried after a while.
export class DatabaseUnavailable extends DomainError {
  override readonly retryAfterSeconds = 5

  constructor () {
    super(503, 'database_unavailable', 'The database does not answer; retry shortly')
  }
}

// The process is too busy (event-loop delay, memory) to take more work now.
export class Overloaded extends DomainError {
  override readonly retryAfterSeconds = 5

  constructor () {
    super(503, 'overloaded', 'The service is overloaded; retry shortly')
  }
}

// The service is closing: another instance, or this one restarted, takes the retry.
export class ShuttingDown extends DomainError {
  override readonly retryAfterSeconds = 1

  constructor () {
    super(503, 'shutting_down', 'The service is shutting down; retry shortly')
  }
}

// The connection was lost while a transaction committed: the change may or may not be there.
export class OutcomeUnknown extends DomainError {
  override readonly retryAfterSeconds = 5

  constructor () {
    super(503, 'outcome_unknown', 'The database connection was lost while the change was committed: it may or may not have been made; look before retrying')
  }
}

export class NotFound extends DomainError {
  constructor (message: string) {
    super(404, 'not_found', message)
  }
}

export class Conflict extends DomainError {
  constructor (code: string, field: string, message: string) {
    super(409, code, message, field)
  }
}

export class UsernameTaken extends Conflict {
  constructor () {
    super('username_taken', 'username', 'username is already taken')
  }
}

export class EmailTaken extends Conflict {
  constructor () {
    super('email_taken', 'email', 'email is already taken')
  }
}

// The errors of the OAuth2 endpoints, by RFC 6749 §5.2's codes; the OAuth error body carries the
// code as `error` and the message as `error_description`.
export class InvalidRequest extends DomainError {
  constructor (message: string, field?: string) {
    super(400, 'invalid_request', message, field)
  }
}

export class InvalidGrant extends DomainError {
  constructor (message = 'Invalid username or password') {
    super(400, 'invalid_grant', message)
  }
}

// Client authentication failed: an unknown client, a wrong secret, a disabled client.
export class InvalidClient extends DomainError {
  override readonly challenge = `Basic realm="${REALM}"`

  constructor () {
    super(401, 'invalid_client', 'Client authentication failed')
  }
}

export class UnauthorizedClient extends DomainError {
  constructor (message: string) {
    super(400, 'unauthorized_client', message)
  }
}

export class InvalidScope extends DomainError {
  constructor (message: string) {
    super(400, 'invalid_scope', message, 'scope')
  }
}

// A login (v1) with an unknown user or a wrong password.
export class InvalidCredentials extends DomainError {
  constructor () {
    super(401, 'invalid_credentials', 'Unauthorized')
  }
}

// A login (v1) with the right password of an account that is not active.
export class AccountNotActive extends DomainError {
  constructor () {
    super(401, 'account_not_active', 'User is not activated')
  }
}

// A custom field's value is missing, unknown or invalid: the rule is the registry's, which
// Rocket.Chat reports under its own errorType.
export class InvalidCustomField extends InvalidInput {}

// Too many requests from one address in the rate limit's window.
export class TooManyRequests extends DomainError {
  constructor (override readonly retryAfterSeconds: number) {
    // Rocket.Chat's wording, which its clients parse for the wait ("must wait N seconds").
    super(429, 'too_many_requests', `Too many requests: you must wait ${retryAfterSeconds} seconds before trying this endpoint again`)
  }
}

export class UnsupportedGrantType extends DomainError {
  constructor () {
    super(400, 'unsupported_grant_type', 'grant_type must be password, refresh_token or client_credentials', 'grant_type')
  }
}

// The operation sends a mail, and this instance sends none (production without SMTP_URL): it is
// refused before anything changes, rather than made without its mail.
export class MailNotConfigured extends DomainError {
  constructor () {
    super(503, 'mail_not_configured', 'This service is not configured to send mail, which this operation needs')
  }
}

// Idempotency-Key: a key used for another request, or a repeat while the first is answered.
export class IdempotencyKeyReused extends DomainError {
  constructor () {
    super(422, 'idempotency_key_reused', 'This Idempotency-Key was used with another request (another body or path); use a new key for a new request', 'Idempotency-Key')
  }
}

export class IdempotencyKeyInProgress extends Conflict {
  override readonly retryAfterSeconds = 1

  constructor () {
    super('idempotency_key_in_progress', 'Idempotency-Key', 'A request with this Idempotency-Key is still being answered; repeat it in a moment')
  }
}
