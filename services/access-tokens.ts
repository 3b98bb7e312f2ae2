import { randomUUID } from 'node:crypto'
import { createDecoder, createSigner, createVerifier } from 'fast-jwt'
import type { PublicJwk, TokenKeys } from '../config/signing-keys.js'
import { type Subject, subjectOf } from '../domain/principal.js'
import { parseScope } from '../domain/scopes.js'
import { InvalidToken } from '../domain/errors.js'

// RFC 9068's media type for JWT access tokens: a token of another kind signed with the same key
// (an ID token, say) is never taken for one.
const ACCESS_TOKEN_TYPE = 'at+jwt'

// What an access token says, as RFC 9068 names it, plus the principal's roles.
export interface AccessTokenClaims {
  iss: string
  aud: string
  sub: string
  iat: number
  exp: number
  jti: string
  // Space-separated (RFC 6749 §3.3).
  scope: string
  roles: string[]
  // The client the token was issued to, when one authenticated (the principal itself, for
  // client credentials).
  client_id?: string
  username?: string
  // The grant (the refresh-token family) a user's token came from: revoking the grant ends it.
  sid?: string
  // A user's token: when the user's password was last set as the token was issued (epoch ms, 0
  // for never). A token stops working once the password changes again; iat counts whole seconds,
  // too coarse to tell a token of the change's second from one just before it.
  pwd_changed_at?: number
  // Set on the tokens of a user who must change the password someone else chose before doing
  // anything else: other services that verify by signature alone refuse what this one refuses.
  pwd_change_required?: true
}

export interface VerifiedAccessToken {
  claims: AccessTokenClaims
  subject: Subject
  scopes: string[]
}

export interface TokenContent {
  sub: string
  scopes: string[]
  roles: string[]
  clientId?: string
  username?: string
  grant?: string
  passwordChangedAt?: number
  passwordChangeRequired?: boolean
}

export interface AccessTokenOptions {
  issuer: string
  audience: string
  lifetimeSeconds: number
}

const REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'iat', 'exp', 'jti']

// Mints and verifies our JWT access tokens. The newest configured key signs; a token verifies with
// the key its `kid` names, by an allow-list of one algorithm, for our issuer and audience only,
// and only while it has not expired.
export class AccessTokens {
  private readonly signer: (payload: Record<string, unknown>) => string
  private readonly verifiers: Map<string, (token: string) => Record<string, unknown>>
  private readonly decodeHeader = createDecoder({ complete: true })

  constructor (private readonly keys: TokenKeys, private readonly options: AccessTokenOptions) {
    this.signer = createSigner({
      key: keys.signing.signingKey,
      algorithm: keys.algorithm,
      kid: keys.signing.kid,
      header: { alg: keys.algorithm, typ: ACCESS_TOKEN_TYPE },
      iss: options.issuer,
      aud: options.audience
    })
    this.verifiers = new Map(keys.all.map((key) => [key.kid, createVerifier({
      key: key.verificationKey,
      algorithms: [keys.algorithm],
      allowedIss: options.issuer,
      allowedAud: options.audience,
      requiredClaims: REQUIRED_CLAIMS,
      checkTyp: ACCESS_TOKEN_TYPE,
      // A verified token stays verified until it expires; what may have changed since (the
      // principal, a revocation) is checked on every request anyway.
      cache: 1000
    })]))
  }

  get lifetimeSeconds (): number {
    return this.options.lifetimeSeconds
  }

  mint (content: TokenContent): string {
    const iat = Math.floor(Date.now() / 1000)
    return this.signer({
      sub: content.sub,
      iat,
      exp: iat + this.options.lifetimeSeconds,
      jti: randomUUID(),
      scope: content.scopes.join(' '),
      roles: content.roles,
      ...(content.clientId !== undefined ? { client_id: content.clientId } : {}),
      ...(content.username !== undefined ? { username: content.username } : {}),
      ...(content.grant !== undefined ? { sid: content.grant } : {}),
      ...(content.passwordChangedAt !== undefined ? { pwd_changed_at: content.passwordChangedAt } : {}),
      ...(content.passwordChangeRequired === true ? { pwd_change_required: true } : {})
    })
  }

  // The claims of a token we issued and that is still valid, or an Unauthorized that says why not.
  verify (token: string): VerifiedAccessToken {
    let kid: unknown
    try {
      kid = (this.decodeHeader(token) as { header: { kid?: unknown } }).header.kid
    } catch {
      throw new InvalidToken('The access token is malformed')
    }
    const verifier = typeof kid === 'string' ? this.verifiers.get(kid) : undefined
    if (verifier === undefined) throw new InvalidToken('The access token is not signed by a key of this service')
    let claims: Record<string, unknown>
    try {
      claims = verifier(token)
    } catch (error) {
      throw new InvalidToken((error as { code?: string }).code === 'FAST_JWT_EXPIRED' ? 'The access token expired' : 'The access token is not valid')
    }
    const subject = subjectOf(claims.sub)
    const scopes = typeof claims.scope === 'string' ? parseScope(claims.scope) : undefined
    const roles = claims.roles
    if (subject === undefined || scopes === undefined || typeof claims.jti !== 'string' || typeof claims.exp !== 'number' ||
      !Array.isArray(roles) || !roles.every((role) => typeof role === 'string') ||
      !optionalString(claims.client_id) || !optionalString(claims.sid) ||
      !(claims.pwd_changed_at === undefined || Number.isSafeInteger(claims.pwd_changed_at)) ||
      !(claims.pwd_change_required === undefined || claims.pwd_change_required === true)) {
      throw new InvalidToken('The access token is not valid')
    }
    return { claims: claims as unknown as AccessTokenClaims, subject, scopes }
  }

  // The public keys, as /.well-known/jwks.json publishes them (none for a shared secret).
  jwks (): { keys: PublicJwk[] } {
    return { keys: this.keys.all.flatMap((key) => key.jwk === undefined ? [] : [key.jwk]) }
  }
}

function optionalString (value: unknown): boolean {
  return value === undefined || typeof value === 'string'
}
