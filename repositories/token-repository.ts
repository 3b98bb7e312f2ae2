import type { Knex } from 'knex'
import { fromDatabaseTime, retryingDeadlocks, supportsRowLocks, toDatabaseTime, violatedUniqueColumn } from './sql.js'

export interface StoredRefreshToken {
  id: number
  family: string
  userId: number
  // The client the grant was made through, if one authenticated.
  clientRowId: number | null
  clientId: string | null
  scopes: string[]
  createdAt: string
  expiresAt: string
  usedAt: string | null
  revokedAt: string | null
}

export interface NewRefreshToken {
  tokenHash: string
  family: string
  userId: number
  clientRowId: number | null
  scopes: string[]
  at: Date
  expiresAt: Date
}

interface RefreshTokenRow {
  id: number
  family: string
  user_id: number
  client_id: number | null
  public_client_id: string | null
  scope: string
  created_at: string
  expires_at: string
  used_at: string | null
  revoked_at: string | null
}

function refreshTokenFromRow (row: RefreshTokenRow): StoredRefreshToken {
  return {
    id: Number(row.id),
    family: row.family,
    userId: row.user_id,
    clientRowId: row.client_id,
    clientId: row.public_client_id,
    scopes: row.scope === '' ? [] : row.scope.split(' '),
    createdAt: fromDatabaseTime(row.created_at),
    expiresAt: fromDatabaseTime(row.expires_at),
    usedAt: row.used_at === null ? null : fromDatabaseTime(row.used_at),
    revokedAt: row.revoked_at === null ? null : fromDatabaseTime(row.revoked_at)
  }
}

function selectRefreshToken (knex: Knex, tokenHash: string): Knex.QueryBuilder {
  return knex('refresh_tokens as t')
    .leftJoin('oauth_clients as c', 'c.id', 't.client_id')
    .where('t.token_hash', tokenHash)
    .select('t.id', 't.family', 't.user_id', 't.client_id', 'c.client_id as public_client_id', 't.scope', 't.created_at', 't.expires_at', 't.used_at', 't.revoked_at')
}

async function revokeFamily (knex: Knex, family: string, at: Date): Promise<void> {
  await knex('refresh_tokens').where({ family }).whereNull('revoked_at').update({ revoked_at: toDatabaseTime(at) })
}

export async function insertRefreshToken (knex: Knex, token: NewRefreshToken): Promise<void> {
  await knex('refresh_tokens').insert({
    token_hash: token.tokenHash,
    family: token.family,
    user_id: token.userId,
    client_id: token.clientRowId,
    scope: token.scopes.join(' '),
    created_at: toDatabaseTime(token.at),
    expires_at: toDatabaseTime(token.expiresAt)
  })
}

// The writes of one refresh; every method runs in the caller's transaction.
export class RefreshWriter {
  constructor (private readonly trx: Knex.Transaction) {}

  // The token with this hash, its row locked until the transaction ends: of two refreshes with one
  // token, the second finds it used.
  async lock (tokenHash: string): Promise<StoredRefreshToken | undefined> {
    const query = selectRefreshToken(this.trx, tokenHash)
    if (supportsRowLocks(this.trx)) void query.forUpdate()
    const [row] = await query as RefreshTokenRow[]
    return row === undefined ? undefined : refreshTokenFromRow(row)
  }

  async markUsed (id: number, at: Date): Promise<void> {
    await this.trx('refresh_tokens').where({ id }).update({ used_at: toDatabaseTime(at) })
  }

  async insert (token: NewRefreshToken): Promise<void> {
    await insertRefreshToken(this.trx, token)
  }

  async revokeFamily (family: string, at: Date): Promise<void> {
    await revokeFamily(this.trx, family, at)
  }
}

// Refresh tokens (by the SHA-256 of each, never the token) and revoked access tokens (by jti).
export class TokenRepository {
  constructor (private readonly knex: Knex) {}

  // False when the user has a token of this name already.
  async insertPersonalAccessToken (userId: number, name: string, secret: { tokenHash: string, lastTokenPart: string }, bypassTwoFactor: boolean, at: Date): Promise<boolean> {
    try {
      await retryingDeadlocks(this.knex, async (trx) => await trx('personal_access_tokens').insert({
        user_id: userId, name, token_hash: secret.tokenHash, last_token_part: secret.lastTokenPart, bypass_two_factor: bypassTwoFactor, created_at: toDatabaseTime(at)
      }))
      return true
    } catch (error) {
      if (violatedUniqueColumn(error, ['name']) !== undefined) return false
      throw error
    }
  }

  // The token of this name gets a new secret (the old one stops working); false when there is none.
  async replacePersonalAccessToken (userId: number, name: string, secret: { tokenHash: string, lastTokenPart: string }, at: Date): Promise<boolean> {
    return await retryingDeadlocks(this.knex, async (trx) => await trx('personal_access_tokens').where({ user_id: userId, name })
      .update({ token_hash: secret.tokenHash, last_token_part: secret.lastTokenPart, created_at: toDatabaseTime(at) })) === 1
  }

  async personalAccessTokensOf (userId: number): Promise<StoredPersonalAccessToken[]> {
    const rows: Array<{ name: string, last_token_part: string, bypass_two_factor: number | boolean, created_at: string }> =
      await this.knex('personal_access_tokens').where({ user_id: userId }).orderBy('id').select('name', 'last_token_part', 'bypass_two_factor', 'created_at')
    return rows.map((row) => ({ name: row.name, lastTokenPart: row.last_token_part, bypassTwoFactor: Boolean(row.bypass_two_factor), createdAt: fromDatabaseTime(row.created_at) }))
  }

  async deletePersonalAccessToken (userId: number, name: string): Promise<boolean> {
    return await retryingDeadlocks(this.knex, async (trx) => await trx('personal_access_tokens').where({ user_id: userId, name }).delete()) === 1
  }

  // The user whose personal access token has this hash.
  async personalAccessTokenUser (tokenHash: string): Promise<number | undefined> {
    const row: { user_id: number | string } | undefined = await this.knex('personal_access_tokens').where({ token_hash: tokenHash }).first('user_id')
    return row === undefined ? undefined : Number(row.user_id)
  }

  async transaction<T> (work: (writer: RefreshWriter) => Promise<T>): Promise<T> {
    return await retryingDeadlocks(this.knex, async (trx) => await work(new RefreshWriter(trx)))
  }

  async insertRefreshToken (token: NewRefreshToken): Promise<void> {
    await insertRefreshToken(this.knex, token)
  }

  async findRefreshToken (tokenHash: string): Promise<StoredRefreshToken | undefined> {
    const [row] = await selectRefreshToken(this.knex, tokenHash) as RefreshTokenRow[]
    return row === undefined ? undefined : refreshTokenFromRow(row)
  }

  async revokeFamily (family: string, at: Date): Promise<void> {
    await revokeFamily(this.knex, family, at)
  }

  // Deletes up to `limit` refresh tokens that expired before `now`: a spent token is kept until it
  // expires, so its reuse can still be told, and is of no use after.
  async purgeExpiredRefreshTokens (now: Date, limit: number): Promise<void> {
    const ids = await this.knex('refresh_tokens').where('expires_at', '<', toDatabaseTime(now)).limit(limit).pluck<number[]>('id')
    if (ids.length > 0) await this.knex('refresh_tokens').whereIn('id', ids).delete()
  }

  // Records the access token as revoked until it expires; rows of tokens that have expired since
  // are cleared on the way, as they no longer matter.
  async revokeAccessToken (jti: string, expiresAt: Date, now: Date): Promise<void> {
    await this.knex('revoked_access_tokens').where('expires_at', '<=', toDatabaseTime(now)).delete()
    await this.knex('revoked_access_tokens').insert({ jti, expires_at: toDatabaseTime(expiresAt) }).onConflict('jti').ignore()
  }

  // Whether the access token was revoked, by its jti or with the grant it came from: a revoked
  // family has every row revoked, and its rows are kept until they expire, which is after its
  // access tokens do (the configuration makes sure of it).
  async isAccessTokenRevoked (jti: string, grant: string | undefined): Promise<boolean> {
    const [byJti, byGrant] = await Promise.all([
      this.knex('revoked_access_tokens').where({ jti }).first('jti'),
      grant === undefined ? undefined : this.knex('refresh_tokens').where({ family: grant }).whereNotNull('revoked_at').first('id')
    ])
    return byJti !== undefined || byGrant !== undefined
  }
}

// Ends every refresh token of the user, and with their grants the access tokens they gave.
export async function revokeUserRefreshTokens (knex: Knex, userId: number, at: Date): Promise<void> {
  await knex('refresh_tokens').where({ user_id: userId }).whereNull('revoked_at').update({ revoked_at: toDatabaseTime(at) })
}

export async function deleteUserPersonalAccessTokens (knex: Knex, userId: number): Promise<void> {
  await knex('personal_access_tokens').where({ user_id: userId }).delete()
}

// A personal access token as listed: never its secret, only its last characters.
export interface StoredPersonalAccessToken {
  name: string
  lastTokenPart: string
  bypassTwoFactor: boolean
  createdAt: string
}
