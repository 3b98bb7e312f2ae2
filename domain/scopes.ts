// The scopes of an access token (SelfCommunity's `read write`): `read` lets it call the operations
// that change nothing, `write` the others; the contract names each operation's scope. A token never
// has more than its principal may hold, and its scope can only narrow.
export const SCOPES = ['read', 'write'] as const
export type Scope = typeof SCOPES[number]

export const ALL_SCOPES: readonly string[] = SCOPES

// The scopes of a space-separated scope string (RFC 6749 §3.3), each once, in the order of SCOPES;
// undefined when it names a scope that does not exist.
export function parseScope (text: string): string[] | undefined {
  const names = text.split(' ').filter((name) => name !== '')
  if (names.some((name) => !ALL_SCOPES.includes(name))) return undefined
  return ALL_SCOPES.filter((scope) => names.includes(scope))
}

export function formatScope (scopes: readonly string[]): string {
  return ALL_SCOPES.filter((scope) => scopes.includes(scope)).join(' ')
}
