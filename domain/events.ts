// Every type of event this service writes to its outbox, which webhook endpoints subscribe to.
// An event of a type missing here cannot be written (AccountWriter.enqueueEvent takes only these),
// so the list endpoints are offered is always the whole of what is sent.
export const EVENT_TYPES = [
  'user.created',
  'user.updated',
  'user.email_changed',
  'user.email_verified',
  'user.password_changed',
  'user.blocked',
  'user.unblocked',
  'user.deleted',
  'user.roles_changed'
] as const

export type EventType = typeof EVENT_TYPES[number]

export function isEventType (type: string): type is EventType {
  return (EVENT_TYPES as readonly string[]).includes(type)
}
