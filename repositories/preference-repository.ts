import type { Knex } from 'knex'
import {
  type CustomFieldDefinition, type RegistryReplacement, purgeDefinitions, replaceDefinitions
} from './custom-field-repository.js'
import { retryingDeadlocks } from './sql.js'

// Whether a boolean preference is on. Read inside the transaction that depends on it.
export async function preferenceIsOn (db: Knex, name: string): Promise<boolean> {
  const row = await db('preferences').where({ name }).first<{ value: string | null } | undefined>('value')
  return row?.value === 'true'
}

export async function featureIsEnabled (db: Knex, name: string): Promise<boolean> {
  const row = await db('features').where({ name }).first<{ enabled: number | boolean } | undefined>('enabled')
  return Boolean(row?.enabled)
}

export type PreferenceType = 'boolean' | 'json'

export interface StoredPreference {
  id: number
  section: string
  name: string
  type: PreferenceType
  // JSON text; null where the value lives elsewhere (the custom-field registry).
  value: string | null
  help: string
}

export interface StoredFeature {
  id: number
  name: string
  enabled: boolean
}

// One change of several preferences, made in one transaction.
export interface PreferenceChange {
  // The new JSON text of preferences whose value is stored with them.
  values: Array<{ id: number, value: string }>
  // What the custom-field registry becomes, decided from its current definitions; absent when
  // the change leaves the registry alone.
  registry?: (current: CustomFieldDefinition[]) => RegistryReplacement
}

interface FeatureRow {
  id: number
  name: string
  enabled: number | boolean
}

function featureFromRow (row: FeatureRow): StoredFeature {
  return { id: row.id, name: row.name, enabled: Boolean(row.enabled) }
}

export class PreferenceRepository {
  constructor (private readonly knex: Knex) {}

  async list (): Promise<StoredPreference[]> {
    return await this.knex('preferences').orderBy('id').select<StoredPreference[]>('id', 'section', 'name', 'type', 'value', 'help')
  }

  async findById (id: number): Promise<StoredPreference | undefined> {
    return await this.knex('preferences').where({ id }).first<StoredPreference | undefined>('id', 'section', 'name', 'type', 'value', 'help')
  }

  // Makes the whole change or none of it. The registry is decided first, its definitions
  // locked, so a refusal comes before any write; values of removed fields are purged after
  // commit, as a deletion through the registry does.
  async change (change: PreferenceChange, at: Date): Promise<void> {
    const removedFieldIds = await retryingDeadlocks(this.knex, async (trx) => {
      const removed = change.registry === undefined ? [] : await replaceDefinitions(trx, change.registry, at)
      for (const { id, value } of change.values) await trx('preferences').where({ id }).update({ value })
      return removed
    })
    await purgeDefinitions(this.knex, removedFieldIds)
  }

  async listFeatures (options: { all: boolean }): Promise<StoredFeature[]> {
    const query = this.knex('features').orderBy('id').select<FeatureRow[]>('id', 'name', 'enabled')
    if (!options.all) void query.where({ enabled: true })
    return (await query).map(featureFromRow)
  }

  // The feature as switched; undefined when there is no such feature.
  async switchFeature (name: string, enabled: boolean): Promise<StoredFeature | undefined> {
    await this.knex('features').where({ name }).update({ enabled })
    const row = await this.knex('features').where({ name }).first<FeatureRow | undefined>('id', 'name', 'enabled')
    return row === undefined ? undefined : featureFromRow(row)
  }
}
