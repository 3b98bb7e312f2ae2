import { Ajv, type ErrorObject } from 'ajv'
import type { CustomFieldValue } from '../domain/accounts.js'
import type { CustomFieldDefinition, NewCustomFieldDefinition } from '../repositories/custom-field-repository.js'
import { CustomFieldCreateRequest } from '../schemas/components.js'
import type { CustomFieldRegistry } from './custom-fields.js'
import { InvalidInput } from '../domain/errors.js'

// Rocket.Chat's `Accounts_CustomFields` setting: JSON text of an object keyed by field name, each
// value a field's settings in Rocket.Chat's terms. It is another view of our registry, not a second one.
interface RocketChatField {
  type?: 'text' | 'select'
  required?: boolean
  minLength?: number
  maxLength?: number
  options?: string[]
  defaultValue?: CustomFieldValue
  public?: boolean
}

// Our name of each of Rocket.Chat's settings.
const OUR_SETTINGS: Record<keyof RocketChatField, string> = {
  type: 'type',
  required: 'mandatory',
  minLength: 'min_length',
  maxLength: 'max_length',
  options: 'type_options',
  defaultValue: 'default',
  public: 'public'
}
const ROCKET_CHAT_SETTINGS = new Map(Object.entries(OUR_SETTINGS).map(([theirs, ours]) => [ours, theirs]))

// Rocket.Chat's settings are checked with the very schemas of ours, so both doors accept the same.
const ours = CustomFieldCreateRequest.properties
const ajv = new Ajv({ allErrors: false })
const fieldShape = ajv.compile<RocketChatField>({
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { enum: ['text', 'select'] },
    required: ours.mandatory,
    minLength: ours.min_length,
    maxLength: ours.max_length,
    options: ours.type_options,
    defaultValue: ours.default,
    public: ours.public
  }
})
const nameShape = ajv.compile<string>(ours.name)

// Errors below name their field from the field's name on ('twitter.options[1]'); the setting
// itself is `value`, which replaceCustomFieldsSetting puts in front.
function shapeProblem (name: string, issue: ErrorObject | undefined): InvalidInput {
  if (issue?.keyword === 'additionalProperties') {
    const field = `${name}.${String(issue.params.additionalProperty)}`
    return new InvalidInput('invalid_field', field, `${field} is not a setting of a custom field; the settings are ${Object.keys(OUR_SETTINGS).join(', ')}`)
  }
  const field = (issue?.instancePath ?? '').split('/').slice(1)
    .reduce((at, segment) => /^\d+$/.test(segment) ? `${at}[${segment}]` : `${at}.${segment}`, name)
  const problem = issue?.keyword === 'enum' ? `must be one of: ${(issue.params.allowedValues as string[]).join(', ')}` : issue?.message ?? 'is invalid'
  return new InvalidInput('invalid_field', field, `${field} ${problem}`)
}

function checkedField (name: string, settings: unknown): RocketChatField {
  if (!nameShape(name)) {
    throw new InvalidInput('invalid_field', name, `${name} is not a valid field name: lower case letters, digits and _, starting with a letter, at most 64 characters`)
  }
  if (!fieldShape(settings)) throw shapeProblem(name, fieldShape.errors?.[0])
  const select = settings.type === 'select'
  if (select !== (settings.options !== undefined)) {
    throw new InvalidInput('invalid_field', `${name}.options`, select ? `${name} is a select field and needs options` : `${name} is a text field and has no options`)
  }
  return settings
}

// The setting's value, given as JSON text or as the object itself.
function givenFields (value: unknown): Record<string, unknown> {
  let parsed = value
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value)
    } catch {
      throw new InvalidInput('invalid_field', 'value', 'value is not valid JSON')
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidInput('invalid_field', 'value', 'value must be an object keyed by field name')
  }
  return parsed as Record<string, unknown>
}

// Our setting names in `text` → Rocket.Chat's: 'type_options[1]' → 'options[1]', 'min_length
// must not be greater than max_length' → 'minLength ... maxLength'. After a colon come values,
// which are left as they are.
function inRocketChatTerms (text: string): string {
  const end = text.includes(':') ? text.indexOf(':') : text.length
  return text.slice(0, end).replace(/[a-z]+(_[a-z]+)*/g, (word) => ROCKET_CHAT_SETTINGS.get(word) ?? word) + text.slice(end)
}

// Our definition of Rocket.Chat's field `name`, checked as any new definition is. What Rocket.Chat
// cannot express stays as it is: the label (a new field's is its name), and the type of a field
// shown as `text` whose type Rocket.Chat has not (`integer`, `url`, ...), so a value read can be
// written back.
function definitionOf (registry: CustomFieldRegistry, name: string, field: RocketChatField, current: CustomFieldDefinition[]): NewCustomFieldDefinition {
  const existing = current.find((definition) => definition.name === name)
  const keptType = existing !== undefined && existing.type !== 'enum' ? existing.type : 'string'
  try {
    return registry.checkNewDefinition({
      name,
      label: existing?.label ?? name,
      type: field.type === 'select' ? 'enum' : keptType,
      typeOptions: field.options,
      mandatory: field.required,
      minLength: field.minLength,
      maxLength: field.maxLength,
      defaultValue: field.defaultValue,
      public: field.public
    })
  } catch (error) {
    if (!(error instanceof InvalidInput)) throw error
    const setting = error.field === undefined || error.field === 'name' ? '' : `.${inRocketChatTerms(error.field)}`
    throw new InvalidInput(error.code, `${name}${setting}`, `${name}: ${inRocketChatTerms(error.message)}`)
  }
}

function rocketChatField (definition: CustomFieldDefinition): RocketChatField {
  return {
    type: definition.type === 'enum' ? 'select' : 'text',
    required: definition.mandatory,
    ...(definition.minLength !== null ? { minLength: definition.minLength } : {}),
    ...(definition.maxLength !== null ? { maxLength: definition.maxLength } : {}),
    ...(definition.typeOptions !== null ? { options: definition.typeOptions } : {}),
    ...(definition.defaultValue !== null ? { defaultValue: definition.defaultValue } : {}),
    public: definition.public
  }
}

// The registry as the setting's JSON text.
export async function readCustomFieldsSetting (registry: CustomFieldRegistry): Promise<string> {
  const definitions = await registry.list()
  return JSON.stringify(Object.fromEntries(definitions.map((definition) => [definition.name, rocketChatField(definition)])))
}

// Replaces the whole registry with the fields of the setting's value: all of them or, when one
// is refused, none.
export async function replaceCustomFieldsSetting (registry: CustomFieldRegistry, value: unknown): Promise<void> {
  const given = givenFields(value)
  try {
    const fields = Object.entries(given).map(([name, settings]) => [name, checkedField(name, settings)] as const)
    await registry.replace((current) => fields.map(([name, field]) => definitionOf(registry, name, field, current)))
  } catch (error) {
    if (!(error instanceof InvalidInput)) throw error
    throw new InvalidInput(error.code, error.field === undefined ? 'value' : `value.${error.field}`, error.message)
  }
}
