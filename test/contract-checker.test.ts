import t from 'tap'
import { contractViolations } from './contract.js'

const json = { 'content-type': 'application/json; charset=utf-8' }

t.test('accepts a response that matches its operation', async (t) => {
  t.strictSame(contractViolations('GET', '/health/live', { statusCode: 200, headers: json, body: '{"status":"ok"}' }), [])
})

t.test('reports a body that breaks the schema', async (t) => {
  const violations = contractViolations('GET', '/health/live', { statusCode: 200, headers: json, body: '{"status":"fine"}' })
  t.equal(violations.length, 1)
  t.match(violations[0], /status/)
})

t.test('reports a status the operation does not document', async (t) => {
  t.strictSame(contractViolations('GET', '/health/live', { statusCode: 418, headers: json, body: '{}' }),
    ['checkLiveness does not document status 418'])
})

t.test('reports a documented header that is missing', async (t) => {
  const body = '{"statusCode":503,"code":"database_unavailable","message":"down","requestId":"r-1"}'
  t.strictSame(contractViolations('GET', '/health/ready', { statusCode: 503, headers: json, body }),
    ['the documented header Retry-After is missing'])
  t.strictSame(contractViolations('GET', '/health/ready', { statusCode: 503, headers: { ...json, 'retry-after': '5' }, body }), [])
})

t.test('reports a body on a response documented without one', async (t) => {
  t.strictSame(contractViolations('DELETE', '/api/v2/custom_field/1/', { statusCode: 204, headers: {}, body: 'x' }),
    ['status 204 must have no body'])
})

t.test('reports a path the contract does not have, unless it is a 404 in the error shape', async (t) => {
  t.strictSame(contractViolations('GET', '/nowhere', { statusCode: 200, headers: json, body: '{}' }),
    ['GET /nowhere is not in the contract but answered 200'])
  t.strictSame(contractViolations('GET', '/nowhere', { statusCode: 404, headers: json, body: '{"statusCode":404,"code":"not_found","message":"x","requestId":"r-1"}' }), [])
})

t.test('reports a body that is not JSON', async (t) => {
  t.strictSame(contractViolations('GET', '/health/live', { statusCode: 200, headers: { 'content-type': 'text/html' }, body: '<html>' }),
    ['content-type is text/html, not application/json'])
})

t.test('checks a plain-text response as text of its documented type', async (t) => {
  const text = { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }
  t.strictSame(contractViolations('GET', '/metrics', { statusCode: 200, headers: text, body: '# TYPE up gauge\nup 1\n' }), [])
  t.strictSame(contractViolations('GET', '/metrics', { statusCode: 200, headers: json, body: '{}' }),
    ['content-type is application/json; charset=utf-8, not text/plain'])
  t.strictSame(contractViolations('GET', '/metrics', { statusCode: 401, headers: text, body: 'no' }),
    ['the documented header WWW-Authenticate is missing'])
  t.strictSame(contractViolations('GET', '/metrics', { statusCode: 401, headers: { ...text, 'www-authenticate': 'Bearer' }, body: 'no' }),
    ['content-type is text/plain; version=0.0.4; charset=utf-8, not application/json'])
})
