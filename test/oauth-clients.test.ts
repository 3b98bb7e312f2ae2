// The service as other services use it, over HTTP on loopback: resource servers verifying our
// access tokens with `jose` and the published JWKS (key rotation included), and OAuth2 clients
// speaking to the token, introspection and revocation endpoints through `openid-client`. Every
// response those libraries receive is checked against openapi.yaml.
import { createServer, type AddressInfo } from 'node:net'
import { SignJWT, createRemoteJWKSet, customFetch as joseCustomFetch, decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify } from 'jose'
import * as client from 'openid-client'
import type { Test } from 'tap'
import { generatePrivateKeyPem, parsePrivateKeys } from '../config/signing-keys.js'
import { contractViolations } from './contract.js'
import {
  ADMIN, TEST_JWT_PRIVATE_KEY, TEST_KID, build, createClient, createTestDatabase, createUserWithToken, onEachDatabase,
  type DatabaseKind, type TestApp
} from './helper.js'

const JANE = { username: 'jane_doe', password: 'Corr3ct-Horse!' }
const AUDIENCE = 'account-service'

interface RunningService {
  api: TestApp
  // Where it listens, which is its PUBLIC_URL (and so, unless JWT_ISSUER says otherwise, its issuer).
  base: string
}

// What the libraries may pass to fetch: openid-client's and jose's options both fit.
interface LibraryFetchOptions {
  method?: string
  headers?: HeadersInit
  body?: unknown
  redirect?: RequestRedirect
  signal?: AbortSignal | null
}

type ContractCheckedFetch = (url: string, options?: LibraryFetchOptions) => Promise<Response>

// A loopback port nobody listens on now: the issuer is fixed at build time from PUBLIC_URL, so the
// port must be known before the app is built.
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  return port
}

// The real app listening on loopback at its PUBLIC_URL; build's teardown closes it.
async function serve (t: Test, kind: DatabaseKind, options: { databaseUrl?: string, env?: Record<string, string> } = {}): Promise<RunningService> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const api = await build(t, kind, { databaseUrl: options.databaseUrl, env: { PUBLIC_URL: base, ...options.env } })
  await api.app.listen({ host: '127.0.0.1', port })
  return { api, base }
}

// fetch, failing the test whenever a response breaks openapi.yaml; `seen` collects what it checked.
function contractCheckedFetch (t: Test, seen: string[] = []): ContractCheckedFetch {
  return async (url, options = {}) => {
    const response = await fetch(url, options as RequestInit)
    const method = options.method ?? 'GET'
    const { pathname, search } = new URL(url)
    const body = await response.clone().text()
    const violations = contractViolations(method, `${pathname}${search}`, {
      statusCode: response.status, headers: Object.fromEntries(response.headers.entries()), body
    })
    seen.push(`${method} ${pathname} ${response.status}`)
    if (violations.length > 0) {
      const message = `${method} ${pathname} → ${response.status} breaks openapi.yaml:\n  ${violations.join('\n  ')}\n  body: ${body}`
      t.fail(message)
      throw new Error(message)
    }
    return response
  }
}

// An openid-client configuration for the client, found by RFC 8414 discovery.
async function discover (
  t: Test, base: string, clientId: string, authentication: client.ClientAuth, seen: string[] = []
): Promise<client.Configuration> {
  return await client.discovery(new URL(base), clientId, undefined, authentication, {
    execute: [client.allowInsecureRequests],
    algorithm: 'oauth2',
    [client.customFetch]: contractCheckedFetch(t, seen)
  })
}

// jose's verification of one of our access tokens, as a resource server would do it.
async function verifyWithJose (t: Test, service: RunningService, token: string, issuer = service.base, seen: string[] = []) {
  const jwks = createRemoteJWKSet(new URL(`${service.base}/.well-known/jwks.json`), { [joseCustomFetch]: contractCheckedFetch(t, seen) })
  return await jwtVerify(token, jwks, { issuer, audience: AUDIENCE, algorithms: ['ES256'], typ: 'at+jwt' })
}

async function passwordGrant (t: Test, service: RunningService, username: string, password: string): Promise<string> {
  const response = await contractCheckedFetch(t)(`${service.base}/oauth/token/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'password', username, password })
  })
  if (response.status !== 200) throw new Error(`No token for ${username}: ${await response.text()}`)
  return ((await response.json()) as { access_token: string }).access_token
}

async function getMe (t: Test, service: RunningService, token: string): Promise<Response> {
  return await contractCheckedFetch(t)(`${service.base}/api/v2/user/me/`, { headers: { authorization: `Bearer ${token}` } })
}

// Two instances on one database, the second signing with a new key and still verifying with the
// old one, as during a key rotation. They share one issuer, as instances of one service do.
async function rotatedPair (t: Test, kind: DatabaseKind): Promise<{ old: RunningService, rotated: RunningService, newKid: string }> {
  const databaseUrl = await createTestDatabase(t, kind, { shared: true })
  const old = await serve(t, kind, { databaseUrl })
  const newKey = generatePrivateKeyPem('ES256')
  const rotated = await serve(t, kind, { databaseUrl, env: { JWT_PRIVATE_KEY: `${newKey}\n${TEST_JWT_PRIVATE_KEY}`, JWT_ISSUER: old.base } })
  return { old, rotated, newKid: parsePrivateKeys(newKey, 'ES256', 'the new key').signing.kid }
}

// What the promise was rejected with (it must be rejected).
async function rejection (promise: Promise<unknown>): Promise<unknown> {
  return await promise.then(() => { throw new Error('expected a rejection, but it resolved') }, (error: unknown) => error)
}

// The OAuth2 error the promise of openid-client was rejected with, as RFC 6749 §5.2 gives it.
async function oauthErrorOf (promise: Promise<unknown>): Promise<{ error: string, status: number }> {
  const error = await rejection(promise)
  if (!(error instanceof client.ResponseBodyError)) throw new Error(`expected an OAuth2 error body, got ${String(error)}`)
  return { error: error.error, status: error.status }
}

// The challenge (WWW-Authenticate) the API refused openid-client's request with.
async function challengeOf (promise: Promise<unknown>): Promise<client.WWWAuthenticateChallengeError> {
  const error = await rejection(promise)
  if (!(error instanceof client.WWWAuthenticateChallengeError)) throw new Error(`expected a challenge, got ${String(error)}`)
  return error
}

onEachDatabase('resource servers verifying tokens with jose', async (t, kind) => {
  t.test('verifies an access token of the password grant against the published JWKS', async (t) => {
    const service = await serve(t, kind)
    await createUserWithToken(service.api)
    const token = await passwordGrant(t, service, JANE.username, JANE.password)
    const seen: string[] = []
    const { payload, protectedHeader } = await verifyWithJose(t, service, token, service.base, seen)
    t.strictSame(seen, ['GET /.well-known/jwks.json 200'], 'jose fetched the JWKS, checked against the contract')
    t.match(protectedHeader, { alg: 'ES256', typ: 'at+jwt', kid: TEST_KID })
    t.match(payload, { iss: service.base, aud: AUDIENCE, sub: '2', iat: Number, exp: Number, jti: String, scope: 'read write', roles: ['user'] })
    t.notOk('client_id' in payload, 'no client asked for it')
  })

  t.test('verifies an access token of the client-credentials grant, naming the client', async (t) => {
    const service = await serve(t, kind)
    const { client: made, secret } = await createClient(service.api)
    const config = await discover(t, service.base, made.client_id, client.ClientSecretBasic(secret))
    const tokens = await client.clientCredentialsGrant(config)
    const { payload } = await verifyWithJose(t, service, tokens.access_token)
    t.match(payload, {
      iss: service.base, aud: AUDIENCE, sub: made.client_id, client_id: made.client_id, iat: Number, exp: Number, jti: String, scope: 'read write', roles: ['admin']
    })
  })

  t.test('rejects a token with the same claims and kid signed with another key', async (t) => {
    const service = await serve(t, kind)
    const genuine = await passwordGrant(t, service, ADMIN.username, ADMIN.password)
    const { privateKey } = await generateKeyPair('ES256')
    const forged = await new SignJWT(decodeJwt(genuine)).setProtectedHeader(decodeProtectedHeader(genuine) as { alg: string }).sign(privateKey)
    t.match(await rejection(verifyWithJose(t, service, forged)), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' })
    t.equal((await getMe(t, service, forged)).status, 401, 'and the service refuses it as well')
  })

  t.test('lists the new and the old key in the JWKS of an instance that rotated its key', async (t) => {
    const { rotated, newKid } = await rotatedPair(t, kind)
    const response = await contractCheckedFetch(t)(`${rotated.base}/.well-known/jwks.json`)
    const { keys } = (await response.json()) as { keys: Array<{ kid: string }> }
    t.strictSame(keys.map((key) => key.kid), [newKid, TEST_KID])
  })

  t.test('keeps accepting, after a rotation, a token signed with the old key', async (t) => {
    const { old, rotated } = await rotatedPair(t, kind)
    const token = await passwordGrant(t, old, ADMIN.username, ADMIN.password)
    const me = await getMe(t, rotated, token)
    t.equal(me.status, 200)
    t.equal(((await me.json()) as { username: string }).username, 'admin')
    t.equal((await verifyWithJose(t, rotated, token, old.base)).protectedHeader.kid, TEST_KID, 'jose still finds the old key')
  })

  t.test('signs with the new key after a rotation, and jose verifies it against the JWKS', async (t) => {
    const { old, rotated, newKid } = await rotatedPair(t, kind)
    const token = await passwordGrant(t, rotated, ADMIN.username, ADMIN.password)
    const { protectedHeader, payload } = await verifyWithJose(t, rotated, token, old.base)
    t.equal(protectedHeader.kid, newKid)
    t.equal(payload.sub, '1')
    t.equal((await getMe(t, old, token)).status, 401, 'an instance that does not know the new key yet refuses it')
  })
})

onEachDatabase('OAuth2 clients using openid-client', async (t, kind) => {
  t.test('discovers the RFC 8414 metadata of the service', async (t) => {
    const service = await serve(t, kind)
    const { client: made, secret } = await createClient(service.api)
    const seen: string[] = []
    const config = await discover(t, service.base, made.client_id, client.ClientSecretBasic(secret), seen)
    t.strictSame(seen, ['GET /.well-known/oauth-authorization-server 200'])
    t.match(config.serverMetadata(), {
      issuer: service.base,
      token_endpoint: `${service.base}/oauth/token/`,
      introspection_endpoint: `${service.base}/oauth/introspect/`,
      revocation_endpoint: `${service.base}/oauth/revoke/`,
      jwks_uri: `${service.base}/.well-known/jwks.json`
    })
  })

  t.test('gets a read-scoped client-credentials token (client_secret_basic) that reads the API', async (t) => {
    const service = await serve(t, kind)
    const { client: made, secret } = await createClient(service.api, { roles: ['admin'] })
    const seen: string[] = []
    const config = await discover(t, service.base, made.client_id, client.ClientSecretBasic(secret), seen)
    const tokens = await client.clientCredentialsGrant(config, { scope: 'read' })
    t.match(tokens, { token_type: 'bearer', scope: 'read', expires_in: 3600 })
    t.notOk('refresh_token' in tokens, 'client credentials get no refresh token')
    const features = await client.fetchProtectedResource(config, tokens.access_token, new URL(`${service.base}/api/v2/feature/`), 'GET')
    t.equal(features.status, 200)
    t.ok(seen.includes('GET /api/v2/feature/ 200'), 'the API answer was checked against the contract')
  })

  t.test('refuses a read-scoped client token a write its role allows, with insufficient_scope', async (t) => {
    const service = await serve(t, kind)
    const { client: made, secret } = await createClient(service.api, { roles: ['admin'] })
    const config = await discover(t, service.base, made.client_id, client.ClientSecretBasic(secret))
    const enablePromoCodes = async (token: string): Promise<Response> => await client.fetchProtectedResource(
      config, token, new URL(`${service.base}/api/v2/feature/promo_code/`), 'PATCH',
      JSON.stringify({ enabled: true }), new Headers({ 'content-type': 'application/json' })
    )
    const readOnly = await client.clientCredentialsGrant(config, { scope: 'read' })
    const refusal = await challengeOf(enablePromoCodes(readOnly.access_token))
    t.equal(refusal.status, 403)
    t.match(refusal.response.headers.get('www-authenticate'), /error="insufficient_scope"/)
    t.match(refusal.cause, [{ scheme: 'bearer', parameters: { error: 'insufficient_scope', scope: 'write' } }])
    const readWrite = await client.clientCredentialsGrant(config, { scope: 'read write' })
    t.equal((await enablePromoCodes(readWrite.access_token)).status, 200, 'the same client with the write scope may')
  })

  t.test('gets a client-credentials token with client_secret_post', async (t) => {
    const service = await serve(t, kind)
    const { client: made, secret } = await createClient(service.api)
    const config = await discover(t, service.base, made.client_id, client.ClientSecretPost(secret))
    const tokens = await client.clientCredentialsGrant(config, { scope: 'read' })
    t.equal(tokens.scope, 'read')
    const features = await client.fetchProtectedResource(config, tokens.access_token, new URL(`${service.base}/api/v2/feature/`), 'GET')
    t.equal(features.status, 200)
  })

  // RFC 6749 §5.2 has a 401 carry WWW-Authenticate, and openid-client reports a challenge before
  // the body: it throws a WWWAuthenticateChallengeError whose response still holds the OAuth2 error.
  t.test('refuses a wrong client secret with a 401 Basic challenge and invalid_client', async (t) => {
    const service = await serve(t, kind)
    const { client: made } = await createClient(service.api)
    for (const authentication of [client.ClientSecretBasic('cs_wrong'), client.ClientSecretPost('cs_wrong')]) {
      const config = await discover(t, service.base, made.client_id, authentication)
      const refusal = await challengeOf(client.clientCredentialsGrant(config, { scope: 'read' }))
      t.equal(refusal.status, 401)
      t.match(refusal.cause, [{ scheme: 'basic', parameters: { realm: 'account-service' } }])
      t.match(await refusal.response.json(), { error: 'invalid_client' })
    }
  })

  t.test('introspects an active client token with its sub, scope and client_id', async (t) => {
    const service = await serve(t, kind)
    const { client: made, secret } = await createClient(service.api)
    const config = await discover(t, service.base, made.client_id, client.ClientSecretBasic(secret))
    const tokens = await client.clientCredentialsGrant(config, { scope: 'read' })
    const introspection = await client.tokenIntrospection(config, tokens.access_token)
    t.match(introspection, { active: true, token_type: 'Bearer', sub: made.client_id, scope: 'read', client_id: made.client_id, roles: ['admin'] })
  })

  t.test('revokes a client token: it introspects as inactive and the API refuses it', async (t) => {
    const service = await serve(t, kind)
    const { client: made, secret } = await createClient(service.api)
    const config = await discover(t, service.base, made.client_id, client.ClientSecretBasic(secret))
    const tokens = await client.clientCredentialsGrant(config, { scope: 'read' })
    await client.tokenRevocation(config, tokens.access_token)
    t.strictSame(await client.tokenIntrospection(config, tokens.access_token), { active: false })
    const refusal = await challengeOf(client.fetchProtectedResource(config, tokens.access_token, new URL(`${service.base}/api/v2/feature/`), 'GET'))
    t.equal(refusal.status, 401)
    t.match(refusal.cause, [{ scheme: 'bearer', parameters: { error: 'invalid_token', error_description: 'The access token was revoked' } }])
  })

  t.test('grants a password through the client, and rotates its refresh token', async (t) => {
    const service = await serve(t, kind)
    await createUserWithToken(service.api, JANE)
    const { client: made, secret } = await createClient(service.api)
    const config = await discover(t, service.base, made.client_id, client.ClientSecretBasic(secret))
    const first = await client.genericGrantRequest(config, 'password', { username: JANE.username, password: JANE.password })
    t.equal(decodeJwt(first.access_token).client_id, made.client_id)
    if (first.refresh_token === undefined) throw new Error('the password grant gave no refresh token')
    const second = await client.refreshTokenGrant(config, first.refresh_token)
    t.not(second.access_token, first.access_token)
    t.match(second.refresh_token, /^rt_/)
    t.not(second.refresh_token, first.refresh_token)
    const me = await client.fetchProtectedResource(config, second.access_token, new URL(`${service.base}/api/v2/user/me/`), 'GET')
    t.equal(((await me.json()) as { username: string }).username, JANE.username)
  })

  t.test('refuses a spent refresh token with invalid_grant, and then its successor too', async (t) => {
    const service = await serve(t, kind)
    await createUserWithToken(service.api, JANE)
    const { client: made, secret } = await createClient(service.api)
    const config = await discover(t, service.base, made.client_id, client.ClientSecretBasic(secret))
    const first = await client.genericGrantRequest(config, 'password', { username: JANE.username, password: JANE.password })
    if (first.refresh_token === undefined) throw new Error('the password grant gave no refresh token')
    const second = await client.refreshTokenGrant(config, first.refresh_token)
    if (second.refresh_token === undefined) throw new Error('the refresh grant gave no refresh token')
    t.strictSame(await oauthErrorOf(client.refreshTokenGrant(config, first.refresh_token)), { error: 'invalid_grant', status: 400 })
    t.strictSame(await oauthErrorOf(client.refreshTokenGrant(config, second.refresh_token)), { error: 'invalid_grant', status: 400 }, 'the whole family is revoked')
  })
})
