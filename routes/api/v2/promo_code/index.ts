import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../../../../plugins/auth.js'
import { operations } from '../../../../schemas/operations.js'
import { pageOf, pageWindow } from '../pages.js'
import { promoRepresentation, redemptionRepresentation } from '../promo-representations.js'

const promoCodeRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const promoCodes = fastify.promoCodeService

  fastify.route({
    ...operations.listPromoCodes,
    handler: async (request) => {
      const { active, search } = request.query
      const window = pageWindow(request.query)
      const page = await promoCodes.list({ active, search }, window)
      return pageOf(request, window, page.total, page.items.map(promoRepresentation))
    }
  })

  fastify.route({
    ...operations.createPromoCode,
    handler: async (request, reply) => {
      const { code, name, valid_from: validFrom, valid_to: validTo, max_uses: maxUses, active } = request.body
      const promo = await promoCodes.create({ code, name, validFrom, validTo, maxUses, active }, callerOf(request))
      return await reply.code(201).send(promoRepresentation(promo))
    }
  })

  fastify.route({
    ...operations.getPromoCode,
    handler: async (request) => promoRepresentation(await promoCodes.get(request.params.code))
  })

  fastify.route({
    ...operations.listPromoRedemptions,
    handler: async (request) => {
      const window = pageWindow(request.query)
      const page = await promoCodes.redemptions(request.params.code, window)
      return pageOf(request, window, page.total, page.items.map(redemptionRepresentation))
    }
  })

  fastify.route({
    ...operations.deactivatePromoCode,
    handler: async (request) => promoRepresentation(await promoCodes.deactivate(request.params.code))
  })
}

export default promoCodeRoutes
