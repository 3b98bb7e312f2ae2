import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import proxyAddr from '@fastify/proxy-addr'
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { isHealthProbe, isMetricsScrape } from './probes.js'

// An incoming X-Request-Id is taken only if it is short and plain, so it is safe in a log line
// and a header.
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._~:@+=/-]{1,128}$/

// Fastify's genReqId: the X-Request-Id a trusted proxy (TRUST_PROXY) passed on, or else a new
// UUID. From anyone else the header is ignored, as a client could make its requests' log lines
// pass for another's.
export function requestIdGenerator (trustProxy: Config['trustProxy']): (request: IncomingMessage) => string {
  const trusted = trustProxy === true ? () => true : trustProxy === false ? () => false : proxyAddr.compile(trustProxy)
  return (request) => {
    const given = request.headers['x-request-id']
    const peer = request.socket?.remoteAddress
    if (typeof given === 'string' && REQUEST_ID_PATTERN.test(given) && peer !== undefined && trusted(peer, 0)) return given
    return randomUUID()
  }
}

function isRoutineProbe (request: FastifyRequest): boolean {
  return isHealthProbe(request) || isMetricsScrape(request)
}

// Fastify's request log lines, at debug for health probes and metrics scrapes: an orchestrator
// and Prometheus ask every few seconds, and those lines would bury everything else at info. A
// probe answered with an error (a database that does not answer, a wrong metrics token)
// completes at info, as any other request.
export class RequestLogController extends LogController {
  override incomingRequest (request: FastifyRequest, reply: FastifyReply): void {
    if (isRoutineProbe(request)) request.log.debug({ req: request }, 'incoming request')
    else super.incomingRequest(request, reply)
  }

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (isRoutineProbe(request) && error == null && reply.statusCode < 400) reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed')
    else super.requestCompleted(error, request, reply)
  }
}

// Every answer names its request (X-Request-Id), as its log lines do (reqId), so a caller's
// report and the logs meet.
export default fp(async (fastify) => {
  fastify.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
}, { name: 'request-logging' })
