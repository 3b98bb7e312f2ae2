import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { operations } from '../../../../schemas/operations.js'
import { customFieldRepresentation } from '../representations.js'

const customFieldRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const registry = fastify.customFieldRegistry

  fastify.route({
    ...operations.listCustomFields,
    handler: async () => {
      const definitions = await registry.list()
      return { count: definitions.length, results: definitions.map(customFieldRepresentation) }
    }
  })

  fastify.route({
    ...operations.createCustomField,
    handler: async (request, reply) => {
      const { name, label, type, type_options: typeOptions, mandatory, min_length: minLength, max_length: maxLength, default: defaultValue, public: isPublic } = request.body
      const definition = await registry.define({ name, label, type, typeOptions, mandatory, minLength, maxLength, defaultValue, public: isPublic })
      return await reply.code(201).send(customFieldRepresentation(definition))
    }
  })

  fastify.route({
    ...operations.getCustomField,
    handler: async (request) => customFieldRepresentation(await registry.get(request.params.id))
  })

  fastify.route({
    ...operations.updateCustomField,
    handler: async (request) => {
      const { label, type_options: typeOptions, mandatory, min_length: minLength, max_length: maxLength, default: defaultValue, public: isPublic } = request.body
      const definition = await registry.change(request.params.id, { label, typeOptions, mandatory, minLength, maxLength, defaultValue, public: isPublic })
      return customFieldRepresentation(definition)
    }
  })

  fastify.route({
    ...operations.deleteCustomField,
    handler: async (request, reply) => {
      await registry.remove(request.params.id)
      return await reply.code(204).send(null)
    }
  })
}

export default customFieldRoutes
