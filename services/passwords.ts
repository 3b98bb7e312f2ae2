import { createHash } from 'node:crypto'
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

// Rocket.Chat's clients send a password as its SHA-256 hex digest, which is what bcrypt is given.
export async function verifyPasswordDigest (digest: string, hash: string): Promise<boolean> {
  return await counted(bcrypt.compare(digest.toLowerCase(), hash))
}
