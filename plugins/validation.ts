import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyContextConfig {
    // The contract's `requestBody.required: false`: a missing body is validated as {}.
    optionalBody?: boolean
  }
}

function createAjv (options: Options): Ajv {
  const ajv = new Ajv({ allErrors: false, removeAdditional: false, useDefaults: true, ...options })
  addFormats.default(ajv)
  return ajv
}

// How a number must be written in a path or query parameter. Ajv's coercion is Number(), which
// would also take '0x10', '1e3', ' 1', '+1' and '1.0': the same resource under many URLs.
const DECIMAL_PATTERNS = new Map<unknown, RegExp>([
  ['integer', /^-?(0|[1-9][0-9]*)$/],
  ['number', /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/]
])

type ValidationResult = ReturnType<FastifySchemaCompiler<unknown>>

interface ParameterSchema { properties?: Record<string, { type?: unknown }> }

// The first parameter whose text is not a plain decimal of its schema's type, as the error Ajv
// would give for it, so the errors plugin answers it like any other invalid field.
function nonDecimalParameter (schema: ParameterSchema, data: unknown): ErrorObject | undefined {
  if (data === null || typeof data !== 'object') return undefined
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const pattern = DECIMAL_PATTERNS.get(property.type)
    const value = (data as Record<string, unknown>)[name]
    // Anything but a string (absent, or a repeated query key) is left to Ajv.
    if (pattern === undefined || typeof value !== 'string' || pattern.test(value)) continue
    return {
      keyword: 'type',
      instancePath: `/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`,
      schemaPath: `#/properties/${name}/type`,
      params: { type: property.type },
      message: `must be ${String(property.type)}`
    }
  }
  return undefined
}

// Ajv's validator, refusing first what its coercion would wrongly accept. Fastify reads the
// errors off the function it was given, and passes parentData only when it sees schemaEnv.
function strictParameters (schema: ParameterSchema, validate: ValidateFunction): ValidationResult {
  const wrapper = Object.assign((data: unknown, context?: Parameters<ValidateFunction>[1]) => {
    const issue = nonDecimalParameter(schema, data)
    if (issue !== undefined) {
      wrapper.errors = [issue]
      return false
    }
    const valid = validate(data, context)
    wrapper.errors = validate.errors
    return valid
  }, { errors: null as ErrorObject[] | null | undefined, schemaEnv: validate.schemaEnv })
  return wrapper as ValidationResult
}

// One pair for the process: the schemas are the contract's, the same objects for every app built
// (the tests build hundreds), and Ajv compiles each of them only once.
const bodyAjv = createAjv({ coerceTypes: false })
const parameterAjv = createAjv({ coerceTypes: true })

// Request validation that means exactly what the contract says. Fastify's default Ajv coerces
// types and drops unknown properties; here a body is never coerced or trimmed, so a number
// where a string belongs and an unknown key of a closed object are both refused. Path and
// query parameters arrive as text and are still coerced to the types the contract gives them,
// but only from plain decimals.
export default fp(async (fastify) => {
  // Every body of the contract is JSON (or, on the token route, a form): plain text is a 415.
  fastify.removeContentTypeParser('text/plain')

  // Some clients send `content-type: application/json` on every request, a bodyless DELETE
  // included. An empty body is no body: a route that needs one still refuses it through its
  // body schema (400 invalid_body). Anything else goes to Fastify's own parser, which refuses
  // `__proto__` and `constructor` keys.
  const parseJson = fastify.getDefaultJsonParser('error', 'error')
  fastify.removeContentTypeParser('application/json')
  fastify.addContentTypeParser<string>('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body.length === 0) {
      done(null, undefined)
      return
    }
    parseJson(request, body, done)
  })

  // A body the contract makes optional (`required: false`) is, when missing, the empty object
  // its schema then validates.
  fastify.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.routeOptions.config.optionalBody === true) request.body = {}
  })

  fastify.setValidatorCompiler(({ schema, httpPart }) => {
    if (httpPart === 'body') return bodyAjv.compile(schema)
    const validate = parameterAjv.compile(schema)
    return httpPart === 'params' || httpPart === 'querystring' ? strictParameters(schema as ParameterSchema, validate) : validate
  })
}, { name: 'validation' })

type SerializerFactory = ReturnType<typeof SerializerSelector>
type Serializer = ReturnType<ReturnType<SerializerFactory>>

const defaultSerializerFactory = SerializerSelector()
const serializers = new WeakMap<object, Serializer>()

// Fastify's response serializers (fast-json-stringify), each compiled once for the process, like
// the validators above. A serializer depends on its schema alone while the app adds no shared
// schemas and no serializer options, which it does not; otherwise nothing is reused.
export const responseSerializerFactory: SerializerFactory = (externalSchemas, options) => {
  const compile = defaultSerializerFactory(externalSchemas, options)
  const shareable = options === undefined && (externalSchemas === undefined || Object.keys(externalSchemas as object).length === 0)
  return (route) => {
    const schema = route.schema
    if (!shareable || schema === null || typeof schema !== 'object') return compile(route)
    let serializer = serializers.get(schema)
    if (serializer === undefined) {
      serializer = compile(route)
      serializers.set(schema, serializer)
    }
    return serializer
  }
}
