import type { AccountRepository } from '../repositories/account-repository.js'
import { InvalidGrant, UnsupportedGrantType } from './errors.js'
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
    return await this.passwordGrant(login, password)
  }

  // The OAuth2 password grant. An unknown login, a wrong password and an account that is not
  // approved all fail alike, and an unknown login still costs one bcrypt comparison, so neither
  // the answer nor its timing tells which accounts exist.
  private async passwordGrant (login: string, password: string): Promise<IssuedToken> {
    // A login that no account could have is not looked up: database collations differ in how
    // they compare accents and trailing spaces, and this way none of that matters.
    const possible = USERNAME_PATTERN.test(login) || isValidEmail(login)
    const credentials = possible ? await this.accounts.findCredentials(login) : undefined
    const matches = await verifyPassword(password, credentials?.passwordHash ?? await this.dummyHash)
    if (credentials === undefined || !matches) throw new InvalidGrant()
    const principal = await this.accounts.findActivePrincipal(credentials.id)
    if (principal === undefined) throw new InvalidGrant()
    // A hash made with another BCRYPT_COST is remade with the current one, so that every
    // account's check costs what the dummy one does, and raising the cost protects everyone.
    if (hashCost(credentials.passwordHash) !== this.options.bcryptCost) {
      await this.accounts.replacePasswordHash(principal.id, await hashPassword(password, this.options.bcryptCost))
    }
    return {
      accessToken: this.sign({ sub: String(principal.id), username: principal.username, roles: principal.roles }),
      expiresIn: this.options.expiresIn,
      scope: GRANTED_SCOPE
    }
  }
}
