import type { Knex } from 'knex'
import { Conflict } from '../domain/errors.js'
import type { CustomFieldValue } from '../domain/accounts.js'
import { fromDatabaseTime, retryingDeadlocks, supportsRowLocks, toDatabaseTime, violatedUniqueColumn } from './sql.js'

export type CustomFieldType = 'string' | 'integer' | 'phone_number' | 'enum' | 'url' | 'email'

export interface CustomFieldSettings {
  label: string
  typeOptions: string[] | null
  mandatory: boolean
  minLength: number | null
  maxLength: number | null
  defaultValue: CustomFieldValue | null
  // Shown to every user, not only to those who may see a user's full profile.
  public: boolean
}

export interface CustomFieldDefinition extends CustomFieldSettings {
  id: number
  name: string
  type: CustomFieldType
  createdAt: string
  updatedAt: string
}

export type NewCustomFieldDefinition = { name: string, type: CustomFieldType } & CustomFieldSettings

// What replacing the whole registry does to it.
export interface RegistryReplacement {
  added: NewCustomFieldDefinition[]
  changed: Array<{ id: number, settings: CustomFieldSettings }>
  removedIds: number[]
}

interface CustomFieldRow {
  id: number
  name: string
  label: string
  type: CustomFieldType
  type_options: string | null
  mandatory: number | boolean
  min_length: number | null
  max_length: number | null
  default_value: string | null
  public: number | boolean
  created_at: string
  updated_at: string
  deleted_at: string | null
}

// Values are removed this many at a time when a definition is deleted, each batch its own
// short statement, so a field with millions of values holds nobody up.
const PURGE_BATCH_SIZE = 1000

function fromRow (row: CustomFieldRow): CustomFieldDefinition {
  return {
    id: row.id,
    name: row.name,
    label: row.label,
    type: row.type,
    typeOptions: row.type_options === null ? null : JSON.parse(row.type_options) as string[],
    mandatory: Boolean(row.mandatory),
    minLength: row.min_length,
    maxLength: row.max_length,
    defaultValue: row.default_value === null ? null : JSON.parse(row.default_value) as CustomFieldValue,
    public: Boolean(row.public),
    createdAt: fromDatabaseTime(row.created_at),
    updatedAt: fromDatabaseTime(row.updated_at)
  }
}

function settingsColumns (settings: CustomFieldSettings): Record<string, unknown> {
  return {
    label: settings.label,
    type_options: settings.typeOptions === null ? null : JSON.stringify(settings.typeOptions),
    mandatory: settings.mandatory,
    min_length: settings.minLength,
    max_length: settings.maxLength,
    default_value: settings.defaultValue === null ? null : JSON.stringify(settings.defaultValue),
    public: settings.public
  }
}

// Every definition. With `lock`, inside a transaction, no definition can change or disappear
// until that transaction ends, so values checked against them are still valid at commit.
export async function selectDefinitions (db: Knex, options: { lock: boolean }): Promise<CustomFieldDefinition[]> {
  const query = db('custom_fields').whereNull('deleted_at').orderBy('id').select<CustomFieldRow[]>('*')
  if (options.lock && supportsRowLocks(db)) void query.forShare()
  return (await query).map(fromRow)
}

async function lockDefinition (trx: Knex.Transaction, id: number): Promise<CustomFieldRow | undefined> {
  const query = trx('custom_fields').where({ id }).first<CustomFieldRow | undefined>('*')
  if (supportsRowLocks(trx)) void query.forUpdate()
  return await query
}

async function insertDefinition (db: Knex, definition: NewCustomFieldDefinition, time: string): Promise<number> {
  try {
    const [id] = await db('custom_fields').insert({
      name: definition.name, type: definition.type, ...settingsColumns(definition), created_at: time, updated_at: time
    })
    return Number(id)
  } catch (error) {
    if (violatedUniqueColumn(error, ['name']) !== undefined) {
      throw new Conflict('custom_field_exists', 'name', `A custom field named ${definition.name} already exists`)
    }
    throw error
  }
}

// Replaces the whole registry, inside `trx`, with what `decide` makes of the current
// definitions, all of them locked meanwhile. Removed definitions are only marked deleted, gone
// for everyone at commit; the ids returned are for purgeDefinitions once the transaction is over.
export async function replaceDefinitions (
  trx: Knex.Transaction, decide: (current: CustomFieldDefinition[]) => RegistryReplacement, at: Date
): Promise<number[]> {
  const query = trx('custom_fields').whereNull('deleted_at').orderBy('id').select<CustomFieldRow[]>('*')
  if (supportsRowLocks(trx)) void query.forUpdate()
  const { added, changed, removedIds } = decide((await query).map(fromRow))
  const time = toDatabaseTime(at)
  if (removedIds.length > 0) await trx('custom_fields').whereIn('id', removedIds).update({ deleted_at: time })
  for (const { id, settings } of changed) {
    await trx('custom_fields').where({ id }).update({ ...settingsColumns(settings), updated_at: time })
  }
  for (const definition of added) await insertDefinition(trx, definition, time)
  return removedIds
}

// Removes the values of definitions already marked deleted, a batch at a time, then the
// definitions themselves.
export async function purgeDefinitions (db: Knex, ids: number[]): Promise<void> {
  for (const id of ids) {
    for (;;) {
      const userIds = await db('user_custom_field_values').where({ field_id: id }).limit(PURGE_BATCH_SIZE).pluck('user_id')
      if (userIds.length === 0) break
      await db('user_custom_field_values').where({ field_id: id }).whereIn('user_id', userIds).delete()
    }
    await db('custom_fields').where({ id }).delete()
  }
}

export class CustomFieldRepository {
  constructor (private readonly knex: Knex) {}

  async list (): Promise<CustomFieldDefinition[]> {
    return await selectDefinitions(this.knex, { lock: false })
  }

  async findById (id: number): Promise<CustomFieldDefinition | undefined> {
    const row = await this.knex('custom_fields').where({ id }).whereNull('deleted_at').first<CustomFieldRow | undefined>('*')
    return row === undefined ? undefined : fromRow(row)
  }

  async insert (definition: NewCustomFieldDefinition, at: Date): Promise<number> {
    return await insertDefinition(this.knex, definition, toDatabaseTime(at))
  }

  // Replaces the whole registry with what `decide` makes of the current definitions, in one
  // transaction; the values of removed definitions are purged once it is committed.
  async replace (decide: (current: CustomFieldDefinition[]) => RegistryReplacement, at: Date): Promise<void> {
    const removedIds = await retryingDeadlocks(this.knex, async (trx) => await replaceDefinitions(trx, decide, at))
    await purgeDefinitions(this.knex, removedIds)
  }

  // Replaces the settings with what `decide` makes of the current definition, the row locked
  // meanwhile so concurrent changes apply one after the other; false when there is no such field.
  async update (id: number, decide: (current: CustomFieldDefinition) => CustomFieldSettings, at: Date): Promise<boolean> {
    return await retryingDeadlocks(this.knex, async (trx) => {
      const row = await lockDefinition(trx, id)
      if (row === undefined || row.deleted_at !== null) return false
      const settings = decide(fromRow(row))
      await trx('custom_fields').where({ id }).update({ ...settingsColumns(settings), updated_at: toDatabaseTime(at) })
      return true
    })
  }

  // Deletes the definition and its stored values; false when there was none. First the
  // definition is marked deleted, in a transaction as short as the creates in flight that
  // locked it: from then on no create, read or change sees it. Then its values go in batches,
  // and the definition last. A delete interrupted halfway is finished by the next one.
  async delete (id: number, at: Date): Promise<boolean> {
    const found = await retryingDeadlocks(this.knex, async (trx) => {
      const row = await lockDefinition(trx, id)
      if (row === undefined) return false
      if (row.deleted_at === null) await trx('custom_fields').where({ id }).update({ deleted_at: toDatabaseTime(at) })
      return true
    })
    if (!found) return false
    await purgeDefinitions(this.knex, [id])
    return true
  }
}
