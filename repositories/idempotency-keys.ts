import { randomUUID } from 'node:crypto'
import type { Knex } from 'knex'
import { type HeldKey, fromDatabaseTime, readCommitted, retryingDeadlocks, supportsRowLocks, toDatabaseTime } from './sql.js'

// What a request with an Idempotency-Key finds: the key is its own now (`new`), or it holds the
// answer to give again, or it is another request's (in progress, with another body, or made its
// change and lost its answer with its instance).
export type IdempotencyClaim =
  | { kind: 'new', id: number, token: string }
  | { kind: 'replay', status: number, contentType: string | null, body: string }
  | { kind: 'reused' }
  | { kind: 'in_progress' }
  | { kind: 'answer_lost' }

export interface IdempotentRequest {
  caller: string
  key: string
  // Its fingerprint by each configured key, the newest (which is stored) first.
  fingerprints: string[]
}

interface KeyRow {
  id: number | string
  fingerprint: string
  claim_token: string
  status: string
  committed: number | boolean
  response_status: number | null
  response_content_type: string | null
  response_body: string | null
  claimed_at: string
}

const EXPIRED_PURGED_AT_ONCE = 100

export class IdempotencyKeyRepository {
  constructor (private readonly knex: Knex) {}

  // Takes the key for this request, unless another holds it. A claim older than `leaseMs` whose
  // change was not made is taken over: its request is gone, or if not, its change and its answer
  // now fail (they are the holder's, by its token). Read committed, so that looking for a key no
  // one has locks no gap that another caller's key is inserted into.
  async claim (request: IdempotentRequest, now: Date, ttlMs: number, leaseMs: number): Promise<IdempotencyClaim> {
    const token = randomUUID()
    const at = toDatabaseTime(now)
    return await retryingDeadlocks(this.knex, async (trx) => {
      const key = { caller: request.caller, idempotency_key: request.key }
      await trx('idempotency_keys').where(key).where('expires_at', '<=', at).delete()
      await trx('idempotency_keys').insert({
        ...key, fingerprint: request.fingerprints[0], claim_token: token, status: 'in_progress', committed: false, claimed_at: at, expires_at: toDatabaseTime(new Date(now.getTime() + ttlMs))
      }).onConflict(['caller', 'idempotency_key']).ignore()
      const read = trx('idempotency_keys').where(key)
        .first<KeyRow>('id', 'fingerprint', 'claim_token', 'status', 'committed', 'response_status', 'response_content_type', 'response_body', 'claimed_at')
      const row = await (supportsRowLocks(trx) ? read.forUpdate() : read)
      if (row.claim_token === token) return { kind: 'new', id: Number(row.id), token }
      if (!request.fingerprints.includes(row.fingerprint)) return { kind: 'reused' }
      if (row.status === 'done') return { kind: 'replay', status: Number(row.response_status), contentType: row.response_content_type, body: row.response_body ?? '' }
      if (Date.parse(fromDatabaseTime(row.claimed_at)) > now.getTime() - leaseMs) return { kind: 'in_progress' }
      if (Boolean(row.committed)) return { kind: 'answer_lost' }
      await trx('idempotency_keys').where({ id: row.id }).update({ claim_token: token, claimed_at: at })
      return { kind: 'new', id: Number(row.id), token }
    }, readCommitted(this.knex))
  }

  // The answer to give every repeat, while the request still holds the key; and some expired keys go.
  async complete (held: HeldKey, status: number, contentType: string | null, body: string, now: Date): Promise<void> {
    await this.knex('idempotency_keys').where({ id: held.keyId, claim_token: held.claimToken }).update({ status: 'done', response_status: status, response_content_type: contentType, response_body: body })
    const expired: Array<number | string> = await this.knex('idempotency_keys').where('expires_at', '<=', toDatabaseTime(now)).limit(EXPIRED_PURGED_AT_ONCE).pluck('id')
    if (expired.length > 0) await this.knex('idempotency_keys').whereIn('id', expired).delete()
  }

  // Lets the key go when its request made no change (it was refused, or failed): a repeat runs anew.
  async release (held: HeldKey): Promise<void> {
    await this.knex('idempotency_keys').where({ id: held.keyId, claim_token: held.claimToken, committed: false }).delete()
  }
}
