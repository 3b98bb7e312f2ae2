// Unit tests for loadConfig: defaults, DATABASE_URL forms, the signing keys, secrets from files,
// the first admin and the shape of every configuration error.
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto'
import * as fs from 'node:fs'
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ConfigError, loadConfig } from '../config.js'
import { generatePrivateKeyPem, parsePrivateKeys } from '../config/signing-keys.js'
import { projectRoot } from '../paths.js'

const SECRET = 'a-test-secret-of-at-least-32-characters'
const KEY = generatePrivateKeyPem('ES256')

type Env = Record<string, string | undefined>

// An environment that touches nothing outside the test's own directory.
function baseEnv (t: Test, overrides: Env = {}): Env {
  return { DATA_DIR: t.testdir(), JWT_PRIVATE_KEY: KEY, ...overrides }
}

// The ConfigError loadConfig throws for env; fails the test when it throws nothing else.
function configError (t: Test, env: Env): ConfigError | undefined {
  try {
    loadConfig(env)
  } catch (error) {
    t.type(error, ConfigError, 'throws a ConfigError')
    return error as ConfigError
  }
  t.fail(`loadConfig accepted ${JSON.stringify(env)}`)
  return undefined
}

t.test('reads only the env it is given, never process.env', async (t) => {
  const outside = { PORT: process.env.PORT, JWT_PRIVATE_KEY: process.env.JWT_PRIVATE_KEY }
  process.env.PORT = 'nope'
  process.env.JWT_PRIVATE_KEY = KEY
  t.teardown(() => {
    for (const [name, value] of Object.entries(outside)) {
      if (value === undefined) Reflect.deleteProperty(process.env, name)
      else process.env[name] = value
    }
  })
  t.match(configError(t, { NODE_ENV: 'production', PUBLIC_URL: 'https://accounts.example.com' })?.message, /JWT_PRIVATE_KEY/)
  t.equal(loadConfig(baseEnv(t)).port, 3000)
})

t.test('defaults', async (t) => {
  t.test('listens on 127.0.0.1 port 3000', async (t) => {
    const config = loadConfig(baseEnv(t))
    t.equal(config.host, '127.0.0.1')
    t.equal(config.port, 3000)
  })

  t.test('hashes passwords with bcrypt cost 10', async (t) => {
    t.equal(loadConfig(baseEnv(t)).bcryptCost, 10)
  })

  t.test('keeps the SQLite database in DATA_DIR when DATABASE_URL is not set', async (t) => {
    const env = baseEnv(t)
    t.strictSame(loadConfig(env).database, { client: 'sqlite', filename: join(env.DATA_DIR as string, 'account-service.sqlite') })
  })

  t.test('resolves the default DATA_DIR ./data against the project root', async (t) => {
    const config = loadConfig({ JWT_PRIVATE_KEY: KEY })
    t.equal(config.dataDir, join(projectRoot, 'data'))
    t.strictSame(config.database, { client: 'sqlite', filename: join(projectRoot, 'data', 'account-service.sqlite') })
  })

  t.test('runs in development', async (t) => {
    t.equal(loadConfig(baseEnv(t)).environment, 'development')
  })

  t.test('leaves the first admin unset when no ADMIN_ variable is given', async (t) => {
    t.equal(loadConfig(baseEnv(t)).firstAdmin, undefined)
  })

  t.test('lets 60 requests per rate-limit bucket and address in 60 seconds, counted in memory', async (t) => {
    t.strictSame(loadConfig(baseEnv(t)).rateLimit, { max: 60, windowSeconds: 60 })
  })

  t.test('trusts no proxy', async (t) => {
    t.equal(loadConfig(baseEnv(t)).trustProxy, false)
  })

  t.test('reads numbers given as text', async (t) => {
    const config = loadConfig(baseEnv(t, { PORT: '8080', BCRYPT_COST: '12' }))
    t.equal(config.port, 8080)
    t.equal(config.bcryptCost, 12)
  })
})

t.test('webhooks', async (t) => {
  t.test('wait 10 s for an answer, try 12 times over at most 3 days, keep delivered events 30 days, open no private address', async (t) => {
    t.strictSame(loadConfig(baseEnv(t)).webhooks, { timeoutMs: 10_000, maxAttempts: 12, maxAgeSeconds: 259_200, retentionDays: 30, allowedHosts: [] })
  })

  t.test('read WEBHOOK_TIMEOUT_SECONDS, WEBHOOK_MAX_ATTEMPTS, WEBHOOK_MAX_AGE_SECONDS and WEBHOOK_RETENTION_DAYS', async (t) => {
    const config = loadConfig(baseEnv(t, { WEBHOOK_TIMEOUT_SECONDS: '3', WEBHOOK_MAX_ATTEMPTS: '5', WEBHOOK_MAX_AGE_SECONDS: '3600', WEBHOOK_RETENTION_DAYS: '7' }))
    t.match(config.webhooks, { timeoutMs: 3_000, maxAttempts: 5, maxAgeSeconds: 3_600, retentionDays: 7 })
  })

  t.test('open the names, addresses and ranges of WEBHOOK_ALLOWED_HOSTS, names in lower case', async (t) => {
    t.strictSame(loadConfig(baseEnv(t, { WEBHOOK_ALLOWED_HOSTS: ' Hooks.Internal, 127.0.0.1,10.0.0.0/8 ,fd00::/8' })).webhooks.allowedHosts,
      ['hooks.internal', '127.0.0.1', '10.0.0.0/8', 'fd00::/8'])
  })

  t.test('refuse settings out of their ranges and an entry that is no host, naming it', async (t) => {
    for (const overrides of [{ WEBHOOK_TIMEOUT_SECONDS: '0' }, { WEBHOOK_MAX_ATTEMPTS: '101' }, { WEBHOOK_MAX_AGE_SECONDS: '59' }, { WEBHOOK_RETENTION_DAYS: 'never' }]) {
      t.match(configError(t, baseEnv(t, overrides))?.message, /^Invalid configuration: /, JSON.stringify(overrides))
    }
    t.equal(configError(t, baseEnv(t, { WEBHOOK_ALLOWED_HOSTS: 'hooks.internal,10.0.0.0/33' }))?.message,
      'Invalid configuration: WEBHOOK_ALLOWED_HOSTS: 10.0.0.0/33 is neither a host name, an address nor a CIDR range')
  })
})

t.test('DATABASE_URL', async (t) => {
  t.test('uses an in-memory SQLite database for sqlite::memory:', async (t) => {
    t.strictSame(loadConfig(baseEnv(t, { DATABASE_URL: 'sqlite::memory:' })).database, { client: 'sqlite', filename: ':memory:' })
  })

  t.test('resolves a relative sqlite: path against the project root', async (t) => {
    t.strictSame(loadConfig(baseEnv(t, { DATABASE_URL: 'sqlite:db/app.sqlite' })).database,
      { client: 'sqlite', filename: join(projectRoot, 'db', 'app.sqlite') })
  })

  t.test('keeps an absolute sqlite:// path as given', async (t) => {
    t.strictSame(loadConfig(baseEnv(t, { DATABASE_URL: 'sqlite:///var/lib/app.sqlite' })).database,
      { client: 'sqlite', filename: '/var/lib/app.sqlite' })
  })

  t.test('refuses sqlite: without a file name', async (t) => {
    t.match(configError(t, baseEnv(t, { DATABASE_URL: 'sqlite:' }))?.message, /DATABASE_URL sqlite: needs a file name/)
  })

  t.test('uses the mysql client for a mysql:// URL, keeping the URL', async (t) => {
    const url = 'mysql://user:pass@db.example:3306/accounts'
    t.strictSame(loadConfig(baseEnv(t, { DATABASE_URL: url })).database, { client: 'mysql', url })
  })

  t.test('uses the mysql client for a mariadb:// URL, rewritten to mysql://', async (t) => {
    t.strictSame(loadConfig(baseEnv(t, { DATABASE_URL: 'mariadb://user:pass@db.example/accounts' })).database,
      { client: 'mysql', url: 'mysql://user:pass@db.example/accounts' })
  })

  t.test('refuses a mysql URL without a database name', async (t) => {
    for (const url of ['mysql://user:pass@db.example:3306', 'mysql://user:pass@db.example:3306/']) {
      t.match(configError(t, baseEnv(t, { DATABASE_URL: url }))?.message, /DATABASE_URL is not a usable mysql:\/\/ URL/, url)
    }
  })

  t.test('refuses a DATABASE_URL with an unknown scheme', async (t) => {
    t.match(configError(t, baseEnv(t, { DATABASE_URL: 'postgres://user:pass@db.example/accounts' }))?.message, /DATABASE_URL/)
  })
})

t.test('signing keys', async (t) => {
  t.test('signs with ES256 and a key of JWT_PRIVATE_KEY, named by its RFC 7638 thumbprint', async (t) => {
    const { keys } = loadConfig(baseEnv(t)).tokens
    t.equal(keys.algorithm, 'ES256')
    t.equal(keys.all.length, 1)
    const jwk = createPublicKey(KEY).export({ format: 'jwk' })
    const thumbprint = createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest('base64url')
    t.equal(keys.signing.kid, thumbprint)
    t.match(keys.signing.jwk, { kty: 'EC', crv: 'P-256', kid: thumbprint, alg: 'ES256', use: 'sig' })
    t.notOk('d' in (keys.signing.jwk ?? {}), 'the published key has no private part')
  })

  t.test('signs with the first of several keys and verifies with all of them', async (t) => {
    const second = generatePrivateKeyPem('ES256')
    const { keys } = loadConfig(baseEnv(t, { JWT_PRIVATE_KEY: `${KEY}\n${second}` })).tokens
    t.equal(keys.all.length, 2)
    t.equal(keys.signing, keys.all[0])
    t.not(keys.all[0]?.kid, keys.all[1]?.kid)
  })

  t.test('reads a PEM whose line breaks are written as \\n, as environment files often hold it', async (t) => {
    const { keys } = loadConfig(baseEnv(t, { JWT_PRIVATE_KEY: KEY.replaceAll('\n', '\\n') })).tokens
    t.equal(keys.signing.kid, parsePrivateKeys(KEY, 'ES256', 'the key').signing.kid)
  })

  t.test('takes RSA keys of at least 2048 bits for RS256', async (t) => {
    const rsa = generatePrivateKeyPem('RS256')
    t.equal(loadConfig(baseEnv(t, { JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: rsa })).tokens.keys.signing.jwk?.kty, 'RSA')
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
    t.match(configError(t, baseEnv(t, { JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: small }))?.message, /RS256 needs an RSA key of at least 2048 bits/)
  })

  t.test('refuses a key of the wrong kind for the algorithm, an encrypted key and text that is no key', async (t) => {
    const encrypted = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey
      .export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'a passphrase' }).toString()
    const cases: Array<[Env, RegExp]> = [
      [{ JWT_PRIVATE_KEY: generatePrivateKeyPem('RS256') }, /JWT_PRIVATE_KEY: ES256 needs an EC key on the P-256 curve/],
      [{ JWT_ALGORITHM: 'RS256' }, /JWT_PRIVATE_KEY: RS256 needs an RSA key/],
      [{ JWT_PRIVATE_KEY: encrypted }, /JWT_PRIVATE_KEY: it is encrypted/],
      [{ JWT_PRIVATE_KEY: 'not a key' }, /JWT_PRIVATE_KEY holds no PEM private key/],
      [{ JWT_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' }, /JWT_PRIVATE_KEY: it is not a readable PEM private key/],
      [{ JWT_PRIVATE_KEY: `${KEY}\n${KEY}` }, /JWT_PRIVATE_KEY holds the same key twice/]
    ]
    for (const [overrides, message] of cases) {
      const error = configError(t, baseEnv(t, overrides))?.message ?? ''
      t.match(error, message, JSON.stringify(Object.keys(overrides)))
      t.notOk(error.includes('BEGIN'), 'the message never repeats the key')
    }
  })

  t.test('is required in production', async (t) => {
    const error = configError(t, { NODE_ENV: 'production', DATA_DIR: t.testdir(), PUBLIC_URL: 'https://accounts.example.com' })
    t.match(error?.message, /JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE is required in production \(make one with `npx account-service keys generate`\)/)
  })

  t.test('is generated once outside production into DATA_DIR, for the algorithm', async (t) => {
    const dataDir = t.testdir()
    const { keys } = loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir }).tokens
    const file = join(dataDir, 'jwt-es256-private-key.pem')
    t.equal(createPublicKey(readFileSync(file, 'utf8')).export({ format: 'jwk' }).x, keys.signing.jwk?.x)
    t.equal(statSync(file).mode & 0o777, 0o600, 'readable by its owner only')
    t.equal(loadConfig({ DATA_DIR: dataDir }).tokens.keys.signing.kid, keys.signing.kid, 'the same key on a second load')
    t.equal(loadConfig({ DATA_DIR: dataDir, JWT_ALGORITHM: 'RS256' }).tokens.keys.signing.jwk?.kty, 'RSA', 'another file for another algorithm')
  })

  t.test('creates DATA_DIR to keep the generated key', async (t) => {
    const dataDir = join(t.testdir(), 'not', 'yet')
    loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir })
    t.ok(existsSync(join(dataDir, 'jwt-es256-private-key.pem')))
  })

  t.test('is the key already in DATA_DIR', async (t) => {
    const dataDir = t.testdir({ 'jwt-es256-private-key.pem': KEY })
    t.equal(loadConfig({ DATA_DIR: dataDir }).tokens.keys.signing.kid, parsePrivateKeys(KEY, 'ES256', 'the key').signing.kid)
    t.equal(readFileSync(join(dataDir, 'jwt-es256-private-key.pem'), 'utf8'), KEY, 'the file is left as it was')
  })

  t.test('is the one of a process that wrote its key first at the same time', async (t) => {
    const dataDir = t.testdir()
    const file = join(dataDir, 'jwt-es256-private-key.pem')
    // The other process writes its key after this load found no file, before this one writes.
    const { loadConfig } = await t.mockImport<typeof import('../config.js')>('../config.js', {
      '../config/secrets.js': await t.mockImport('../config/secrets.js', {
        'node:fs': {
          ...fs,
          writeFileSync: (...args: Parameters<typeof fs.writeFileSync>) => {
            fs.writeFileSync(file, KEY)
            fs.writeFileSync(...args)
          }
        }
      })
    })
    const first = parsePrivateKeys(KEY, 'ES256', 'the first key').signing.kid
    t.equal(loadConfig({ DATA_DIR: dataDir }).tokens.keys.signing.kid, first)
    t.equal(readFileSync(file, 'utf8'), KEY, 'the first key is kept')
    t.strictSame(readdirSync(dataDir), ['jwt-es256-private-key.pem'], 'the other key\'s file is gone')
  })

  t.test('refuses a kept file that holds no usable key, saying to delete it', async (t) => {
    const dataDir = t.testdir({ 'jwt-es256-private-key.pem': 'garbage' })
    t.match(configError(t, { DATA_DIR: dataDir })?.message, /jwt-es256-private-key\.pem does not hold a usable ES256 private key .*; delete it to have a new one generated$/)
  })

  t.test('refuses a DATA_DIR where the key cannot be written', async (t) => {
    // DATA_DIR under a regular file: mkdir fails with ENOTDIR, even for root.
    const dataDir = join(t.testdir({ file: 'not a directory' }), 'file', 'sub')
    const message = configError(t, { DATA_DIR: dataDir })?.message ?? ''
    t.match(message, /^Invalid configuration: [^\n\r]*$/, 'one line')
    t.ok(message.includes(`cannot write ${join(dataDir, 'jwt-es256-private-key.pem')}`), message)
  })

  t.test('refuses a kept key that cannot be read', async (t) => {
    const dataDir = t.testdir()
    mkdirSync(join(dataDir, 'jwt-es256-private-key.pem'))
    const message = configError(t, { DATA_DIR: dataDir })?.message ?? ''
    t.match(message, /^Invalid configuration: [^\n\r]*$/, 'one line')
    t.ok(message.includes(`cannot read ${join(dataDir, 'jwt-es256-private-key.pem')}`), message)
  })

  t.test('writes no key file when JWT_PRIVATE_KEY is given', async (t) => {
    const env = baseEnv(t)
    loadConfig(env)
    t.strictSame(readdirSync(env.DATA_DIR as string), [])
  })
})

t.test('HS256 with a shared secret', async (t) => {
  t.test('is used only when JWT_ALGORITHM says so, with JWT_SECRET', async (t) => {
    const { keys } = loadConfig({ DATA_DIR: t.testdir(), JWT_ALGORITHM: 'HS256', JWT_SECRET: SECRET }).tokens
    t.match(keys, { algorithm: 'HS256', signing: { signingKey: SECRET, jwk: undefined } })
  })

  t.test('refuses JWT_SECRET without JWT_ALGORITHM=HS256, which would otherwise be ignored', async (t) => {
    t.match(configError(t, { DATA_DIR: t.testdir(), JWT_SECRET: SECRET })?.message,
      /JWT_SECRET is used only with JWT_ALGORITHM=HS256; tokens are signed with ES256 keys \(JWT_PRIVATE_KEY\)/)
  })

  t.test('needs JWT_SECRET, of at least 32 characters, and no JWT_PRIVATE_KEY', async (t) => {
    t.match(configError(t, { DATA_DIR: t.testdir(), JWT_ALGORITHM: 'HS256' })?.message, /JWT_ALGORITHM=HS256 needs JWT_SECRET/)
    t.match(configError(t, { DATA_DIR: t.testdir(), JWT_ALGORITHM: 'HS256', JWT_SECRET: 'x'.repeat(31) })?.message, /JWT_SECRET/)
    t.match(configError(t, { DATA_DIR: t.testdir(), JWT_ALGORITHM: 'HS256', JWT_SECRET: SECRET, JWT_PRIVATE_KEY: KEY })?.message,
      /JWT_PRIVATE_KEY is not used with JWT_ALGORITHM=HS256/)
  })
})

t.test('CORS_ORIGINS', async (t) => {
  t.test('is empty by default, and a list of origins, each once', async (t) => {
    t.strictSame(loadConfig(baseEnv(t)).corsOrigins, [])
    t.strictSame(loadConfig(baseEnv(t, { CORS_ORIGINS: 'https://a.example.com, http://localhost:5173,https://a.example.com' })).corsOrigins,
      ['https://a.example.com', 'http://localhost:5173'])
  })

  t.test('refuses anything that is not an origin, naming it', async (t) => {
    for (const value of ['*', 'https://a.example.com/', 'https://a.example.com/app', 'a.example.com', 'ftp://a.example.com']) {
      t.match(configError(t, baseEnv(t, { CORS_ORIGINS: value }))?.message, /CORS_ORIGINS must be a comma-separated list of origins/, value)
    }
  })
})

t.test('issuer, audience and lifetimes', async (t) => {
  t.test('are PUBLIC_URL, account-service, an hour and 30 days by default', async (t) => {
    t.match(loadConfig(baseEnv(t)).tokens, { issuer: 'http://localhost:3000', audience: 'account-service', accessTokenSeconds: 3600, refreshTokenSeconds: 2592000 })
    t.equal(loadConfig(baseEnv(t, { PORT: '4000' })).tokens.issuer, 'http://localhost:4000')
  })

  t.test('come from JWT_ISSUER, JWT_AUDIENCE, JWT_EXPIRES_IN and REFRESH_TOKEN_EXPIRES_IN', async (t) => {
    const env = baseEnv(t, { JWT_ISSUER: 'urn:accounts', JWT_AUDIENCE: 'platform', JWT_EXPIRES_IN: '600', REFRESH_TOKEN_EXPIRES_IN: '86400' })
    t.match(loadConfig(env).tokens, { issuer: 'urn:accounts', audience: 'platform', accessTokenSeconds: 600, refreshTokenSeconds: 86400 })
  })

  t.test('refuse a refresh token that expires before its access token', async (t) => {
    t.match(configError(t, baseEnv(t, { JWT_EXPIRES_IN: '7200', REFRESH_TOKEN_EXPIRES_IN: '3600' }))?.message,
      /REFRESH_TOKEN_EXPIRES_IN must be at least JWT_EXPIRES_IN/)
    t.equal(loadConfig(baseEnv(t, { JWT_EXPIRES_IN: '3600', REFRESH_TOKEN_EXPIRES_IN: '3600' })).tokens.refreshTokenSeconds, 3600)
  })

  t.test('take the issuer from PUBLIC_URL, without its trailing slash', async (t) => {
    const config = loadConfig(baseEnv(t, { PUBLIC_URL: 'https://accounts.example.com/' }))
    t.equal(config.publicUrl, 'https://accounts.example.com')
    t.equal(config.tokens.issuer, 'https://accounts.example.com')
  })

  t.test('refuse a PUBLIC_URL that is no plain http(s) URL, and none in production', async (t) => {
    for (const url of ['ftp://accounts.example.com', 'https://user:pw@accounts.example.com', 'https://accounts.example.com/?a=1', 'https://', 'accounts.example.com']) {
      t.match(configError(t, baseEnv(t, { PUBLIC_URL: url }))?.message, /PUBLIC_URL/, url)
    }
    t.match(configError(t, { NODE_ENV: 'production', DATA_DIR: t.testdir(), JWT_PRIVATE_KEY: KEY })?.message, /PUBLIC_URL .* is required in production/)
  })
})

t.test('secrets from files (NAME_FILE)', async (t) => {
  t.test('reads each secret from the file NAME_FILE names, without its trailing line break', async (t) => {
    const dir = t.testdir({ key: KEY, password: 'Fil3-Secret-Pass!\n', url: 'mysql://db/accounts\n', dbpassword: 'db-secret\r\n', redis: 'redis://cache:6379\n', secret: `${SECRET}\n` })
    const config = loadConfig({
      DATA_DIR: join(dir, 'data'),
      JWT_PRIVATE_KEY_FILE: join(dir, 'key'),
      ADMIN_USERNAME: 'root',
      ADMIN_EMAIL: 'root@example.com',
      ADMIN_PASSWORD_FILE: join(dir, 'password'),
      DATABASE_URL_FILE: join(dir, 'url'),
      DATABASE_PASSWORD_FILE: join(dir, 'dbpassword'),
      REDIS_URL_FILE: join(dir, 'redis')
    })
    t.equal(config.tokens.keys.signing.kid, parsePrivateKeys(KEY, 'ES256', 'the key').signing.kid)
    t.equal(config.firstAdmin?.password, 'Fil3-Secret-Pass!')
    t.strictSame(config.database, { client: 'mysql', url: 'mysql://:db-secret@db/accounts' })
    t.equal(config.rateLimit.redis?.url, 'redis://cache:6379')
    const hs = loadConfig({ DATA_DIR: join(dir, 'data'), JWT_ALGORITHM: 'HS256', JWT_SECRET_FILE: join(dir, 'secret') })
    t.equal(hs.tokens.keys.signing.signingKey, SECRET)
  })

  t.test('refuses NAME together with NAME_FILE, and a file that cannot be read', async (t) => {
    t.match(configError(t, baseEnv(t, { JWT_PRIVATE_KEY_FILE: '/nowhere' }))?.message, /set JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE, not both/)
    const dataDir = t.testdir()
    const missing = join(dataDir, 'missing')
    t.equal(configError(t, { DATA_DIR: dataDir, ADMIN_PASSWORD_FILE: missing })?.message, `Invalid configuration: ADMIN_PASSWORD_FILE: cannot read ${missing} (ENOENT)`)
  })
})

t.test('DATABASE_PASSWORD', async (t) => {
  t.test('goes into the mysql:// URL, encoded', async (t) => {
    t.strictSame(loadConfig(baseEnv(t, { DATABASE_URL: 'mariadb://accounts@db:3306/accounts', DATABASE_PASSWORD: 'p@ss/word' })).database,
      { client: 'mysql', url: 'mysql://accounts:p%40ss%2Fword@db:3306/accounts' })
  })

  t.test('is refused beside a URL that has a password, and for SQLite', async (t) => {
    t.match(configError(t, baseEnv(t, { DATABASE_URL: 'mysql://a:b@db/accounts', DATABASE_PASSWORD: 'c' }))?.message, /DATABASE_URL holds a password already/)
    t.match(configError(t, baseEnv(t, { DATABASE_PASSWORD: 'c' }))?.message, /DATABASE_PASSWORD is only for a mysql:\/\/ or mariadb:\/\/ DATABASE_URL/)
  })
})

t.test('in production, refuses every secret this repository shows as an example', async (t) => {
  const production = { NODE_ENV: 'production', DATA_DIR: t.testdir(), JWT_PRIVATE_KEY: KEY, PUBLIC_URL: 'https://accounts.example.com' }
  const admin = { ADMIN_USERNAME: 'root', ADMIN_EMAIL: 'root@example.com' }
  const cases: Array<[Env, string]> = [
    [{ ...admin, ADMIN_PASSWORD: 'Change-Me-2026!' }, 'ADMIN_PASSWORD'],
    [{ JWT_PRIVATE_KEY: undefined, JWT_ALGORITHM: 'HS256', JWT_SECRET: 'change-me-to-a-long-random-secret-of-at-least-32-characters' }, 'JWT_SECRET'],
    [{ DATABASE_URL: 'mysql://accounts:accounts-change-me@mysql:3306/accounts' }, 'the password of DATABASE_URL'],
    [{ DATABASE_URL: 'mysql://accounts@mysql:3306/accounts', DATABASE_PASSWORD: 'accounts-change-me' }, 'DATABASE_PASSWORD'],
    [{ REDIS_URL: 'redis://:root-change-me@redis:6379' }, 'the password of REDIS_URL'],
    [{ METRICS_TOKEN: 'metrics-token-of-the-tests-0123456789abcdef' }, 'METRICS_TOKEN'],
    [{ SMTP_URL: 'smtps://mailer:accounts-change-me@smtp.example.com:465', MAIL_FROM: 'no-reply@example.com' }, 'the password of SMTP_URL']
  ]
  for (const [overrides, name] of cases) {
    t.equal(configError(t, { ...production, ...overrides })?.message,
      `Invalid configuration: ${name} is an example from the account-service repository, known to anyone; choose your own`, name)
  }
  t.equal(loadConfig({ ...production, ...admin, ADMIN_PASSWORD: 'Change-Me-2026!', NODE_ENV: 'development' }).firstAdmin?.password, 'Change-Me-2026!',
    'outside production the examples work, as the README walks through them')
  t.ok(loadConfig(production).refusedPasswords.has('Corr3ct-Horse!'), 'and in production no account may have or use one as its password')
  t.equal(loadConfig(baseEnv(t)).refusedPasswords.size, 0)
})

t.test('first admin', async (t) => {
  const admin = { ADMIN_USERNAME: 'root', ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'Sup3r-Secret-Key!' }

  t.test('is taken from ADMIN_USERNAME, ADMIN_EMAIL and ADMIN_PASSWORD together', async (t) => {
    t.strictSame(loadConfig(baseEnv(t, admin)).firstAdmin, { username: 'root', email: 'root@example.com', password: 'Sup3r-Secret-Key!' })
  })

  t.test('refuses only some of the ADMIN_ variables', async (t) => {
    const names = Object.keys(admin) as Array<keyof typeof admin>
    const partial = [[0], [1], [2], [0, 1], [0, 2], [1, 2]].map((indexes) =>
      Object.fromEntries(indexes.map((index) => [names[index], admin[names[index] as keyof typeof admin]])))
    for (const env of partial) {
      t.match(configError(t, baseEnv(t, env))?.message, /ADMIN_USERNAME, ADMIN_EMAIL and ADMIN_PASSWORD must be set together/, Object.keys(env).join(' + '))
    }
  })

  t.test('refuses credentials that break the account rules, naming the variable', async (t) => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ ADMIN_USERNAME: 'root admin' }, 'Invalid configuration: ADMIN_USERNAME: username must be 1 to 255 letters, digits, "_" or "-"'],
      [{ ADMIN_EMAIL: 'not-an-email' }, 'Invalid configuration: ADMIN_EMAIL: email must be a valid address of at most 254 characters'],
      [{ ADMIN_PASSWORD: 'xxroot123' }, 'Invalid configuration: ADMIN_PASSWORD: password must contain at least 3 of: lower case letters, upper case letters, digits, special characters']
    ]
    for (const [override, message] of cases) {
      t.equal(configError(t, baseEnv(t, { ...admin, ...override }))?.message, message)
    }
  })
})

t.test('RESERVED_USERNAMES', async (t) => {
  t.test('adds no name to the built-in ones when unset', async (t) => {
    t.strictSame(loadConfig(baseEnv(t)).reservedUsernames, [])
  })

  t.test('reads a comma-separated list, trimming spaces and skipping empty entries', async (t) => {
    t.strictSame(loadConfig(baseEnv(t, { RESERVED_USERNAMES: ' ceo, Ops-Team ,,x_1 , ' })).reservedUsernames, ['ceo', 'Ops-Team', 'x_1'])
  })

  t.test('refuses an entry that is not a valid username, naming it', async (t) => {
    t.equal(configError(t, baseEnv(t, { RESERVED_USERNAMES: 'ceo, ops team' }))?.message,
      'Invalid configuration: RESERVED_USERNAMES: "ops team" is not a username (1 to 255 letters, digits, "_" or "-")')
  })

  t.test('leaves ADMIN_USERNAME free to be a reserved name', async (t) => {
    const admin = { ADMIN_USERNAME: 'admin', ADMIN_EMAIL: 'admin@example.com', ADMIN_PASSWORD: 'Sup3r-Secret-Key!' }
    t.equal(loadConfig(baseEnv(t, admin)).firstAdmin?.username, 'admin')
    t.equal(loadConfig(baseEnv(t, { ...admin, ADMIN_USERNAME: 'boss', RESERVED_USERNAMES: 'boss' })).firstAdmin?.username, 'boss')
  })
})

t.test('ranges', async (t) => {
  t.test('refuses BCRYPT_COST below 4', async (t) => {
    t.match(configError(t, baseEnv(t, { BCRYPT_COST: '3' }))?.message, /BCRYPT_COST/)
  })

  t.test('refuses BCRYPT_COST above 15', async (t) => {
    t.match(configError(t, baseEnv(t, { BCRYPT_COST: '16' }))?.message, /BCRYPT_COST/)
  })

  t.test('accepts BCRYPT_COST 4 and 15', async (t) => {
    t.equal(loadConfig(baseEnv(t, { BCRYPT_COST: '4' })).bcryptCost, 4)
    t.equal(loadConfig(baseEnv(t, { BCRYPT_COST: '15' })).bcryptCost, 15)
  })

  t.test('refuses a PORT that is not a number', async (t) => {
    t.match(configError(t, baseEnv(t, { PORT: 'http' }))?.message, /PORT/)
  })
})

t.test('rate limit', async (t) => {
  t.test('reads RATE_LIMIT_MAX and RATE_LIMIT_WINDOW_SECONDS', async (t) => {
    t.strictSame(loadConfig(baseEnv(t, { RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_SECONDS: '900' })).rateLimit, { max: 5, windowSeconds: 900 })
  })

  t.test('accepts the bounds of both settings', async (t) => {
    t.strictSame(loadConfig(baseEnv(t, { RATE_LIMIT_MAX: '1', RATE_LIMIT_WINDOW_SECONDS: '1' })).rateLimit, { max: 1, windowSeconds: 1 })
    t.strictSame(loadConfig(baseEnv(t, { RATE_LIMIT_MAX: '1000000', RATE_LIMIT_WINDOW_SECONDS: '86400' })).rateLimit, { max: 1000000, windowSeconds: 86400 })
  })

  t.test('refuses a RATE_LIMIT_MAX that is not a whole number from 1 to 1000000, naming it', async (t) => {
    for (const value of ['0', '-1', '1.5', 'many', '', '1000001']) {
      t.match(configError(t, baseEnv(t, { RATE_LIMIT_MAX: value }))?.message, /RATE_LIMIT_MAX/, JSON.stringify(value))
    }
  })

  t.test('refuses a RATE_LIMIT_WINDOW_SECONDS that is not a whole number from 1 to 86400, naming it', async (t) => {
    for (const value of ['0', '-60', '0.5', '1m', '', '86401']) {
      t.match(configError(t, baseEnv(t, { RATE_LIMIT_WINDOW_SECONDS: value }))?.message, /RATE_LIMIT_WINDOW_SECONDS/, JSON.stringify(value))
    }
  })
})

t.test('REDIS_URL', async (t) => {
  t.test('keeps the rate-limit counts in that Redis, under the service\'s key prefix', async (t) => {
    for (const url of ['redis://127.0.0.1:6379', 'redis://cache.example/', 'redis://:secret@cache.example:6380/2', 'rediss://user:secret@cache.example:6380/0']) {
      t.strictSame(loadConfig(baseEnv(t, { REDIS_URL: url })).rateLimit,
        { max: 60, windowSeconds: 60, redis: { url, keyPrefix: 'account-service-rate-limit:' } }, url)
    }
  })

  t.test('refuses a URL that is not a usable redis:// or rediss:// URL, naming REDIS_URL', async (t) => {
    const invalid = {
      '': /it cannot be parsed/,
      'cache.example:6379': /the scheme is cache\.example:/,
      'http://cache.example': /the scheme is http:/,
      'redis://': /it names no host/,
      'redis:///0': /it names no host/,
      'redis://cache.example:99999': /it cannot be parsed/,
      'redis://cache.example/cache': /its path can only be a database number/
    }
    for (const [url, reason] of Object.entries(invalid)) {
      const message = configError(t, baseEnv(t, { REDIS_URL: url }))?.message
      t.match(message, /^Invalid configuration: REDIS_URL is not a usable redis:\/\/ or rediss:\/\/ URL/, JSON.stringify(url))
      t.match(message, reason, JSON.stringify(url))
    }
  })

  t.test('never repeats the URL, which may hold a password, in its error', async (t) => {
    t.notMatch(configError(t, baseEnv(t, { REDIS_URL: 'redis://:hunter2-secret@cache.example/cache' }))?.message, /hunter2/)
  })
})

t.test('TRUST_PROXY', async (t) => {
  t.test('trusts every proxy for true and none for false', async (t) => {
    t.equal(loadConfig(baseEnv(t, { TRUST_PROXY: 'true' })).trustProxy, true)
    t.equal(loadConfig(baseEnv(t, { TRUST_PROXY: 'false' })).trustProxy, false)
  })

  t.test('reads a comma-separated list of addresses, CIDR ranges and range names, trimming spaces', async (t) => {
    t.strictSame(loadConfig(baseEnv(t, { TRUST_PROXY: '10.0.0.1, 10.1.0.0/16,::1,fd00::/8 , loopback,linklocal,uniquelocal,0.0.0.0/0' })).trustProxy,
      ['10.0.0.1', '10.1.0.0/16', '::1', 'fd00::/8', 'loopback', 'linklocal', 'uniquelocal', '0.0.0.0/0'])
  })

  t.test('refuses anything else, naming the entry at fault', async (t) => {
    const invalid = ['', 'yes', 'TRUE', '1', '2', '10.0.0.1,', '10.0.0.256', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/8/8', '10.0.0.0/', '10.0.0.0/255.0.0.0', 'proxy.example']
    for (const value of invalid) {
      const message = configError(t, baseEnv(t, { TRUST_PROXY: value }))?.message
      t.match(message, /^Invalid configuration: TRUST_PROXY must be true, false or a comma-separated list of proxy addresses, CIDR ranges/, JSON.stringify(value))
    }
    t.match(configError(t, baseEnv(t, { TRUST_PROXY: '10.0.0.1, 10.0.0.0/40' }))?.message, /"10\.0\.0\.0\/40" is none of them$/)
  })
})

t.test('METRICS_TOKEN', async (t) => {
  const token = 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8'
  t.test('is unset by default: the metrics are not served', async (t) => {
    t.equal(loadConfig(baseEnv(t)).metricsToken, undefined)
  })

  t.test('is a bearer token of at least 32 characters, also from METRICS_TOKEN_FILE', async (t) => {
    t.equal(loadConfig(baseEnv(t, { METRICS_TOKEN: token })).metricsToken, token)
    t.equal(loadConfig(baseEnv(t, { METRICS_TOKEN: `${'a'.repeat(30)}==` })).metricsToken, `${'a'.repeat(30)}==`)
    const env = baseEnv(t)
    fs.writeFileSync(join(env.DATA_DIR as string, 'token'), `${token}\n`)
    t.equal(loadConfig({ ...env, METRICS_TOKEN_FILE: join(env.DATA_DIR as string, 'token') }).metricsToken, token)
  })

  t.test('refuses a shorter token, or characters a bearer token cannot carry, without repeating it', async (t) => {
    for (const value of [token.slice(0, 31), `${token} x`, `${token}"`, `${token}=x`, `é${token}`]) {
      const message = configError(t, baseEnv(t, { METRICS_TOKEN: value }))?.message
      t.match(message, /^Invalid configuration: METRICS_TOKEN must/, value)
      t.notMatch(message, token.slice(0, 31), 'the token is not in the message')
    }
  })
})

t.test('SMTP_URL and MAIL_FROM', async (t) => {
  t.test('without SMTP_URL, development and test write the mails into DATA_DIR/mail, from account-service', async (t) => {
    for (const NODE_ENV of ['development', 'test']) {
      const env = baseEnv(t, { NODE_ENV })
      t.strictSame(loadConfig(env).mail, { from: 'account-service <no-reply@localhost>', transport: { mailbox: join(env.DATA_DIR as string, 'mail') }, pagesUrl: 'http://localhost:3000' }, NODE_ENV)
    }
  })

  t.test('without SMTP_URL, production sends no mail', async (t) => {
    const production = { NODE_ENV: 'production', PUBLIC_URL: 'https://accounts.example.com' }
    t.equal(loadConfig(baseEnv(t, production)).mail, undefined)
    t.equal(loadConfig(baseEnv(t, { ...production, MAIL_FROM: 'no-reply@example.com' })).mail, undefined)
  })

  t.test('sends through the SMTP server of the URL, also from SMTP_URL_FILE', async (t) => {
    for (const url of ['smtp://127.0.0.1:2525', 'smtps://mailer:s3cret%40x@smtp.example.com:465', 'smtp://smtp.example.com/', 'smtp://smtp.example.com?pool=true']) {
      t.strictSame(loadConfig(baseEnv(t, { SMTP_URL: url })).mail, { from: 'account-service <no-reply@localhost>', transport: { smtpUrl: url }, pagesUrl: 'http://localhost:3000' }, url)
    }
    const env = baseEnv(t, { MAIL_FROM: '  Accounts <no-reply@example.com> ' })
    fs.writeFileSync(join(env.DATA_DIR as string, 'smtp'), 'smtps://mailer:s3cret@smtp.example.com\n')
    t.strictSame(loadConfig({ ...env, SMTP_URL_FILE: join(env.DATA_DIR as string, 'smtp') }).mail,
      { from: 'Accounts <no-reply@example.com>', transport: { smtpUrl: 'smtps://mailer:s3cret@smtp.example.com' }, pagesUrl: 'http://localhost:3000' })
  })

  t.test('the links of the mails open ACCOUNT_PAGES_URL, by default PUBLIC_URL, without a trailing slash', async (t) => {
    t.equal(loadConfig(baseEnv(t, { PUBLIC_URL: 'https://accounts.example.com/' })).mail?.pagesUrl, 'https://accounts.example.com')
    t.equal(loadConfig(baseEnv(t, { ACCOUNT_PAGES_URL: 'https://community.example.com/members/' })).mail?.pagesUrl, 'https://community.example.com/members')
    for (const url of ['ftp://community.example.com', 'https://user:pw@community.example.com', 'https://community.example.com/?a=1', 'https://']) {
      t.match(configError(t, baseEnv(t, { ACCOUNT_PAGES_URL: url }))?.message, /^Invalid configuration: ACCOUNT_PAGES_URL /, url)
    }
  })

  t.test('in production, SMTP_URL needs MAIL_FROM', async (t) => {
    const production = { NODE_ENV: 'production', PUBLIC_URL: 'https://accounts.example.com', SMTP_URL: 'smtps://smtp.example.com' }
    t.match(configError(t, baseEnv(t, production))?.message, /^Invalid configuration: MAIL_FROM .* is required in production with SMTP_URL$/)
    t.equal(loadConfig(baseEnv(t, { ...production, MAIL_FROM: 'no-reply@example.com' })).mail?.from, 'no-reply@example.com')
  })

  t.test('refuses a URL that is not a usable smtp:// or smtps:// URL, without repeating it', async (t) => {
    const invalid = {
      'smtp.example.com:25': /the scheme is smtp\.example\.com:/,
      'http://user:hunter2-secret@smtp.example.com': /the scheme is http:/,
      'smtp://': /it names no host/,
      'smtp://user:hunter2-secret@smtp.example.com/mail': /it has a path/,
      'smtp://hunter2-secret:99999': /it cannot be parsed/,
      '': /it cannot be parsed/
    }
    for (const [url, reason] of Object.entries(invalid)) {
      const message = configError(t, baseEnv(t, { SMTP_URL: url }))?.message
      t.match(message, /^Invalid configuration: SMTP_URL is not a usable smtp:\/\/ or smtps:\/\/ URL/, JSON.stringify(url))
      t.match(message, reason, JSON.stringify(url))
      t.notMatch(message, /hunter2/, 'the URL is not in the message')
    }
  })

  t.test('MAIL_FROM is an address or a name and an address, on one line', async (t) => {
    for (const from of ['no-reply@example.com', 'Accounts <no-reply@example.com>', '"Accounts, Inc." <no-reply@example.com>', '<no-reply@example.com>']) {
      t.equal(loadConfig(baseEnv(t, { MAIL_FROM: from })).mail?.from, from, from)
    }
    for (const from of ['nobody', 'Accounts', 'a@example.com, b@example.com', 'Accounts <no-reply@example.com', 'Accounts\r\nBcc: all@example.com <no-reply@example.com>', 'A <b> <c@example.com>']) {
      t.match(configError(t, baseEnv(t, { MAIL_FROM: from }))?.message, /^Invalid configuration: MAIL_FROM must be an address/, JSON.stringify(from))
    }
  })
})

t.test('UV_THREADPOOL_SIZE is read as libuv reads it, for the bcrypt metrics', async (t) => {
  const cases: Array<[string | undefined, number]> = [[undefined, 4], ['8', 8], ['0', 1], ['many', 1], ['5000', 1024]]
  for (const [value, size] of cases) t.equal(loadConfig(baseEnv(t, { UV_THREADPOOL_SIZE: value })).threadPoolSize, size, String(value))
})

t.test('writes every configuration error as one line starting with "Invalid configuration"', async (t) => {
  const invalid: Env[] = [
    { PORT: 'http' },
    { PORT: '70000' },
    { BCRYPT_COST: '3' },
    { NODE_ENV: 'staging' },
    { JWT_SECRET: 'short' },
    { JWT_PRIVATE_KEY: 'nonsense' },
    { PUBLIC_URL: 'somewhere' },
    { JWT_ALGORITHM: 'none' },
    { DATABASE_URL: 'postgres://db/accounts' },
    { DATABASE_URL: 'sqlite:' },
    { DATABASE_URL: 'mysql://db.example' },
    { DATABASE_URL: 'mysql://%' },
    { ADMIN_USERNAME: 'root' },
    { RESERVED_USERNAMES: 'ceo,a b' },
    { RATE_LIMIT_MAX: '0' },
    { RATE_LIMIT_WINDOW_SECONDS: 'soon' },
    { REDIS_URL: 'redis://' },
    { REDIS_URL: 'memcached://cache.example' },
    { TRUST_PROXY: '2' },
    { METRICS_TOKEN: 'short' },
    { SMTP_URL: 'mail.example.com' },
    { MAIL_FROM: 'nobody' },
    { JWT_PRIVATE_KEY: undefined, NODE_ENV: 'production' },
    { PORT: 'http', BCRYPT_COST: '99', LOG_LEVEL: 'loud' }
  ]
  for (const overrides of invalid) {
    const message = configError(t, baseEnv(t, overrides))?.message
    t.match(message, /^Invalid configuration: \S[^\n\r]*$/, JSON.stringify(overrides))
  }
})
