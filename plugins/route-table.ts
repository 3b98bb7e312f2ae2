import fp from 'fastify-plugin'

export interface ServedRoute {
  method: string
  url: string
}

declare module 'fastify' {
  interface FastifyInstance {
    // Every route the app serves, as registered; the contract test holds it against openapi.yaml.
    routeTable: ServedRoute[]
  }
}

export default fp(async (fastify) => {
  const routeTable: ServedRoute[] = []
  fastify.decorate('routeTable', routeTable)
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url })
  })
}, { name: 'route-table' })
