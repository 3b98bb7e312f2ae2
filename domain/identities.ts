import { InvalidInput } from './errors.js'

// The provider of a platform's own ids (SelfCommunity's name for a provider it does not certify).
export const EXTERNAL_PROVIDER = 'external'

// An id by which another system (the provider) knows a user.
export interface UserIdentity {
  userId: number
  provider: string
  extId: string
  profileUrl: string | null
  metadata: Record<string, unknown> | null
  showInProfile: boolean
}

const EXT_ID_MAX_LENGTH = 255
const METADATA_MAX_BYTES = 4096
// An `external` id is the v2 User's ext_id, a JSON number: digits that stay exact.
const EXTERNAL_ID = /^[0-9]{1,15}$/

// The ext_id as stored: a text; for `external`, a number's digits without leading zeros (given as
// a number or as digits).
export function checkExtId (provider: string, extId: string | number, field = 'ext_id'): string {
  const text = typeof extId === 'number' ? (Number.isSafeInteger(extId) && extId >= 0 ? String(extId) : '') : extId
  if (provider === EXTERNAL_PROVIDER && !EXTERNAL_ID.test(text)) {
    throw new InvalidInput('invalid_field', field, `${field} of the provider external must be a whole number of at most 15 digits`)
  }
  if (text === '' || text.length > EXT_ID_MAX_LENGTH) throw new InvalidInput('invalid_field', field, `${field} must be 1 to ${EXT_ID_MAX_LENGTH} characters`)
  // One number, one id: 0042 is 42.
  return provider === EXTERNAL_PROVIDER ? String(Number(text)) : text
}

// An external id as the v2 User shows it.
export function externalIdNumber (extId: string | null | undefined): number | null {
  return extId === null || extId === undefined ? null : Number(extId)
}

// The association's own rules (SelfCommunity's): a profile and its showing are for certified
// providers, metadata for `external`.
export function checkIdentity (identity: UserIdentity): UserIdentity {
  const external = identity.provider === EXTERNAL_PROVIDER
  if (external && identity.profileUrl !== null) throw new InvalidInput('invalid_field', 'profile_url', 'profile_url is not for the provider external')
  if (external && identity.showInProfile) throw new InvalidInput('invalid_field', 'show_in_profile', 'show_in_profile is not for the provider external')
  if (!external && identity.metadata !== null) throw new InvalidInput('invalid_field', 'metadata', 'metadata is only for the provider external')
  if (identity.metadata !== null && Buffer.byteLength(JSON.stringify(identity.metadata)) > METADATA_MAX_BYTES) {
    throw new InvalidInput('invalid_field', 'metadata', `metadata must be at most ${METADATA_MAX_BYTES} bytes of JSON`)
  }
  return identity
}
