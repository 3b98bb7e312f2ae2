import { createHash, randomInt } from 'node:crypto'
import bcrypt from 'bcrypt'

// bcrypt reads at most 72 bytes, so the password is first reduced to its SHA-256 hex digest
// (64 bytes): two long passwords sharing a prefix never share a hash. bcrypt's async API runs
// on libuv's thread pool, off the event loop.
function bcryptInput (password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex')
}

// bcrypt work started and not yet finished, in this process (the thread pool is the process's).
let bcryptInFlight = 0

export function bcryptOperationsInFlight (): number {
  return bcryptInFlight
}

async function counted<T> (work: Promise<T>): Promise<T> {
  bcryptInFlight++
  try {
    return await work
  } finally {
    bcryptInFlight--
  }
}

export async function hashPassword (password: string, cost: number): Promise<string> {
  return await counted(bcrypt.hash(bcryptInput(password), cost))
}

// The bcrypt cost a hash was made with.
export function hashCost (hash: string): number {
  return bcrypt.getRounds(hash)
}

export async function verifyPassword (password: string, hash: string): Promise<boolean> {
  return await counted(bcrypt.compare(bcryptInput(password), hash))
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/

// A password as Rocket.Chat's clients send it where they prove one: its SHA-256 hex digest
// (which is what bcrypt is given), or the password itself.
export async function verifyPasswordOrDigest (given: string, hash: string): Promise<boolean> {
  if (SHA256_HEX.test(given) && await counted(bcrypt.compare(given.toLowerCase(), hash))) return true
  return await verifyPassword(given, hash)
}

const PASSWORD_ALPHABETS = ['abcdefghijkmnopqrstuvwxyz', 'ABCDEFGHJKLMNPQRSTUVWXYZ', '23456789', '!@#$%^&*-_=+']

// 24 characters with every class present, shuffled, and drawn again while it contains the
// username, which the password policy refuses (likely only for a username of one or two
// characters, so a few draws are always enough).
export function generatePassword (username: string): string {
  for (;;) {
    const password = drawPassword()
    if (!password.toLowerCase().includes(username.toLowerCase())) return password
  }
}

function drawPassword (): string {
  const all = PASSWORD_ALPHABETS.join('')
  const pick = (alphabet: string): string => alphabet[randomInt(alphabet.length)] as string
  const characters = [...PASSWORD_ALPHABETS.map(pick), ...Array.from({ length: 20 }, () => pick(all))]
  for (let index = characters.length - 1; index > 0; index--) {
    const other = randomInt(index + 1)
    ;[characters[index], characters[other]] = [characters[other] as string, characters[index] as string]
  }
  return characters.join('')
}
