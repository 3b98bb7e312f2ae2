import { type StoredPrincipal, actorOf } from '../domain/principal.js'
import type { AccountRepository, StoredUser } from '../repositories/account-repository.js'
import type { PromoCodeRepository, PromoFilter, StoredPromo } from '../repositories/promo-code-repository.js'
import type { PageWindow } from '../repositories/sql.js'
import { insertWithRandomCode } from './codes.js'
import { Conflict, InvalidInput, NotFound } from '../domain/errors.js'
import { storableTime } from '../domain/formats.js'

export type PromoProblem = 'inactive' | 'not_yet_valid' | 'expired' | 'exhausted'

// Why a promo code cannot be redeemed at `now`, or undefined when it can.
export function promoProblem (promo: StoredPromo, now: Date): PromoProblem | undefined {
  if (!promo.active) return 'inactive'
  if (Date.parse(promo.validFrom) > now.getTime()) return 'not_yet_valid'
  if (promo.validTo !== null && Date.parse(promo.validTo) <= now.getTime()) return 'expired'
  if (promo.maxUses !== null && promo.uses >= promo.maxUses) return 'exhausted'
  return undefined
}

// A promo code as the registry shows it: with whether it can be redeemed now.
export interface PromoCode extends StoredPromo {
  redeemable: boolean
}

export interface NewPromoCode {
  code?: string
  name?: string
  validFrom?: string
  validTo?: string
  maxUses?: number
  active?: boolean
}

export interface Redemption {
  user: StoredUser
  redeemedAt: string
}

// One page of a list, and how many items there are in all.
export interface Listing<T> {
  total: number
  items: T[]
}

function assessed (promo: StoredPromo, now: Date): PromoCode {
  return { ...promo, redeemable: promoProblem(promo, now) === undefined }
}

function notFound (code: string): NotFound {
  return new NotFound(`Promo code ${code} not found`)
}

// The registry of promo codes. Codes match regardless of case.
export class PromoCodeService {
  constructor (
    private readonly repository: PromoCodeRepository,
    private readonly accounts: AccountRepository
  ) {}

  async create (input: NewPromoCode, creator: StoredPrincipal, now = new Date()): Promise<PromoCode> {
    const validFrom = input.validFrom === undefined ? now : storableTime(input.validFrom, 'valid_from')
    const validTo = input.validTo === undefined ? null : storableTime(input.validTo, 'valid_to')
    if (validTo !== null && validTo.getTime() <= validFrom.getTime()) {
      throw new InvalidInput('invalid_field', 'valid_to', 'valid_to must be after valid_from')
    }
    if (validTo !== null && validTo.getTime() <= now.getTime()) {
      throw new InvalidInput('invalid_field', 'valid_to', 'valid_to must be in the future')
    }
    const settings = {
      name: input.name ?? '',
      validFrom,
      validTo,
      maxUses: input.maxUses ?? null,
      active: input.active ?? true,
      createdBy: actorOf(creator)
    }
    if (input.code !== undefined) {
      const promo = await this.repository.insert({ ...settings, code: input.code }, now)
      if (promo === undefined) throw new Conflict('promo_code_exists', 'code', `The promo code ${input.code} already exists`)
      return assessed(promo, now)
    }
    const promo = await insertWithRandomCode(async (code) => await this.repository.insert({ ...settings, code }, now))
    return assessed(promo, now)
  }

  async list (filter: PromoFilter, window: PageWindow, now = new Date()): Promise<Listing<PromoCode>> {
    const { total, promos } = await this.repository.list(filter, window)
    return { total, items: promos.map((promo) => assessed(promo, now)) }
  }

  async get (code: string, now = new Date()): Promise<PromoCode> {
    return assessed(await this.existing(code), now)
  }

  // One page of who redeemed the code and when, oldest first.
  async redemptions (code: string, window: PageWindow): Promise<Listing<Redemption>> {
    const promo = await this.existing(code)
    const { total, redemptions } = await this.repository.listRedemptions(promo.id, window)
    const users = await this.accounts.findByIds(redemptions.map((redemption) => redemption.userId))
    const usersById = new Map(users.map((user) => [user.id, user]))
    const items = redemptions.flatMap(({ userId, redeemedAt }) => {
      const user = usersById.get(userId)
      // A user deleted since this page was read takes its redemptions along.
      return user === undefined ? [] : [{ user, redeemedAt }]
    })
    return { total, items }
  }

  // From now on the code cannot be redeemed; an inactive code stays as it is.
  async deactivate (code: string, now = new Date()): Promise<PromoCode> {
    const promo = await this.repository.deactivate(code)
    if (promo === undefined) throw notFound(code)
    return assessed(promo, now)
  }

  private async existing (code: string): Promise<StoredPromo> {
    const promo = await this.repository.findByCode(code)
    if (promo === undefined) throw notFound(code)
    return promo
  }
}
