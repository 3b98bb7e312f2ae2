import { InvalidInput } from '../domain/errors.js'

// Names no one may register: they would pass for the service, its staff or its systems, or
// turn a mention into a broadcast (`@all`, `@here`). Deployments add their own through
// RESERVED_USERNAMES.
export const BUILT_IN_RESERVED_USERNAMES: readonly string[] = [
  'all', 'here', 'everyone', 'channel',
  'admin', 'administrator', 'root', 'system', 'sysadmin', 'superuser', 'owner', 'staff', 'moderator',
  'support', 'help', 'info', 'security', 'abuse', 'postmaster', 'hostmaster', 'webmaster', 'noreply', 'no-reply',
  'null', 'undefined', 'anonymous', 'guest', 'api', 'www', 'bot'
]

// The built-in reserved usernames and the configured ones, compared regardless of case.
export class ReservedUsernames {
  private readonly names: ReadonlySet<string>

  constructor (configured: readonly string[]) {
    this.names = new Set([...BUILT_IN_RESERVED_USERNAMES, ...configured].map((name) => name.toLowerCase()))
  }

  // Usernames are ASCII (USERNAME_PATTERN), so lower-casing is the whole of case folding.
  includes (username: string): boolean {
    return this.names.has(username.toLowerCase())
  }

  // Refuses a reserved username, at creation and at a change alike.
  refuse (username: string): void {
    if (this.includes(username)) throw new InvalidInput('username_reserved', 'username', `${username} is a reserved username`)
  }
}
