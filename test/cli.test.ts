// The operator's CLI as it ships (package.json "bin": dist/cli.js): compiled once for this file,
// then run as a process per command, with only the environment each test gives it, against the
// same databases as the app built in-process, which checks what the CLI did.
import { execFile, spawn } from 'node:child_process'
import { createPrivateKey } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { loadConfig } from '../config.js'
import { generatePrivateKeyPem, parsePrivateKeys } from '../config/signing-keys.js'
import { migrationSource } from '../migrations/index.js'
import { projectRoot } from '../paths.js'
import {
  ADMIN, TEST_JWT_PRIVATE_KEY, build, clientCredentialsGrant, clientToken, createClient, createTestDatabase, createUserWithToken,
  newAccount, onEachDatabase, type TestApp
} from './helper.js'

const TOKEN = '/oauth/token/'
const FEATURES = '/api/v2/feature/'
const ME = '/api/v2/user/me/'
const BUILD_TIMEOUT_MS = 120_000
const CLI_TIMEOUT_MS = 30_000
const HELP_HINT = ' (`account-service help` lists the commands)'
// For the commands that print a secret: every log line the CLI can write, so none may hold it.
const EVERY_LOG_LINE = { LOG_LEVEL: 'trace' }
const OPS = { username: 'ops', email: 'ops@example.com' }
const CLIENT_ID = /^cl_[a-z2-7]{24}$/

type Env = Record<string, string | undefined>

interface CliRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

interface CliOptions {
  // DATABASE_URL; an in-memory SQLite database of the run's own by default.
  databaseUrl?: string
  // Variables to add to, or (as undefined) take from, the run's environment.
  env?: Env
  stdin?: string
}

// dist/ beside package.json ("type": "module"), openapi.yaml and node_modules, as paths.ts and the
// docs plugin expect: they take the parent of a folder named dist for the project root.
async function buildCli (): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'account-cli-'))
  t.teardown(async () => { await rm(root, { recursive: true, force: true }) })
  try {
    // The compiler is not under test and may need npm's own settings, so it gets the whole env.
    await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', join(root, 'dist')], { cwd: projectRoot, timeout: BUILD_TIMEOUT_MS })
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string, stderr?: string }
    throw new Error(`The CLI does not compile: ${(error as Error).message}\n${stdout ?? ''}${stderr ?? ''}`)
  }
  await copyFile(join(projectRoot, 'package.json'), join(root, 'package.json'))
  await copyFile(join(projectRoot, 'openapi.yaml'), join(root, 'openapi.yaml'))
  await symlink(join(projectRoot, 'node_modules'), join(root, 'node_modules'), 'dir')
  await mkdir(join(root, 'data'))
  return root
}

// Each test has its own databases and folders, and most of a test's time is a CLI process
// starting, so tests run side by side (the databases' suites too).
t.jobs = 2

const cliRoot = await buildCli()
// DATA_DIR of every run: unused while JWT_PRIVATE_KEY and DATABASE_URL are given.
const dataDir = join(cliRoot, 'data')

// `account-service ...args`, with nothing of process.env but PATH.
async function cli (args: string[], options: CliOptions = {}): Promise<CliRun> {
  const env: Env = {
    PATH: process.env.PATH,
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    DATABASE_URL: options.databaseUrl ?? 'sqlite::memory:',
    JWT_PRIVATE_KEY: TEST_JWT_PRIVATE_KEY,
    BCRYPT_COST: '4',
    ...options.env
  }
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(cliRoot, 'dist', 'cli.js'), ...args], { cwd: cliRoot, env, timeout: CLI_TIMEOUT_MS })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    // A command that never reads stdin may exit before it is written; that is no failure of the test.
    child.stdin.on('error', () => {})
    child.on('error', reject)
    child.on('close', (code, signal) => { resolve({ code, signal, stdout, stderr }) })
    child.stdin.end(options.stdin ?? '')
  })
}

// stdout of a --json run: one JSON document and its newline.
function jsonOf (t: Test, run: CliRun): any {
  t.match(run.stdout, /\n$/, 'stdout ends with a newline')
  try {
    return JSON.parse(run.stdout)
  } catch {
    t.fail(`stdout is not JSON: ${run.stdout}`)
    return undefined
  }
}

function occurrences (text: string, part: string): number {
  return text.split(part).length - 1
}

// A usage error: exit 2, nothing on stdout, and on stderr one line naming the problem after the
// program's name, ending with the hint to the help.
function assertUsageError (t: Test, run: CliRun, problem: RegExp): void {
  t.equal(run.code, 2, 'exits 2')
  t.equal(run.stdout, '', 'prints nothing on stdout')
  const lines = run.stderr.split('\n')
  t.strictSame(lines.slice(1), [''], 'one line on stderr')
  t.ok(lines[0]?.startsWith('account-service: ') === true && lines[0].endsWith(HELP_HINT), 'naming the program, ending with the hint to the help')
  t.match(lines[0], problem)
}

// A refusal: exit 1, nothing on stdout, and exactly this one line on stderr.
function assertFailure (t: Test, run: CliRun, line: string): void {
  t.equal(run.code, 1, 'exits 1')
  t.equal(run.stdout, '', 'prints nothing on stdout')
  t.equal(run.stderr, `${line}\n`, 'one line on stderr')
}

function assertSuccess (t: Test, run: CliRun): void {
  t.equal(run.code, 0, `exits 0${run.signal === null ? '' : ` (killed by ${run.signal})`}${run.stderr === '' ? '' : `: ${run.stderr}`}`)
}

// Nothing written on stderr, log lines included, holds any of the secrets.
function assertNoSecretOnStderr (t: Test, runs: CliRun[], secrets: string[]): void {
  t.ok(secrets.every((secret) => secret.length > 0 && runs.every((run) => !run.stderr.includes(secret))), 'no secret on stderr')
}

async function passwordGrant (api: TestApp, username: string, password: string) {
  return await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'password', username, password } })
}

async function latestSchemaVersion (): Promise<string> {
  const names = await migrationSource.getMigrations([])
  return names.at(-1)?.split('_')[0] ?? ''
}

t.test('help prints the usage on stdout and exits 0', async (t) => {
  const run = await cli(['help'])
  assertSuccess(t, run)
  t.match(run.stdout, /^Usage: account-service <command> \[options\]\n/)
  for (const command of ['admin create', 'admin reset-password', 'client create', 'client list', 'client rotate', 'client disable',
    'client enable', 'client delete', 'keys generate', 'keys list', 'migrate']) {
    t.ok(run.stdout.includes(`  ${command} `), command)
  }
  t.equal(run.stderr, '')
})

t.test('keys generate prints one ES256 private key in PEM, which loadConfig accepts as JWT_PRIVATE_KEY', async (t) => {
  const run = await cli(['keys', 'generate'])
  assertSuccess(t, run)
  t.match(run.stdout, /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PRIVATE KEY-----\n$/)
  t.equal(occurrences(run.stdout, '-----BEGIN'), 1, 'one key')
  t.equal(run.stderr, '')
  const key = createPrivateKey(run.stdout)
  t.equal(key.asymmetricKeyType, 'ec')
  t.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1')
  const { keys } = loadConfig({ DATA_DIR: dataDir, JWT_PRIVATE_KEY: run.stdout }).tokens
  t.equal(keys.algorithm, 'ES256')
  t.equal(keys.all.length, 1)
  t.not(keys.signing.kid, parsePrivateKeys(TEST_JWT_PRIVATE_KEY, 'ES256', 'the test key').signing.kid, 'a new key, not the configured one')
})

t.test('keys generate --algorithm RS256 prints an RSA private key that loadConfig accepts for RS256', async (t) => {
  const run = await cli(['keys', 'generate', '--algorithm', 'RS256'])
  assertSuccess(t, run)
  t.equal(occurrences(run.stdout, '-----BEGIN PRIVATE KEY-----'), 1, 'one key')
  const key = createPrivateKey(run.stdout)
  t.equal(key.asymmetricKeyType, 'rsa')
  t.ok((key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048, 'of at least 2048 bits')
  t.equal(loadConfig({ DATA_DIR: dataDir, JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: run.stdout }).tokens.keys.algorithm, 'RS256')
})

t.test('keys generate --json prints the algorithm and the key as JSON', async (t) => {
  const run = await cli(['keys', 'generate', '--json'])
  assertSuccess(t, run)
  const body = jsonOf(t, run)
  t.match(body, { algorithm: 'ES256', private_key: /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n?$/ })
  t.equal(loadConfig({ DATA_DIR: dataDir, JWT_PRIVATE_KEY: body.private_key }).tokens.keys.algorithm, 'ES256')
})

t.test('keys generate refuses --algorithm HS256 as a usage error: a shared secret is no key to generate', async (t) => {
  assertUsageError(t, await cli(['keys', 'generate', '--algorithm', 'HS256']), /^account-service: --algorithm must be ES256 or RS256 \(/)
})

t.test('keys list prints the kid of the configured signing key', async (t) => {
  const { kid } = parsePrivateKeys(TEST_JWT_PRIVATE_KEY, 'ES256', 'the test key').signing
  const run = await cli(['keys', 'list', '--json'])
  assertSuccess(t, run)
  t.strictSame(jsonOf(t, run), [{ kid, algorithm: 'ES256', signs: true, published: true }])
  t.equal(run.stderr, '')
})

t.test('keys list names every configured key by kid, the first as the one that signs', async (t) => {
  const newer = generatePrivateKeyPem('ES256')
  const [signing, older] = parsePrivateKeys(`${newer}\n${TEST_JWT_PRIVATE_KEY}`, 'ES256', 'the test keys').all.map((key) => key.kid)
  t.equal(older, parsePrivateKeys(TEST_JWT_PRIVATE_KEY, 'ES256', 'the test key').signing.kid)
  const run = await cli(['keys', 'list'], { env: { JWT_PRIVATE_KEY: `${newer}\n${TEST_JWT_PRIVATE_KEY}` } })
  assertSuccess(t, run)
  t.equal(run.stdout, `${signing ?? ''}  ES256  signs and verifies\n${older ?? ''}  ES256  verifies\n`)
})

t.test('answers an unknown command with exit 2 and one usage line on stderr', async (t) => {
  const [command, subcommand] = await Promise.all([cli(['frobnicate']), cli(['client', 'frobnicate'])])
  assertUsageError(t, command, /^account-service: unknown command: frobnicate \(/)
  assertUsageError(t, subcommand, /^account-service: unknown command: client frobnicate \(/)
})

t.test('answers an unknown option and an extra argument with exit 2 and one usage line on stderr', async (t) => {
  const [unknown, extra] = await Promise.all([cli(['keys', 'list', '--frobnicate']), cli(['migrate', 'now'])])
  assertUsageError(t, unknown, /^account-service: Unknown option '--frobnicate'/)
  assertUsageError(t, extra, /^account-service: unexpected argument now \(/)
})

t.test('answers a missing required option with exit 2 and one usage line on stderr', async (t) => {
  assertUsageError(t, await cli(['admin', 'create', '--username', 'ops']), /^account-service: --email is required \(/)
})

t.test('admin create --password-stdin refuses an empty stdin as a usage error', async (t) => {
  assertUsageError(t, await cli(['admin', 'create', '--username', OPS.username, '--email', OPS.email, '--password-stdin'], { stdin: '\n' }),
    /^account-service: --password-stdin read no password \(/)
})

t.test('admin create refuses a password the policy refuses, with exit 1 and one line naming the field', async (t) => {
  const run = await cli(['admin', 'create', '--username', OPS.username, '--email', OPS.email, '--password-stdin'], { stdin: 'short\n' })
  t.equal(run.code, 1, 'exits 1')
  t.equal(run.stdout, '')
  t.match(run.stderr, /^account-service: [^\n]+ \(password\)\n$/)
  assertNoSecretOnStderr(t, [run], ['short'])
})

t.test('admin reset-password of an unknown user fails with exit 1 and one line: not found', async (t) => {
  assertFailure(t, await cli(['admin', 'reset-password', 'nobody']), 'account-service: User nobody not found')
})

t.test('client create prints the client in text and its secret once, saying it is shown only then', async (t) => {
  const run = await cli(['client', 'create', '--name', 'mailer'], { env: EVERY_LOG_LINE })
  assertSuccess(t, run)
  t.match(run.stdout, /^Service client created\.\n {2}client_id: {2}cl_[a-z2-7]{24}\n {2}name: {7}mailer\n/)
  t.match(run.stdout, /\n {2}scope: {6}read write\n/, 'every scope by default')
  const secret = /^ {2}client_secret: (cs_\S+)$/m.exec(run.stdout)?.[1] ?? ''
  t.equal(occurrences(run.stdout, secret), 1, 'the secret once')
  t.match(run.stdout, /\n\nThe secret is shown only this once: store it as a secret now\.\n$/)
  assertNoSecretOnStderr(t, [run], [secret])
})

t.test('client list says so when there is no client', async (t) => {
  const run = await cli(['client', 'list'])
  assertSuccess(t, run)
  t.equal(run.stdout, 'No service clients.\n')
})

t.test('refuses a bad configuration with exit 1 and one line saying what is wrong', async (t) => {
  const run = await cli(['migrate'], { env: { PORT: 'nope' } })
  t.equal(run.code, 1, 'exits 1')
  t.equal(run.stdout, '')
  t.match(run.stderr, /^Invalid configuration: [^\n]*PORT[^\n]*\n$/)
})

onEachDatabase('the operator CLI', async (t, kind) => {
  t.jobs = 2

  t.test('migrate brings a new database to the latest schema and says its version', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const version = await latestSchemaVersion()
    const text = await cli(['migrate'], { databaseUrl })
    assertSuccess(t, text)
    t.equal(text.stdout, `The database is at the latest schema, ${version}.\n`)
    t.equal(text.stderr, '')
    const json = await cli(['migrate', '--json'], { databaseUrl })
    assertSuccess(t, json)
    t.strictSame(jsonOf(t, json), { current: version })
  })

  t.test('admin create prints a generated password once, and the admin logs in with it', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const run = await cli(['admin', 'create', '--username', OPS.username, '--email', OPS.email], { databaseUrl, env: EVERY_LOG_LINE })
    assertSuccess(t, run)
    const printed = /^Admin ops \(id \d+\) created\.\n {2}password: (\S+)\nThe password is shown only this once\.\n$/.exec(run.stdout)
    const password = printed?.[1] ?? ''
    t.ok(password.length >= 24, `prints the password: ${run.stdout}`)
    t.equal(occurrences(run.stdout, password), 1, 'once')
    assertNoSecretOnStderr(t, [run], [password])
    const api = await build(t, kind, { databaseUrl })
    const me = await api.request({ url: ME, token: await api.tokenFor(OPS.username, password) })
    t.equal(me.statusCode, 200)
    t.match(me.body, { username: OPS.username, email: OPS.email })
    t.ok((me.body.roles as string[]).includes('admin'), 'an admin')
  })

  t.test('admin create --password-stdin takes the first line of stdin for the password and prints none', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const password = 'Opera7or-Chosen!'
    const run = await cli(['admin', 'create', '--username', OPS.username, '--email', OPS.email, '--password-stdin', '--json'],
      { databaseUrl, env: EVERY_LOG_LINE, stdin: `${password}\nnot the password\n` })
    assertSuccess(t, run)
    const body = jsonOf(t, run)
    t.match(body, { user: { id: Number, username: OPS.username, email: OPS.email } })
    t.notOk('password' in body, 'no password in the answer')
    t.notOk(run.stdout.includes(password), 'the password is not echoed')
    assertNoSecretOnStderr(t, [run], [password])
    const api = await build(t, kind, { databaseUrl })
    t.equal((await passwordGrant(api, OPS.username, password)).statusCode, 200)
  })

  t.test('admin reset-password gives an admin a new password, refuses the old one and ends its refresh tokens', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const api = await build(t, kind, { databaseUrl })
    const before = await passwordGrant(api, ADMIN.username, ADMIN.password)
    t.equal(before.statusCode, 200)
    const run = await cli(['admin', 'reset-password', ADMIN.username], { databaseUrl, env: EVERY_LOG_LINE })
    assertSuccess(t, run)
    const printed = /^The password of admin was reset; every token it had no longer works\.\n {2}password: (\S+)\nThe password is shown only this once\.\n$/.exec(run.stdout)
    const password = printed?.[1] ?? ''
    t.ok(password.length >= 24, `prints the new password: ${run.stdout}`)
    t.not(password, ADMIN.password)
    assertNoSecretOnStderr(t, [run], [password, ADMIN.password])
    const old = await passwordGrant(api, ADMIN.username, ADMIN.password)
    t.equal(old.statusCode, 400, 'the old password fails')
    t.equal(old.body.error, 'invalid_grant')
    t.equal((await passwordGrant(api, ADMIN.username, password)).statusCode, 200, 'the new one works')
    const refreshed = await api.request({ method: 'POST', url: TOKEN, payload: { grant_type: 'refresh_token', refresh_token: before.body.refresh_token } })
    t.equal(refreshed.statusCode, 400, 'a refresh token from before no longer refreshes')
    t.match(refreshed.body, { error: 'invalid_grant' })
    t.equal((await api.request({ url: '/api/v2/user/me/', token: before.body.access_token })).statusCode, 401, 'nor does its access token work')
  })

  t.test('admin reset-password refuses an account without the admin role, with exit 1 and one line', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const api = await build(t, kind, { databaseUrl })
    await createUserWithToken(api)
    const user = newAccount()
    assertFailure(t, await cli(['admin', 'reset-password', String(user.username)], { databaseUrl }),
      `account-service: ${String(user.username)} does not have the admin role (username)`)
    t.equal((await passwordGrant(api, String(user.username), String(user.password))).statusCode, 200, 'the password is unchanged')
  })

  t.test('client create prints the client and its secret as JSON, and the client gets a token of its scope', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const run = await cli(['client', 'create', '--name', 'mailer', '--role', 'bot', '--scope', 'read', '--json'], { databaseUrl, env: EVERY_LOG_LINE })
    assertSuccess(t, run)
    const body = jsonOf(t, run)
    t.match(body, { client_id: CLIENT_ID, client_secret: /^cs_[A-Za-z0-9_-]{43}$/, name: 'mailer', roles: ['bot'], scope: 'read', enabled: true, created_by: null })
    t.equal(occurrences(run.stdout, String(body.client_secret)), 1, 'the secret once')
    assertNoSecretOnStderr(t, [run], [String(body.client_secret)])
    const api = await build(t, kind, { databaseUrl })
    const grant = await clientCredentialsGrant(api, body.client_id, body.client_secret)
    t.equal(grant.statusCode, 200)
    t.match(grant.body, { access_token: String, token_type: 'Bearer', scope: 'read' })
    t.equal((await clientCredentialsGrant(api, body.client_id, body.client_secret, 'write')).body.error, 'invalid_scope', 'and no wider one')
    t.equal((await api.request({ url: FEATURES, token: grant.body.access_token })).statusCode, 200)
  })

  t.test('client list --json lists every client without any secret', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const api = await build(t, kind, { databaseUrl })
    const made = [await createClient(api, { name: 'mailer', roles: ['bot'], scope: 'read' }), await createClient(api, { name: 'billing', roles: [] })]
    const run = await cli(['client', 'list', '--json'], { databaseUrl })
    assertSuccess(t, run)
    const listed = jsonOf(t, run) as Array<Record<string, unknown>>
    t.strictSame(listed.map((client) => client.client_id).sort(), made.map(({ client }) => String(client.client_id)).sort())
    t.match(listed.find((client) => client.name === 'mailer'), { roles: ['bot'], scope: 'read', enabled: true })
    t.notOk(listed.some((client) => 'client_secret' in client), 'no client_secret member')
    t.notOk(made.some(({ secret }) => run.stdout.includes(secret) || run.stderr.includes(secret)), 'no secret printed')
  })

  t.test('client rotate gives a new secret: the old one fails, the new one works', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const api = await build(t, kind, { databaseUrl })
    const { client, secret } = await createClient(api, { roles: ['bot'] })
    const run = await cli(['client', 'rotate', client.client_id, '--json'], { databaseUrl, env: EVERY_LOG_LINE })
    assertSuccess(t, run)
    const body = jsonOf(t, run)
    t.match(body, { client_id: client.client_id, client_secret: /^cs_/ })
    t.not(body.client_secret, secret)
    assertNoSecretOnStderr(t, [run], [secret, String(body.client_secret)])
    const old = await clientCredentialsGrant(api, client.client_id, secret)
    t.equal(old.statusCode, 401, 'the old secret fails')
    t.match(old.body, { error: 'invalid_client' })
    t.equal((await clientCredentialsGrant(api, client.client_id, body.client_secret)).statusCode, 200, 'the new one works')
  })

  t.test('client disable stops a token issued before, and client enable brings it back', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const api = await build(t, kind, { databaseUrl })
    const { client, secret } = await createClient(api, { roles: ['bot'] })
    const token = await clientToken(api, client.client_id, secret)
    t.equal((await api.request({ url: FEATURES, token })).statusCode, 200, 'the token works before')
    const disabled = await cli(['client', 'disable', client.client_id, '--json'], { databaseUrl })
    assertSuccess(t, disabled)
    t.match(jsonOf(t, disabled), { client_id: client.client_id, enabled: false })
    t.equal((await api.request({ url: FEATURES, token })).statusCode, 401, 'and not once disabled')
    t.equal((await clientCredentialsGrant(api, client.client_id, secret)).statusCode, 401, 'nor does the client get a new one')
    const enabled = await cli(['client', 'enable', client.client_id], { databaseUrl })
    assertSuccess(t, enabled)
    t.match(enabled.stdout, new RegExp(`^Client ${String(client.client_id)} enabled\\.\\n[\\s\\S]* {2}enabled: {4}true\\n`))
    t.equal((await api.request({ url: FEATURES, token })).statusCode, 200, 'and works again once enabled')
  })

  t.test('client delete ends the client, so that rotating it then fails with exit 1, not found', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const api = await build(t, kind, { databaseUrl })
    const { client, secret } = await createClient(api, { roles: ['bot'] })
    const token = await clientToken(api, client.client_id, secret)
    const deleted = await cli(['client', 'delete', client.client_id, '--json'], { databaseUrl })
    assertSuccess(t, deleted)
    t.strictSame(jsonOf(t, deleted), { client_id: client.client_id, deleted: true })
    t.equal((await api.request({ url: FEATURES, token })).statusCode, 401, 'its token stops working')
    assertFailure(t, await cli(['client', 'rotate', client.client_id], { databaseUrl }), `account-service: Client ${String(client.client_id)} not found`)
  })
})
