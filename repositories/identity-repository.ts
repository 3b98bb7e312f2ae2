import type { Knex } from 'knex'
import { Conflict } from '../domain/errors.js'
import { EXTERNAL_PROVIDER, type UserIdentity } from '../domain/identities.js'
import { toDatabaseTime, violatedUniqueColumn } from './sql.js'

interface IdentityRow {
  user_id: number | string
  provider: string
  ext_id: string
  profile_url: string | null
  metadata: string | null
  show_in_profile: number | boolean
}

function identityOf (row: IdentityRow): UserIdentity {
  return {
    userId: Number(row.user_id),
    provider: row.provider,
    extId: row.ext_id,
    profileUrl: row.profile_url,
    metadata: row.metadata === null ? null : JSON.parse(row.metadata) as Record<string, unknown>,
    showInProfile: Boolean(row.show_in_profile)
  }
}

// Links the user to the identity; a pair another account has, or a second id of one provider, is
// a 409 (the unique indexes decide, so of two racing links one wins).
export async function insertIdentity (trx: Knex.Transaction, identity: UserIdentity, at: Date): Promise<void> {
  try {
    await trx('user_identities').insert({
      user_id: identity.userId,
      provider: identity.provider,
      ext_id: identity.extId,
      profile_url: identity.profileUrl,
      metadata: identity.metadata === null ? null : JSON.stringify(identity.metadata),
      show_in_profile: identity.showInProfile,
      created_at: toDatabaseTime(at)
    })
  } catch (error) {
    // ext_id first: every index's name holds "user_id", by the table's name.
    const index = violatedUniqueColumn(error, ['ext_id', 'user_id'])
    if (index === 'ext_id') throw new Conflict('ext_id_taken', 'ext_id', `Another account has ext_id ${identity.extId} of ${identity.provider}`)
    if (index === 'user_id') throw new Conflict('provider_already_linked', 'provider', `The user has an id of ${identity.provider} already`)
    throw error
  }
}

// The ids of the users at the provider `external`.
export async function selectExternalIds (knex: Knex, userIds: number[]): Promise<Map<number, string>> {
  const rows: Array<{ user_id: number | string, ext_id: string }> = await knex('user_identities')
    .whereIn('user_id', userIds).where({ provider: EXTERNAL_PROVIDER }).select('user_id', 'ext_id')
  return new Map(rows.map((row) => [Number(row.user_id), row.ext_id]))
}

export class IdentityRepository {
  constructor (private readonly knex: Knex) {}

  async ofUser (userId: number): Promise<UserIdentity[]> {
    const rows: IdentityRow[] = await this.knex('user_identities').where({ user_id: userId }).orderBy('provider')
      .select('user_id', 'provider', 'ext_id', 'profile_url', 'metadata', 'show_in_profile')
    return rows.map(identityOf)
  }

  // The user linked to this id of the provider.
  async findUserId (provider: string, extId: string): Promise<number | undefined> {
    const row: { user_id: number | string } | undefined = await this.knex('user_identities').where({ provider, ext_id: extId }).first('user_id')
    return row === undefined ? undefined : Number(row.user_id)
  }
}
