import fp from 'fastify-plugin'
import { ShuttingDown } from '../domain/errors.js'

// Draining when the app closes (SIGTERM in server.ts). Fastify stops the listener and closes idle
// keep-alive connections; this plugin does the rest: a request that still arrives on an open
// connection gets the contract's 503 `shutting_down` (in its surface's body, with Retry-After), and
// every answer sent while draining carries `Connection: close`, so a connection whose request was
// in flight closes right after its response instead of holding the close up until its keep-alive
// times out. Fastify's own closing answer (a body without our `code`) is turned off in app.ts.
export default fp(async (fastify) => {
  let draining = false
  fastify.addHook('preClose', async () => {
    draining = true
  })
  fastify.addHook('onRequest', async () => {
    if (draining) throw new ShuttingDown()
  })
  fastify.addHook('onSend', async (_request, reply) => {
    if (draining) reply.header('connection', 'close')
  })
}, { name: 'shutdown', dependencies: ['errors'] })
