import { InvalidInput } from './errors.js'
import { EMAIL_MAX_LENGTH, USERNAME_PATTERN, characterCount, isHttpUrl, isValidEmail } from './formats.js'

// What an account is, and the rules every door into account creation shares.
export const REAL_NAME_MAX_LENGTH = 255

// What Rocket.Chat's users.create can say about a new account (v1); v2 leaves each at its default.
export interface AccountFlags {
  // Whether the user can log in (else the account is stored blocked). Default true.
  active: boolean
  emailVerified: boolean
  requirePasswordChange: boolean
  // Acted on by other services, through the user.created event. Default false and true.
  sendWelcomeEmail: boolean
  joinDefaultChannels: boolean
}

// A custom field's stored value.
export type CustomFieldValue = string | number

export interface Profile {
  bio?: string
  nickname?: string
  statusText?: string
}

// The profile of a user: SelfCommunity's User fields that belong to an account, and Rocket.Chat's
// nickname and status text. Null is not set (for gender, SelfCommunity's Unspecified).
export interface ProfileFields {
  bio: string | null
  location: string | null
  dateOfBirth: string | null
  description: string | null
  gender: Gender | null
  website: string | null
  nickname: string | null
  statusText: string | null
}

export type ProfileField = keyof ProfileFields

export const GENDERS = ['Male', 'Female'] as const
export type Gender = typeof GENDERS[number]

// The name of each field in requests and errors, and its longest value in characters.
export const PROFILE_FIELD_RULES: Record<ProfileField, { name: string, maxLength: number }> = {
  bio: { name: 'bio', maxLength: 260 },
  location: { name: 'location', maxLength: 100 },
  dateOfBirth: { name: 'date_of_birth', maxLength: 10 },
  description: { name: 'description', maxLength: 50 },
  gender: { name: 'gender', maxLength: 11 },
  website: { name: 'website', maxLength: 200 },
  nickname: { name: 'nickname', maxLength: 120 },
  statusText: { name: 'statusText', maxLength: 120 }
}

// The fields of SelfCommunity's User, which PUT /api/v2/user/{id}/ replaces; nickname and
// statusText are Rocket.Chat's only.
export const SELFCOMMUNITY_PROFILE_FIELDS: readonly ProfileField[] = ['bio', 'location', 'dateOfBirth', 'description', 'gender', 'website']

// No one alive was born before this.
const EARLIEST_BIRTH_DATE = '1900-01-01'
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/

// Why `value` is no value of the profile field, or undefined when it is one.
function profileValueProblem (field: ProfileField, value: string, today: string): string | undefined {
  const { maxLength } = PROFILE_FIELD_RULES[field]
  if (characterCount(value) > maxLength) return `must be at most ${maxLength} characters long`
  switch (field) {
    case 'gender':
      return (GENDERS as readonly string[]).includes(value) ? undefined : 'must be Male, Female or Unspecified'
    case 'website':
      return isHttpUrl(value) ? undefined : 'must be an http or https URL'
    case 'dateOfBirth': {
      const date = new Date(`${value}T00:00:00Z`)
      if (!DATE_PATTERN.test(value) || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) return 'must be a date, YYYY-MM-DD'
      return value < EARLIEST_BIRTH_DATE || value > today ? `must be between ${EARLIEST_BIRTH_DATE} and today` : undefined
    }
    default:
      return undefined
  }
}

// The value to store for a profile field as given: null or an empty text clears it, as does
// gender Unspecified (its default). Refuses a value that breaks the field's rule, naming it.
export function profileValue (field: ProfileField, value: string | null, at: Date): string | null {
  if (value === null || value === '' || (field === 'gender' && value === 'Unspecified')) return null
  const problem = profileValueProblem(field, value, at.toISOString().slice(0, 10))
  if (problem !== undefined) {
    const { name } = PROFILE_FIELD_RULES[field]
    throw new InvalidInput('invalid_field', name, `${name} ${problem}`)
  }
  return value
}

export function checkUsername (username: string): void {
  if (!USERNAME_PATTERN.test(username)) {
    throw new InvalidInput('invalid_field', 'username', 'username must be 1 to 255 letters, digits, "_" or "-"')
  }
}

// An email address as an account may have it, given as `field`.
export function checkEmail (email: string, field = 'email'): void {
  if (!isValidEmail(email)) {
    throw new InvalidInput('invalid_field', field, `${field} must be a valid address of at most ${EMAIL_MAX_LENGTH} characters`)
  }
}

// The rules of a username and an email, wherever an account comes from (a request, or the
// configured first admin).
export function checkUsernameAndEmail (username: string, email: string): void {
  checkUsername(username)
  checkEmail(email)
}
