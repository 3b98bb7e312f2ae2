import t from 'tap'
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

t.test('the contract check itself notices an undocumented route', async (t) => {
  t.equal(findOperation('PUT', '/api/v2/account/create/'), undefined)
  t.equal(findOperation('GET', '/api/v2/users/1/'), undefined)
  t.equal(findOperation('GET', '/api/v2/user/1')?.operation.operationId, 'getUser')
})
