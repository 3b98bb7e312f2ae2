// Builds the real application against a real database (SQLite, and MariaDB/MySQL when
// TEST_MYSQL_URL is set) and talks to it through app.inject, checking every response against
// openapi.yaml. TEST_REDIS_URL names a Redis for the tests of the shared rate-limit store.
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { AxiosResponse } from 'axios'
import type { FastifyBaseLogger, FastifyInstance, InjectOptions } from 'fastify'
import { CompactSign, importPKCS8 } from 'jose'
import knex from 'knex'
import { createConnection, type RowDataPacket } from 'mysql2/promise'
import t, { type Test } from 'tap'
import { buildApp } from '../app.js'
import { loadConfig } from '../config.js'
import { generatePrivateKeyPem, parsePrivateKeys } from '../config/signing-keys.js'
import { knexConfig } from '../plugins/database.js'
import { contractViolations } from './contract.js'

export type DatabaseKind = 'sqlite' | 'mysql'

const mysqlServerUrl = process.env.TEST_MYSQL_URL
if (process.env.CI === 'true' && (mysqlServerUrl === undefined || mysqlServerUrl === '')) {
  throw new Error('CI must run the database tests on MariaDB/MySQL: set TEST_MYSQL_URL')
}
export const databaseKinds: DatabaseKind[] = mysqlServerUrl !== undefined && mysqlServerUrl !== '' ? ['sqlite', 'mysql'] : ['sqlite']

const redisUrl = process.env.TEST_REDIS_URL
if (process.env.CI === 'true' && (redisUrl === undefined || redisUrl === '')) {
  throw new Error('CI must run the rate-limit tests on Redis: set TEST_REDIS_URL')
}
// The Redis the tests may use, or undefined (then the tests that need one are skipped).
export const testRedisUrl = redisUrl !== undefined && redisUrl !== '' ? redisUrl : undefined

export const ADMIN = { username: 'admin', email: 'admin@example.com', password: 'Sup3r-Secret-Key!' }
// One signing key for the whole test process, so apps sharing a database accept each other's tokens.
export const TEST_JWT_PRIVATE_KEY = generatePrivateKeyPem('ES256')
export const TEST_KID = parsePrivateKeys(TEST_JWT_PRIVATE_KEY, 'ES256', 'the test key').signing.kid
// The issuer and audience of the test apps' tokens (PUBLIC_URL's default, JWT_AUDIENCE's).
export const TEST_ISSUER = 'http://localhost:3000'
export const TEST_AUDIENCE = 'account-service'

// The claims of a valid access token for `sub`, as the service issues them; override any.
export function accessTokenClaims (sub: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return { iss: TEST_ISSUER, aud: TEST_AUDIENCE, sub, iat: now, exp: now + 3600, jti: randomUUID(), scope: 'read write', roles: ['user'], ...overrides }
}

// A JWS of exactly these claims and header fields, signed with `privateKey` (by default the test
// apps' own key, named by its kid): tokens the service must tell apart from its own.
export async function signToken (
  claims: Record<string, unknown>,
  options: { privateKey?: string, header?: Record<string, unknown> } = {}
): Promise<string> {
  const privateKey = options.privateKey ?? TEST_JWT_PRIVATE_KEY
  const header = { alg: 'ES256', typ: 'at+jwt', kid: TEST_KID, ...options.header }
  const key = await importPKCS8(privateKey, String(header.alg))
  return await new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader(header as { alg: string }).sign(key)
}

// Runs `suite` once for each database the tests can reach.
export function onEachDatabase (name: string, suite: (t: Test, kind: DatabaseKind) => Promise<void>): void {
  for (const kind of databaseKinds) {
    void t.test(`${name} (${kind})`, async (t) => { await suite(t, kind) })
  }
}

let databaseCounter = 0

function newDatabaseName (): string {
  return `account_test_${process.pid}_${++databaseCounter}_${randomBytes(3).toString('hex')}`
}

// A fresh database that lives as long as the test; its DATABASE_URL. Empty, or with `migrated` a
// copy of one the migrations made: on MariaDB their DDL takes about 300 ms, a copy about 50 ms,
// and most tests want a migrated database, not to watch it being made (the app's own migration
// at start then finds nothing to do; migrations.test compares the copy with the real thing).
// SQLite's apps migrate their own: that is quick.
export async function createTestDatabase (t: Test, kind: DatabaseKind, options: { shared?: boolean, migrated?: boolean } = {}): Promise<string> {
  if (kind === 'sqlite') {
    // In memory each app has its own database; a file lets several apps share one.
    if (options.shared !== true) return 'sqlite::memory:'
    const folder = await mkdtemp(join(tmpdir(), 'account-test-'))
    t.teardown(async () => { await rm(folder, { recursive: true, force: true }) })
    return `sqlite:${join(folder, 'shared.sqlite')}`
  }
  const name = newDatabaseName()
  const setup = options.migrated === true ? await migratedSchemaSql() : ''
  const connection = await createConnection({ uri: mysqlServerUrl as string, multipleStatements: true })
  await connection.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`)
  t.teardown(async () => {
    await connection.query(`DROP DATABASE IF EXISTS \`${name}\``)
    await connection.end()
  })
  if (setup !== '') {
    await connection.query(`USE \`${name}\`; SET FOREIGN_KEY_CHECKS = 0; ${setup} SET FOREIGN_KEY_CHECKS = 1;`)
  }
  return databaseUrlOf(name)
}

function databaseUrlOf (name: string): string {
  const url = new URL(mysqlServerUrl as string)
  url.pathname = `/${name}`
  return url.toString()
}

// For knexConfig outside an app.
export const silentLogger = { warn: () => {}, error: () => {}, debug: () => {}, info: () => {} } as unknown as FastifyBaseLogger

let migratedSchema: Promise<string> | undefined

// The SQL that makes a MariaDB database what the migrations make of an empty one: each table's
// SHOW CREATE TABLE (keys, foreign keys, AUTO_INCREMENT and all) and the rows they insert.
// Made once per test process, in a database of its own that is dropped at once.
export async function migratedSchemaSql (): Promise<string> {
  migratedSchema ??= (async () => {
    const name = newDatabaseName()
    const connection = await createConnection({ uri: mysqlServerUrl as string, dateStrings: true })
    await connection.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`)
    try {
      // The app's own settings (its connection's character set decides the tables' collation).
      const db = knex(knexConfig({ client: 'mysql', url: databaseUrlOf(name) }, silentLogger))
      try {
        await db.migrate.latest()
      } finally {
        await db.destroy()
      }
      const [tables] = await connection.query<RowDataPacket[]>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name", [name])
      const statements: string[] = []
      for (const { name: table } of tables) {
        const [created] = await connection.query<RowDataPacket[]>(`SHOW CREATE TABLE \`${name}\`.\`${table as string}\``)
        statements.push(`${created[0]?.['Create Table'] as string};`)
        const [rows] = await connection.query<RowDataPacket[]>({ sql: `SELECT * FROM \`${name}\`.\`${table as string}\``, rowsAsArray: true })
        if (rows.length > 0) statements.push(`${connection.format('INSERT INTO ?? VALUES ?', [table, rows])};`)
      }
      return statements.join('\n')
    } finally {
      await connection.query(`DROP DATABASE IF EXISTS \`${name}\``)
      await connection.end()
    }
  })()
  return await migratedSchema
}

export interface ApiResponse {
  statusCode: number
  headers: Record<string, unknown>
  text: string
  // The parsed JSON body (undefined when there is none, or it is text).
  body: any
}

export interface TestApp {
  app: FastifyInstance
  // Every line the app logged, as written.
  logs: string[]
  request: (options: InjectOptions & { token?: string }) => Promise<ApiResponse>
  tokenFor: (username: string, password: string) => Promise<string>
  adminToken: () => Promise<string>
}

export interface BuildOptions {
  databaseUrl?: string
  env?: Record<string, string | undefined>
  // With REDIS_URL in env: the prefix of the app's rate-limit keys, for apps meant to share
  // counts; a random one of the app's own otherwise, so runs and tests never share a count.
  redisKeyPrefix?: string
  announceFirstAdmin?: (username: string, password: string) => void
  // Whether the app runs its mail relay (it does by default, as the server's does).
  backgroundWorkers?: boolean
  mailPollIntervalMs?: number
  webhookPollIntervalMs?: number
  webhookFirstRetryMs?: number
}

export async function build (t: Test, kind: DatabaseKind, options: BuildOptions = {}): Promise<TestApp> {
  const databaseUrl = options.databaseUrl ?? await createTestDatabase(t, kind, { migrated: true })
  const config = loadConfig({
    NODE_ENV: 'test',
    // Unused while JWT_PRIVATE_KEY and DATABASE_URL are given; a folder of the test's own otherwise.
    DATA_DIR: t.testdirName,
    DATABASE_URL: databaseUrl,
    JWT_PRIVATE_KEY: TEST_JWT_PRIVATE_KEY,
    BCRYPT_COST: '4',
    LOG_LEVEL: 'trace',
    ADMIN_USERNAME: ADMIN.username,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    // Tests make many accounts from one address; the rate limit's own test sets its limit.
    RATE_LIMIT_MAX: '1000000',
    // Two test processes, MariaDB and builds share two cores: a process starved for a second
    // would shed the tests' requests at random. The overload test sets its own limits.
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ...options.env
  })
  if (config.rateLimit.redis !== undefined) {
    config.rateLimit.redis.keyPrefix = options.redisKeyPrefix ?? randomRedisKeyPrefix()
  }
  const logs: string[] = []
  const logStream = new Writable({
    write (chunk: Buffer, _encoding, done) { logs.push(chunk.toString()); done() }
  })
  const app = await buildApp({
    config,
    logStream,
    announceFirstAdmin: options.announceFirstAdmin,
    backgroundWorkers: options.backgroundWorkers,
    mailPollIntervalMs: options.mailPollIntervalMs,
    webhookPollIntervalMs: options.webhookPollIntervalMs,
    webhookFirstRetryMs: options.webhookFirstRetryMs
  })
  t.teardown(async () => { await app.close() })
  await app.ready()

  const request: TestApp['request'] = async ({ token, ...injectOptions }) => {
    const headers = { ...injectOptions.headers, ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) }
    const response = await app.inject({ ...injectOptions, headers })
    const method = injectOptions.method ?? 'GET'
    const url = String(injectOptions.url)
    const violations = contractViolations(method, url, { statusCode: response.statusCode, headers: response.headers, body: response.body })
    if (violations.length > 0) {
      throw new Error(`${method} ${url} → ${response.statusCode} breaks openapi.yaml:\n  ${violations.join('\n  ')}\n  body: ${response.body}`)
    }
    // Every body is JSON but the metrics' text.
    const body = response.body === '' || String(response.headers['content-type']).startsWith('text/plain') ? undefined : JSON.parse(response.body)
    return {
      statusCode: response.statusCode,
      headers: response.headers,
      text: response.body,
      body: response.statusCode >= 400 && method !== 'HEAD' ? withoutRequestId(`${method} ${url}`, response.headers['x-request-id'], body) : body
    }
  }

  const tokenFor: TestApp['tokenFor'] = async (username, password) => {
    const response = await request({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'password', username, password } })
    if (response.statusCode !== 200) throw new Error(`No token for ${username}: ${response.text}`)
    return response.body.access_token as string
  }

  return { app, logs, request, tokenFor, adminToken: async () => await tokenFor(ADMIN.username, ADMIN.password) }
}

// Every error body names its request as its X-Request-Id header does (`requestId`, or
// `request_id` in OAuth2's body); checked here on every answer, the tests compare the rest.
export function withoutRequestId (request: string, headerId: unknown, body: any): any {
  if (body === null || typeof body !== 'object') throw new Error(`${request}: an error answer without a JSON body`)
  const { requestId, request_id: oauthRequestId, ...rest } = body
  const bodyId = requestId ?? oauthRequestId
  if (typeof headerId !== 'string' || bodyId !== headerId) {
    throw new Error(`${request}: the error body names the request ${String(bodyId)}, its X-Request-Id header ${String(headerId)}`)
  }
  return rest
}

// The environment that keeps tap from recording a child process's coverage (@tapjs/processinfo
// reads it). A child that runs the project's TypeScript through tsx maps it otherwise than the
// tests' own processes do, and merging the two would corrupt the coverage report.
export const UNCOVERED_CHILD = { _TAPJS_PROCESSINFO_COVERAGE_: '0' }

// under-pressure samples the process every second: waits, boundedly, for the sample that puts the
// app over its limits.
export async function untilUnderPressure (app: FastifyInstance): Promise<void> {
  for (let waited = 0; !app.isUnderPressure(); waited += 50) {
    if (waited >= 5000) throw new Error('the app did not come under pressure within 5 s')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

// A prefix for rate-limit keys in Redis that no other test or run uses.
export function randomRedisKeyPrefix (): string {
  return `account-service-test:${process.pid}:${randomBytes(6).toString('hex')}:`
}

// A valid account body; override any field.
export function newAccount (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { username: 'jane_doe', email: 'jane@example.com', password: 'Corr3ct-Horse!', ...overrides }
}

// Creates an account as the admin and returns it with a token of its own.
export async function createUserWithToken (api: TestApp, overrides: Record<string, unknown> = {}): Promise<{ user: any, token: string }> {
  const account = newAccount(overrides)
  const response = await api.request({ method: 'POST', url: '/api/v2/account/create/', token: await api.adminToken(), payload: account })
  if (response.statusCode !== 201) throw new Error(`Could not create ${String(account.username)}: ${response.text}`)
  return { user: response.body, token: await api.tokenFor(account.username as string, account.password as string) }
}

// The rows of the table (those matching `where`).
export async function rowCount (api: TestApp, table: string, where: Record<string, unknown> = {}): Promise<number> {
  const [row] = await api.app.knex(table).where(where).count<Array<{ count: number | string }>>({ count: '*' })
  return Number(row?.count)
}

// Gives the user a role directly: no endpoint assigns roles to users yet.
export async function giveRole (api: TestApp, userId: number | string, roleName: string): Promise<void> {
  const role = await api.app.knex('roles').where({ name: roleName }).first('id')
  await api.app.knex('user_roles').insert({ user_id: Number(userId), role_id: role.id })
}

// A service client made by the admin through the API (roles admin by default), with its secret.
export async function createClient (api: TestApp, overrides: Record<string, unknown> = {}): Promise<{ client: any, secret: string }> {
  const response = await api.request({
    method: 'POST', url: '/api/v2/oauth/client/', token: await api.adminToken(), payload: { name: 'mailer', roles: ['admin'], ...overrides }
  })
  if (response.statusCode !== 201) throw new Error(`Could not create a client: ${response.text}`)
  const { client_secret: secret, ...client } = response.body
  return { client, secret }
}

export function basicAuthorization (clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`
}

// The client_credentials grant as OAuth2 clients send it: HTTP Basic, a form body.
export async function clientCredentialsGrant (api: TestApp, clientId: string, secret: string, scope?: string): Promise<ApiResponse> {
  return await api.request({
    method: 'POST',
    url: '/oauth/token/',
    headers: { authorization: basicAuthorization(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'client_credentials', ...(scope !== undefined ? { scope } : {}) }).toString()
  })
}

// An access token of the client itself.
export async function clientToken (api: TestApp, clientId: string, secret: string, scope?: string): Promise<string> {
  const response = await clientCredentialsGrant(api, clientId, secret, scope)
  if (response.statusCode !== 200) throw new Error(`No token for ${clientId}: ${response.text}`)
  return response.body.access_token as string
}

// SelfCommunity's published client, through its CommonJS build (its ES modules import
// directories, which Node refuses). Every answer it receives is checked against openapi.yaml.
export const selfCommunity = createRequire(import.meta.url)('@selfcommunity/api-services') as typeof import('@selfcommunity/api-services')
selfCommunity.http.getClientInstance().interceptors.response.use((response) => {
  checkSelfCommunityAnswer(response)
  return response
}, (error: { response?: AxiosResponse }) => {
  if (error.response !== undefined) checkSelfCommunityAnswer(error.response)
  throw error
})

function checkSelfCommunityAnswer (response: AxiosResponse): void {
  const url = new URL(selfCommunity.http.getClientInstance().getUri(response.config))
  const method = String(response.config.method).toUpperCase()
  const body = typeof response.data === 'string' ? response.data : JSON.stringify(response.data)
  const violations = contractViolations(method, `${url.pathname}${url.search}`, { statusCode: response.status, headers: { ...response.headers }, body })
  if (violations.length > 0) throw new Error(`${method} ${url.pathname} → ${response.status} breaks openapi.yaml:\n  ${violations.join('\n  ')}`)
}

// What SelfCommunity's client is given with each call: where the app listens (over real HTTP),
// and whose token it sends.
export async function selfCommunityTarget (api: TestApp, token: string): Promise<{ baseURL: string, headers: Record<string, string> }> {
  const address = api.app.server.listening ? api.app.listeningOrigin : await api.app.listen({ port: 0, host: '127.0.0.1' })
  return { baseURL: address, headers: { Authorization: `Bearer ${token}` } }
}

// Defines a custom field as the admin, through the API, and returns its definition.
export async function defineCustomField (api: TestApp, definition: Record<string, unknown>): Promise<any> {
  const response = await api.request({ method: 'POST', url: '/api/v2/custom_field/', token: await api.adminToken(), payload: definition })
  if (response.statusCode !== 201) throw new Error(`Could not define ${String(definition.name)}: ${response.text}`)
  return response.body
}

// What a refused change of a user must leave as it was: the user's row and custom-field values,
// the audit log, the outbox.
export async function userSnapshot (api: TestApp, id: number): Promise<unknown> {
  return {
    user: await api.app.knex('users').where({ id }).first(),
    values: await api.app.knex('user_custom_field_values').where({ user_id: id }).orderBy('field_id').select('field_id', 'value'),
    audit: await rowCount(api, 'audit_log'),
    events: await rowCount(api, 'outbox_events')
  }
}

// Makes the custom field mandatory (with the other settings given), as the admin.
export async function makeMandatory (api: TestApp, fieldId: number, settings: Record<string, unknown> = {}): Promise<void> {
  const response = await api.request({ method: 'PATCH', url: `/api/v2/custom_field/${fieldId}/`, token: await api.adminToken(), payload: { mandatory: true, ...settings } })
  if (response.statusCode !== 200) throw new Error(`Could not make field ${fieldId} mandatory: ${response.text}`)
}

// The payloads of the user.updated events, oldest first.
export async function updatedEvents (api: TestApp): Promise<Array<Record<string, any>>> {
  const rows = await api.app.knex('outbox_events').where({ type: 'user.updated' }).orderBy('id').select<Array<{ payload: string }>>('payload')
  return rows.map((row) => JSON.parse(row.payload))
}
