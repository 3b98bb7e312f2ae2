// Secrets in the configuration: read from files where the platform mounts them, generated once
// and kept where development needs one, and refused in production when they are this
// repository's own examples.
import { randomBytes } from 'node:crypto'
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

// Every variable that may hold a secret, and so may also be given as NAME_FILE: the path of a
// file holding it, as container platforms mount secrets.
export const SECRET_VARIABLES = ['JWT_PRIVATE_KEY', 'JWT_SECRET', 'ADMIN_PASSWORD', 'DATABASE_URL', 'DATABASE_PASSWORD', 'REDIS_URL', 'METRICS_TOKEN', 'SMTP_URL'] as const

// `env` with each NAME_FILE replaced by NAME, read from that file (without its trailing line
// breaks). Giving both NAME and NAME_FILE is a mistake, not a choice.
export function withSecretFiles (env: Record<string, string | undefined>): Record<string, string | undefined> {
  const resolved = { ...env }
  for (const name of SECRET_VARIABLES) {
    const path = env[`${name}_FILE`]
    delete resolved[`${name}_FILE`]
    if (path === undefined) continue
    if (env[name] !== undefined) throw new ConfigError(`Invalid configuration: set ${name} or ${name}_FILE, not both`)
    try {
      resolved[name] = readFileSync(path, 'utf8').replace(/[\r\n]+$/, '')
    } catch (error) {
      throw new ConfigError(`Invalid configuration: ${name}_FILE: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
    }
  }
  return resolved
}

// The text kept in `file`, made by `generate` on first use. It is written whole to a file of its
// own, then linked into place: the link fails if another process starting at the same time got
// there first (its text is kept), and nobody ever reads a half-written file. `check` says what is
// wrong with a kept text, or undefined.
export function keptGeneratedFile (file: string, generate: () => string, check: (text: string) => string | undefined): string {
  const saved = readKeptFile(file, check)
  if (saved !== undefined) return saved
  const text = generate()
  const pending = `${file}.${randomBytes(6).toString('hex')}`
  let pendingWritten = false
  try {
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(pending, text, { mode: 0o600, flag: 'wx' })
    pendingWritten = true
    linkSync(pending, file)
    return text
  } catch (error) {
    const written = (error as NodeJS.ErrnoException).code === 'EEXIST' ? readKeptFile(file, check) : undefined
    if (written !== undefined) return written
    throw new ConfigError(`Invalid configuration: cannot write ${file} (${(error as Error).message})`)
  } finally {
    if (pendingWritten) rmSync(pending, { force: true })
  }
}

// The text kept in file; undefined when there is no such file (ENOTDIR: a parent is a file).
function readKeptFile (file: string, check: (text: string) => string | undefined): string | undefined {
  let saved: string
  try {
    saved = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw new ConfigError(`Invalid configuration: cannot read ${file} (${(error as Error).message})`)
  }
  const problem = check(saved)
  if (problem !== undefined) throw new ConfigError(`Invalid configuration: ${file} ${problem}; delete it to have a new one generated`)
  return saved
}

// Every password and secret this repository shows as an example (the README, docker-compose.yml,
// openapi.yaml, the tests' fixed credentials). Anyone can read them, so in production none of them
// is accepted as a configured secret, nor as an account's password. test/example-secrets.test.ts
// finds the examples in those files and fails when one is missing here.
export const EXAMPLE_SECRETS: ReadonlySet<string> = new Set([
  'Corr3ct-Horse!',
  'Corr3ct-Horse',
  'Any-Pass-You-Want1',
  'Pr0visioned-Secret!',
  'your-own-Adm1n-passphrase',
  'your-own-admin-password',
  'anypassyouwant',
  'Sup3r-Secret-Key!',
  'Change-Me-2026!',
  'change-me-to-a-long-random-secret-of-at-least-32-characters',
  'accounts-change-me',
  'root-change-me',
  'test-secret-that-is-at-least-32-characters-long',
  'metrics-token-of-the-tests-0123456789abcdef'
])
