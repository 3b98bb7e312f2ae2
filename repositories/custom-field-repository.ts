import type { Knex } from 'knex'
import { Conflict } from '../services/errors.js'
import type { CustomFieldValue } from './account-repository.js'
import { fromDatabaseTime, toDatabaseTime, violatedUniqueColumn } from './sql.js'

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
}

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

export class CustomFieldRepository {
  constructor (private readonly knex: Knex) {}

  async list (): Promise<CustomFieldDefinition[]> {
    const rows = await this.knex('custom_fields').orderBy('id').select<CustomFieldRow[]>('*')
    return rows.map(fromRow)
  }

  async findById (id: number): Promise<CustomFieldDefinition | undefined> {
    const row = await this.knex('custom_fields').where({ id }).first<CustomFieldRow | undefined>('*')
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

  async update (id: number, settings: CustomFieldSettings, at: Date): Promise<void> {
    await this.knex('custom_fields').where({ id }).update({ ...settingsColumns(settings), updated_at: toDatabaseTime(at) })
  }

  // Deletes the definition and its stored values; false when there was none.
  async delete (id: number): Promise<boolean> {
    return await this.knex.transaction(async (trx) => {
      await trx('user_custom_field_values').where({ field_id: id }).delete()
      return (await trx('custom_fields').where({ id }).delete()) > 0
    })
  }
}
