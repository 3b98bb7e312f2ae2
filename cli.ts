#!/usr/bin/env node
// The operator's CLI: `npx account-service <command>`. It reads the same configuration as the
// server and goes through the same services; what it prints is for people, or JSON with --json.
// A failure is one line on stderr and a non-zero exit.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { FastifyInstance } from 'fastify'
import { ConfigError, loadConfig, type Config } from './config.js'
import { type AsymmetricAlgorithm, generatePrivateKeyPem } from './config/signing-keys.js'
import { clientRepresentation } from './routes/api/v2/client-representations.js'
import { userRepresentation } from './routes/api/v2/representations.js'
import type { ClientWithSecret, StoredClient } from './services/clients.js'
import { DomainError, StartupError } from './domain/errors.js'

const USAGE = `Usage: account-service <command> [options]

  admin create --username <name> --email <address> [--password-stdin]
                                  Make an admin; its password is generated and printed once,
                                  or read from the first line of stdin.
  admin reset-password <username> [--password-stdin]
                                  Give an admin a new password (generated, or from stdin);
                                  every token it had stops working.
  client create --name <name> [--role <role>]... [--scope "read write"] [--disabled]
                                  Make a service client; its secret is printed once.
  client list                     The service clients.
  client rotate <client_id>       A new secret for the client; the old one stops working.
  client disable <client_id>      The client gets no token, and its tokens stop working.
  client enable <client_id>
  client delete <client_id>
  keys generate [--algorithm ES256|RS256]
                                  Print a new private key (PEM) for JWT_PRIVATE_KEY(_FILE).
  keys list                       The configured signing keys, by kid.
  migrate                         Bring the database to the latest schema.

Options: --json prints JSON instead of text. The configuration is the server's environment.`

class UsageError extends Error {}

interface Invocation {
  words: string[]
  values: {
    json?: boolean
    username?: string
    email?: string
    'password-stdin'?: boolean
    name?: string
    role?: string[]
    scope?: string
    disabled?: boolean
    algorithm?: string
    help?: boolean
  }
}

function parse (argv: string[]): Invocation {
  try {
    const { positionals, values } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        username: { type: 'string' },
        email: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        name: { type: 'string' },
        role: { type: 'string', multiple: true },
        scope: { type: 'string' },
        disabled: { type: 'boolean' },
        algorithm: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    })
    return { words: positionals, values }
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

function print (json: boolean, data: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${text}\n`)
}

function required (value: string | undefined, option: string): string {
  if (value === undefined || value === '') throw new UsageError(`${option} is required`)
  return value
}

// The command's one argument, words[index], after which nothing may follow.
function argument (words: string[], index: number, what: string): string {
  const value = words[index]
  if (value === undefined) throw new UsageError(`${what} is required`)
  noMoreWords(words, index + 1)
  return value
}

function noMoreWords (words: string[], count: number): void {
  if (words.length > count) throw new UsageError(`unexpected argument ${words[count] ?? ''}`)
}

// The first line of stdin, for a password that must not appear in the process list.
function passwordFromStdin (): string {
  const password = readFileSync(0, 'utf8').split(/\r?\n/)[0] ?? ''
  if (password === '') throw new UsageError('--password-stdin read no password')
  return password
}

function configuration (): Config {
  const config = loadConfig(process.env)
  // Log lines go to stderr, and only warnings unless LOG_LEVEL asks for more: stdout is the answer.
  return { ...config, logLevel: process.env.LOG_LEVEL ?? 'warn' }
}

// The application without its HTTP side: the same plugins and services as the server. Loaded
// only by the commands that need it, so `help` and `keys` answer at once.
async function withApp<T> (work: (app: FastifyInstance) => Promise<T>): Promise<T> {
  const config = configuration()
  const { buildApp } = await import('./app.js')
  // The servers relay the mails a command queues; a command ends when its work is done.
  const app = await buildApp({ config, logStream: process.stderr, ensureFirstAdmin: false, backgroundWorkers: false })
  try {
    await app.ready()
    return await work(app)
  } finally {
    await app.close()
  }
}

function clientText (client: StoredClient): string {
  return `  client_id:  ${client.clientId}\n  name:       ${client.name}\n  roles:      ${client.roles.join(', ') || '(none)'}\n` +
    `  scope:      ${client.scopes.join(' ')}\n  enabled:    ${String(client.enabled)}\n  last used:  ${client.lastUsedAt ?? 'never'}`
}

function printClientWithSecret (json: boolean, heading: string, { client, secret }: ClientWithSecret): void {
  print(json, { ...clientRepresentation(client), client_secret: secret },
    `${heading}\n${clientText(client)}\n  client_secret: ${secret}\n\nThe secret is shown only this once: store it as a secret now.`)
}

async function admin ({ words, values }: Invocation, json: boolean): Promise<void> {
  // Read only once the command is known to be right, so a mistake is not held up by stdin.
  const password = (): string | undefined => values['password-stdin'] === true ? passwordFromStdin() : undefined
  if (words[1] === 'create') {
    noMoreWords(words, 2)
    const account = { username: required(values.username, '--username'), email: required(values.email, '--email'), password: password() }
    const created = await withApp(async (app) => await app.accountService.createAdmin(account))
    print(json, { user: userRepresentation(created.user), ...(created.generatedPassword !== undefined ? { password: created.generatedPassword } : {}) },
      `Admin ${created.user.username} (id ${created.user.id}) created.` +
      (created.generatedPassword === undefined ? '' : `\n  password: ${created.generatedPassword}\nThe password is shown only this once.`))
    return
  }
  if (words[1] === 'reset-password') {
    const username = argument(words, 2, 'the username')
    const newPassword = password()
    const reset = await withApp(async (app) => await app.accountService.resetAdminPassword(username, newPassword))
    print(json, { user: userRepresentation(reset.user), ...(reset.generatedPassword !== undefined ? { password: reset.generatedPassword } : {}) },
      `The password of ${reset.user.username} was reset; every token it had no longer works.` +
      (reset.generatedPassword === undefined ? '' : `\n  password: ${reset.generatedPassword}\nThe password is shown only this once.`))
    return
  }
  throw new UsageError(`unknown command: admin ${words[1] ?? ''}`.trim())
}

async function client ({ words, values }: Invocation, json: boolean): Promise<void> {
  const command = words[1]
  if (command === 'create') {
    noMoreWords(words, 2)
    const created = await withApp(async (app) => await app.clientService.create({
      name: required(values.name, '--name'), roles: values.role, scope: values.scope, enabled: values.disabled !== true
    }, null))
    printClientWithSecret(json, 'Service client created.', created)
    return
  }
  if (command === 'list') {
    noMoreWords(words, 2)
    const clients = await withApp(async (app) => {
      const all: StoredClient[] = []
      for (let offset = 0; ; offset += 100) {
        const page = await app.clientService.list({ limit: 100, offset })
        all.push(...page.clients)
        if (all.length >= page.total || page.clients.length === 0) return all
      }
    })
    print(json, clients.map(clientRepresentation), clients.length === 0 ? 'No service clients.' : clients.map(clientText).join('\n\n'))
    return
  }
  if (command === 'rotate') {
    const clientId = argument(words, 2, 'the client_id')
    printClientWithSecret(json, 'New secret issued; the old one no longer works.', await withApp(async (app) => await app.clientService.rotateSecret(clientId, null)))
    return
  }
  if (command === 'disable' || command === 'enable') {
    const clientId = argument(words, 2, 'the client_id')
    const changed = await withApp(async (app) => await app.clientService.update(clientId, { enabled: command === 'enable' }, null))
    print(json, clientRepresentation(changed), `Client ${clientId} ${command}d.\n${clientText(changed)}`)
    return
  }
  if (command === 'delete') {
    const clientId = argument(words, 2, 'the client_id')
    await withApp(async (app) => { await app.clientService.delete(clientId, null) })
    print(json, { client_id: clientId, deleted: true }, `Client ${clientId} deleted; its tokens no longer work.`)
    return
  }
  throw new UsageError(`unknown command: client ${command ?? ''}`.trim())
}

function keys ({ words, values }: Invocation, json: boolean): void {
  if (words[1] === 'generate') {
    noMoreWords(words, 2)
    const algorithm = values.algorithm ?? 'ES256'
    if (algorithm !== 'ES256' && algorithm !== 'RS256') throw new UsageError('--algorithm must be ES256 or RS256')
    const pem = generatePrivateKeyPem(algorithm as AsymmetricAlgorithm)
    // The PEM alone, so that `keys generate > key.pem` makes the file to mount.
    print(json, { algorithm, private_key: pem }, pem.trimEnd())
    return
  }
  if (words[1] === 'list') {
    noMoreWords(words, 2)
    const { keys } = configuration().tokens
    const listed = keys.all.map((key, index) => ({ kid: key.kid, algorithm: key.algorithm, signs: index === 0, published: key.jwk !== undefined }))
    print(json, listed, listed.map((key) => `${key.kid}  ${key.algorithm}  ${key.signs ? 'signs and verifies' : 'verifies'}${key.published ? '' : '  (shared secret, not published)'}`).join('\n'))
    return
  }
  throw new UsageError(`unknown command: keys ${words[1] ?? ''}`.trim())
}

// The app migrates its database as it starts, as the server does; this only says where it is now.
async function migrate (json: boolean): Promise<void> {
  const current = await withApp(async (app) => await app.knex.migrate.currentVersion())
  print(json, { current }, `The database is at the latest schema, ${current}.`)
}

async function run (argv: string[]): Promise<void> {
  const invocation = parse(argv)
  const json = invocation.values.json === true
  const [group] = invocation.words
  if (invocation.values.help === true || group === undefined || group === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  if (group === 'admin') return await admin(invocation, json)
  if (group === 'client') return await client(invocation, json)
  if (group === 'keys') return keys(invocation, json)
  if (group === 'migrate') {
    noMoreWords(invocation.words, 1)
    return await migrate(json)
  }
  throw new UsageError(`unknown command: ${group}`)
}

try {
  await run(process.argv.slice(2))
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`account-service: ${error.message} (\`account-service help\` lists the commands)\n`)
    process.exit(2)
  }
  if (error instanceof ConfigError || error instanceof StartupError) {
    process.stderr.write(`${error.message}\n`)
    process.exit(1)
  }
  if (error instanceof DomainError) {
    process.stderr.write(`account-service: ${error.message}${error.field !== undefined ? ` (${error.field})` : ''}\n`)
    process.exit(1)
  }
  // Anything else (the database refusing the connection, say) is still one line.
  process.stderr.write(`account-service: ${error instanceof Error ? error.message : String(error)}\n`.replace(/\n(?!$)/g, ' '))
  process.exit(1)
}
