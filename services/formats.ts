import { fullFormats } from 'ajv-formats/dist/formats.js'

export const USERNAME_PATTERN = /^[A-Za-z0-9_-]{1,255}$/
export const EMAIL_MAX_LENGTH = 254

// The same definition of an email address that the request schemas (Ajv's `format: email`) use.
const EMAIL_PATTERN = fullFormats.email as RegExp

export function isValidEmail (value: string): boolean {
  return characterCount(value) <= EMAIL_MAX_LENGTH && EMAIL_PATTERN.test(value)
}

// Lengths count characters (code points), as the request schemas and MySQL do, not UTF-16 units.
export function characterCount (text: string): number {
  return [...text].length
}
