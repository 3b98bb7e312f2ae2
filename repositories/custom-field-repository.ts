import type { Knex } from 'knex'
import { Conflict } from '../services/errors.js'
import type { CustomFieldValue } from './account-repository.js'
import { fromDatabaseTime, supportsRowLocks, toDatabaseTime, violatedUniqueColumn } from './sql.js'

export type CustomFieldType = 'string' | 'integer' | 'phone_number' | 'enum' | 'url' | 'email'

export interface CustomFieldSettings {
  label: string
  typeOptions: string[] | null
  mandatory: boolean
  minLength: number | null
  maxLength: number | null
  defaultValue: CustomFieldValue | null
}

export interface CustomFieldDefinition extends CustomFieldSettings {
  id: number
  name: string
  type: CustomFieldType
  createdAt: string
  updatedAt: string
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
    default_value: settings.defaultValue === null ? null : JSON.stringify(settings.defaultValue)
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

export class CustomFieldRepository {
  constructor (private readonly knex: Knex) {}

  async list (): Promise<CustomFieldDefinition[]> {
    return await selectDefinitions(this.knex, { lock: false })
  }

  async findById (id: number): Promise<CustomFieldDefinition | undefined> {
    const row = await this.knex('custom_fields').where({ id }).whereNull('deleted_at').first<CustomFieldRow | undefined>('*')
    return row === undefined ? undefined : fromRow(row)
  }

  async insert (definition: { name: string, type: CustomFieldType } & CustomFieldSettings, at: Date): Promise<number> {
    const time = toDatabaseTime(at)
    try {
      const [id] = await this.knex('custom_fields').insert({
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

  // Replaces the settings with what `decide` makes of the current definition, the row locked
  // meanwhile so concurrent changes apply one after the other; false when there is no such field.
  async update (id: number, decide: (current: CustomFieldDefinition) => CustomFieldSettings, at: Date): Promise<boolean> {
    return await this.knex.transaction(async (trx) => {
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
    const found = await this.knex.transaction(async (trx) => {
      const row = await lockDefinition(trx, id)
      if (row === undefined) return false
      if (row.deleted_at === null) await trx('custom_fields').where({ id }).update({ deleted_at: toDatabaseTime(at) })
      return true
    })
    if (!found) return false
    for (;;) {
      const userIds = await this.knex('user_custom_field_values').where({ field_id: id }).limit(PURGE_BATCH_SIZE).pluck('user_id')
      if (userIds.length === 0) break
      await this.knex('user_custom_field_values').where({ field_id: id }).whereIn('user_id', userIds).delete()
    }
    await this.knex('custom_fields').where({ id }).delete()
    return true
  }
}
