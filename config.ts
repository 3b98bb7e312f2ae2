import { randomBytes } from 'node:crypto'
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { isAbsolute, join, resolve } from 'node:path'
import { envSchema } from 'env-schema'
import { Type, type Static } from '@sinclair/typebox'
import { projectRoot } from './paths.js'
import { checkUsernameAndEmail } from './services/accounts.js'
import { InvalidInput } from './services/errors.js'
import { USERNAME_PATTERN } from './services/formats.js'
import { checkPasswordPolicy } from './services/passwords.js'

function oneOf<T extends string> (values: T[], defaultValue: T) {
  return Type.Unsafe<T>({ type: 'string', enum: values, default: defaultValue })
}

const EnvironmentSchema = Type.Object({
  NODE_ENV: oneOf(['development', 'production', 'test'], 'development'),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  DATA_DIR: Type.String({ default: './data', minLength: 1 }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^(sqlite:|mysql://|mariadb://)' })),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  JWT_EXPIRES_IN: Type.Integer({ default: 3600, minimum: 60, maximum: 86400 * 30 }),
  BCRYPT_COST: Type.Integer({ default: 10, minimum: 4, maximum: 15 }),
  BODY_LIMIT: Type.Integer({ default: 65536, minimum: 1024, maximum: 10485760 }),
  ADMIN_USERNAME: Type.Optional(Type.String({ minLength: 1 })),
  ADMIN_EMAIL: Type.Optional(Type.String({ minLength: 1 })),
  ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 1 })),
  RESERVED_USERNAMES: Type.String({ default: '' }),
  RATE_LIMIT_MAX: Type.Integer({ default: 60, minimum: 1, maximum: 1000000 }),
  RATE_LIMIT_WINDOW_SECONDS: Type.Integer({ default: 60, minimum: 1, maximum: 86400 }),
  REDIS_URL: Type.Optional(Type.String()),
  TRUST_PROXY: Type.String({ default: 'false' }),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info')
})
type Environment = Static<typeof EnvironmentSchema>

export interface FirstAdminCredentials {
  username: string
  email: string
  password: string
}

export interface Config {
  environment: Environment['NODE_ENV']
  host: string
  port: number
  dataDir: string
  database: { client: 'sqlite'; filename: string } | { client: 'mysql'; url: string }
  jwt: { secret: string; expiresIn: number }
  bcryptCost: number
  bodyLimit: number
  // Explicit first-admin credentials; absent means "generate them in development".
  firstAdmin?: FirstAdminCredentials
  // Usernames no account may take, on top of the built-in ones.
  reservedUsernames: string[]
  // Of each rate-limit bucket, the requests one address may make in a window. With `redis` the
  // counts are kept there, under keys starting with its keyPrefix, and so shared by every
  // instance that uses it; without, each instance counts in its own memory.
  rateLimit: { max: number; windowSeconds: number; redis?: { url: string; keyPrefix: string } }
  // The connecting addresses believed when they name the client in X-Forwarded-For (Fastify's
  // trustProxy): all, none, or these addresses and ranges.
  trustProxy: boolean | string[]
  logLevel: string
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

// Reads and validates the environment once; everything else receives the resulting Config.
export function loadConfig (env: Record<string, string | undefined>): Config {
  let parsed: Environment
  try {
    // Only `env` is read (env-schema would otherwise merge in process.env as well).
    parsed = envSchema<Environment>({ schema: EnvironmentSchema, data: env, env: false, dotenv: false })
  } catch (error) {
    const reasons = (error as Error).message.replace(/(^|, )env\/?/g, '$1').replace(/^must/, 'the environment must')
    throw new ConfigError(`Invalid configuration: ${reasons}`)
  }

  const dataDir = isAbsolute(parsed.DATA_DIR) ? parsed.DATA_DIR : resolve(projectRoot, parsed.DATA_DIR)
  return {
    environment: parsed.NODE_ENV,
    host: parsed.HOST,
    port: parsed.PORT,
    dataDir,
    database: databaseConfig(parsed.DATABASE_URL, dataDir),
    jwt: { secret: jwtSecret(parsed, dataDir), expiresIn: parsed.JWT_EXPIRES_IN },
    bcryptCost: parsed.BCRYPT_COST,
    bodyLimit: parsed.BODY_LIMIT,
    firstAdmin: firstAdminCredentials(parsed),
    reservedUsernames: reservedUsernames(parsed.RESERVED_USERNAMES),
    rateLimit: {
      max: parsed.RATE_LIMIT_MAX,
      windowSeconds: parsed.RATE_LIMIT_WINDOW_SECONDS,
      ...(parsed.REDIS_URL === undefined ? {} : { redis: redisStore(parsed.REDIS_URL) })
    },
    trustProxy: trustedProxies(parsed.TRUST_PROXY),
    logLevel: parsed.LOG_LEVEL
  }
}

function databaseConfig (url: string | undefined, dataDir: string): Config['database'] {
  if (url === undefined) return { client: 'sqlite', filename: join(dataDir, 'account-service.sqlite') }
  if (url.startsWith('sqlite:')) {
    const location = url.slice('sqlite:'.length).replace(/^\/\//, '')
    if (location === '') throw new ConfigError('Invalid configuration: DATABASE_URL sqlite: needs a file name or :memory:')
    return { client: 'sqlite', filename: location === ':memory:' || isAbsolute(location) ? location : resolve(projectRoot, location) }
  }
  try {
    const parsedUrl = new URL(url)
    if (parsedUrl.pathname.length <= 1) throw new Error('no database name')
  } catch (error) {
    throw new ConfigError(`Invalid configuration: DATABASE_URL is not a usable mysql:// URL (${(error as Error).message})`)
  }
  return { client: 'mysql', url: url.replace(/^mariadb:/, 'mysql:') }
}

function jwtSecret (env: Environment, dataDir: string): string {
  if (env.JWT_SECRET !== undefined) return env.JWT_SECRET
  if (env.NODE_ENV === 'production') {
    throw new ConfigError('Invalid configuration: JWT_SECRET (at least 32 characters) is required in production')
  }
  // Development: one secret generated on first start and kept, so tokens survive restarts.
  const file = join(dataDir, 'jwt-secret')
  const saved = readSecretFile(file)
  if (saved !== undefined) return saved
  const secret = randomBytes(48).toString('base64url')
  // Written whole to a file of its own, then linked into place: the link fails if another
  // process starting at the same time got there first (its secret is kept), and nobody ever
  // reads a half-written secret.
  const pending = `${file}.${randomBytes(6).toString('hex')}`
  let pendingWritten = false
  try {
    mkdirSync(dataDir, { recursive: true })
    writeFileSync(pending, `${secret}\n`, { mode: 0o600, flag: 'wx' })
    pendingWritten = true
    linkSync(pending, file)
    return secret
  } catch (error) {
    const written = (error as NodeJS.ErrnoException).code === 'EEXIST' ? readSecretFile(file) : undefined
    if (written !== undefined) return written
    throw new ConfigError(`Invalid configuration: cannot write the JWT secret to ${file} (${(error as Error).message})`)
  } finally {
    if (pendingWritten) rmSync(pending, { force: true })
  }
}

// The secret kept in file, undefined when there is no such file (ENOTDIR: a parent is a file).
function readSecretFile (file: string): string | undefined {
  let saved: string
  try {
    saved = readFileSync(file, 'utf8').trim()
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw new ConfigError(`Invalid configuration: cannot read ${file} (${(error as Error).message})`)
  }
  if (saved.length < 32) throw new ConfigError(`Invalid configuration: ${file} holds a JWT secret shorter than 32 characters; delete it to have a new one generated`)
  return saved
}

function firstAdminCredentials (env: Environment): FirstAdminCredentials | undefined {
  const given = [env.ADMIN_USERNAME, env.ADMIN_EMAIL, env.ADMIN_PASSWORD]
  if (given.every((value) => value === undefined)) return undefined
  if (env.ADMIN_USERNAME === undefined || env.ADMIN_EMAIL === undefined || env.ADMIN_PASSWORD === undefined) {
    throw new ConfigError('Invalid configuration: ADMIN_USERNAME, ADMIN_EMAIL and ADMIN_PASSWORD must be set together')
  }
  const credentials = { username: env.ADMIN_USERNAME, email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD }
  // The first admin obeys the rules of every account; checked here so a bad one stops the start.
  const problem = brokenAccountRule(credentials)
  if (problem !== undefined) throw new ConfigError(`Invalid configuration: ${problem}`)
  return credentials
}

// The account rule the credentials break, named by its variable, or undefined.
function brokenAccountRule ({ username, email, password }: FirstAdminCredentials): string | undefined {
  try {
    checkUsernameAndEmail(username, email)
    checkPasswordPolicy(password, username)
  } catch (error) {
    if (error instanceof InvalidInput) return `ADMIN_${(error.field ?? '').toUpperCase()}: ${error.message}`
    throw error
  }
  return undefined
}

// A comma-separated list; each entry must be a username, or it could never match one.
function reservedUsernames (list: string): string[] {
  const names = list.split(',').map((name) => name.trim()).filter((name) => name !== '')
  const invalid = names.find((name) => !USERNAME_PATTERN.test(name))
  if (invalid !== undefined) {
    throw new ConfigError(`Invalid configuration: RESERVED_USERNAMES: ${JSON.stringify(invalid)} is not a username (1 to 255 letters, digits, "_" or "-")`)
  }
  return names
}

// Every rate-limit key in Redis starts with this, so the service's keys are told from others'.
const RATE_LIMIT_KEY_PREFIX = 'account-service-rate-limit:'

// A redis:// or rediss:// (TLS) URL naming a host; its path may only pick a database by number.
// The message never repeats the URL, which may hold a password.
function redisStore (url: string): NonNullable<Config['rateLimit']['redis']> {
  const unusable = (reason: string): ConfigError =>
    new ConfigError(`Invalid configuration: REDIS_URL is not a usable redis:// or rediss:// URL (${reason})`)
  let parsedUrl: URL
  try {
    parsedUrl = new URL(url)
  } catch {
    throw unusable('it cannot be parsed')
  }
  if (parsedUrl.protocol !== 'redis:' && parsedUrl.protocol !== 'rediss:') throw unusable(`the scheme is ${parsedUrl.protocol}`)
  if (parsedUrl.hostname === '') throw unusable('it names no host')
  if (!/^\/?[0-9]*$/.test(parsedUrl.pathname)) throw unusable('its path can only be a database number')
  return { url, keyPrefix: RATE_LIMIT_KEY_PREFIX }
}

// The names proxy-addr (behind Fastify's trustProxy) gives to the private ranges.
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal']

// TRUST_PROXY as Fastify's trustProxy takes it: true, false, or a comma-separated list of
// addresses, CIDR ranges and range names. Not a hop count: Fastify (5.12) ignores one, since it
// cannot tell whether the nearest peer is a proxy at all.
function trustedProxies (value: string): Config['trustProxy'] {
  if (value === 'true') return true
  if (value === 'false') return false
  const entries = value.split(',').map((entry) => entry.trim())
  const invalid = entries.find((entry) => !isProxyAddressOrRange(entry))
  if (invalid !== undefined) {
    throw new ConfigError(`Invalid configuration: TRUST_PROXY must be true, false or a comma-separated list of proxy addresses, CIDR ranges, loopback, linklocal or uniquelocal; ${JSON.stringify(invalid)} is none of them`)
  }
  return entries
}

function isProxyAddressOrRange (entry: string): boolean {
  if (PROXY_RANGE_NAMES.includes(entry)) return true
  const [address = '', prefixLength, ...rest] = entry.split('/')
  const version = isIP(address)
  if (version === 0 || rest.length > 0) return false
  if (prefixLength === undefined) return true
  return /^[0-9]{1,3}$/.test(prefixLength) && Number(prefixLength) <= (version === 4 ? 32 : 128)
}
