// No example from this repository works in production: every password and secret its files show
// is in EXAMPLE_SECRETS, a production start refuses them, and no account may have or use one.
// And the compose file's production configuration, with its secret files, starts the service.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { buildApp } from '../app.js'
import { ConfigError, loadConfig } from '../config.js'
import { generatePrivateKeyPem } from '../config/signing-keys.js'
import { EXAMPLE_SECRETS } from '../config/secrets.js'
import { projectRoot } from '../paths.js'
import { build, createTestDatabase, newAccount, onEachDatabase } from './helper.js'

// Where the repository shows credentials, and the forms it shows them in: JSON and YAML keys,
// environment assignments, form parameters, shell commands writing a secret file.
const EXAMPLE_FILES = ['README.md', 'docker-compose.yml', 'openapi.yaml', 'test/helper.ts']
const SECRET_KEYS = 'password|client_secret|ADMIN_PASSWORD|JWT_SECRET|METRICS_TOKEN|DATABASE_PASSWORD|MYSQL_PASSWORD|MYSQL_ROOT_PASSWORD'
const EXAMPLE_FORMS = [
  new RegExp(`"(?:${SECRET_KEYS})"\\s*:\\s*"([^"]+)"`, 'g'),
  new RegExp(`\\b(?:${SECRET_KEYS}):[ \\t]*'([^']+)'`, 'g'),
  new RegExp(`^[ \\t]*(?:${SECRET_KEYS}):[ \\t]*["']?([^\\s"',]+)["']?,?[ \\t]*$`, 'gm'),
  new RegExp(`\\b(?:${SECRET_KEYS})=["']?([^\\s"'&]+)`, 'g'),
  /printf '%s' '([^']+)' > secrets\//g,
  /:\/\/[^:/\s@]+:([^@/\s]+)@/g
]

// Stand-ins that no one could use as a secret: placeholders, variables, elided values (`cs_...`),
// shell quotes splicing a variable in (`"password":"'"$PASSWORD"'"`), expressions of code.
function isPlaceholder (value: string): boolean {
  return /^[<$']/.test(value) || value.endsWith('...') || /^[a-z_]+(\.[A-Za-z_]+)+$/i.test(value) || /^(string|true|false|\d+(-\d+)?)$/.test(value) || value === 'password'
}

function examplesIn (text: string): string[] {
  return EXAMPLE_FORMS.flatMap((form) => [...text.matchAll(form)].map((match) => match[1] as string)).filter((value) => !isPlaceholder(value))
}

t.test('every password and secret the repository shows as an example is a known example', async (t) => {
  const found = new Set(EXAMPLE_FILES.flatMap((file) => examplesIn(readFileSync(join(projectRoot, file), 'utf8'))))
  t.ok(found.size >= 5, `the scan finds the examples (${[...found].join(', ')})`)
  for (const value of found) t.ok(EXAMPLE_SECRETS.has(value), `${value} is in EXAMPLE_SECRETS`)
})

t.test('the scan itself finds an example in each of the forms', async (t) => {
  const text = '{"password":"A1-example!"}\n  password: B2-example\nADMIN_PASSWORD=C3-example\n' +
    '--data-urlencode password=D4-example\nprintf \'%s\' \'E5-example\' > secrets/admin-password\nmysql://accounts:F6-example@db/x'
  t.strictSame(examplesIn(text).sort(), ['A1-example!', 'B2-example', 'C3-example', 'D4-example', 'E5-example', 'F6-example'])
  t.strictSame(examplesIn('"password":"<generated>" password: $ADMIN_PASSWORD password: ADMIN.password'), [])
})

t.test('the compose file\'s production configuration starts the service from its secret files', async (t) => {
  const compose = parse(readFileSync(join(projectRoot, 'docker-compose.yml'), 'utf8')) as {
    services: { 'account-service': { environment: Record<string, string> } }
    secrets: Record<string, { file: string }>
  }
  const dir = t.testdir({ data: {} })
  const secretFiles: Record<string, string> = {
    jwt_private_key: generatePrivateKeyPem('ES256'),
    mysql_password: 'unused-here',
    admin_password: 'Operat0r-Chosen-Passphrase'
  }
  t.strictSame(Object.keys(compose.secrets).sort(), Object.keys(secretFiles).sort(), 'the compose file mounts exactly these secrets')
  for (const [name, value] of Object.entries(secretFiles)) writeFileSync(join(dir, name), `${value}\n`)
  // ${VAR:-default} takes its default, ${VAR:?why} the operator's value; /run/secrets/x is the file.
  const operatorValues: Record<string, string> = { ADMIN_EMAIL: 'ops@example.com' }
  const env = Object.fromEntries(Object.entries(compose.services['account-service'].environment).map(([name, value]) => [name, String(value)
    .replace(/\$\{(\w+):-([^}]*)\}/g, (_, variable: string, fallback: string) => operatorValues[variable] ?? fallback)
    .replace(/\$\{(\w+):\?[^}]*\}/g, (_, variable: string) => operatorValues[variable] ?? '')
    .replace(/^\/run\/secrets\/(\w+)$/, (_, secret: string) => join(dir, secret))]))
  t.equal(env.NODE_ENV, 'production')
  t.notOk(Object.entries(env).some(([name, value]) => /PASSWORD$|SECRET$|PRIVATE_KEY$/.test(name) && value !== ''), 'no secret is in the compose file itself')
  // The database is the test's own; everything else is as the compose file gives it.
  const { DATABASE_URL: _url, DATABASE_PASSWORD_FILE: _password, ...rest } = env
  const config = loadConfig({ ...rest, DATA_DIR: join(dir, 'data'), DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent', BCRYPT_COST: '4' })
  const app = await buildApp({ config })
  t.teardown(async () => { await app.close() })
  const token = await app.inject({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'password', username: 'admin', password: 'Operat0r-Chosen-Passphrase' } })
  t.equal(token.statusCode, 200, 'the first admin has the password of the secret file')
  writeFileSync(join(dir, 'admin_password'), 'Change-Me-2026!\n')
  t.throws(() => loadConfig({ ...rest, DATA_DIR: join(dir, 'data'), DATABASE_URL: 'sqlite::memory:' }), ConfigError, 'with the old example password, the start stops')
})

onEachDatabase('example passwords in production', async (t, kind) => {
  const production = { NODE_ENV: 'production', PUBLIC_URL: 'https://accounts.example.com', ADMIN_PASSWORD: 'Pr0duction-Only-Passphrase' }

  t.test('log no one in, through either door, even an account that has one from before', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const development = await build(t, kind, { databaseUrl, env: { ADMIN_PASSWORD: 'Pr0duction-Only-Passphrase' } })
    const created = await development.request({
      method: 'POST', url: '/api/v2/account/create/', token: await development.tokenFor('admin', 'Pr0duction-Only-Passphrase'), payload: newAccount()
    })
    t.equal(created.statusCode, 201, 'outside production the README\'s example works')
    const api = await build(t, kind, { databaseUrl, env: production })
    const grant = await api.request({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'password', username: 'jane_doe', password: 'Corr3ct-Horse!' } })
    t.strictSame(grant.body, { error: 'invalid_grant', error_description: 'Invalid username or password' })
    const login = await api.request({ method: 'POST', url: '/api/v1/login', payload: { user: 'jane_doe', password: 'Corr3ct-Horse!' } })
    t.equal(login.statusCode, 401)
    t.equal(login.body.error, 'Unauthorized')
  })

  t.test('are refused for a new account', async (t) => {
    const api = await build(t, kind, { env: production })
    const response = await api.request({ method: 'POST', url: '/api/v2/account/create/', token: await api.tokenFor('admin', 'Pr0duction-Only-Passphrase'), payload: newAccount() })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'password_too_common', field: 'password', message: /example from the account-service repository/ })
  })
})
