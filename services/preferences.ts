import { Ajv, type ErrorObject } from 'ajv'
import type { CustomFieldDefinition, NewCustomFieldDefinition } from '../repositories/custom-field-repository.js'
import type {
  PreferenceChange, PreferenceRepository, PreferenceType, StoredFeature, StoredPreference
} from '../repositories/preference-repository.js'
import { CustomFieldCreateRequest } from '../schemas/components.js'
import { type CustomFieldRegistry, customFieldSettingsBody } from './custom-fields.js'
import { InvalidInput, NotFound } from '../domain/errors.js'
import { jsonValueProblem } from '../domain/formats.js'

// The preference whose value is the custom-field registry itself, not a value of its own.
const REGISTRY_PREFERENCE = 'user_metadata_definition'

export interface Preference {
  id: number
  section: string
  name: string
  // A boolean for a boolean preference, JSON text for a json one.
  value: boolean | string
  type: PreferenceType
  help: string
}

export type PreferenceOrdering = 'id' | '-id' | 'name' | '-name' | 'section' | '-section'

export interface PreferenceFilter {
  search?: string
  section?: string
  // `section.name` keys.
  keys?: string[]
  ordering?: PreferenceOrdering
}

// A definition in the registry preference is checked against the very schema of
// POST /api/v2/custom_field/, so both doors accept exactly the same definitions.
const definitionShape = new Ajv({ allErrors: false }).compile<CustomFieldCreateRequest>(CustomFieldCreateRequest)

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

// '/type_options/0' under 'x.plan' → 'x.plan.type_options[0]'; '/name' is the key itself.
function shapeProblem (field: string, issue: ErrorObject | undefined): InvalidInput {
  if (issue?.keyword === 'additionalProperties') {
    const unknown = `${field}.${String(issue.params.additionalProperty)}`
    return new InvalidInput('unknown_field', unknown, `${unknown} is not a setting of a custom field`)
  }
  const instancePath = issue?.instancePath ?? ''
  const path = instancePath === '/name'
    ? field
    : instancePath.split('/').slice(1).reduce((at, segment) => /^\d+$/.test(segment) ? `${at}[${segment}]` : `${at}.${segment}`, field)
  return new InvalidInput('invalid_field', path, `${path} ${issue?.message ?? 'is invalid'}`)
}

// A json preference's value: JSON text, or the JSON value itself.
function jsonValue (key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value
  try {
    return JSON.parse(value)
  } catch {
    throw new InvalidInput('invalid_field', key, `${key} must be JSON text or a JSON object`)
  }
}

// Runs `check`, naming the fields of its errors as parts of `prefix`.
function within<T> (prefix: string, check: () => T): T {
  try {
    return check()
  } catch (error) {
    if (!(error instanceof InvalidInput)) throw error
    // A definition's own name is the key it is given under.
    const field = error.field === undefined || error.field === 'name' ? prefix : `${prefix}.${error.field}`
    throw new InvalidInput(error.code, field, `${prefix}: ${error.message}`)
  }
}

// The registry as the preference's value: definitions keyed by name, in the terms of
// POST /api/v2/custom_field/.
function registryText (definitions: CustomFieldDefinition[]): string {
  return JSON.stringify(Object.fromEntries(definitions.map((definition) => [definition.name, customFieldSettingsBody(definition)])))
}

function compareBy (ordering: PreferenceOrdering): (a: StoredPreference, b: StoredPreference) => number {
  const direction = ordering.startsWith('-') ? -1 : 1
  const column = ordering.replace('-', '') as 'id' | 'name' | 'section'
  return (a, b) => direction * (a[column] < b[column] ? -1 : a[column] > b[column] ? 1 : a.id - b.id)
}

// SelfCommunity's dynamic preferences and features: the switches of registration.
export class PreferenceService {
  constructor (
    private readonly repository: PreferenceRepository,
    private readonly customFields: CustomFieldRegistry
  ) {}

  // The preferences are a handful of rows the migrations define, so they are filtered here,
  // where a comparison means the same on every database.
  async list (filter: PreferenceFilter): Promise<Preference[]> {
    const search = filter.search?.toLowerCase()
    const matching = (await this.repository.list()).filter((preference) =>
      (search === undefined || preference.name.toLowerCase().includes(search) || preference.help.toLowerCase().includes(search)) &&
      (filter.section === undefined || preference.section === filter.section) &&
      (filter.keys === undefined || filter.keys.includes(`${preference.section}.${preference.name}`)))
    return await this.represent(matching.sort(compareBy(filter.ordering ?? 'id')))
  }

  async get (id: number): Promise<Preference> {
    const preference = await this.repository.findById(id)
    if (preference === undefined) throw new NotFound(`Preference ${id} not found`)
    const [represented] = await this.represent([preference])
    return represented as Preference
  }

  // Changes the preferences keyed in `values` by `section.name` or `name`, all or none: every
  // key and value is checked before the one transaction that makes the change.
  async change (values: Record<string, unknown>): Promise<Preference[]> {
    const preferences = await this.repository.list()
    const keyOf = new Map<number, string>()
    const change: PreferenceChange = { values: [] }
    for (const [key, value] of Object.entries(values)) {
      const preference = preferences.find(({ section, name }) => key === `${section}.${name}` || key === name)
      if (preference === undefined) throw new InvalidInput('unknown_field', key, `${key} is not a preference`)
      const earlier = keyOf.get(preference.id)
      if (earlier !== undefined) throw new InvalidInput('duplicate_field', key, `${key} is the same preference as ${earlier}`)
      keyOf.set(preference.id, key)
      if (preference.type === 'boolean') {
        if (typeof value !== 'boolean') throw new InvalidInput('invalid_field', key, `${key} must be true or false`)
        change.values.push({ id: preference.id, value: JSON.stringify(value) })
      } else if (preference.name === REGISTRY_PREFERENCE) {
        const wanted = this.wantedDefinitions(key, jsonValue(key, value))
        change.registry = (current) => within(key, () => this.customFields.planReplacement(wanted, current))
      } else {
        const json = jsonValue(key, value)
        const problem = jsonValueProblem(json)
        if (problem !== undefined) throw new InvalidInput('invalid_field', key, `${key} ${problem}`)
        change.values.push({ id: preference.id, value: JSON.stringify(json) })
      }
    }
    await this.repository.change(change, new Date())
    const changed = await this.repository.list()
    return await this.represent([...keyOf.keys()].map((id) => changed.find((preference) => preference.id === id) as StoredPreference))
  }

  async listFeatures (options: { all: boolean }): Promise<StoredFeature[]> {
    return await this.repository.listFeatures(options)
  }

  async switchFeature (name: string, enabled: boolean): Promise<StoredFeature> {
    const feature = await this.repository.switchFeature(name, enabled)
    if (feature === undefined) throw new NotFound(`Feature ${name} not found`)
    return feature
  }

  private async represent (preferences: StoredPreference[]): Promise<Preference[]> {
    const registry = preferences.some(({ name }) => name === REGISTRY_PREFERENCE) ? registryText(await this.customFields.list()) : ''
    return preferences.map(({ id, section, name, type, value, help }) => ({
      id,
      section,
      name,
      value: name === REGISTRY_PREFERENCE ? registry : type === 'boolean' ? value === 'true' : value ?? 'null',
      type,
      help
    }))
  }

  // The definitions the registry preference `key` gives, each checked as on
  // POST /api/v2/custom_field/. Null settings (as the preference reads back) are absent ones,
  // and a missing label is the name.
  private wantedDefinitions (key: string, value: unknown): NewCustomFieldDefinition[] {
    if (!isPlainObject(value)) throw new InvalidInput('invalid_field', key, `${key} must be an object keyed by field name`)
    return Object.entries(value).map(([name, given]) => {
      const field = `${key}.${name}`
      if (!isPlainObject(given)) throw new InvalidInput('invalid_field', field, `${field} must be an object`)
      if (Object.hasOwn(given, 'name')) {
        throw new InvalidInput('unknown_field', `${field}.name`, `${field}.name is not a setting: the name is the key`)
      }
      const input = { label: name, ...Object.fromEntries(Object.entries(given).filter(([, setting]) => setting !== null)), name }
      if (!definitionShape(input)) throw shapeProblem(field, definitionShape.errors?.[0])
      const { label, type, type_options: typeOptions, mandatory, min_length: minLength, max_length: maxLength, default: defaultValue, public: isPublic } = input
      return within(field, () => this.customFields.checkNewDefinition({
        name, label, type, typeOptions, mandatory, minLength, maxLength, defaultValue, public: isPublic
      }))
    })
  }
}
