import type { PromoCode, Redemption } from '../../../services/promo-codes.js'
import type { Promo, PromoRedemption } from '../../../schemas/components.js'
import { userRepresentation } from './representations.js'

export function promoRepresentation (promo: PromoCode): Promo {
  return {
    id: promo.id,
    name: promo.name,
    code: promo.code,
    valid_from: promo.validFrom,
    valid_to: promo.validTo,
    max_uses: promo.maxUses,
    uses: promo.uses,
    active: promo.active,
    redeemable: promo.redeemable,
    created_at: promo.createdAt
  }
}

export function redemptionRepresentation (redemption: Redemption): PromoRedemption {
  return { user: userRepresentation(redemption.user), redeemed_at: redemption.redeemedAt }
}
