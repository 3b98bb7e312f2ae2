import type { StoredWebhookAttempt, StoredWebhookEndpoint } from '../../../services/webhooks.js'
import type { WebhookAttempt, WebhookEndpoint } from '../../../schemas/components.js'

// An endpoint as SelfCommunity's Endpoint: never with a secret.
export function webhookEndpointRepresentation (endpoint: StoredWebhookEndpoint): WebhookEndpoint {
  return {
    id: endpoint.id,
    created_at: endpoint.createdAt,
    updated_at: endpoint.updatedAt,
    is_active: endpoint.isActive,
    target: endpoint.target,
    description: endpoint.description,
    events: endpoint.events.map((event) => ({ type: event.type, added_at: event.addedAt })),
    ssl_cert_verification: endpoint.sslCertVerification
  }
}

export function webhookAttemptRepresentation (attempt: StoredWebhookAttempt): WebhookAttempt {
  return {
    id: attempt.id,
    created_at: attempt.createdAt,
    event: { id: attempt.event.id, type: attempt.event.type, added_at: attempt.event.createdAt },
    sent_at: attempt.sentAt,
    http_request_body: attempt.httpRequestBody,
    http_request_signature_header: attempt.httpRequestSignatureHeader,
    http_response_code: attempt.httpResponseCode,
    http_response_body: attempt.httpResponseBody,
    next_retry: attempt.nextRetry
  }
}
