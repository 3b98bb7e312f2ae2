import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { operations } from '../../../schemas/operations.js'
import { readCustomFieldsSetting, replaceCustomFieldsSetting } from '../../../services/rocket-chat-custom-fields.js'

// Rocket.Chat's settings; of them, only Accounts_CustomFields, a view of the custom-field registry.
const settingRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.route({
    ...operations.rocketChatGetCustomFieldsSetting,
    handler: async () => ({ _id: 'Accounts_CustomFields' as const, value: await readCustomFieldsSetting(fastify.customFieldRegistry), success: true })
  })

  fastify.route({
    ...operations.rocketChatSetCustomFieldsSetting,
    handler: async (request) => {
      await replaceCustomFieldsSetting(fastify.customFieldRegistry, request.body.value)
      return { success: true }
    }
  })
}

export default settingRoutes
