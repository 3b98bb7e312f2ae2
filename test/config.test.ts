// Unit tests for loadConfig: defaults, DATABASE_URL forms, the JWT secret, the first admin and
// the shape of every configuration error.
import * as fs from 'node:fs'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ConfigError, loadConfig } from '../config.js'
import { projectRoot } from '../paths.js'

const SECRET = 'a-test-secret-of-at-least-32-characters'

type Env = Record<string, string | undefined>

// An environment that touches nothing outside the test's own directory.
function baseEnv (t: Test, overrides: Env = {}): Env {
  return { DATA_DIR: t.testdir(), JWT_SECRET: SECRET, ...overrides }
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
  const outside = { PORT: process.env.PORT, JWT_SECRET: process.env.JWT_SECRET }
  process.env.PORT = 'nope'
  process.env.JWT_SECRET = 'a-process-secret-of-at-least-32-characters'
  t.teardown(() => {
    for (const [name, value] of Object.entries(outside)) {
      if (value === undefined) Reflect.deleteProperty(process.env, name)
      else process.env[name] = value
    }
  })
  t.match(configError(t, { NODE_ENV: 'production' })?.message, /JWT_SECRET/)
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
    const config = loadConfig({ JWT_SECRET: SECRET })
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

t.test('JWT_SECRET', async (t) => {
  t.test('refuses a secret shorter than 32 characters', async (t) => {
    t.match(configError(t, baseEnv(t, { JWT_SECRET: 'x'.repeat(31) }))?.message, /JWT_SECRET/)
  })

  t.test('accepts a secret of exactly 32 characters', async (t) => {
    t.equal(loadConfig(baseEnv(t, { JWT_SECRET: 'x'.repeat(32) })).jwt.secret, 'x'.repeat(32))
  })

  t.test('is required in production', async (t) => {
    const error = configError(t, { NODE_ENV: 'production', DATA_DIR: t.testdir() })
    t.match(error?.message, /JWT_SECRET/)
  })

  t.test('is generated in development into DATA_DIR/jwt-secret', async (t) => {
    const dataDir = t.testdir()
    const { secret } = loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir }).jwt
    t.ok(secret.length >= 32, 'the generated secret is at least 32 characters long')
    t.equal(readFileSync(join(dataDir, 'jwt-secret'), 'utf8').trim(), secret)
  })

  t.test('is the same generated secret on a second load', async (t) => {
    const env = { NODE_ENV: 'development', DATA_DIR: t.testdir() }
    t.equal(loadConfig(env).jwt.secret, loadConfig(env).jwt.secret)
  })

  t.test('creates DATA_DIR to keep the generated secret', async (t) => {
    const dataDir = join(t.testdir(), 'not', 'yet')
    loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir })
    t.ok(existsSync(join(dataDir, 'jwt-secret')))
  })

  t.test('is the secret already in DATA_DIR/jwt-secret', async (t) => {
    const dataDir = t.testdir({ 'jwt-secret': `${SECRET}\n` })
    t.equal(loadConfig({ DATA_DIR: dataDir }).jwt.secret, SECRET)
    t.equal(readFileSync(join(dataDir, 'jwt-secret'), 'utf8'), `${SECRET}\n`, 'the file is left as it was')
  })

  t.test('is the one of a process that wrote its secret first at the same time', async (t) => {
    const dataDir = t.testdir()
    // The other process writes its secret after this load found no file, before this one writes.
    const { loadConfig } = await t.mockImport<typeof import('../config.js')>('../config.js', {
      'node:fs': {
        ...fs,
        writeFileSync: (...args: Parameters<typeof fs.writeFileSync>) => {
          fs.writeFileSync(join(dataDir, 'jwt-secret'), `${SECRET}\n`)
          fs.writeFileSync(...args)
        }
      }
    })
    t.equal(loadConfig({ DATA_DIR: dataDir }).jwt.secret, SECRET)
    t.equal(readFileSync(join(dataDir, 'jwt-secret'), 'utf8'), `${SECRET}\n`, 'the first secret is kept')
  })

  t.test('refuses a saved secret shorter than 32 characters', async (t) => {
    const dataDir = t.testdir({ 'jwt-secret': 'short\n' })
    t.match(configError(t, { DATA_DIR: dataDir })?.message, /jwt-secret holds a JWT secret shorter than 32 characters/)
  })

  t.test('refuses a DATA_DIR where the secret cannot be written', async (t) => {
    // DATA_DIR under a regular file: mkdir fails with ENOTDIR, even for root.
    const dataDir = join(t.testdir({ file: 'not a directory' }), 'file', 'sub')
    const message = configError(t, { DATA_DIR: dataDir })?.message ?? ''
    t.match(message, /^Invalid configuration: [^\n\r]*$/, 'one line')
    t.ok(message.includes(`cannot write the JWT secret to ${join(dataDir, 'jwt-secret')}`), message)
  })

  t.test('refuses a jwt-secret that cannot be read', async (t) => {
    const dataDir = t.testdir()
    mkdirSync(join(dataDir, 'jwt-secret'))
    const message = configError(t, { DATA_DIR: dataDir })?.message ?? ''
    t.match(message, /^Invalid configuration: [^\n\r]*$/, 'one line')
    t.ok(message.includes(`cannot read ${join(dataDir, 'jwt-secret')}`), message)
  })

  t.test('writes no secret file when JWT_SECRET is given', async (t) => {
    const env = baseEnv(t)
    loadConfig(env)
    t.notOk(existsSync(join(env.DATA_DIR as string, 'jwt-secret')))
  })
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

t.test('writes every configuration error as one line starting with "Invalid configuration"', async (t) => {
  const invalid: Env[] = [
    { PORT: 'http' },
    { PORT: '70000' },
    { BCRYPT_COST: '3' },
    { NODE_ENV: 'staging' },
    { JWT_SECRET: 'short' },
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
    { JWT_SECRET: undefined, NODE_ENV: 'production' },
    { PORT: 'http', BCRYPT_COST: '99', LOG_LEVEL: 'loud' }
  ]
  for (const overrides of invalid) {
    const message = configError(t, baseEnv(t, overrides))?.message
    t.match(message, /^Invalid configuration: \S[^\n\r]*$/, JSON.stringify(overrides))
  }
})
