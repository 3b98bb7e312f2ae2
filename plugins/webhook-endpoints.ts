import fp from 'fastify-plugin'
import { WebhookEndpointService } from '../services/webhooks.js'

declare module 'fastify' {
  interface FastifyInstance {
    webhookEndpointService: WebhookEndpointService
  }
}

// The registry of webhook endpoints, whose targets WEBHOOK_ALLOWED_HOSTS may open.
export default fp(async (fastify) => {
  const { repositories, config } = fastify
  fastify.decorate('webhookEndpointService', new WebhookEndpointService(repositories.webhookEndpoints, repositories.accounts, config.webhooks.allowedHosts))
}, { name: 'webhook-endpoints', dependencies: ['repositories'] })
