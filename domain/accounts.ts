import { InvalidInput } from './errors.js'
import { EMAIL_MAX_LENGTH, USERNAME_PATTERN, isValidEmail } from './formats.js'

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

// The rules of a username and an email, wherever an account comes from (a request, or the
// configured first admin).
export function checkUsernameAndEmail (username: string, email: string): void {
  if (!USERNAME_PATTERN.test(username)) {
    throw new InvalidInput('invalid_field', 'username', 'username must be 1 to 255 letters, digits, "_" or "-"')
  }
  if (!isValidEmail(email)) {
    throw new InvalidInput('invalid_field', 'email', `email must be a valid address of at most ${EMAIL_MAX_LENGTH} characters`)
  }
}
