import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../../../../../plugins/auth.js'
import { operations } from '../../../../../schemas/operations.js'
import { pageOf, pageWindow } from '../../pages.js'
import { webhookAttemptRepresentation, webhookEndpointRepresentation } from '../../webhook-representations.js'

const webhookEndpointRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const endpoints = fastify.webhookEndpointService

  fastify.route({
    ...operations.listWebhookEndpoints,
    handler: async (request) => {
      const window = pageWindow(request.query)
      const page = await endpoints.list(window, request.query.ordering ?? '-created_at')
      return pageOf(request, window, page.total, page.endpoints.map(webhookEndpointRepresentation))
    }
  })

  fastify.route({
    ...operations.createWebhookEndpoint,
    handler: async (request, reply) => {
      const { target, description, is_active: isActive, ssl_cert_verification: sslCertVerification, events } = request.body
      const endpoint = await endpoints.create({ target, description, isActive, sslCertVerification, events }, callerOf(request))
      return await reply.code(201).send(webhookEndpointRepresentation(endpoint))
    }
  })

  fastify.route({
    ...operations.listWebhookEventTypes,
    handler: async () => endpoints.eventTypes()
  })

  fastify.route({
    ...operations.getWebhookEndpoint,
    handler: async (request) => webhookEndpointRepresentation(await endpoints.get(request.params.id))
  })

  fastify.route({
    ...operations.replaceWebhookEndpoint,
    handler: async (request) => {
      // What PUT leaves out takes its default (validation filled in is_active and ssl_cert_verification).
      const { target, description = '', is_active: isActive, ssl_cert_verification: sslCertVerification, events } = request.body
      const endpoint = await endpoints.update(request.params.id, { target, description, isActive, sslCertVerification, events }, callerOf(request))
      return webhookEndpointRepresentation(endpoint)
    }
  })

  fastify.route({
    ...operations.updateWebhookEndpoint,
    handler: async (request) => {
      const { target, description, is_active: isActive, ssl_cert_verification: sslCertVerification, events } = request.body
      const endpoint = await endpoints.update(request.params.id, { target, description, isActive, sslCertVerification, events }, callerOf(request))
      return webhookEndpointRepresentation(endpoint)
    }
  })

  fastify.route({
    ...operations.deleteWebhookEndpoint,
    handler: async (request, reply) => {
      await endpoints.delete(request.params.id, callerOf(request))
      return await reply.code(204).send(null)
    }
  })

  fastify.route({
    ...operations.listWebhookEndpointAttempts,
    handler: async (request) => {
      const window = pageWindow(request.query)
      const page = await endpoints.attempts(request.params.id, window, request.query.ordering ?? '-created_at')
      return pageOf(request, window, page.total, page.attempts.map(webhookAttemptRepresentation))
    }
  })

  fastify.route({
    ...operations.expireWebhookSigningSecret,
    handler: async (request) => webhookEndpointRepresentation(await endpoints.expireSecret(request.params.id, callerOf(request), request.body.password))
  })

  fastify.route({
    ...operations.revealWebhookSigningSecret,
    handler: async (request, reply) => {
      const secret = await endpoints.revealSecret(request.params.id, callerOf(request), request.body.password)
      return await reply.code(201).header('cache-control', 'no-store').send({ signing_secret: secret })
    }
  })

  fastify.route({
    ...operations.resendWebhookEndpointEvent,
    handler: async (request, reply) => {
      const { event, password } = request.body
      await endpoints.resend(request.params.id, [{ id: event, field: 'event' }], callerOf(request), password)
      return await reply.code(204).send(null)
    }
  })

  fastify.route({
    ...operations.resendWebhookEndpointEvents,
    handler: async (request, reply) => {
      const { event, password } = request.body
      await endpoints.resend(request.params.id, event.map((id, index) => ({ id, field: `event[${index}]` })), callerOf(request), password)
      return await reply.code(204).send(null)
    }
  })
}

export default webhookEndpointRoutes
