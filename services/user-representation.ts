import type { StoredUser } from '../repositories/account-repository.js'
import type { User } from '../schemas/components.js'
import { externalIdNumber } from '../domain/identities.js'

// A user as the v2 contract shows it: SelfCommunity's field names and defaults (an empty text,
// gender Unspecified), custom fields as top-level keys (first, so a standard field always wins
// over a custom one of the same name).
export function userRepresentation (user: StoredUser): User {
  return {
    ...user.customFields,
    id: user.id,
    ext_id: externalIdNumber(user.extId),
    username: user.username,
    real_name: user.realName,
    bio: user.bio ?? '',
    location: user.location ?? '',
    date_of_birth: user.dateOfBirth,
    description: user.description ?? '',
    gender: user.gender ?? 'Unspecified',
    website: user.website ?? '',
    email: user.email,
    email_isvalid: user.emailIsValid,
    date_joined: user.dateJoined,
    status: user.status,
    roles: user.roles
  }
}
