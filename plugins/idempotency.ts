// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) on the operations the contract marks
// `x-idempotent`: the first 2xx answer is kept, encrypted, per caller and key, with a fingerprint
// of the request, and given again (with `Idempotent-Replayed: true`) to a repeat, from any
// instance, for IDEMPOTENCY_KEY_TTL_SECONDS. The key is taken before the handler runs; every
// transaction the handler commits records in itself that the change was made, so a repeat never
// makes it again.
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
    // The key this request holds, once taken, with whose it is.
    idempotencyKey?: { held: HeldKey, caller: string, key: string }
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
  // Keyed by the signing keys (the newest first; any configured one is still good, so a rotation
  // loses nothing). A body holds a password, and a plain hash of it in the database would let a
  // reader test guesses faster than bcrypt allows; an answer may hold a secret shown only in it (a
  // service client's), so it is kept encrypted, bound to its caller, key, status and type.
  const derivedKeys = (purpose: string): Buffer[] => fastify.config.tokens.keys.all.map((signing) => createHmac('sha256', signing.signingKey).update(purpose).digest())
  const fingerprintKeys = derivedKeys('idempotency-key fingerprint')
  const answerKeys = derivedKeys('idempotency-key answers')
  const sealed = { iv: 12, tag: 16 }
  const seal = (answer: string, binding: string): string => {
    const iv = randomBytes(sealed.iv)
    const cipher = createCipheriv('aes-256-gcm', answerKeys[0] as Buffer, iv, { authTagLength: sealed.tag }).setAAD(Buffer.from(binding))
    const body = Buffer.concat([cipher.update(answer, 'utf8'), cipher.final()])
    return [iv, cipher.getAuthTag(), body].map((part) => part.toString('base64')).join('.')
  }
  // Undefined when no configured key opens it (sealed with one rotated out since), or it is not
  // this request's.
  const open = (text: string, binding: string): string | undefined => {
    const [iv, tag, body] = text.split('.').map((part) => Buffer.from(part, 'base64'))
    if (iv?.length !== sealed.iv || tag?.length !== sealed.tag || body === undefined) return undefined
    for (const key of answerKeys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: sealed.tag }).setAAD(Buffer.from(binding)).setAuthTag(tag)
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')
      } catch {}
    }
    return undefined
  }
  const bindingOf = (caller: string, key: string, status: number, contentType: string | null): string => JSON.stringify([caller, key, status, contentType])
  const answerLost = (): Conflict => new Conflict('idempotency_key_answer_lost', 'Idempotency-Key',
    'The request with this Idempotency-Key made its change, and its answer is lost (its instance stopped first, or its signing key is no longer configured); read the result instead')

  const idempotent = (handler: RouteHandlerMethod): RouteHandlerMethod => async function (this: unknown, request: FastifyRequest, reply: FastifyReply) {
    const key = keyOf(request.headers['idempotency-key'])
    if (key === undefined) return await handler.call(fastify, request, reply)
    const described = JSON.stringify([request.method, request.url, request.body ?? null])
    const fingerprints = fingerprintKeys.map((fingerprintKey) => createHmac('sha256', fingerprintKey).update(described).digest('hex'))
    const caller = callerKeyOf(request)
    const claim = await keys.claim({ caller, key, fingerprints }, new Date(), ttlMs, CLAIM_LEASE_MS)
    switch (claim.kind) {
      case 'replay': {
        const answer = open(claim.body, bindingOf(caller, key, claim.status, claim.contentType))
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
        request.idempotencyKey = { held, caller, key }
        return await idempotentChange.run(held, async () => await handler.call(fastify, request, reply))
      }
    }
  }

  fastify.addHook('onRoute', (route) => {
    if (route.config?.idempotent !== true) return
    route.handler = idempotent(route.handler)
    const onSend = async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
      if (request.idempotencyKey === undefined) return payload
      const { held, caller, key } = request.idempotencyKey
      try {
        if (reply.statusCode >= 200 && reply.statusCode < 300) {
          const header = reply.getHeader('content-type')
          const contentType = typeof header === 'string' ? header : null
          const answer = seal(typeof payload === 'string' ? payload : '', bindingOf(caller, key, reply.statusCode, contentType))
          await keys.complete(held, reply.statusCode, contentType, answer, new Date())
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
