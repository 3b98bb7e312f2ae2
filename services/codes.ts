import { randomInt } from 'node:crypto'

// Letters and digits without the look-alikes 0/O and 1/I/L, so a code can be read out and typed.
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789'
// 31^12 codes: a generated code is taken again only by extraordinary luck; several in a row
// mean something else is wrong.
const GENERATION_ATTEMPTS = 5

// A random, human-readable code: XXXX-XXXX-XXXX.
function randomCode (): string {
  const group = (): string => Array.from({ length: 4 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('')
  return `${group()}-${group()}-${group()}`
}

// Stores something under a random code; `insert` answers undefined when the code is taken.
export async function insertWithRandomCode<T> (insert: (code: string) => Promise<T | undefined>): Promise<T> {
  for (let attempt = 1; attempt <= GENERATION_ATTEMPTS; attempt++) {
    const stored = await insert(randomCode())
    if (stored !== undefined) return stored
  }
  throw new Error(`${GENERATION_ATTEMPTS} random codes in a row were already taken`)
}
