import t from 'tap'
import { operations } from '../schemas/operations.js'
import { isRocketChatRequest } from '../plugins/rocket-chat-errors.js'
import { HTTP_METHODS, contract, findOperation } from './contract.js'
import { build } from './helper.js'

// The documentation UI serves the contract; it is not an operation of it.
const isDocumentationRoute = (url: string): boolean => url === '/docs' || url.startsWith('/docs/')

const documentedOperations = Object.values(contract.paths).flatMap((item) =>
  Object.entries(item).filter(([method]) => HTTP_METHODS.includes(method)).map(([, operation]) => operation.operationId))

t.test('every route the app serves is an operation of openapi.yaml', async (t) => {
  const api = await build(t, 'sqlite')
  const routes = api.app.routeTable.filter((route) => route.method !== 'HEAD' && !isDocumentationRoute(route.url))
  t.ok(routes.length > 0)
  for (const route of routes) {
    t.ok(findOperation(route.method, route.url.replace(/:[^/]+/g, '1')), `${route.method} ${route.url} is in openapi.yaml`)
  }
})

t.test('every operation of openapi.yaml is served by a route', async (t) => {
  const api = await build(t, 'sqlite')
  const served = new Set(api.app.routeTable.map((route) => findOperation(route.method, route.url.replace(/:[^/]+/g, '1'))?.operation.operationId))
  t.ok(documentedOperations.length > 0)
  for (const operationId of documentedOperations) t.ok(served.has(operationId), `${operationId} has a route`)
})

t.test('every operation that takes a token documents its refusal for a bad token and for a missing scope', async (t) => {
  const authenticated = Object.values(operations).filter((operation) => operation.config.access.authenticated)
  t.ok(authenticated.length > 0)
  for (const operation of authenticated) {
    const documented = Object.keys(operation.schema.response)
    // Rocket.Chat answers a refusal with 400 error-action-not-allowed, as for a missing permission.
    const refusal = isRocketChatRequest(operation.url) ? '400' : '403'
    t.ok(documented.includes('401') && documented.includes(refusal), `${operation.method} ${operation.url} documents 401 and ${refusal}`)
  }
})

t.test('the contract check itself notices an undocumented route', async (t) => {
  t.equal(findOperation('PUT', '/api/v2/account/create/'), undefined)
  t.equal(findOperation('GET', '/api/v2/users/1/'), undefined)
  t.equal(findOperation('GET', '/api/v2/user/1')?.operation.operationId, 'getUser')
})
