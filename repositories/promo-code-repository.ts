import type { Knex } from 'knex'
import type { Actor } from '../domain/principal.js'
import { normalizedCode } from './invite-code-repository.js'
import { fromDatabaseTime, retryingDeadlocks, startsWith, supportsRowLocks, toDatabaseTime, type PageWindow, violatedUniqueColumn, windowOf } from './sql.js'

export interface StoredPromo {
  id: number
  code: string
  name: string
  validFrom: string
  validTo: string | null
  maxUses: number | null
  uses: number
  active: boolean
  createdAt: string
  createdBy: number | null
}

interface PromoRow {
  id: number
  code: string
  name: string
  valid_from: string
  valid_to: string | null
  max_uses: number | null
  uses: number
  active: number | boolean
  created_at: string
  created_by: number | null
}

export function promoFromRow (row: PromoRow): StoredPromo {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    validFrom: fromDatabaseTime(row.valid_from),
    validTo: row.valid_to === null ? null : fromDatabaseTime(row.valid_to),
    maxUses: row.max_uses,
    uses: row.uses,
    active: Boolean(row.active),
    createdAt: fromDatabaseTime(row.created_at),
    createdBy: row.created_by
  }
}

// The promo code with this code (in any case). With `lock`, inside a transaction, no other
// transaction can redeem or deactivate it until this one ends.
export async function selectPromo (db: Knex, code: string, options: { lock: boolean }): Promise<StoredPromo | undefined> {
  const query = db('promo_codes').where({ code_normalized: normalizedCode(code) }).first<PromoRow | undefined>('*')
  if (options.lock && supportsRowLocks(db)) void query.forUpdate()
  const row = await query
  return row === undefined ? undefined : promoFromRow(row)
}

export interface NewPromo {
  code: string
  name: string
  validFrom: Date
  validTo: Date | null
  maxUses: number | null
  active: boolean
  createdBy: Actor
}

export interface PromoFilter {
  active?: boolean
  // The start of the code or of the name, in any case.
  search?: string
}

export interface StoredRedemption {
  userId: number
  redeemedAt: string
}


export class PromoCodeRepository {
  constructor (private readonly knex: Knex) {}

  // The new promo code, or undefined when its code is already one in any case.
  async insert (promo: NewPromo, at: Date): Promise<StoredPromo | undefined> {
    try {
      // In a transaction of its own, as every change is (an Idempotency-Key's records it).
      await retryingDeadlocks(this.knex, async (trx) => await trx('promo_codes').insert({
        code: promo.code,
        code_normalized: normalizedCode(promo.code),
        name: promo.name,
        valid_from: toDatabaseTime(promo.validFrom),
        valid_to: promo.validTo === null ? null : toDatabaseTime(promo.validTo),
        max_uses: promo.maxUses,
        active: promo.active,
        created_at: toDatabaseTime(at),
        created_by: promo.createdBy.userId,
        created_by_client: promo.createdBy.clientRowId
      }))
    } catch (error) {
      if (violatedUniqueColumn(error, ['code_normalized']) !== undefined) return undefined
      throw error
    }
    return await this.findByCode(promo.code)
  }

  async findByCode (code: string): Promise<StoredPromo | undefined> {
    return await selectPromo(this.knex, code, { lock: false })
  }

  // One page of the promo codes that pass the filter, newest first, and how many pass it.
  async list (filter: PromoFilter, window: PageWindow): Promise<{ total: number, promos: StoredPromo[] }> {
    const matching = this.knex('promo_codes').modify((query) => {
      if (filter.active !== undefined) void query.where({ active: filter.active })
      if (filter.search !== undefined) {
        const { search } = filter
        // The name is compared through its case-insensitive collation (LIKE folds ASCII case on SQLite).
        void query.where((either) => {
          void either.whereRaw(...startsWith('code_normalized', normalizedCode(search))).orWhereRaw(...startsWith('name', search))
        })
      }
    })
    const { total, rows } = await windowOf<PromoRow>(matching, window, [{ column: 'id', order: 'desc' }])
    return { total, promos: rows.map(promoFromRow) }
  }

  // One page of the redemptions of a promo code, oldest first, and how many there are.
  async listRedemptions (promoId: number, window: PageWindow): Promise<{ total: number, redemptions: StoredRedemption[] }> {
    const redemptions = this.knex('promo_code_redemptions').where({ promo_code_id: promoId })
    const { total, rows } = await windowOf<{ user_id: number, redeemed_at: string }>(redemptions, window,
      [{ column: 'redeemed_at', order: 'asc' }, { column: 'id', order: 'asc' }], ['user_id', 'redeemed_at'])
    return { total, redemptions: rows.map((row) => ({ userId: row.user_id, redeemedAt: fromDatabaseTime(row.redeemed_at) })) }
  }

  // The promo code, now inactive; undefined when there is none.
  async deactivate (code: string): Promise<StoredPromo | undefined> {
    await this.knex('promo_codes').where({ code_normalized: normalizedCode(code) }).update({ active: false })
    return await this.findByCode(code)
  }
}
