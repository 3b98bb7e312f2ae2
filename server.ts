import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { StartupError } from './domain/errors.js'

// A start that fails for a reason we can name prints that one line; anything else, its stack.
function exitOnStartupFailure (error: unknown): never {
  if (!(error instanceof ConfigError) && !(error instanceof StartupError)) throw error
  process.stderr.write(`${error.message}\n`)
  process.exit(1)
}

let config: Config
try {
  config = loadConfig(process.env)
} catch (error) {
  exitOnStartupFailure(error)
}

const app = await buildApp({ config }).catch(exitOnStartupFailure)

// A close waits for the requests in flight (see plugins/shutdown.ts); one that outlasts this
// ceiling is cut off, with exit code 1.
const SHUTDOWN_CEILING_MS = 10_000

closeWithGrace({ delay: SHUTDOWN_CEILING_MS, logger: app.log }, async ({ signal, err }) => {
  if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
  else app.log.info({ signal }, 'shutting down: draining the requests in flight')
  await app.close()
})

try {
  await app.listen({ host: config.host, port: config.port })
} catch (error) {
  await app.close()
  const { code, message } = error as NodeJS.ErrnoException
  exitOnStartupFailure(code === 'EADDRINUSE' || code === 'EACCES' ? new StartupError(`Cannot listen on ${config.host}:${config.port}: ${message}`) : error)
}
