// One webhook request: signed as Standard Webhooks says, POSTed with node:http(s) to an address the
// target policy allows (checked for every address the name resolves to, when the connection is
// made), within a timeout, never following a redirect; what came back, cut to a few KiB.
import { createHmac } from 'node:crypto'
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP, type LookupFunction } from 'node:net'
import { hostOf, type WebhookTargetPolicy } from '../domain/webhook-targets.js'

// What an attempt row keeps of the answer.
export const RESPONSE_BODY_LIMIT = 4096

// The webhook-signature header: `v1,<signature>` for each secret (whsec_ and the base64 of the key).
export function signatureHeader (secrets: readonly string[], id: string, timestamp: number, body: string): string {
  return secrets.map((secret) => {
    const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
    return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`
  }).join(' ')
}

export interface WebhookRequest {
  target: string
  id: string
  timestamp: number
  body: string
  signature: string
  timeoutMs: number
  rejectUnauthorized: boolean
  policy: WebhookTargetPolicy
  // Ends the request at once (the relay stopping).
  signal?: AbortSignal
}

export type WebhookOutcome =
  | { answered: true, sentAt: Date, statusCode: number, body: string }
  | { answered: false, sentAt: Date | undefined, reason: string }

export class TargetRefused extends Error {}

// A lookup that resolves as usual and refuses an address the policy does not allow, unless the
// name itself is allowed.
function guardedLookup (policy: WebhookTargetPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error !== null) { callback(error, '', 0); return }
      const allowed = policy.isAllowedName(hostname) ? addresses : addresses.filter((entry) => policy.mayConnectTo(entry.address))
      if (allowed.length === 0) {
        callback(new TargetRefused(`${hostname} resolves to ${addresses.map((entry) => entry.address).join(', ')}, which webhooks may not reach`), '', 0)
        return
      }
      if (options.all === true) (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, allowed)
      else callback(null, allowed[0]?.address ?? '', allowed[0]?.family ?? 4)
    })
  }
}

// The answer's first RESPONSE_BODY_LIMIT bytes, as they come.
class AnswerBody {
  private readonly chunks: Buffer[] = []
  private length = 0

  // Reads until the limit or the end, then lets the rest go.
  async read (response: IncomingMessage): Promise<string> {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      this.chunks.push(chunk)
      this.length += chunk.length
      if (this.length >= RESPONSE_BODY_LIMIT) break
    }
    response.destroy()
    return this.text()
  }

  text (): string {
    return Buffer.concat(this.chunks).subarray(0, RESPONSE_BODY_LIMIT).toString('utf8')
  }
}

export async function postWebhook (request: WebhookRequest): Promise<WebhookOutcome> {
  const url = new URL(request.target)
  const host = hostOf(url)
  if (isIP(host) !== 0 && !request.policy.mayConnectTo(host)) {
    return { answered: false, sentAt: undefined, reason: `${host} is an address webhooks may not reach` }
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  return await new Promise<WebhookOutcome>((resolve) => {
    let sentAt: Date | undefined
    let settled = false
    const settle = (outcome: WebhookOutcome): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      request.signal?.removeEventListener('abort', abort)
      resolve(outcome)
    }
    const outgoing = send(url, {
      method: 'POST',
      lookup: guardedLookup(request.policy),
      rejectUnauthorized: request.rejectUnauthorized,
      agent: false,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(request.body),
        'user-agent': 'account-service-webhooks',
        'webhook-id': request.id,
        'webhook-timestamp': String(request.timestamp),
        'webhook-signature': request.signature
      }
    }, (response) => {
      answer = { statusCode: response.statusCode ?? 0, body: new AnswerBody() }
      const { statusCode, body } = answer
      body.read(response).then(
        (text) => { settle({ answered: true, sentAt: sentAt ?? new Date(), statusCode, body: text }) },
        (error: unknown) => { settle({ answered: false, sentAt, reason: `the answer was cut off: ${(error as Error).message}` }) }
      )
    })
    // The status came within the timeout: it is the answer, with as much of the body as came too.
    let answer: { statusCode: number, body: AnswerBody } | undefined
    const timer = setTimeout(() => {
      settle(answer === undefined
        ? { answered: false, sentAt, reason: `no answer within ${request.timeoutMs} ms` }
        : { answered: true, sentAt: sentAt ?? new Date(), statusCode: answer.statusCode, body: answer.body.text() })
      outgoing.destroy()
    }, request.timeoutMs)
    const abort = (): void => {
      settle({ answered: false, sentAt, reason: 'stopped at shutdown' })
      outgoing.destroy()
    }
    request.signal?.addEventListener('abort', abort)
    // A relay that stopped before this request began sends nothing.
    if (request.signal?.aborted === true) abort()
    outgoing.on('socket', (socket) => { socket.once('connect', () => { sentAt = new Date() }) })
    outgoing.on('error', (error) => { settle({ answered: false, sentAt, reason: error.message }) })
    outgoing.end(request.body)
  })
}
