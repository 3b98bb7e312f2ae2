import { dictionary } from '@zxcvbn-ts/language-common'
import { InvalidInput } from './errors.js'
import { characterCount } from './formats.js'

export const PASSWORD_MIN_LENGTH = 8
export const PASSWORD_MAX_LENGTH = 128

const CHARACTER_CLASSES = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/]

// zxcvbn-ts's list of about 49,000 common and breached passwords, compared regardless of case.
let commonPasswords: Set<string> | undefined
function isCommonPassword (password: string): boolean {
  commonPasswords ??= new Set((dictionary['passwords-common'] as string[]).map((entry) => entry.toLowerCase()))
  return commonPasswords.has(password.toLowerCase())
}

// The policy, and none of the passwords `refused` (in production, this repository's examples).
export function checkNewPassword (password: string, username: string, refused: ReadonlySet<string>): void {
  checkPasswordPolicy(password, username)
  if (refused.has(password)) {
    throw new InvalidInput('password_too_common', 'password', 'password is an example from the account-service repository; choose another')
  }
}

// Throws an InvalidInput naming `password` when the password breaks a rule of the policy.
export function checkPasswordPolicy (password: string, username: string): void {
  const length = characterCount(password)
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    throw new InvalidInput('invalid_field', 'password', `password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long`)
  }
  const classes = CHARACTER_CLASSES.filter((pattern) => pattern.test(password)).length
  if (classes < 3) {
    throw new InvalidInput('password_too_weak', 'password',
      'password must contain at least 3 of: lower case letters, upper case letters, digits, special characters')
  }
  if (password.toLowerCase().includes(username.toLowerCase())) {
    throw new InvalidInput('password_contains_username', 'password', 'password must not contain the username')
  }
  if (isCommonPassword(password)) {
    throw new InvalidInput('password_too_common', 'password', 'password is too common; choose another')
  }
}
