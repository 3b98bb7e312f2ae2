import { BlockList, isIP } from 'node:net'

// Where no webhook goes unless WEBHOOK_ALLOWED_HOSTS opens it: this host, private networks,
// link-local addresses (where cloud metadata services answer), CGNAT, and the unspecified,
// multicast and reserved ranges. Checked when an endpoint is saved and again for the address each
// connection is made to, so a name that later resolves elsewhere (DNS rebinding) reaches none.
const REFUSED_RANGES: ReadonlyArray<readonly [string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 3, 'ipv4'],
  // The unspecified address, loopback and the deprecated IPv4-compatible ::a.b.c.d.
  ['::', 96, 'ipv6'],
  // NAT64 (well-known and local-use) and 6to4 embed IPv4 addresses, private ones too.
  ['64:ff9b::', 96, 'ipv6'],
  ['64:ff9b:1::', 48, 'ipv6'],
  ['2002::', 16, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['fec0::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6']
]

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i

function blockListOf (ranges: ReadonlyArray<readonly [string, number, 'ipv4' | 'ipv6']>): BlockList {
  const list = new BlockList()
  for (const [network, prefix, type] of ranges) list.addSubnet(network, prefix, type)
  return list
}

// An address as the lists compare it: an IPv4 address mapped into IPv6 is the IPv4 address.
function comparable (address: string): { address: string, type: 'ipv4' | 'ipv6' } {
  const mapped = IPV4_MAPPED.exec(address)?.[1]
  if (mapped !== undefined) return { address: mapped, type: 'ipv4' }
  return { address, type: isIP(address) === 6 ? 'ipv6' : 'ipv4' }
}

// WEBHOOK_ALLOWED_HOSTS' entries: host names (any case), addresses, and CIDR ranges. Throws on an
// entry that is none of them, naming it.
export function parseAllowedHosts (list: string): string[] {
  const entries = list.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  for (const entry of entries) {
    const [address, prefix, extra] = entry.split('/')
    const valid = prefix === undefined
      ? isIP(entry) !== 0 || /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(entry)
      : extra === undefined && isIP(address ?? '') !== 0 && /^\d{1,3}$/.test(prefix) && Number(prefix) <= (isIP(address ?? '') === 4 ? 32 : 128)
    if (!valid) throw new Error(`${entry} is neither a host name, an address nor a CIDR range`)
  }
  return entries.map((entry) => entry.toLowerCase())
}

// Which webhook targets may be reached: every public address, and what WEBHOOK_ALLOWED_HOSTS opens.
export class WebhookTargetPolicy {
  private readonly refused = blockListOf(REFUSED_RANGES)
  private readonly allowedAddresses = new BlockList()
  private readonly allowedNames = new Set<string>()

  constructor (allowedHosts: readonly string[]) {
    for (const entry of allowedHosts) {
      const [address, prefix] = entry.split('/') as [string, string | undefined]
      const type = isIP(address) === 6 ? 'ipv6' : 'ipv4'
      if (isIP(address) === 0) this.allowedNames.add(entry.toLowerCase())
      else if (prefix === undefined) this.allowedAddresses.addAddress(address, type)
      else this.allowedAddresses.addSubnet(address, Number(prefix), type)
    }
  }

  // Why the URL cannot be a target (an http or https URL without credentials), or undefined.
  problemWithUrl (target: string): string | undefined {
    let url: URL
    try {
      url = new URL(target)
    } catch {
      return 'target must be an absolute http or https URL'
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'target must be an http or https URL'
    if (url.username !== '' || url.password !== '') return 'target must not carry credentials'
    const host = hostOf(url)
    if (isIP(host) !== 0 && !this.mayConnectTo(host)) return `target's address ${host} is not allowed (a private, loopback or link-local address)`
    return undefined
  }

  // Whether a host name is opened by name, whatever it resolves to.
  isAllowedName (hostname: string): boolean {
    return this.allowedNames.has(hostname.toLowerCase())
  }

  // Whether a connection may be made to this address.
  mayConnectTo (address: string): boolean {
    const { address: compared, type } = comparable(address)
    return this.allowedAddresses.check(compared, type) || !this.refused.check(compared, type)
  }
}

// The URL's host as an address or a name: without IPv6's brackets.
export function hostOf (url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1')
}
