import { isIP } from 'node:net'
import { isAbsolute, join, resolve } from 'node:path'
import { envSchema } from 'env-schema'
import { Type, type Static } from '@sinclair/typebox'
import { ConfigError, EXAMPLE_SECRETS, keptGeneratedFile, withSecretFiles } from './config/secrets.js'
import { TOKEN_ALGORITHMS, generatePrivateKeyPem, parsePrivateKeys, sharedSecretKeys, type TokenKeys } from './config/signing-keys.js'
import { projectRoot } from './paths.js'
import { checkUsernameAndEmail } from './domain/accounts.js'
import { InvalidInput } from './domain/errors.js'
import { USERNAME_PATTERN } from './domain/formats.js'
import { checkPasswordPolicy } from './domain/password-policy.js'
import { parseAllowedHosts } from './domain/webhook-targets.js'

function oneOf<T extends string> (values: T[], defaultValue: T) {
  return Type.Unsafe<T>({ type: 'string', enum: values, default: defaultValue })
}

const EnvironmentSchema = Type.Object({
  NODE_ENV: oneOf(['development', 'production', 'test'], 'development'),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  DATA_DIR: Type.String({ default: './data', minLength: 1 }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^(sqlite:|mysql://|mariadb://)' })),
  DATABASE_PASSWORD: Type.Optional(Type.String({ minLength: 1 })),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  JWT_ALGORITHM: oneOf([...TOKEN_ALGORITHMS], 'ES256'),
  JWT_PRIVATE_KEY: Type.Optional(Type.String({ minLength: 1 })),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  JWT_ISSUER: Type.Optional(Type.String({ minLength: 1 })),
  JWT_AUDIENCE: Type.String({ default: 'account-service', minLength: 1 }),
  JWT_EXPIRES_IN: Type.Integer({ default: 3600, minimum: 60, maximum: 86400 * 30 }),
  REFRESH_TOKEN_EXPIRES_IN: Type.Integer({ default: 86400 * 30, minimum: 300, maximum: 86400 * 365 }),
  CODE_EXPIRES_IN: Type.Integer({ default: 3600, minimum: 300, maximum: 86400 * 7 }),
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
  CORS_ORIGINS: Type.String({ default: '' }),
  MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ default: 1000, minimum: 0, maximum: 60000 }),
  MAX_HEAP_USED_BYTES: Type.Integer({ default: 0, minimum: 0 }),
  MAX_RSS_BYTES: Type.Integer({ default: 0, minimum: 0 }),
  // A bearer token (RFC 6750's characters), long enough that it cannot be guessed.
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 32, maxLength: 1024, pattern: '^[A-Za-z0-9._~+/-]+=*$' })),
  // Node's (libuv's) own variable, read for the metrics of the bcrypt work that runs in that pool.
  UV_THREADPOOL_SIZE: Type.Optional(Type.String()),
  // Checked in smtpUrl(), whose messages never repeat the URL (it may hold a password).
  SMTP_URL: Type.Optional(Type.String()),
  MAIL_FROM: Type.Optional(Type.String({ minLength: 1 })),
  ACCOUNT_PAGES_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  WEBHOOK_TIMEOUT_SECONDS: Type.Integer({ default: 10, minimum: 1, maximum: 120 }),
  WEBHOOK_MAX_ATTEMPTS: Type.Integer({ default: 12, minimum: 1, maximum: 100 }),
  WEBHOOK_MAX_AGE_SECONDS: Type.Integer({ default: 259200, minimum: 60, maximum: 86400 * 30 }),
  WEBHOOK_RETENTION_DAYS: Type.Integer({ default: 30, minimum: 1, maximum: 3650 }),
  WEBHOOK_ALLOWED_HOSTS: Type.String({ default: '' }),
  IDEMPOTENCY_KEY_TTL_SECONDS: Type.Integer({ default: 86400, minimum: 60, maximum: 86400 * 30 }),
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
  // Where clients reach the service, without a trailing slash: the base of the URLs it publishes.
  publicUrl: string
  tokens: {
    keys: TokenKeys
    issuer: string
    audience: string
    // Lifetimes in seconds.
    accessTokenSeconds: number
    refreshTokenSeconds: number
  }
  // Passwords no account may have nor log in with: in production, this repository's examples.
  refusedPasswords: ReadonlySet<string>
  bcryptCost: number
  // How long the codes of verification and recovery mails work, in seconds.
  codeSeconds: number
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
  // The browser origins allowed to call the API (CORS); none by default.
  corsOrigins: string[]
  // Beyond these (0: no limit) requests are shed with 503 overloaded.
  overload: { maxEventLoopDelayMs: number; maxHeapUsedBytes: number; maxRssBytes: number }
  // The bearer token GET /metrics answers to; without it the metrics are not served.
  metricsToken?: string
  // The threads of libuv's pool, where bcrypt hashes run (beyond them, hashes wait).
  threadPoolSize: number
  // How mails leave: through the SMTP server of SMTP_URL; without it, outside production, as .eml
  // files into a folder (the development mailbox); in production without it, not at all.
  mail?: MailConfig
  webhooks: WebhookConfig
  // How long the answer to a request with an Idempotency-Key is given again to its repeats.
  idempotencyKeyTtlSeconds: number
  logLevel: string
}

export interface WebhookConfig {
  // How long a receiver has to answer one delivery.
  timeoutMs: number
  // A delivery is given up (failed) after this many attempts, or once its event is this old.
  maxAttempts: number
  maxAgeSeconds: number
  // Delivered events and their attempts are purged after this many days.
  retentionDays: number
  // WEBHOOK_ALLOWED_HOSTS: host names, addresses and CIDR ranges a target may reach although
  // they are private (domain/webhook-targets.ts).
  allowedHosts: string[]
}

export interface MailConfig {
  // The From of every mail: an address, or `Name <address>`.
  from: string
  transport: { smtpUrl: string } | { mailbox: string }
  // The web pages the mails' links open (ACCOUNT_PAGES_URL, by default PUBLIC_URL), without a
  // trailing slash: /account/verify and /account/recover/password there call the API.
  pagesUrl: string
}

export { ConfigError }

// Reads and validates the environment once; everything else receives the resulting Config.
export function loadConfig (env: Record<string, string | undefined>): Config {
  let parsed: Environment
  try {
    // Only `env` is read (env-schema would otherwise merge in process.env as well).
    parsed = envSchema<Environment>({ schema: EnvironmentSchema, data: withSecretFiles(env), env: false, dotenv: false })
  } catch (error) {
    if (error instanceof ConfigError) throw error
    const reasons = (error as Error).message.replace(/(^|, )env\/?/g, '$1').replace(/^must/, 'the environment must')
    throw new ConfigError(`Invalid configuration: ${reasons}`)
  }
  const production = parsed.NODE_ENV === 'production'
  if (production) refuseExampleSecrets(parsed)
  // A refresh token that expires before its access token refreshes nothing, and revoking its
  // grant must outlast the access tokens the grant gave.
  if (parsed.REFRESH_TOKEN_EXPIRES_IN < parsed.JWT_EXPIRES_IN) {
    throw new ConfigError('Invalid configuration: REFRESH_TOKEN_EXPIRES_IN must be at least JWT_EXPIRES_IN')
  }

  const dataDir = isAbsolute(parsed.DATA_DIR) ? parsed.DATA_DIR : resolve(projectRoot, parsed.DATA_DIR)
  const publicUrl = publicUrlOf(parsed)
  return {
    environment: parsed.NODE_ENV,
    host: parsed.HOST,
    port: parsed.PORT,
    dataDir,
    database: databaseConfig(parsed.DATABASE_URL, parsed.DATABASE_PASSWORD, dataDir),
    publicUrl,
    tokens: {
      keys: tokenKeys(parsed, dataDir),
      issuer: parsed.JWT_ISSUER ?? publicUrl,
      audience: parsed.JWT_AUDIENCE,
      accessTokenSeconds: parsed.JWT_EXPIRES_IN,
      refreshTokenSeconds: parsed.REFRESH_TOKEN_EXPIRES_IN
    },
    refusedPasswords: production ? EXAMPLE_SECRETS : new Set(),
    bcryptCost: parsed.BCRYPT_COST,
    codeSeconds: parsed.CODE_EXPIRES_IN,
    bodyLimit: parsed.BODY_LIMIT,
    firstAdmin: firstAdminCredentials(parsed),
    reservedUsernames: reservedUsernames(parsed.RESERVED_USERNAMES),
    rateLimit: {
      max: parsed.RATE_LIMIT_MAX,
      windowSeconds: parsed.RATE_LIMIT_WINDOW_SECONDS,
      ...(parsed.REDIS_URL === undefined ? {} : { redis: redisStore(parsed.REDIS_URL) })
    },
    trustProxy: trustedProxies(parsed.TRUST_PROXY),
    corsOrigins: corsOrigins(parsed.CORS_ORIGINS),
    overload: { maxEventLoopDelayMs: parsed.MAX_EVENT_LOOP_DELAY_MS, maxHeapUsedBytes: parsed.MAX_HEAP_USED_BYTES, maxRssBytes: parsed.MAX_RSS_BYTES },
    ...(parsed.METRICS_TOKEN === undefined ? {} : { metricsToken: parsed.METRICS_TOKEN }),
    threadPoolSize: threadPoolSize(parsed.UV_THREADPOOL_SIZE),
    ...mailConfig(parsed, dataDir, publicUrl),
    webhooks: {
      timeoutMs: parsed.WEBHOOK_TIMEOUT_SECONDS * 1000,
      maxAttempts: parsed.WEBHOOK_MAX_ATTEMPTS,
      maxAgeSeconds: parsed.WEBHOOK_MAX_AGE_SECONDS,
      retentionDays: parsed.WEBHOOK_RETENTION_DAYS,
      allowedHosts: webhookAllowedHosts(parsed.WEBHOOK_ALLOWED_HOSTS)
    },
    idempotencyKeyTtlSeconds: parsed.IDEMPOTENCY_KEY_TTL_SECONDS,
    logLevel: parsed.LOG_LEVEL
  }
}

function databaseConfig (url: string | undefined, password: string | undefined, dataDir: string): Config['database'] {
  if (url === undefined || url.startsWith('sqlite:')) {
    if (password !== undefined) throw new ConfigError('Invalid configuration: DATABASE_PASSWORD is only for a mysql:// or mariadb:// DATABASE_URL')
  }
  if (url === undefined) return { client: 'sqlite', filename: join(dataDir, 'account-service.sqlite') }
  if (url.startsWith('sqlite:')) {
    const location = url.slice('sqlite:'.length).replace(/^\/\//, '')
    if (location === '') throw new ConfigError('Invalid configuration: DATABASE_URL sqlite: needs a file name or :memory:')
    return { client: 'sqlite', filename: location === ':memory:' || isAbsolute(location) ? location : resolve(projectRoot, location) }
  }
  let parsedUrl: URL
  try {
    parsedUrl = new URL(url.replace(/^mariadb:/, 'mysql:'))
    if (parsedUrl.pathname.length <= 1) throw new Error('no database name')
  } catch (error) {
    throw new ConfigError(`Invalid configuration: DATABASE_URL is not a usable mysql:// URL (${(error as Error).message})`)
  }
  if (password === undefined) return { client: 'mysql', url: url.replace(/^mariadb:/, 'mysql:') }
  if (parsedUrl.password !== '') throw new ConfigError('Invalid configuration: DATABASE_URL holds a password already; give it there or in DATABASE_PASSWORD, not both')
  parsedUrl.password = encodeURIComponent(password)
  return { client: 'mysql', url: parsedUrl.toString() }
}

// PUBLIC_URL without its trailing slash; outside production, the local address by default.
function publicUrlOf (env: Environment): string {
  if (env.PUBLIC_URL === undefined) {
    if (env.NODE_ENV === 'production') {
      throw new ConfigError('Invalid configuration: PUBLIC_URL (the URL clients reach the service at, such as https://accounts.example.com) is required in production')
    }
    return `http://localhost:${env.PORT}`
  }
  return baseUrl('PUBLIC_URL', env.PUBLIC_URL)
}

// An http(s) URL that others are appended to: without its trailing slash.
function baseUrl (name: string, value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`Invalid configuration: ${name} is not a URL`)
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigError(`Invalid configuration: ${name} must be an http:// or https:// URL without credentials, query or fragment`)
  }
  return url.toString().replace(/\/+$/, '')
}

// The keys that sign tokens: JWT_PRIVATE_KEY (ES256 or RS256), JWT_SECRET (HS256, only when
// JWT_ALGORITHM says so), or outside production a key generated once into DATA_DIR.
function tokenKeys (env: Environment, dataDir: string): TokenKeys {
  const algorithm = env.JWT_ALGORITHM
  if (algorithm === 'HS256') {
    if (env.JWT_PRIVATE_KEY !== undefined) throw new ConfigError('Invalid configuration: JWT_PRIVATE_KEY is not used with JWT_ALGORITHM=HS256, which signs with JWT_SECRET')
    if (env.JWT_SECRET === undefined) throw new ConfigError('Invalid configuration: JWT_ALGORITHM=HS256 needs JWT_SECRET (at least 32 characters)')
    return sharedSecretKeys(env.JWT_SECRET)
  }
  if (env.JWT_SECRET !== undefined) {
    throw new ConfigError(`Invalid configuration: JWT_SECRET is used only with JWT_ALGORITHM=HS256; tokens are signed with ${algorithm} keys (JWT_PRIVATE_KEY)`)
  }
  if (env.JWT_PRIVATE_KEY !== undefined) return parsePrivateKeys(env.JWT_PRIVATE_KEY, algorithm, 'JWT_PRIVATE_KEY')
  if (env.NODE_ENV === 'production') {
    throw new ConfigError('Invalid configuration: JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE is required in production (make one with `npx account-service keys generate`)')
  }
  // Development: one key generated on first start and kept, so tokens survive restarts.
  const file = join(dataDir, `jwt-${algorithm.toLowerCase()}-private-key.pem`)
  const pem = keptGeneratedFile(file, () => generatePrivateKeyPem(algorithm), (text) => {
    try {
      parsePrivateKeys(text, algorithm, file)
      return undefined
    } catch (error) {
      return `does not hold a usable ${algorithm} private key (${(error as Error).message.replace(/^Invalid configuration: /, '')})`
    }
  })
  return parsePrivateKeys(pem, algorithm, file)
}

// Every secret of this repository's examples is public: in production none is accepted.
function refuseExampleSecrets (env: Environment): void {
  const configured: Array<[string, string | undefined]> = [
    ['ADMIN_PASSWORD', env.ADMIN_PASSWORD],
    ['JWT_SECRET', env.JWT_SECRET],
    ['METRICS_TOKEN', env.METRICS_TOKEN],
    ['DATABASE_PASSWORD', env.DATABASE_PASSWORD],
    ['the password of DATABASE_URL', urlPassword(env.DATABASE_URL)],
    ['the password of REDIS_URL', urlPassword(env.REDIS_URL)],
    ['the password of SMTP_URL', urlPassword(env.SMTP_URL)]
  ]
  const example = configured.find(([, value]) => value !== undefined && EXAMPLE_SECRETS.has(value))
  if (example !== undefined) {
    throw new ConfigError(`Invalid configuration: ${example[0]} is an example from the account-service repository, known to anyone; choose your own`)
  }
}

function urlPassword (url: string | undefined): string | undefined {
  if (url === undefined) return undefined
  try {
    const password = new URL(url).password
    return password === '' ? undefined : decodeURIComponent(password)
  } catch {
    return undefined
  }
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
function redisStore (url: string): NonNullable<Config['rateLimit']['redis']> {
  serverUrl('REDIS_URL', url, ['redis', 'rediss'], (path) => /^\/?[0-9]*$/.test(path) ? undefined : 'its path can only be a database number')
  return { url, keyPrefix: RATE_LIMIT_KEY_PREFIX }
}

// Checks that `url` is a URL of one of `schemes` naming a host, and what `pathProblem` says of its
// path. The message names `variable`, never the URL, which may hold a password.
function serverUrl (variable: string, url: string, schemes: string[], pathProblem: (path: string) => string | undefined): void {
  const unusable = (reason: string): ConfigError =>
    new ConfigError(`Invalid configuration: ${variable} is not a usable ${schemes.map((scheme) => `${scheme}://`).join(' or ')} URL (${reason})`)
  let parsedUrl: URL
  try {
    parsedUrl = new URL(url)
  } catch {
    throw unusable('it cannot be parsed')
  }
  if (!schemes.includes(parsedUrl.protocol.slice(0, -1))) throw unusable(`the scheme is ${parsedUrl.protocol}`)
  if (parsedUrl.hostname === '') throw unusable('it names no host')
  const problem = pathProblem(parsedUrl.pathname)
  if (problem !== undefined) throw unusable(problem)
}

// The mail settings, or none when mail is not configured (production without SMTP_URL).
function mailConfig (env: Environment, dataDir: string, publicUrl: string): { mail?: MailConfig } {
  const from = env.MAIL_FROM === undefined ? undefined : mailFrom(env.MAIL_FROM)
  const pagesUrl = env.ACCOUNT_PAGES_URL === undefined ? publicUrl : baseUrl('ACCOUNT_PAGES_URL', env.ACCOUNT_PAGES_URL)
  if (env.SMTP_URL !== undefined) {
    const smtp = smtpUrl(env.SMTP_URL)
    if (from === undefined && env.NODE_ENV === 'production') {
      throw new ConfigError('Invalid configuration: MAIL_FROM (the From of the mails, such as "Accounts <no-reply@example.com>") is required in production with SMTP_URL')
    }
    return { mail: { from: from ?? DEVELOPMENT_MAIL_FROM, transport: { smtpUrl: smtp }, pagesUrl } }
  }
  if (env.NODE_ENV === 'production') return {}
  return { mail: { from: from ?? DEVELOPMENT_MAIL_FROM, transport: { mailbox: join(dataDir, 'mail') }, pagesUrl } }
}

const DEVELOPMENT_MAIL_FROM = 'account-service <no-reply@localhost>'

// An address, or a display name and an address in angle brackets; no line break or control
// character, which would let the value write headers of its own.
const MAIL_FROM_PATTERN = /^(?:[^<>\x00-\x1f\x7f]*<[^\s<>@",;]+@[^\s<>@",;]+>|[^\s<>@",;]+@[^\s<>@",;]+)$/

function mailFrom (value: string): string {
  const trimmed = value.trim()
  if (!MAIL_FROM_PATTERN.test(trimmed)) {
    throw new ConfigError('Invalid configuration: MAIL_FROM must be an address (no-reply@example.com) or a name and an address (Accounts <no-reply@example.com>)')
  }
  return trimmed
}

// An smtp:// or smtps:// (TLS from the start) URL naming a host, as nodemailer reads it.
function smtpUrl (url: string): string {
  serverUrl('SMTP_URL', url, ['smtp', 'smtps'], (path) => path === '' || path === '/' ? undefined : 'it has a path, which means nothing to SMTP')
  return url
}

// As libuv reads UV_THREADPOOL_SIZE: 4 unless set, and between 1 and 1024.
function threadPoolSize (value: string | undefined): number {
  if (value === undefined) return 4
  return Math.min(1024, Math.max(1, Number.parseInt(value, 10) || 1))
}

// CORS_ORIGINS: a comma-separated list of origins, each exactly as a browser sends it
// (scheme://host[:port], no path): an allow-list, so no wildcard.
function corsOrigins (value: string): string[] {
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  const invalid = entries.find((entry) => !isOrigin(entry))
  if (invalid !== undefined) {
    throw new ConfigError(`Invalid configuration: CORS_ORIGINS must be a comma-separated list of origins such as https://app.example.com; ${JSON.stringify(invalid)} is not one`)
  }
  return [...new Set(entries)]
}

function isOrigin (entry: string): boolean {
  try {
    const url = new URL(entry)
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === entry
  } catch {
    return false
  }
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

function webhookAllowedHosts (list: string): string[] {
  try {
    return parseAllowedHosts(list)
  } catch (error) {
    throw new ConfigError(`Invalid configuration: WEBHOOK_ALLOWED_HOSTS: ${(error as Error).message}`)
  }
}
