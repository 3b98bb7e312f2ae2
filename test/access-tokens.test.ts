// What the service accepts as an access token: only its own, for its issuer and audience, by the
// algorithm it signs with, unexpired, naming a principal in the form it issues, unrevoked; and
// RFC 6750's challenges when it refuses one.
import { createHmac, createPublicKey } from 'node:crypto'
import t from 'tap'
import { generatePrivateKeyPem } from '../config/signing-keys.js'
import { InvalidToken } from '../domain/errors.js'
import { decodeJwt } from 'jose'
import { TEST_JWT_PRIVATE_KEY, TEST_KID, accessTokenClaims, basicAuthorization, build, createClient, createUserWithToken, onEachDatabase, signToken } from './helper.js'
import { USERS_CREATE, newRocketChatUser, rocketChatHeaders, rocketChatLogin } from './rocket-chat-helper.js'

const ME = '/api/v2/user/me/'
const FEATURES = '/api/v2/feature/'

function invalidTokenChallenge (description: string): string {
  return `Bearer realm="account-service", error="invalid_token", error_description="${description}"`
}

// An HS256 token keyed with the text of our public key: the classic algorithm confusion.
function hmacSignedWithPublicKey (claims: Record<string, unknown>): string {
  const publicPem = createPublicKey(TEST_JWT_PRIVATE_KEY).export({ format: 'pem', type: 'spki' }).toString()
  const encode = (part: unknown): string => Buffer.from(JSON.stringify(part)).toString('base64url')
  const unsigned = `${encode({ alg: 'HS256', typ: 'at+jwt', kid: TEST_KID })}.${encode(claims)}`
  return `${unsigned}.${createHmac('sha256', publicPem).update(unsigned).digest('base64url')}`
}

function unsigned (claims: Record<string, unknown>): string {
  const encode = (part: unknown): string => Buffer.from(JSON.stringify(part)).toString('base64url')
  return `${encode({ alg: 'none', typ: 'at+jwt', kid: TEST_KID })}.${encode(claims)}.`
}

onEachDatabase('access tokens', async (t, kind) => {
  t.test('accepts a token of ours exactly as the service issues it', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ url: ME, token: await signToken(accessTokenClaims('1', { roles: ['admin', 'user'] })) })
    t.equal(response.statusCode, 200)
    t.equal(response.body.username, 'admin')
  })

  t.test('refuses, with invalid_token, every token that is not one of ours as we issue it', async (t) => {
    const api = await build(t, kind)
    const now = Math.floor(Date.now() / 1000)
    const valid = accessTokenClaims('1')
    const withoutClaim = (name: string): Record<string, unknown> => Object.fromEntries(Object.entries(valid).filter(([key]) => key !== name))
    const cases: Record<string, [Promise<string> | string, string]> = {
      'signed with another key under our kid': [signToken(valid, { privateKey: generatePrivateKeyPem('ES256') }), 'The access token is not valid'],
      'naming a kid we do not have': [signToken(valid, { header: { kid: 'someone-elses-key' } }), 'The access token is not signed by a key of this service'],
      'without a kid': [signToken(valid, { header: { kid: undefined } }), 'The access token is not signed by a key of this service'],
      'HS256 keyed with our public key': [hmacSignedWithPublicKey(valid), 'The access token is not valid'],
      unsigned: [unsigned(valid), 'The access token is not valid'],
      'of another type (an ID token)': [signToken(valid, { header: { typ: 'JWT' } }), 'The access token is not valid'],
      'for another audience': [signToken({ ...valid, aud: 'another-service' }), 'The access token is not valid'],
      'from another issuer': [signToken({ ...valid, iss: 'https://elsewhere.example.com' }), 'The access token is not valid'],
      expired: [signToken({ ...valid, iat: now - 7200, exp: now - 3600 }), 'The access token expired'],
      'not yet valid (nbf)': [signToken({ ...valid, nbf: now + 3600 }), 'The access token is not valid'],
      'without exp, which would never expire': [signToken(withoutClaim('exp')), 'The access token is not valid'],
      'without jti': [signToken(withoutClaim('jti')), 'The access token is not valid'],
      'without iat': [signToken(withoutClaim('iat')), 'The access token is not valid'],
      'with an unknown scope': [signToken({ ...valid, scope: 'read admin' }), 'The access token is not valid'],
      'with roles that are not a list of names': [signToken({ ...valid, roles: 'admin' }), 'The access token is not valid'],
      'with a pwd_changed_at that is no time': [signToken({ ...valid, pwd_changed_at: '2026' }), 'The access token is not valid'],
      'issued under another password (pwd_changed_at)': [signToken({ ...valid, pwd_changed_at: 1 }), 'The access token was revoked'],
      malformed: ['not.a.jwt', 'The access token is malformed']
    }
    for (const sub of ['admin', ' 1', '01', '1e0', '+1', '1.0', '4294967296', 'cl_notaclientidofourform', '']) {
      cases[`whose sub is ${JSON.stringify(sub)}`] = [signToken({ ...valid, sub }), 'The access token is not valid']
    }
    cases['whose sub is a list'] = [signToken({ ...valid, sub: [1] }), 'The access token is not valid']
    for (const [name, [pending, description]] of Object.entries(cases)) {
      const response = await api.request({ url: ME, token: await pending })
      t.equal(response.statusCode, 401, name)
      t.equal(response.body.code, 'unauthorized', name)
      t.equal(response.headers['www-authenticate'], invalidTokenChallenge(description), name)
    }
  })

  t.test('answers credentials of another scheme with a plain bearer challenge, and a malformed bearer token as invalid', async (t) => {
    const api = await build(t, kind)
    for (const authorization of ['Basic YWRtaW46c2VjcmV0', 'token abc', 'Bearerabc']) {
      const response = await api.request({ url: ME, headers: { authorization } })
      t.equal(response.statusCode, 401, authorization)
      t.equal(response.headers['www-authenticate'], 'Bearer realm="account-service"', authorization)
    }
    for (const authorization of ['Bearer', 'Bearer a b', 'bearer a"b']) {
      const response = await api.request({ url: ME, headers: { authorization } })
      t.equal(response.statusCode, 401, authorization)
      t.equal(response.headers['www-authenticate'], invalidTokenChallenge('The bearer token is malformed'), authorization)
    }
  })

  t.test('answers a token without the operation\'s scope with 403 insufficient_scope', async (t) => {
    const api = await build(t, kind)
    const readOnly = await signToken(accessTokenClaims('1', { scope: 'read', roles: ['admin', 'user'] }))
    t.equal((await api.request({ url: FEATURES, token: readOnly })).statusCode, 200, 'read is enough to read')
    const write = await api.request({ method: 'PATCH', url: '/api/v2/feature/promo_code/', token: readOnly, payload: { enabled: true } })
    t.equal(write.statusCode, 403)
    t.strictSame(write.body, { statusCode: 403, code: 'insufficient_scope', message: 'This operation needs a token with the write scope' })
    t.equal(write.headers['www-authenticate'], 'Bearer realm="account-service", error="insufficient_scope", scope="write"')
    const writeOnly = await signToken(accessTokenClaims('1', { scope: 'write', roles: ['admin', 'user'] }))
    t.equal((await api.request({ url: FEATURES, token: writeOnly })).statusCode, 403, 'write alone does not read')
    const row = await api.app.knex('features').where({ name: 'promo_code' }).first('enabled')
    t.notOk(Boolean(row.enabled), 'nothing changed')
  })

  t.test('answers insufficient_scope on Rocket.Chat\'s surface in its own terms', async (t) => {
    const api = await build(t, kind)
    const readOnly = await signToken(accessTokenClaims('1', { scope: 'read' }))
    const response = await api.request({
      method: 'POST', url: '/api/v1/users.create', headers: { 'x-auth-token': readOnly, 'x-user-id': '1' },
      payload: { email: 'jane@example.com', name: 'Jane', password: 'Corr3ct-Horse!', username: 'jane_doe' }
    })
    t.equal(response.statusCode, 400)
    t.equal(response.body.errorType, 'error-action-not-allowed')
  })

  t.test('trusts the account, not the token, for roles', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const claimsAdmin = await signToken(accessTokenClaims(String(user.id), { roles: ['admin'] }))
    const response = await api.request({ url: '/api/v2/user/1/', token: claimsAdmin })
    t.equal(response.statusCode, 403)
  })

  t.test('refuses X-User-Id naming someone else than the token\'s user on v1', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const response = await api.request({ url: '/api/v1/users.info?userId=1', headers: { 'x-auth-token': token, 'x-user-id': '2' } })
    t.equal(response.statusCode, 401)
    t.equal(response.body.error, 'You must be logged in to do this.')
  })
})

void t.test('keeps every challenge a valid quoted string, whatever the reason says', async (t) => {
  t.equal(new InvalidToken('a "quoted" \\ reason\nwith a line').challenge,
    'Bearer realm="account-service", error="invalid_token", error_description="a  quoted    reason with a line"')
})

onEachDatabase('the tokens of a user who must change their password say so, to verifiers and to introspection', async (t, kind) => {
  const api = await build(t, kind)
  const admin = await rocketChatLogin(api)
  const account = newRocketChatUser({ requirePasswordChange: true }) as { username: string, password: string }
  const created = await api.request({ method: 'POST', url: USERS_CREATE, headers: rocketChatHeaders(admin), payload: account })
  t.equal(created.statusCode, 200)
  const logIn = async (password: string): Promise<string> => (await api.request({
    method: 'POST', url: '/oauth/token/', payload: { grant_type: 'password', username: account.username, password }
  })).body.access_token
  const { client, secret } = await createClient(api)
  const introspect = async (token: string): Promise<any> => (await api.request({
    method: 'POST', url: '/oauth/introspect/', headers: { authorization: basicAuthorization(client.client_id, secret) }, payload: { token }
  })).body

  const before = await logIn(account.password)
  t.equal(decodeJwt(before).pwd_change_required, true, 'a verifier with the JWKS alone sees it')
  t.match(await introspect(before), { active: true, pwd_change_required: true })

  const changed = await api.request({
    method: 'PATCH', url: `/api/v2/user/${String(created.body.user._id)}/change_password/`, token: before, payload: { password: account.password, new_password: 'N3w-Passw0rd-Jane' }
  })
  t.equal(changed.statusCode, 204)
  const after = await logIn('N3w-Passw0rd-Jane')
  t.equal(decodeJwt(after).pwd_change_required, undefined)
  const introspected = await introspect(after)
  t.equal(introspected.active, true)
  t.notOk('pwd_change_required' in introspected)
})
