import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import fp from 'fastify-plugin'

function createAjv (options: Options): Ajv {
  const ajv = new Ajv({ allErrors: false, removeAdditional: false, useDefaults: true, ...options })
  addFormats.default(ajv)
  return ajv
}

// Request validation that means exactly what the contract says. Fastify's default Ajv coerces
// types and drops unknown properties; here a body is never coerced or trimmed, so a number
// where a string belongs and an unknown key of a closed object are both refused. Path and
// query parameters arrive as text and are still coerced to the types the contract gives them.
export default fp(async (fastify) => {
  // Every body of the contract is JSON (or, on the token route, a form): plain text is a 415.
  fastify.removeContentTypeParser('text/plain')
  const bodyAjv = createAjv({ coerceTypes: false })
  const parameterAjv = createAjv({ coerceTypes: true })
  fastify.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : parameterAjv).compile(schema))
}, { name: 'validation' })
