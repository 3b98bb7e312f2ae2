import type { AccountRepository, Principal } from '../repositories/account-repository.js'
import { AccountNotActive, InvalidCredentials, InvalidGrant, UnsupportedGrantType } from './errors.js'
import { USERNAME_PATTERN, isValidEmail } from './formats.js'
import { hashCost, hashPassword, verifyPassword } from './passwords.js'

export interface TokenClaims {
  sub: string
  username: string
  roles: string[]
}

export interface IssuedToken {
  accessToken: string
  expiresIn: number
  scope: string
}

export const GRANTED_SCOPE = 'read write'

export class TokenService {
  // Compared against when the login is unknown; made up front so the first such request
  // costs no more than any other.
  private readonly dummyHash: Promise<string>

  constructor (
    private readonly accounts: AccountRepository,
    private readonly sign: (claims: TokenClaims) => string,
    private readonly options: { expiresIn: number, bcryptCost: number }
  ) {
    this.dummyHash = hashPassword('no account has this password', options.bcryptCost)
  }

  async grant (grantType: string, login: string, password: string): Promise<IssuedToken> {
    if (grantType !== 'password') throw new UnsupportedGrantType()
    // The OAuth2 password grant: an account that is not active fails like a wrong password.
    const principal = await this.authenticate(login, password)
    if (principal === undefined || principal === 'not_active') throw new InvalidGrant()
    return this.issue(principal)
  }

  // Rocket.Chat's login: a token, and the id of its user. Unlike the OAuth2 grant, it tells a
  // user who is not active why, once the password is right.
  async logIn (login: string, password: string): Promise<{ token: IssuedToken, userId: number }> {
    const principal = await this.authenticate(login, password)
    if (principal === undefined) throw new InvalidCredentials()
    if (principal === 'not_active') throw new AccountNotActive()
    return { token: this.issue(principal), userId: principal.id }
  }

  // The caller behind a login and a password: undefined for an unknown login or a wrong password,
  // which fail alike, and an unknown login still costs one bcrypt comparison, so neither the
  // answer nor its timing tells which accounts exist; 'not_active' for the right password of an
  // account that is not active.
  private async authenticate (login: string, password: string): Promise<Principal | 'not_active' | undefined> {
    // A login that no account could have is not looked up: database collations differ in how
    // they compare accents and trailing spaces, and this way none of that matters.
    const possible = USERNAME_PATTERN.test(login) || isValidEmail(login)
    const credentials = possible ? await this.accounts.findCredentials(login) : undefined
    const matches = await verifyPassword(password, credentials?.passwordHash ?? await this.dummyHash)
    if (credentials === undefined || !matches) return undefined
    const principal = await this.accounts.findActivePrincipal(credentials.id)
    if (principal === undefined) return 'not_active'
    // A hash made with another BCRYPT_COST is remade with the current one, so that every
    // account's check costs what the dummy one does, and raising the cost protects everyone.
    if (hashCost(credentials.passwordHash) !== this.options.bcryptCost) {
      await this.accounts.replacePasswordHash(principal.id, await hashPassword(password, this.options.bcryptCost))
    }
    return principal
  }

  private issue (principal: Principal): IssuedToken {
    return {
      accessToken: this.sign({ sub: String(principal.id), username: principal.username, roles: principal.roles }),
      expiresIn: this.options.expiresIn,
      scope: GRANTED_SCOPE
    }
  }
}
