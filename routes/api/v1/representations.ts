import type { StoredUser } from '../../../repositories/account-repository.js'
import type { RocketChatPublicUser, RocketChatUser } from '../../../schemas/components.js'

// What every user sees of a user, in Rocket.Chat's shape: presence is not tracked here, so the
// status is always offline; `active` is whether the user can log in.
function publicPart (user: StoredUser): RocketChatPublicUser {
  return {
    _id: String(user.id),
    createdAt: user.dateJoined,
    username: user.username,
    type: user.roles.includes('bot') ? 'bot' : 'user',
    status: 'offline',
    active: user.status === 'a',
    name: user.realName,
    ...(user.bio !== null ? { bio: user.bio } : {}),
    ...(user.nickname !== null ? { nickname: user.nickname } : {}),
    ...(user.statusText !== null ? { statusText: user.statusText } : {})
  }
}

function customFieldsPart (values: Record<string, unknown>): { customFields?: Record<string, unknown> } {
  return Object.keys(values).length > 0 ? { customFields: values } : {}
}

// The full view: never `services` nor a password hash, unlike Rocket.Chat's own.
export function rocketChatUser (user: StoredUser): RocketChatUser {
  return {
    ...publicPart(user),
    emails: [{ address: user.email, verified: user.emailIsValid }],
    roles: user.roles,
    _updatedAt: user.updatedAt,
    settings: {},
    requirePasswordChange: user.requirePasswordChange,
    ...customFieldsPart(user.customFields)
  }
}

// The view of users without view-full-other-user-info: only the public custom fields.
export function rocketChatPublicUser (user: StoredUser, publicFields: ReadonlySet<string>): RocketChatPublicUser {
  const values = Object.fromEntries(Object.entries(user.customFields).filter(([name]) => publicFields.has(name)))
  return { ...publicPart(user), ...customFieldsPart(values) }
}
