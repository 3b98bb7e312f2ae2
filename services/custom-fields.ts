import { isDeepStrictEqual } from 'node:util'
import type { CustomFieldValue } from '../domain/accounts.js'
import type {
  CustomFieldDefinition, CustomFieldRepository, CustomFieldSettings, CustomFieldType, NewCustomFieldDefinition,
  RegistryReplacement
} from '../repositories/custom-field-repository.js'
import { InvalidCustomField, InvalidInput, NotFound } from '../domain/errors.js'
import { characterCount, isHttpUrl, isValidEmail } from '../domain/formats.js'

export interface NewCustomField {
  name: string
  label: string
  type?: CustomFieldType
  typeOptions?: string[]
  mandatory?: boolean
  minLength?: number
  maxLength?: number
  defaultValue?: CustomFieldValue
  public?: boolean
}

export type CustomFieldChanges = Partial<CustomFieldSettings>

export interface ValidatedCustomValue {
  fieldId: number
  name: string
  value: CustomFieldValue
}

// A definition's settings under the names the contract gives them, as the custom_field
// endpoints and the user_metadata_definition preference both show them.
export interface CustomFieldSettingsBody {
  label: string
  type: CustomFieldType
  type_options: string[] | null
  mandatory: boolean
  min_length: number | null
  max_length: number | null
  default: CustomFieldValue | null
  public: boolean
}

export function customFieldSettingsBody (definition: CustomFieldDefinition): CustomFieldSettingsBody {
  return {
    label: definition.label,
    type: definition.type,
    type_options: definition.typeOptions,
    mandatory: definition.mandatory,
    min_length: definition.minLength,
    max_length: definition.maxLength,
    default: definition.defaultValue,
    public: definition.public
  }
}

export interface CustomFieldChangeSet {
  values: ValidatedCustomValue[]
  removedFieldIds: number[]
}

const PHONE_NUMBER = /^\+[1-9][0-9]{6,14}$/
// The longest text value of a field without max_length (the largest max_length allowed).
export const TEXT_VALUE_MAX_LENGTH = 10000
const TEXT_TYPES: CustomFieldType[] = ['string', 'phone_number', 'enum', 'url', 'email']

// Why `value` is not a valid value of the field, or undefined when it is.
function valueProblem (definition: Omit<CustomFieldDefinition, 'id' | 'createdAt' | 'updatedAt'>, value: unknown): string | undefined {
  if (definition.type === 'integer') {
    return Number.isSafeInteger(value) ? undefined : 'must be an integer'
  }
  if (typeof value !== 'string') return 'must be a string'
  const length = characterCount(value)
  const maxLength = definition.maxLength ?? TEXT_VALUE_MAX_LENGTH
  if (definition.minLength !== null && length < definition.minLength) return `must be at least ${definition.minLength} characters long`
  if (length > maxLength) return `must be at most ${maxLength} characters long`
  switch (definition.type) {
    case 'phone_number':
      return PHONE_NUMBER.test(value) ? undefined : 'must be a phone number in international format, such as +391234567890'
    case 'enum':
      return definition.typeOptions?.includes(value) === true ? undefined : `must be one of: ${definition.typeOptions?.join(', ') ?? ''}`
    case 'url':
      return isHttpUrl(value) ? undefined : 'must be an http or https URL'
    case 'email':
      return isValidEmail(value) ? undefined : 'must be an email address'
    default:
      return undefined
  }
}

// The registry of custom user fields. Definitions are data in the database, read on every use,
// so a change made through one instance is enforced by every instance at once.
export class CustomFieldRegistry {
  constructor (
    private readonly repository: CustomFieldRepository,
    // Body keys that belong to the standard fields of an account or a user.
    private readonly reservedNames: ReadonlySet<string>
  ) {}

  // Whether `name` is a standard field of an account or a user, and so never a custom field.
  isStandardField (name: string): boolean {
    return this.reservedNames.has(name)
  }

  async list (): Promise<CustomFieldDefinition[]> {
    return await this.repository.list()
  }

  // The names of the fields every user may see.
  async publicFieldNames (): Promise<ReadonlySet<string>> {
    return new Set((await this.repository.list()).filter((definition) => definition.public).map((definition) => definition.name))
  }

  async get (id: number): Promise<CustomFieldDefinition> {
    const definition = await this.repository.findById(id)
    if (definition === undefined) throw new NotFound(`Custom field ${id} not found`)
    return definition
  }

  async define (input: NewCustomField): Promise<CustomFieldDefinition> {
    return await this.get(await this.repository.insert(this.checkNewDefinition(input), new Date()))
  }

  // The definition `define` would store for `input`, checked the same way.
  checkNewDefinition (input: NewCustomField): NewCustomFieldDefinition {
    if (this.reservedNames.has(input.name)) {
      throw new InvalidInput('reserved_name', 'name', `${input.name} is a standard field of an account and cannot be a custom field`)
    }
    const definition = {
      name: input.name,
      type: input.type ?? 'string',
      label: input.label,
      typeOptions: input.typeOptions ?? null,
      mandatory: input.mandatory ?? false,
      minLength: input.minLength ?? null,
      maxLength: input.maxLength ?? null,
      defaultValue: input.defaultValue ?? null,
      public: input.public ?? false
    }
    checkDefinition(definition)
    return definition
  }

  // What replacing the registry `current` with `wanted` (each checked by checkNewDefinition)
  // does: new names are added, changed settings written, names not wanted removed. A field's
  // type cannot change, since the values stored for it were checked against that type.
  planReplacement (wanted: NewCustomFieldDefinition[], current: CustomFieldDefinition[]): RegistryReplacement {
    const replacement: RegistryReplacement = { added: [], changed: [], removedIds: [] }
    for (const definition of wanted) {
      const existing = current.find((candidate) => candidate.name === definition.name)
      if (existing === undefined) {
        replacement.added.push(definition)
        continue
      }
      if (existing.type !== definition.type) {
        throw new InvalidInput('invalid_field', `${definition.name}.type`, `the type of ${definition.name} is ${existing.type} and cannot change`)
      }
      const { name, type, ...settings } = definition
      if (!isDeepStrictEqual(settings, settingsOf(existing))) replacement.changed.push({ id: existing.id, settings })
    }
    for (const existing of current) {
      if (!wanted.some((definition) => definition.name === existing.name)) replacement.removedIds.push(existing.id)
    }
    return replacement
  }

  // Replaces the whole registry, in one transaction, with the definitions `wanted` makes of the
  // current ones (each checked by checkNewDefinition), as planReplacement plans it.
  async replace (wanted: (current: CustomFieldDefinition[]) => NewCustomFieldDefinition[]): Promise<void> {
    await this.repository.replace((current) => this.planReplacement(wanted(current), current), new Date())
  }

  // Applies the changes given (undefined keeps a setting, null clears it) to the definition as
  // it is when the change is written, so concurrent changes cannot combine into an invalid one.
  async change (id: number, changes: CustomFieldChanges): Promise<CustomFieldDefinition> {
    const given = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) as CustomFieldChanges
    const found = await this.repository.update(id, (current) => {
      const changed = { ...current, ...given }
      checkDefinition(changed)
      return changed
    }, new Date())
    if (!found) throw new NotFound(`Custom field ${id} not found`)
    return await this.get(id)
  }

  async remove (id: number): Promise<void> {
    if (!await this.repository.delete(id, new Date())) throw new NotFound(`Custom field ${id} not found`)
  }

  // Checks the custom-field part of an account against the current definitions.
  async validateValues (input: Record<string, unknown>): Promise<ValidatedCustomValue[]> {
    return this.checkValues(input, await this.repository.list())
  }

  // Checks the custom-field part of an account against `definitions`: every key must be
  // defined, every value valid, every mandatory field present (a default counts as present).
  checkValues (input: Record<string, unknown>, definitions: CustomFieldDefinition[]): ValidatedCustomValue[] {
    for (const name of Object.keys(input)) {
      if (!definitions.some((definition) => definition.name === name)) {
        throw new InvalidCustomField('unknown_field', name, `${name} is not a field of an account`)
      }
    }
    const values: ValidatedCustomValue[] = []
    for (const definition of definitions) {
      // Own keys only: a field named like an Object.prototype member (`constructor`) is no
      // different from any other.
      const given = Object.hasOwn(input, definition.name) ? input[definition.name] : undefined
      const value = given === undefined || given === null ? definition.defaultValue : given
      if (value === null) {
        if (definition.mandatory) throw new InvalidCustomField('missing_field', definition.name, `${definition.name} is required`)
        continue
      }
      const problem = valueProblem(definition, value)
      if (problem !== undefined) throw new InvalidCustomField('invalid_field', definition.name, `${definition.name} ${problem}`)
      values.push({ fieldId: definition.id, name: definition.name, value: value as CustomFieldValue })
    }
    return values
  }

  // Checks a change of some custom fields of an existing account against `definitions`: every
  // key must be defined and every value valid; null removes a value, unless the field is
  // mandatory. Fields not given are left as they are.
  checkChanges (input: Record<string, unknown>, definitions: CustomFieldDefinition[]): CustomFieldChangeSet {
    const changes: CustomFieldChangeSet = { values: [], removedFieldIds: [] }
    for (const [name, value] of Object.entries(input)) {
      const definition = definitions.find((candidate) => candidate.name === name)
      if (definition === undefined) throw new InvalidCustomField('unknown_field', name, `${name} is not a field of an account`)
      if (value === null) {
        if (definition.mandatory) throw new InvalidCustomField('missing_field', name, `${name} is required and cannot be removed`)
        changes.removedFieldIds.push(definition.id)
        continue
      }
      const problem = valueProblem(definition, value)
      if (problem !== undefined) throw new InvalidCustomField('invalid_field', name, `${name} ${problem}`)
      changes.values.push({ fieldId: definition.id, name, value: value as CustomFieldValue })
    }
    return changes
  }
}

function settingsOf (definition: CustomFieldDefinition): CustomFieldSettings {
  const { label, typeOptions, mandatory, minLength, maxLength, defaultValue, public: isPublic } = definition
  return { label, typeOptions, mandatory, minLength, maxLength, defaultValue, public: isPublic }
}

function checkDefinition (definition: Omit<CustomFieldDefinition, 'id' | 'createdAt' | 'updatedAt'>): void {
  if (definition.type === 'enum' && definition.typeOptions === null) {
    throw new InvalidInput('invalid_field', 'type_options', 'an enum field needs type_options')
  }
  if (definition.type !== 'enum' && definition.typeOptions !== null) {
    throw new InvalidInput('invalid_field', 'type_options', 'only an enum field has type_options')
  }
  if (!TEXT_TYPES.includes(definition.type) && (definition.minLength !== null || definition.maxLength !== null)) {
    throw new InvalidInput('invalid_field', definition.minLength !== null ? 'min_length' : 'max_length',
      `min_length and max_length apply only to text fields, not to ${definition.type}`)
  }
  if (definition.minLength !== null && definition.maxLength !== null && definition.minLength > definition.maxLength) {
    throw new InvalidInput('invalid_field', 'min_length', 'min_length must not be greater than max_length')
  }
  for (const [index, option] of (definition.typeOptions ?? []).entries()) {
    const problem = valueProblem({ ...definition, type: 'string' }, option)
    if (problem !== undefined) throw new InvalidInput('invalid_field', `type_options[${index}]`, `type_options[${index}] ${problem}`)
  }
  if (definition.defaultValue !== null) {
    const problem = valueProblem(definition, definition.defaultValue)
    if (problem !== undefined) throw new InvalidInput('invalid_field', 'default', `default ${problem}`)
  }
}
