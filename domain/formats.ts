import { fullFormats } from 'ajv-formats/dist/formats.js'
import { InvalidInput } from './errors.js'

export const USERNAME_PATTERN = /^[A-Za-z0-9_-]{1,255}$/
export const EMAIL_MAX_LENGTH = 254

// The same definition of an email address that the request schemas (Ajv's `format: email`) use.
const EMAIL_PATTERN = fullFormats.email as RegExp

export function isValidEmail (value: string): boolean {
  return characterCount(value) <= EMAIL_MAX_LENGTH && EMAIL_PATTERN.test(value)
}

export function isHttpUrl (value: string): boolean {
  try {
    const url = new URL(value)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== ''
  } catch {
    return false
  }
}

// Lengths count characters (code points), as the request schemas and MySQL do, not UTF-16 units.
export function characterCount (text: string): number {
  return [...text].length
}

// The times a DATETIME column holds on MySQL/MariaDB: years 1000 to 9999.
const EARLIEST_TIME = Date.UTC(1000, 0, 1)
const LATEST_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

// A date-time of a request as a Date. The schema checked its format, not that it names a real
// moment (a leap second does not) nor that the database can store it.
export function storableTime (text: string, field: string): Date {
  const time = Date.parse(text)
  if (Number.isNaN(time) || time < EARLIEST_TIME || time > LATEST_TIME) {
    throw new InvalidInput('invalid_field', field, `${field} must be a date-time between the years 1000 and 9999`)
  }
  return new Date(time)
}

// How deep a free-form JSON value may nest: deep enough for any real use, shallow enough to be
// written back without exhausting the stack.
export const JSON_MAX_DEPTH = 32

// Why a free-form JSON value cannot be stored and returned as given, or undefined when it can:
// nested too deep, or holding a number beyond JSON's range (1e400 parses as Infinity, which
// would come back as null).
export function jsonValueProblem (value: unknown, depth = 0): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'holds a number too large to keep'
  if (value === null || typeof value !== 'object') return undefined
  if (depth === JSON_MAX_DEPTH) return `is nested more than ${JSON_MAX_DEPTH} levels deep`
  for (const item of Object.values(value)) {
    const problem = jsonValueProblem(item, depth + 1)
    if (problem !== undefined) return problem
  }
  return undefined
}
