import { PROFILE_FIELD_RULES, type CustomFieldValue, type ProfileField, type ProfileFields } from '../domain/accounts.js'
import { InvalidCustomField } from '../domain/errors.js'
import type { StoredUser } from '../repositories/account-repository.js'
import type { CustomFieldDefinition } from '../repositories/custom-field-repository.js'
import { ACCOUNT_FLAG_COLUMNS, type AccountFlagChanges, type ProfileWrite } from '../repositories/profile-writer.js'
import type { CustomFieldRegistry } from './custom-fields.js'

// A change of a user, its values checked against the rules of their fields.
export interface CheckedChanges {
  username?: string
  realName?: string
  profile: Partial<ProfileFields>
  // Values of custom fields by name; null removes one.
  customFields: Record<string, unknown>
  // The account's flags an admin sets (Rocket.Chat's users.update).
  flags?: AccountFlagChanges
}

// How a change applies: `patch` changes what it names; `replace` (PUT) makes the custom fields
// what it gives, as on account creation.
export type ChangeMode = 'patch' | 'replace'

// The custom-field values the user has after a PATCH: those given, the others kept. A mandatory
// field left without a value takes its default, or refuses the change: the field may have
// become mandatory after the user was created, and a change never leaves a user without it.
function valuesAfterPatch (user: StoredUser, input: Record<string, unknown>, definitions: CustomFieldDefinition[], registry: CustomFieldRegistry): Map<number, CustomFieldValue> {
  const { values, removedFieldIds } = registry.checkChanges(input, definitions)
  const after = new Map<number, CustomFieldValue>()
  for (const definition of definitions) {
    const current = user.customFields[definition.name]
    if (current !== undefined && !removedFieldIds.includes(definition.id)) after.set(definition.id, current)
  }
  for (const { fieldId, value } of values) after.set(fieldId, value)
  for (const definition of definitions.filter((candidate) => candidate.mandatory && !after.has(candidate.id))) {
    if (definition.defaultValue === null) {
      throw new InvalidCustomField('missing_field', definition.name, `${definition.name} is required: give it with the change`)
    }
    after.set(definition.id, definition.defaultValue)
  }
  return after
}

// What the change writes to the user as they are now, and the names of the fields whose values
// it changes (the standard ones first, in the contract's names).
export function planProfileWrite (
  user: StoredUser, changes: CheckedChanges, mode: ChangeMode, definitions: CustomFieldDefinition[], registry: CustomFieldRegistry
): { write: ProfileWrite, changed: string[] } {
  const write: ProfileWrite = { profile: {}, flags: {}, values: [], removedFieldIds: [] }
  const changed: string[] = []
  if (changes.username !== undefined && changes.username !== user.username) {
    write.username = changes.username
    changed.push('username')
  }
  if (changes.realName !== undefined && changes.realName !== user.realName) {
    write.realName = changes.realName
    changed.push('real_name')
  }
  for (const [field, value] of Object.entries(changes.profile) as Array<[ProfileField, string | null]>) {
    if (value === user[field]) continue
    Object.assign(write.profile, { [field]: value })
    changed.push(PROFILE_FIELD_RULES[field].name)
  }
  for (const [flag, value] of Object.entries(changes.flags ?? {}) as Array<[keyof AccountFlagChanges, boolean | undefined]>) {
    if (value === undefined || value === user[flag]) continue
    write.flags[flag] = value
    changed.push(ACCOUNT_FLAG_COLUMNS[flag])
  }
  const after = mode === 'replace'
    ? new Map(registry.checkValues(changes.customFields, definitions).map(({ fieldId, value }) => [fieldId, value]))
    : valuesAfterPatch(user, changes.customFields, definitions, registry)
  for (const definition of definitions) {
    const before = user.customFields[definition.name]
    const value = after.get(definition.id)
    if (value === before) continue
    if (value === undefined) write.removedFieldIds.push(definition.id)
    else write.values.push({ fieldId: definition.id, value })
    changed.push(definition.name)
  }
  return { write, changed }
}
