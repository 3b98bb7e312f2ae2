import type { Knex } from 'knex'
import type { CustomFieldValue, ProfileFields } from '../domain/accounts.js'
import { UsernameTaken } from '../domain/errors.js'
import { toDatabaseTime, violatedUniqueColumn } from './sql.js'

// What a change writes to a user: the columns that change, and the custom-field values set
// (inserted or replaced) and removed.
export interface ProfileWrite {
  username?: string
  realName?: string
  profile: Partial<ProfileFields>
  flags: AccountFlagChanges
  values: Array<{ fieldId: number, value: CustomFieldValue }>
  removedFieldIds: number[]
}

// The account's flags an admin sets (Rocket.Chat's users.update's verified and
// requirePasswordChange).
export interface AccountFlagChanges {
  emailIsValid?: boolean
  requirePasswordChange?: boolean
}

// Their columns, which are also their names in the contract (and in user.updated's `changed`).
export const ACCOUNT_FLAG_COLUMNS: Record<keyof AccountFlagChanges, string> = { emailIsValid: 'email_isvalid', requirePasswordChange: 'require_password_change' }

const PROFILE_COLUMNS: Record<keyof ProfileFields, string> = {
  bio: 'bio',
  location: 'location',
  dateOfBirth: 'date_of_birth',
  description: 'description',
  gender: 'gender',
  website: 'website',
  nickname: 'nickname',
  statusText: 'status_text'
}

// The writes of a change to a user's profile, in the caller's transaction.
export class ProfileWriter {
  constructor (private readonly trx: Knex.Transaction) {}

  // A username taken by another account (regardless of case) is refused by the unique index.
  async write (id: number, change: ProfileWrite, at: Date): Promise<void> {
    const columns: Record<string, unknown> = { updated_at: toDatabaseTime(at) }
    if (change.username !== undefined) Object.assign(columns, { username: change.username, username_normalized: change.username.toLowerCase() })
    if (change.realName !== undefined) columns.real_name = change.realName
    for (const [field, value] of Object.entries(change.profile)) columns[PROFILE_COLUMNS[field as keyof ProfileFields]] = value
    for (const [flag, value] of Object.entries(change.flags)) columns[ACCOUNT_FLAG_COLUMNS[flag as keyof AccountFlagChanges]] = value
    try {
      await this.trx('users').where({ id }).update(columns)
    } catch (error) {
      if (violatedUniqueColumn(error, ['username_normalized']) === 'username_normalized') throw new UsernameTaken()
      throw error
    }
    if (change.values.length > 0) {
      await this.trx('user_custom_field_values')
        .insert(change.values.map(({ fieldId, value }) => ({ user_id: id, field_id: fieldId, value: JSON.stringify(value) })))
        .onConflict(['user_id', 'field_id'])
        .merge(['value'])
    }
    if (change.removedFieldIds.length > 0) {
      await this.trx('user_custom_field_values').where({ user_id: id }).whereIn('field_id', change.removedFieldIds).delete()
    }
  }
}
