import { randomBytes } from 'node:crypto'
import { type Principal, type StoredPrincipal, type UserPrincipal, CLIENT_ID_PATTERN, subOf } from '../domain/principal.js'
import { ALL_SCOPES, formatScope, parseScope } from '../domain/scopes.js'
import type { AccountRepository } from '../repositories/account-repository.js'
import type { ClientRepository } from '../repositories/client-repository.js'
import type { NewRefreshToken, StoredRefreshToken, TokenRepository } from '../repositories/token-repository.js'
import type { AccessTokenClaims, AccessTokens, VerifiedAccessToken } from './access-tokens.js'
import {
  AccountNotActive, InvalidClient, InvalidCredentials, InvalidGrant, InvalidRequest, InvalidScope, InvalidToken,
  UnauthorizedClient, UnsupportedGrantType
} from '../domain/errors.js'
import { USERNAME_PATTERN, isValidEmail } from '../domain/formats.js'
import { clientSecretHash, isRefreshTokenForm, newRefreshToken, opaqueSecretDigest, sameDigest } from './opaque-secrets.js'
import { hashCost, hashPassword, verifyPassword } from './passwords.js'

// A client's credentials, from HTTP Basic or the body (RFC 6749 §2.3.1).
export interface ClientCredentials {
  clientId: string
  clientSecret: string
}

export interface TokenRequest {
  grantType: string
  username?: string
  password?: string
  refreshToken?: string
  scope?: string
  client?: ClientCredentials
}

export interface IssuedTokens {
  accessToken: string
  expiresIn: number
  scope: string
  refreshToken?: string
}

// A new refresh-token grant: its tokens, and the row that makes the refresh token valid.
export interface Grant {
  tokens: IssuedTokens & { refreshToken: string }
  refreshTokenRow: NewRefreshToken
}

// A client whose credentials were checked.
interface AuthenticatedClient {
  rowId: number
  clientId: string
  scopes: string[]
}

// RFC 7662's answer: `active` alone when the token is not.
export type Introspection = { active: false } | ({ active: true, token_type: 'Bearer' | 'refresh_token' } & Partial<AccessTokenClaims>)

export interface TokenServiceOptions {
  refreshTokenSeconds: number
  bcryptCost: number
  // Passwords that never log in (in production, this repository's examples).
  refusedPasswords: ReadonlySet<string>
}

// A client's last_used_at is written at most this often, so a busy client costs no write per call.
const LAST_USED_PRECISION_MS = 60_000

// Expired refresh tokens deleted on each new grant: enough to keep up, never a long delete.
const PURGED_PER_GRANT = 100

// Compared against when a client is unknown, so the answer takes as long as for a wrong secret.
const UNKNOWN_CLIENT_HASH = clientSecretHash('cl_unknown', 'no client has this secret')

// OAuth2's token endpoint (password, refresh_token and client_credentials grants), revocation
// (RFC 7009), introspection (RFC 7662), and Rocket.Chat's login; and what a presented access
// token stands for.
export class TokenService {
  // Compared against when the login is unknown; made up front so the first such request
  // costs no more than any other.
  private readonly dummyHash: Promise<string>

  constructor (
    private readonly accounts: AccountRepository,
    private readonly clients: ClientRepository,
    private readonly tokens: TokenRepository,
    private readonly accessTokens: AccessTokens,
    private readonly options: TokenServiceOptions
  ) {
    this.dummyHash = hashPassword('no account has this password', options.bcryptCost)
  }

  async grant (request: TokenRequest): Promise<IssuedTokens> {
    const client = request.client === undefined ? undefined : await this.authenticateClient(request.client)
    switch (request.grantType) {
      case 'password':
        return await this.passwordGrant(request, client)
      case 'refresh_token':
        return await this.refreshGrant(request, client)
      case 'client_credentials':
        return await this.clientCredentialsGrant(request, client)
      default:
        throw new UnsupportedGrantType()
    }
  }

  // Rocket.Chat's login: a token, and the id of its user. Unlike the OAuth2 grant, it tells a
  // user who is not active why, once the password is right.
  async logIn (login: string, password: string): Promise<{ token: IssuedTokens, userId: number }> {
    const principal = await this.authenticate(login, password)
    if (principal === undefined || principal === 'refused') throw new InvalidCredentials()
    if (principal === 'not_active') throw new AccountNotActive()
    return { token: this.issueAccessToken(principal, [...ALL_SCOPES]), userId: principal.userId }
  }

  // The principal a presented access token stands for, checked on every request: the token is
  // ours and valid, not revoked, and its principal (and the client it went through) can still act.
  async authenticateAccessToken (token: string): Promise<Principal> {
    return (await this.resolveAccessToken(token)).principal
  }

  // The user of a personal access token (Rocket.Chat's), while the token exists and the user is
  // active; it carries every scope, as a login's token does.
  async authenticatePersonalAccessToken (token: string): Promise<Principal> {
    const userId = await this.tokens.personalAccessTokenUser(opaqueSecretDigest(token))
    const principal = userId === undefined ? undefined : await this.accounts.findActivePrincipal(userId)
    if (principal === undefined) throw new InvalidToken('The personal access token is unknown, or its user can no longer act')
    return { ...principal, scopes: [...ALL_SCOPES] }
  }

  private async resolveAccessToken (token: string): Promise<{ claims: AccessTokenClaims, principal: Principal }> {
    const verified = this.accessTokens.verify(token)
    const [principal, revoked, clientScopes] = await Promise.all([
      this.principalOf(verified),
      this.tokens.isAccessTokenRevoked(verified.claims.jti, verified.claims.sid),
      this.scopesOfClientBehind(verified)
    ])
    if (revoked || issuedBeforePasswordChange(verified.claims, principal)) throw new InvalidToken('The access token was revoked')
    if (principal === undefined || clientScopes === undefined) throw new InvalidToken('The principal of this token can no longer act')
    return { claims: verified.claims, principal: { ...principal, scopes: commonScopes(verified.scopes, clientScopes) } }
  }

  // RFC 7009: revoking a token that is unknown, expired or already revoked succeeds and changes
  // nothing. A token issued through a client is revoked only by that client.
  async revoke (token: string, credentials: ClientCredentials | undefined): Promise<void> {
    const client = credentials === undefined ? undefined : await this.authenticateClient(credentials)
    if (isRefreshTokenForm(token)) {
      const stored = await this.tokens.findRefreshToken(opaqueSecretDigest(token))
      if (stored === undefined) return
      checkOwner(stored.clientId, client)
      await this.tokens.revokeFamily(stored.family, new Date())
      return
    }
    let verified: VerifiedAccessToken
    try {
      verified = this.accessTokens.verify(token)
    } catch (error) {
      if (error instanceof InvalidToken) return
      throw error
    }
    checkOwner(verified.claims.client_id ?? null, client)
    await this.tokens.revokeAccessToken(verified.claims.jti, new Date(verified.claims.exp * 1000), new Date())
  }

  // RFC 7662, for authenticated clients. A refresh token is shown only to the client it was
  // issued through.
  async introspect (token: string, credentials: ClientCredentials | undefined): Promise<Introspection> {
    if (credentials === undefined) throw new InvalidClient()
    const client = await this.authenticateClient(credentials)
    if (isRefreshTokenForm(token)) return await this.introspectRefreshToken(token, client)
    let resolved: { claims: AccessTokenClaims, principal: Principal }
    try {
      resolved = await this.resolveAccessToken(token)
    } catch (error) {
      if (error instanceof InvalidToken) return { active: false }
      throw error
    }
    const { claims, principal } = resolved
    // A token its client allows no scope any more can do nothing: inactive, as RFC 7662 means it.
    if (principal.scopes.length === 0) return { active: false }
    return {
      active: true,
      token_type: 'Bearer',
      ...claims,
      scope: formatScope(principal.scopes),
      roles: principal.roles,
      ...(principal.kind === 'user' ? { username: principal.username } : {}),
      ...(principal.kind === 'user' && principal.requirePasswordChange === true ? { pwd_change_required: true } : {})
    }
  }

  private async introspectRefreshToken (token: string, client: AuthenticatedClient): Promise<Introspection> {
    const stored = await this.tokens.findRefreshToken(opaqueSecretDigest(token))
    const scopes = stored === undefined ? [] : commonScopes(stored.scopes, client.scopes)
    if (stored === undefined || stored.clientRowId !== client.rowId || !isUsable(stored, new Date()) || scopes.length === 0) return { active: false }
    const user = await this.accounts.findActivePrincipal(stored.userId)
    if (user === undefined) return { active: false }
    return {
      active: true,
      token_type: 'refresh_token',
      scope: formatScope(scopes),
      client_id: client.clientId,
      sub: String(user.userId),
      username: user.username,
      iat: Math.floor(Date.parse(stored.createdAt) / 1000),
      exp: Math.floor(Date.parse(stored.expiresAt) / 1000)
    }
  }

  private async passwordGrant (request: TokenRequest, client: AuthenticatedClient | undefined): Promise<IssuedTokens> {
    const username = requiredParameter(request.username, 'username')
    const password = requiredParameter(request.password, 'password')
    const scopes = grantedScopes(request.scope, client?.scopes ?? ALL_SCOPES)
    // The OAuth2 password grant: an account that is not active fails like a wrong password.
    const principal = await this.authenticate(username, password)
    if (principal === undefined || principal === 'refused' || principal === 'not_active') throw new InvalidGrant()
    const at = new Date()
    await this.tokens.purgeExpiredRefreshTokens(at, PURGED_PER_GRANT)
    const grant = this.newGrant(principal, scopes, client, at)
    await this.tokens.insertRefreshToken(grant.refreshTokenRow)
    return grant.tokens
  }

  // A grant for a user who proved who they are with a mailed code rather than a password: the
  // token pair, and the refresh token's row, which the caller writes in the transaction of the
  // change the code makes (the pair works once it commits).
  newUserGrant (principal: UserPrincipal, at: Date): Grant {
    return this.newGrant(principal, [...ALL_SCOPES], undefined, at)
  }

  private newGrant (principal: UserPrincipal, scopes: string[], client: AuthenticatedClient | undefined, at: Date): Grant {
    const refreshToken = newRefreshToken()
    const family = randomBytes(16).toString('hex')
    return {
      refreshTokenRow: {
        tokenHash: opaqueSecretDigest(refreshToken),
        family,
        userId: principal.userId,
        clientRowId: client?.rowId ?? null,
        scopes,
        at,
        expiresAt: this.refreshExpiry(at)
      },
      tokens: { ...this.issueAccessToken(principal, scopes, client, family), refreshToken }
    }
  }

  // Rotates the refresh token: the one presented is spent, a new one of its family replaces it.
  // Presenting a spent one again means it was stolen (or its holder's copy was): the whole family
  // is revoked, so neither the thief nor the holder can go on with it.
  private async refreshGrant (request: TokenRequest, client: AuthenticatedClient | undefined): Promise<IssuedTokens> {
    const presented = requiredParameter(request.refreshToken, 'refresh_token')
    const tokenHash = opaqueSecretDigest(presented)
    const found = await this.tokens.findRefreshToken(tokenHash)
    if (found === undefined) throw invalidRefreshToken()
    // RFC 6749 §6: a token issued through a client is refreshed only by that client, authenticated.
    if (found.clientId !== null && client === undefined) throw new InvalidClient()
    if (found.clientRowId !== (client?.rowId ?? null)) throw invalidRefreshToken()
    // The client's scope as it is now bounds what the grant still gives.
    const scopes = grantedScopes(request.scope, commonScopes(found.scopes, client?.scopes ?? ALL_SCOPES))
    const principal = await this.accounts.findActivePrincipal(found.userId)
    if (principal === undefined) throw invalidRefreshToken()
    const at = new Date()
    const successor = newRefreshToken()
    const outcome = await this.tokens.transaction(async (writer) => {
      const stored = await writer.lock(tokenHash)
      if (stored === undefined || stored.revokedAt !== null || Date.parse(stored.expiresAt) <= at.getTime()) return 'invalid'
      if (stored.usedAt !== null) {
        await writer.revokeFamily(stored.family, at)
        return 'reused'
      }
      await writer.markUsed(stored.id, at)
      await writer.insert({
        tokenHash: opaqueSecretDigest(successor),
        family: stored.family,
        userId: stored.userId,
        clientRowId: stored.clientRowId,
        scopes: stored.scopes,
        at,
        expiresAt: this.refreshExpiry(at)
      })
      return 'rotated'
    })
    if (outcome !== 'rotated') throw invalidRefreshToken()
    return { ...this.issueAccessToken(principal, scopes, client, found.family), refreshToken: successor }
  }

  private async clientCredentialsGrant (request: TokenRequest, client: AuthenticatedClient | undefined): Promise<IssuedTokens> {
    // RFC 6749 §4.4.2: this grant is for authenticated clients only.
    if (client === undefined) throw new InvalidClient()
    const scopes = grantedScopes(request.scope, client.scopes)
    const principal = await this.clients.findActivePrincipal(client.clientId)
    if (principal === undefined) throw new InvalidClient()
    return this.issueAccessToken(principal, scopes, client)
  }

  // The client behind the credentials; an unknown client, a wrong secret and a disabled client
  // fail alike.
  private async authenticateClient (credentials: ClientCredentials): Promise<AuthenticatedClient> {
    const found = CLIENT_ID_PATTERN.test(credentials.clientId) ? await this.clients.findSecret(credentials.clientId) : undefined
    const expected = found?.secretHash ?? UNKNOWN_CLIENT_HASH
    const matches = sameDigest(expected, clientSecretHash(credentials.clientId, credentials.clientSecret))
    if (found === undefined || !matches || !found.enabled) throw new InvalidClient()
    const now = new Date()
    if (found.lastUsedAt === null || now.getTime() - Date.parse(found.lastUsedAt) >= LAST_USED_PRECISION_MS) {
      await this.clients.recordUse(found.id, now)
    }
    return { rowId: found.id, clientId: credentials.clientId, scopes: found.scopes }
  }

  // The user behind a login and a password: undefined for an unknown login or a wrong password,
  // which fail alike, and an unknown login still costs one bcrypt comparison, so neither the
  // answer nor its timing tells which accounts exist; 'not_active' for the right password of an
  // account that is not active; 'refused' for a password that never logs in.
  private async authenticate (login: string, password: string): Promise<UserPrincipal | 'not_active' | 'refused' | undefined> {
    // A login that no account could have is not looked up: database collations differ in how
    // they compare accents and trailing spaces, and this way none of that matters.
    const possible = USERNAME_PATTERN.test(login) || isValidEmail(login)
    const credentials = possible ? await this.accounts.findCredentials(login) : undefined
    const matches = await verifyPassword(password, credentials?.passwordHash ?? await this.dummyHash)
    if (credentials === undefined || !matches) return undefined
    // A password anyone can read in this repository opens nothing in production, whatever the
    // account (the way out is `npx account-service admin reset-password`).
    if (this.options.refusedPasswords.has(password)) return 'refused'
    const principal = await this.accounts.findActivePrincipal(credentials.id)
    if (principal === undefined) return 'not_active'
    // A hash made with another BCRYPT_COST is remade with the current one, so that every
    // account's check costs what the dummy one does, and raising the cost protects everyone.
    if (hashCost(credentials.passwordHash) !== this.options.bcryptCost) {
      await this.accounts.replacePasswordHash(principal.userId, await hashPassword(password, this.options.bcryptCost))
    }
    return principal
  }

  private async principalOf ({ subject }: VerifiedAccessToken): Promise<StoredPrincipal | undefined> {
    return subject.kind === 'user'
      ? await this.accounts.findActivePrincipal(subject.userId)
      : await this.clients.findActivePrincipal(subject.clientId)
  }

  // The scopes the client the token was issued to (if any) allows now; undefined when that client
  // is disabled or deleted.
  private async scopesOfClientBehind ({ claims }: VerifiedAccessToken): Promise<readonly string[] | undefined> {
    return claims.client_id === undefined ? ALL_SCOPES : await this.clients.activeScopes(claims.client_id)
  }

  // `grant` is the refresh-token family the token comes from, when there is one.
  private issueAccessToken (principal: StoredPrincipal, scopes: string[], client?: AuthenticatedClient, grant?: string): IssuedTokens {
    const accessToken = this.accessTokens.mint({
      sub: subOf(principal),
      scopes,
      roles: principal.roles,
      clientId: client?.clientId,
      username: principal.kind === 'user' ? principal.username : undefined,
      grant,
      passwordChangedAt: principal.kind === 'user' ? principal.passwordChangedAt ?? 0 : undefined,
      passwordChangeRequired: principal.kind === 'user' && principal.requirePasswordChange === true
    })
    return { accessToken, expiresIn: this.accessTokens.lifetimeSeconds, scope: formatScope(scopes) }
  }

  private refreshExpiry (at: Date): Date {
    return new Date(at.getTime() + this.options.refreshTokenSeconds * 1000)
  }
}

function requiredParameter (value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new InvalidRequest(`${name} is required for this grant_type`, name)
  return value
}

// The scopes asked for (RFC 6749 §3.3), all of `allowed` when none are; asking for more than
// `allowed` is refused, never quietly narrowed.
function grantedScopes (requested: string | undefined, allowed: readonly string[]): string[] {
  if (allowed.length === 0) throw new InvalidScope('No scope is left for this grant: its client allows none of the scopes it was given')
  if (requested === undefined || requested.trim() === '') return [...allowed]
  const scopes = parseScope(requested)
  if (scopes === undefined) throw new InvalidScope(`scope must be made of ${ALL_SCOPES.join(', ')}`)
  const beyond = scopes.find((scope) => !allowed.includes(scope))
  if (beyond !== undefined) throw new InvalidScope(`The ${beyond} scope is beyond what this grant allows`)
  return scopes
}

// A user's token names the password it was issued under (pwd_changed_at), exactly. A token without
// that claim (issued by an earlier version) is judged by iat, in whole seconds: a token of the
// second the password changed in is void too (its holder logs in again), rather than one issued
// just before the change staying good; a token of a grant needs no such rule, since a password
// change revokes every grant.
function issuedBeforePasswordChange (claims: AccessTokenClaims, principal: StoredPrincipal | undefined): boolean {
  if (principal?.kind !== 'user') return false
  const changedAt = principal.passwordChangedAt
  if (claims.pwd_changed_at !== undefined) return claims.pwd_changed_at !== (changedAt ?? 0)
  return claims.sid === undefined && changedAt !== undefined && claims.iat <= Math.floor(changedAt / 1000)
}

function commonScopes (scopes: readonly string[], allowed: readonly string[]): string[] {
  return scopes.filter((scope) => allowed.includes(scope))
}

function isUsable (token: StoredRefreshToken, now: Date): boolean {
  return token.usedAt === null && token.revokedAt === null && Date.parse(token.expiresAt) > now.getTime()
}

function invalidRefreshToken (): InvalidGrant {
  return new InvalidGrant('The refresh token is invalid, expired, revoked or already used')
}

// A token issued through a client is revoked only by that client; one issued to nobody in
// particular, by whoever holds it.
function checkOwner (ownerClientId: string | null, client: AuthenticatedClient | undefined): void {
  if (ownerClientId === null || ownerClientId === client?.clientId) return
  if (client === undefined) throw new InvalidClient()
  throw new UnauthorizedClient('The token was issued to another client')
}
