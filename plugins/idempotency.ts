// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) on the operations the contract marks
// `x-idempotent`: the first 2xx answer is kept per caller and key, with a fingerprint of the
// request, and given again (with `Idempotent-Replayed: true`) to a repeat, from any instance, for
// IDEMPOTENCY_KEY_TTL_SECONDS, encrypted. The key is taken before the handler runs; every transaction the
// handler commits records in itself that the change was made, so a repeat never makes it again.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto'
import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify'
import fp from 'fastify-plugin'
import { Conflict, IdempotencyKeyInProgress, IdempotencyKeyReused, InvalidInput } from '../domain/errors.js'
import { IdempotencyKeyRepository } from '../repositories/idempotency-keys.js'
import { type HeldKey, idempotentChange } from '../repositories/sql.js'
import { callerOf } from './auth.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    // The contract's x-idempotent.
    idempotent?: boolean
  }
  interface FastifyRequest {
    // The key this request holds, once taken.
    idempotencyKey?: HeldKey
  }
}

// A request that took a key longer ago than this, and made no change, is gone: its key is free.
const CLAIM_LEASE_MS = 60_000
// An sf-string (as the draft writes it) or a bare token, of printable ASCII.
const KEY = /^"?([\x21\x23-\x7e]{1,255})"?$/

function keyOf (header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined
  const match = typeof header === 'string' ? KEY.exec(header) : null
  if (match?.[1] === undefined || (header as string).startsWith('"') !== (header as string).endsWith('"')) {
    throw new InvalidInput('invalid_field', 'Idempotency-Key', 'Idempotency-Key must be one value of 1 to 255 printable ASCII characters, as "..." or bare')
  }
  return match[1]
}

function callerKeyOf (request: FastifyRequest): string {
  const caller = callerOf(request)
  return caller.kind === 'user' ? `u:${caller.userId}` : `c:${caller.clientRowId}`
}

export default fp(async (fastify) => {
  const keys = new IdempotencyKeyRepository(fastify.knex)
  const ttlMs = fastify.config.idempotencyKeyTtlSeconds * 1000
  // Both keyed by the signing key. A body holds a password, and a plain hash of it in the database
  // would let a reader test guesses faster than bcrypt allows; an answer may hold a secret shown
  // only in it (a service client's), so it is kept encrypted.
  const derivedKey = (purpose: string): Buffer => createHmac('sha256', fastify.config.tokens.keys.signing.signingKey).update(purpose).digest()
  const fingerprintKey = derivedKey('idempotency-key fingerprint')
  const answerKey = derivedKey('idempotency-key answers')
  const seal = (answer: string): string => {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', answerKey, iv)
    const sealed = Buffer.concat([cipher.update(answer, 'utf8'), cipher.final()])
    return [iv, cipher.getAuthTag(), sealed].map((part) => part.toString('base64')).join('.')
  }
  // Undefined when the answer was sealed with another signing key (one rotated out since).
  const open = (sealed: string): string | undefined => {
    const [iv, tag, body] = sealed.split('.').map((part) => Buffer.from(part, 'base64'))
    try {
      const decipher = createDecipheriv('aes-256-gcm', answerKey, iv as Buffer).setAuthTag(tag as Buffer)
      return Buffer.concat([decipher.update(body as Buffer), decipher.final()]).toString('utf8')
    } catch {
      return undefined
    }
  }
  const answerLost = (): Conflict => new Conflict('idempotency_key_answer_lost', 'Idempotency-Key',
    'The request with this Idempotency-Key made its change, and its answer is lost (its instance stopped first, or the signing key changed since); read the result instead')

  const idempotent = (handler: RouteHandlerMethod): RouteHandlerMethod => async function (this: unknown, request: FastifyRequest, reply: FastifyReply) {
    const key = keyOf(request.headers['idempotency-key'])
    if (key === undefined) return await handler.call(fastify, request, reply)
    const fingerprint = createHmac('sha256', fingerprintKey).update(JSON.stringify([request.method, request.url, request.body ?? null])).digest('hex')
    const claim = await keys.claim({ caller: callerKeyOf(request), key, fingerprint }, new Date(), ttlMs, CLAIM_LEASE_MS)
    switch (claim.kind) {
      case 'replay': {
        const answer = open(claim.body)
        if (answer === undefined) throw answerLost()
        void reply.code(claim.status).header('idempotent-replayed', 'true')
        if (claim.contentType !== null) void reply.header('content-type', claim.contentType)
        return await reply.send(answer)
      }
      case 'reused':
        throw new IdempotencyKeyReused()
      case 'in_progress':
        throw new IdempotencyKeyInProgress()
      case 'answer_lost':
        throw answerLost()
      case 'new': {
        const held = { keyId: claim.id, claimToken: claim.token }
        request.idempotencyKey = held
        return await idempotentChange.run(held, async () => await handler.call(fastify, request, reply))
      }
    }
  }

  fastify.addHook('onRoute', (route) => {
    if (route.config?.idempotent !== true) return
    route.handler = idempotent(route.handler)
    const onSend = async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
      const held = request.idempotencyKey
      if (held === undefined) return payload
      try {
        if (reply.statusCode >= 200 && reply.statusCode < 300) {
          const contentType = reply.getHeader('content-type')
          await keys.complete(held, reply.statusCode, typeof contentType === 'string' ? contentType : null, seal(typeof payload === 'string' ? payload : ''), new Date())
        } else {
          await keys.release(held)
        }
      } catch (error) {
        // The answer still goes out; a repeat then finds the key in progress, or its answer lost.
        request.log.warn({ err: error }, 'idempotency: the answer could not be kept')
      }
      return payload
    }
    route.onSend = [...[route.onSend ?? []].flat(), onSend]
  })
}, { name: 'idempotency', dependencies: ['database', 'auth'] })
