// Rocket.Chat's personal access tokens: a user makes named tokens for their own account (with
// create-personal-access-tokens), each shown once and kept as a hash, used as X-Auth-Token with
// X-User-Id until it is removed or regenerated, its user's password changes, or its user is
// blocked or deleted.
import { InsufficientScope, InvalidInput } from '../domain/errors.js'
import { type Principal, type StoredPrincipal, callerUserId } from '../domain/principal.js'
import { ALL_SCOPES } from '../domain/scopes.js'
import type { StoredPersonalAccessToken, TokenRepository } from '../repositories/token-repository.js'
import { newPersonalAccessToken, opaqueSecretDigest } from './opaque-secrets.js'

const NAME_MAX_LENGTH = 100

// A new token's secret, and what is kept of it.
function newSecret (): { token: string, stored: { tokenHash: string, lastTokenPart: string } } {
  const token = newPersonalAccessToken()
  return { token, stored: { tokenHash: opaqueSecretDigest(token), lastTokenPart: token.slice(-6) } }
}


// Without spaces at its ends: MariaDB's collation would find `bot` for `bot `.
function checkName (name: string): string {
  if (name.trim() !== name || name === '' || name.length > NAME_MAX_LENGTH) {
    throw new InvalidInput('invalid_field', 'tokenName', `tokenName must be 1 to ${NAME_MAX_LENGTH} characters, with no space at either end`)
  }
  return name
}

export class PersonalAccessTokenService {
  constructor (private readonly tokens: TokenRepository) {}

  // A token that outlives the caller's own needs all the scopes it will carry: a token narrowed
  // by its client or its grant cannot mint a wider one.
  async generate (caller: Principal, name: string, bypassTwoFactor: boolean): Promise<string> {
    const missing = ALL_SCOPES.find((scope) => !caller.scopes.includes(scope))
    if (missing !== undefined) throw new InsufficientScope(missing)
    const { token, stored } = newSecret()
    if (!await this.tokens.insertPersonalAccessToken(callerUserId(caller), checkName(name), stored, bypassTwoFactor, new Date())) {
      throw new InvalidInput('token_already_exists', 'tokenName', `A personal access token named ${name} exists already`)
    }
    return token
  }

  async regenerate (caller: StoredPrincipal, name: string): Promise<string> {
    const { token, stored } = newSecret()
    if (!await this.tokens.replacePersonalAccessToken(callerUserId(caller), checkName(name), stored, new Date())) throw noToken(name)
    return token
  }

  async list (caller: StoredPrincipal): Promise<StoredPersonalAccessToken[]> {
    return await this.tokens.personalAccessTokensOf(callerUserId(caller))
  }

  async remove (caller: StoredPrincipal, name: string): Promise<void> {
    if (!await this.tokens.deletePersonalAccessToken(callerUserId(caller), checkName(name))) throw noToken(name)
  }
}

function noToken (name: string): InvalidInput {
  return new InvalidInput('token_does_not_exist', 'tokenName', `There is no personal access token named ${name}`)
}
