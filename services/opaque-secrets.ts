// The random secrets the service hands out once and keeps only as hashes: service-client secrets,
// refresh tokens, personal access tokens and the codes of its mails. Each is 256 random bits, so a fast hash is as safe as a slow one here, and
// service calls are not held up by bcrypt. Prefixes tell the kinds apart (and help secret scanners).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

// `cl_` and 24 base32 characters (120 bits): an identifier, not a secret.
export function newClientId (): string {
  return `cl_${[...randomBytes(24)].map((byte) => BASE32[byte & 31] as string).join('')}`
}

export function newClientSecret (): string {
  return `cs_${randomBytes(32).toString('base64url')}`
}

export function newRefreshToken (): string {
  return `rt_${randomBytes(32).toString('base64url')}`
}

// 256 random bits, URL-safe: it travels in a mail's link.
export function newAccountCode (): string {
  return randomBytes(32).toString('base64url')
}

export function isRefreshTokenForm (token: string): boolean {
  return token.startsWith('rt_')
}

export function newPersonalAccessToken (): string {
  return `pat_${randomBytes(32).toString('base64url')}`
}

export function isPersonalAccessTokenForm (token: string): boolean {
  return token.startsWith('pat_')
}

// HMAC-SHA-256 keyed by the client_id: a hash is only ever good for its own client.
export function clientSecretHash (clientId: string, secret: string): string {
  return createHmac('sha256', clientId).update(secret, 'utf8').digest('hex')
}

// SHA-256 of a refresh token or a mailed code, as stored.
export function opaqueSecretDigest (secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}

// Compares two hex digests in constant time.
export function sameDigest (expected: string, actual: string): boolean {
  const a = Buffer.from(expected, 'hex')
  const b = Buffer.from(actual, 'hex')
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b)
}
