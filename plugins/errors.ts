import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import { CommitOutcomeUnknown } from '../repositories/sql.js'
import { DatabaseUnavailable, DomainError, Forbidden, InvalidCustomField, OutcomeUnknown } from '../domain/errors.js'
import { isOAuthRequest, oauthError, onOAuthSurface } from './oauth-errors.js'
import { isRocketChatRequest, onRocketChatSurface, rocketChatError } from './rocket-chat-errors.js'
import type { ErrorBody, ErrorOrigin } from './error-body.js'

const NO_ORIGIN: ErrorOrigin = { schema: false, customField: false, forbidden: false }

interface ValidationIssue {
  keyword: string
  instancePath: string
  params: Record<string, unknown>
  message?: string
}

// '/custom/0' → 'custom[0]'; '/company' → 'company'
function fieldName (instancePath: string, child?: unknown): string {
  const segments = instancePath.split('/').slice(1)
  if (typeof child === 'string') segments.push(child)
  return segments.reduce((path, segment) =>
    /^\d+$/.test(segment) ? `${path}[${segment}]` : path === '' ? segment : `${path}.${segment}`, '')
}

function validationErrorBody (issue: ValidationIssue, part: string): ErrorBody {
  const where = part === 'body' ? 'request body' : part
  if (issue.keyword === 'required') {
    const field = fieldName(issue.instancePath, issue.params.missingProperty)
    return { statusCode: 400, code: 'missing_field', message: `${field} is required`, field }
  }
  if (issue.keyword === 'additionalProperties') {
    const field = fieldName(issue.instancePath, issue.params.additionalProperty)
    return { statusCode: 400, code: 'unknown_field', message: `${field} is not a field of the ${where}`, field }
  }
  const field = fieldName(issue.instancePath)
  if (field === '') {
    const message = issue.keyword === 'type' ? `The ${where} must be a JSON ${String(issue.params.type)}` : `The ${where} ${issue.message ?? 'is invalid'}`
    return { statusCode: 400, code: 'invalid_body', message }
  }
  return { statusCode: 400, code: 'invalid_field', message: `${field} ${issue.message ?? 'is invalid'}`, field }
}

// An anyOf reports the failure of each of its members, then its own. A member's complaint that
// the value is not of its type says nothing when another member is of that type: that member's
// complaint is the one that tells what is wrong.
function decisiveIssue (issues: ValidationIssue[]): ValidationIssue | undefined {
  const unions = new Set(issues.filter((issue) => issue.keyword === 'anyOf').map((issue) => issue.instancePath))
  return issues.find((issue) => issue.keyword !== 'anyOf' && !(issue.keyword === 'type' && unions.has(issue.instancePath))) ?? issues[0]
}

// Fastify's own errors that are the client's doing, in our terms.
const FRAMEWORK_ERRORS: Record<string, Omit<ErrorBody, 'statusCode'>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'malformed_json', message: 'The request body is not valid JSON' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large', message: 'The request body is too large' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'invalid_body', message: 'The Content-Length header does not match the body' }
}

const UNAVAILABLE_DATABASE_CODES = [
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', 'PROTOCOL_CONNECTION_LOST', 'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED',
  // Still deadlocked after retries, or waited too long for a lock: busy, worth a retry later.
  'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'SQLITE_BUSY'
]

// What the drivers say, without a code, of a connection that is gone: Knex of its closed pool,
// better-sqlite3 of a closed database. (mysql2 marks every error that ends its connection fatal,
// "Can't add new command when connection is in closed state" among them.)
const LOST_CONNECTION_MESSAGES = ['Unable to acquire a connection', 'The database connection is not open']

// No connection could be had (the server is down or unreachable, the pool timed out waiting,
// or the pool is closed), the connection was lost on the way, or the database is too busy.
function isDatabaseUnavailable (error: FastifyError): boolean {
  return error.name === 'KnexTimeoutError' || (error as { fatal?: unknown }).fatal === true ||
    UNAVAILABLE_DATABASE_CODES.includes(error.code) || LOST_CONNECTION_MESSAGES.some((message) => String(error.message).endsWith(message))
}

// Node's error for a request whose client hung up before sending all of it.
function isClientAbort (error: FastifyError): boolean {
  return error.code === 'ECONNRESET' && error.message === 'aborted'
}

type Surface = 'rocket-chat' | 'oauth' | 'v2'

// The body in a surface's shape: Rocket.Chat's under /api/v1/, OAuth2's on its endpoints, ours
// everywhere else; each names the request (as its X-Request-Id header and log lines do), so a
// caller's report of a failure leads to its log lines.
function inSurfaceShape (surface: Surface, body: ErrorBody, origin: ErrorOrigin, requestId: string): { statusCode: number, body: Record<string, unknown> } {
  if (surface === 'rocket-chat') return rocketChatError(body, origin, requestId)
  if (surface === 'oauth') return { statusCode: body.statusCode, body: oauthError(body, requestId) }
  return { statusCode: body.statusCode, body: { ...body, requestId } }
}

function surfaceOf (request: FastifyRequest): Surface {
  return onRocketChatSurface(request) ? 'rocket-chat' : onOAuthSurface(request) ? 'oauth' : 'v2'
}

function send (request: FastifyRequest, reply: FastifyReply, body: ErrorBody, origin = NO_ORIGIN): FastifyReply {
  const answer = inSurfaceShape(surfaceOf(request), body, origin, request.id)
  return reply.code(answer.statusCode).type('application/json').send(answer.body)
}

function sendDomainError (request: FastifyRequest, reply: FastifyReply, error: DomainError): FastifyReply {
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds))
  if (error.challenge !== undefined) reply.header('www-authenticate', error.challenge)
  return send(request, reply, { statusCode: error.statusCode, code: error.code, message: error.message, field: error.field },
    { schema: false, customField: error instanceof InvalidCustomField, forbidden: error instanceof Forbidden })
}

// Errors Fastify meets before any route is chosen (an undecodable URL), in the same body.
export const frameworkErrors: FastifyServerOptions['frameworkErrors'] = (error, request, reply) => {
  // No hook runs for these, so the request id is set here.
  reply.header('x-request-id', request.id)
  void send(request, reply, { statusCode: 400, code: 'bad_request', message: error.code === 'FST_ERR_BAD_URL' ? 'The URL is not validly encoded' : 'Bad request' })
}

// The path of the request line Node's parser had read, if it got that far.
function requestPathOf (rawPacket: unknown): string | undefined {
  return /^[A-Z]+ (\S+) HTTP\//.exec(Buffer.isBuffer(rawPacket) ? rawPacket.toString('latin1', 0, 8192) : '')?.[1]
}

function surfaceOfPath (path: string | undefined): Surface {
  return path === undefined ? 'v2' : isRocketChatRequest(path) ? 'rocket-chat' : isOAuthRequest(path) ? 'oauth' : 'v2'
}

// Requests Node's HTTP parser rejects never reach Fastify; they get the same body, written raw,
// in the shape of the surface the request line names (Rocket.Chat's, OAuth2's), if it got that far.
// No request was made of them, so their id is a new one, logged with the refusal (the packet is
// not: its headers may hold credentials). Fastify calls this with the app as `this`.
export function clientErrorHandler (this: FastifyInstance, error: Error & { code?: string, rawPacket?: unknown }, socket: Socket): void {
  const [statusCode, code, message] = error.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'headers_too_large', 'The request headers are too large']
    : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'The request took too long to arrive']
      : [400, 'bad_request', 'The request is not valid HTTP']
  const requestId = randomUUID()
  const body = JSON.stringify(inSurfaceShape(surfaceOfPath(requestPathOf(error.rawPacket)), { statusCode, code, message }, NO_ORIGIN, requestId).body)
  if (socket.writable) {
    this.log.info({ reqId: requestId, statusCode, code, remoteAddress: socket.remoteAddress }, 'refused a request the HTTP parser could not read')
    socket.end(`HTTP/1.1 ${statusCode} ${code.replaceAll('_', ' ')}\r\nconnection: close\r\ncache-control: no-store\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `x-request-id: ${requestId}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
  } else {
    socket.destroy()
  }
}

// One JSON error body everywhere (in Rocket.Chat's terms on its surface, /api/v1/): a status, a
// machine-readable code, a message and the field at fault. A client error is answered for what
// it is; anything else is logged and answered with a message that reveals nothing of the internals.
export default fp(async (fastify) => {
  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    // The client's doing, and no one hears the answer: nothing to alarm anyone about.
    if (isClientAbort(error)) {
      request.log.info('client aborted the request')
      return send(request, reply, { statusCode: 400, code: 'bad_request', message: 'The client closed the connection before sending the whole request' })
    }
    if (error instanceof CommitOutcomeUnknown) {
      request.log.error({ err: error }, 'commit outcome unknown')
      return sendDomainError(request, reply, new OutcomeUnknown())
    }
    if (isDatabaseUnavailable(error)) {
      request.log.error({ err: error }, 'database unavailable')
      return sendDomainError(request, reply, new DatabaseUnavailable())
    }
    if (error instanceof DomainError) return sendDomainError(request, reply, error)
    const issue = decisiveIssue((error.validation ?? []) as ValidationIssue[])
    if (issue !== undefined) {
      return send(request, reply, validationErrorBody(issue, error.validationContext ?? 'body'), { ...NO_ORIGIN, schema: true })
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      const contentType = request.headers['content-type']
      const message = contentType === undefined ? 'The request body needs a Content-Type' : `This operation does not accept a ${contentType.slice(0, 100)} body`
      return send(request, reply, { statusCode: 415, code: 'unsupported_media_type', message })
    }
    const known = FRAMEWORK_ERRORS[error.code]
    if (known !== undefined) return send(request, reply, { statusCode: error.statusCode ?? 400, ...known }, { ...NO_ORIGIN, schema: true })
    const statusCode = error.statusCode ?? 500
    if (statusCode >= 400 && statusCode < 500) {
      return send(request, reply, { statusCode, code: 'bad_request', message: error.message })
    }
    request.log.error({ err: error }, 'request failed')
    return send(request, reply, { statusCode: 500, code: 'internal_error', message: 'Internal server error' })
  })

  fastify.setNotFoundHandler((request, reply) => {
    return send(request, reply, { statusCode: 404, code: 'not_found', message: `No route for ${request.method} ${request.url.split('?')[0] ?? ''}` })
  })
}, { name: 'errors' })
