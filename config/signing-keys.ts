// The keys that sign and verify access tokens. Asymmetric by default (ES256, or RS256): other
// services verify our tokens with the public keys we publish (/.well-known/jwks.json) and never
// hold anything that could mint one. HS256 with a shared secret remains only as an explicit opt-in.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto'
import { ConfigError } from './secrets.js'

export const TOKEN_ALGORITHMS = ['ES256', 'RS256', 'HS256'] as const
export type TokenAlgorithm = typeof TOKEN_ALGORITHMS[number]
export type AsymmetricAlgorithm = Exclude<TokenAlgorithm, 'HS256'>

export const RSA_MIN_BITS = 2048

// A public key as the JWKS publishes it.
export interface PublicJwk {
  kty: 'EC' | 'RSA'
  kid: string
  alg: AsymmetricAlgorithm
  use: 'sig'
  crv?: string
  x?: string
  y?: string
  n?: string
  e?: string
}

export interface SigningKey {
  // RFC 7638 thumbprint of the public key, so every instance names a key alike without being told.
  kid: string
  algorithm: TokenAlgorithm
  // PEM (PKCS#8 private, SPKI public), or the shared secret itself for HS256.
  signingKey: string
  verificationKey: string
  // Absent for a shared secret, which is never published.
  jwk?: PublicJwk
}

export interface TokenKeys {
  algorithm: TokenAlgorithm
  // The first key signs; every key verifies (an older one until its tokens have expired, a newer
  // one while other services learn it from the JWKS before it signs).
  signing: SigningKey
  all: SigningKey[]
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g

// The private keys in `text` (one PEM block or several), each of the algorithm's kind. `source`
// names where they came from in errors, which never repeat the key.
export function parsePrivateKeys (text: string, algorithm: AsymmetricAlgorithm, source: string): TokenKeys {
  // An environment variable often carries a PEM with its line breaks written as \n.
  const blocks = text.replaceAll('\\n', '\n').match(PEM_BLOCK) ?? []
  if (blocks.length === 0) throw new ConfigError(`Invalid configuration: ${source} holds no PEM private key (such as \`npx account-service keys generate\` prints)`)
  const keys = blocks.map((block, index) => signingKeyOf(block, algorithm, blocks.length === 1 ? source : `${source} (key ${index + 1})`))
  const kids = new Set(keys.map((key) => key.kid))
  if (kids.size !== keys.length) throw new ConfigError(`Invalid configuration: ${source} holds the same key twice`)
  return { algorithm, signing: keys[0] as SigningKey, all: keys }
}

function signingKeyOf (pem: string, algorithm: AsymmetricAlgorithm, source: string): SigningKey {
  // An encrypted key would need a passphrase, a secret of its own to keep somewhere.
  if (/^-----BEGIN ENCRYPTED|Proc-Type: 4,ENCRYPTED/m.test(pem)) throw new ConfigError(`Invalid configuration: ${source}: it is encrypted; give it unencrypted`)
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(pem)
  } catch {
    throw new ConfigError(`Invalid configuration: ${source}: it is not a readable PEM private key`)
  }
  const problem = unsuitability(privateKey, algorithm)
  if (problem !== undefined) throw new ConfigError(`Invalid configuration: ${source}: ${problem}`)
  const publicKey = createPublicKey(privateKey)
  const jwk = publicKey.export({ format: 'jwk' })
  const kid = thumbprint(jwk)
  return {
    kid,
    algorithm,
    signingKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    verificationKey: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    jwk: { ...publicJwkMembers(jwk), kid, alg: algorithm, use: 'sig' }
  }
}

function unsuitability (key: KeyObject, algorithm: AsymmetricAlgorithm): string | undefined {
  if (algorithm === 'ES256') {
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      return 'ES256 needs an EC key on the P-256 curve (npx account-service keys generate)'
    }
    return undefined
  }
  if (key.asymmetricKeyType !== 'rsa') return 'RS256 needs an RSA key (npx account-service keys generate --algorithm RS256)'
  if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < RSA_MIN_BITS) return `RS256 needs an RSA key of at least ${RSA_MIN_BITS} bits`
  return undefined
}

function publicJwkMembers (jwk: JsonWebKey): Omit<PublicJwk, 'kid' | 'alg' | 'use'> {
  return jwk.kty === 'EC'
    ? { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y }
    : { kty: 'RSA', n: jwk.n, e: jwk.e }
}

// RFC 7638: SHA-256 over the required members, in lexicographic order, without white space.
function thumbprint (jwk: JsonWebKey): string {
  const members = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { e: jwk.e, kty: jwk.kty, n: jwk.n }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url')
}

// A new private key for the algorithm, as PKCS#8 PEM.
export function generatePrivateKeyPem (algorithm: AsymmetricAlgorithm): string {
  const { privateKey } = algorithm === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    : generateKeyPairSync('rsa', { modulusLength: RSA_MIN_BITS })
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
}

// HS256: one secret both signs and verifies, so every service that can check a token can also
// mint one. Never published.
export function sharedSecretKeys (secret: string): TokenKeys {
  const key: SigningKey = { kid: 'shared-secret', algorithm: 'HS256', signingKey: secret, verificationKey: secret }
  return { algorithm: 'HS256', signing: key, all: [key] }
}
