import type { FastifyRequest } from 'fastify'

// The requests machines make every few seconds: an orchestrator's health probes and
// Prometheus's scrapes. They are logged at debug and never shed under load.

export function isHealthProbe (request: FastifyRequest): boolean {
  return request.url.startsWith('/health/')
}

// A request for /metrics, with or without its trailing slash and query.
export function isMetricsScrape (request: FastifyRequest): boolean {
  return /^\/metrics\/?(?:\?|$)/.test(request.url)
}
