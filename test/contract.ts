// Checks responses against openapi.yaml itself (not the generated schemas), so a test fails
// whenever what the service answers and what the contract promises differ.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { parse } from 'yaml'
import { projectRoot } from '../paths.js'
import { isRocketChatRequest } from '../plugins/rocket-chat-errors.js'

interface ResponseObject { $ref?: string, content?: Record<string, { schema?: unknown }>, headers?: Record<string, { required?: boolean }> }
interface Operation { operationId: string, responses: Record<string, ResponseObject> }
type PathItem = Record<string, Operation>
export interface OpenApiDocument {
  paths: Record<string, PathItem>
  components: { responses: Record<string, ResponseObject>, schemas: Record<string, unknown> }
  webhooks?: Record<string, unknown>
}

export const contract = parse(readFileSync(join(projectRoot, 'openapi.yaml'), 'utf8')) as OpenApiDocument
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

const ajv = new Ajv2020({ strict: false, allErrors: true })
addFormats.default(ajv)
ajv.addSchema(contract, 'openapi')

const pointer = (segments: string[]): string =>
  segments.map((segment) => segment.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')

export interface MatchedOperation { template: string, method: string, operation: Operation }

// The operation of the contract that a request was served by, trailing slash or not.
export function findOperation (method: string, url: string): MatchedOperation | undefined {
  const path = url.split('?')[0] ?? ''
  // Literal paths first, as the router does: /api/v2/user/search/ is not /api/v2/user/{id}/.
  const templates = Object.entries(contract.paths).sort(([a], [b]) => Number(a.includes('{')) - Number(b.includes('{')))
  for (const [template, item] of templates) {
    const pattern = new RegExp(`^${template.replace(/\/$/, '').replace(/\{[^}]+\}/g, '[^/]+')}/?$`)
    const operation = item[method.toLowerCase()]
    if (operation !== undefined && pattern.test(path)) return { template, method: method.toLowerCase(), operation }
  }
  return undefined
}

const validators = new Map<string, ValidateFunction>()
function validatorFor (ref: string): ValidateFunction {
  let validate = validators.get(ref)
  if (validate === undefined) {
    validate = ajv.compile({ $ref: ref })
    validators.set(ref, validate)
  }
  return validate
}

export interface ContractResponse { statusCode: number, headers: Record<string, unknown>, body: string }

// The ways a response breaks the contract; empty when it keeps it.
export function contractViolations (method: string, url: string, response: ContractResponse): string[] {
  const matched = findOperation(method, url)
  let schemaRef: string | undefined
  let hasBody: boolean
  // The body's documented type: JSON, or plain text (the metrics), checked as one string.
  let mediaType = 'application/json'
  if (matched === undefined) {
    // Outside every operation (an unknown path) the surface's error body still applies.
    if (response.statusCode !== 404) return [`${method} ${url} is not in the contract but answered ${response.statusCode}`]
    schemaRef = `openapi#/components/schemas/${isRocketChatRequest(url) ? 'RocketChatError' : 'ApiError'}`
    hasBody = true
  } else {
    let response$ = matched.operation.responses[String(response.statusCode)]
    if (response$ === undefined) return [`${matched.operation.operationId} does not document status ${response.statusCode}`]
    let base = ['paths', matched.template, matched.method, 'responses', String(response.statusCode)]
    if (response$.$ref !== undefined) {
      const name = response$.$ref.split('/').pop() as string
      response$ = contract.components.responses[name] as ResponseObject
      base = ['components', 'responses', name]
    }
    hasBody = response$.content !== undefined
    mediaType = Object.keys(response$.content ?? {})[0] ?? mediaType
    // A header the contract marks required must be there; the others may be.
    const missingHeaders = Object.entries(response$.headers ?? {})
      .filter(([name, header]) => header.required === true && response.headers[name.toLowerCase()] === undefined)
      .map(([name]) => name)
    if (missingHeaders.length > 0) return [`the documented header ${missingHeaders.join(', ')} is missing`]
    if (hasBody) schemaRef = `openapi#/${pointer([...base, 'content', mediaType, 'schema'])}`
  }
  if (!hasBody) return response.body === '' ? [] : [`status ${response.statusCode} must have no body`]
  if (!String(response.headers['content-type']).startsWith(mediaType)) {
    return [`content-type is ${String(response.headers['content-type'])}, not ${mediaType}`]
  }
  let body: unknown = response.body
  if (mediaType === 'application/json') {
    try {
      body = JSON.parse(response.body)
    } catch {
      return ['the body is not JSON']
    }
  }
  const validate = validatorFor(schemaRef as string)
  if (validate(body)) return []
  return (validate.errors ?? []).map((error) => `${error.instancePath || '(body)'} ${error.message ?? ''}`)
}

// What a webhook's body breaks of the contract's `webhooks` entry for its type ([] when nothing).
export function webhookViolations (type: string, body: unknown): string[] {
  if (contract.webhooks?.[type] === undefined) return [`${type} is not in the contract's webhooks`]
  const validate = validatorFor(`openapi#/${pointer(['webhooks', type, 'post', 'requestBody', 'content', 'application/json', 'schema'])}`)
  if (validate(body)) return []
  return (validate.errors ?? []).map((error) => `${error.instancePath || '(body)'} ${error.message ?? ''}`)
}
