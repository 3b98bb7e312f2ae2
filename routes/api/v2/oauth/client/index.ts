import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../../../../../plugins/auth.js'
import { operations } from '../../../../../schemas/operations.js'
import { clientRepresentation } from '../../client-representations.js'
import { pageOf, pageWindow } from '../../pages.js'

// Service clients (permission manage-clients): principals of their own, which get tokens with
// the client_credentials grant.
const clientRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const clients = fastify.clientService
  // A client's answers may hold its secret, and none of them is worth keeping in a cache.
  fastify.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store')
  })

  fastify.route({
    ...operations.listClients,
    handler: async (request) => {
      const window = pageWindow(request.query)
      const page = await clients.list(window)
      return pageOf(request, window, page.total, page.clients.map(clientRepresentation))
    }
  })

  fastify.route({
    ...operations.createClient,
    handler: async (request, reply) => {
      const { name, roles, scope, enabled } = request.body
      const { client, secret } = await clients.create({ name, roles, scope, enabled }, callerOf(request))
      return await reply.code(201).send({ ...clientRepresentation(client), client_secret: secret })
    }
  })

  fastify.route({
    ...operations.getClient,
    handler: async (request) => clientRepresentation(await clients.get(request.params.client_id))
  })

  fastify.route({
    ...operations.updateClient,
    handler: async (request) => {
      const { name, roles, scope, enabled } = request.body
      return clientRepresentation(await clients.update(request.params.client_id, { name, roles, scope, enabled }, callerOf(request)))
    }
  })

  fastify.route({
    ...operations.rotateClientSecret,
    handler: async (request) => {
      const { client, secret } = await clients.rotateSecret(request.params.client_id, callerOf(request))
      return { ...clientRepresentation(client), client_secret: secret }
    }
  })

  fastify.route({
    ...operations.deleteClient,
    handler: async (request, reply) => {
      await clients.delete(request.params.client_id, callerOf(request))
      return await reply.code(204).send(null)
    }
  })
}

export default clientRoutes
