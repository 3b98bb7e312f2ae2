// The README runs top to bottom: its shell examples are read out of its code blocks and performed
// in order, as a newcomer would type them, against a fresh app (started as `npm start` starts it
// with no configuration: development, the first admin generated). Every curl goes through
// app.inject and is checked against openapi.yaml; every request must show its answer
// (`# → 201 {...}`), and what it shows must be what comes back. `npx account-service ...` runs
// the CLI itself. Whatever the parser does not understand fails the test: nothing is skipped but
// the sections listed in OUT_OF_SCOPE.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { projectRoot } from '../paths.js'
import { TEST_JWT_PRIVATE_KEY, UNCOVERED_CHILD, build, createTestDatabase, onEachDatabase, type ApiResponse, type DatabaseKind, type TestApp } from './helper.js'

const README = readFileSync(join(projectRoot, 'README.md'), 'utf8')
// Where the README's examples reach the service: its default address.
const BASE_URL = 'http://127.0.0.1:3000'
// What the README writes for the first admin's password, printed once at start.
const GENERATED_PASSWORD = '<generated>'
const CLI_TIMEOUT_MS = 60_000

// Sections whose shell blocks are not part of what a newcomer runs against the started service.
const OUT_OF_SCOPE: Record<string, string> = {
  'Run it': 'installs, starts and tests the service: the fresh app built here stands in for `npm start` with no configuration',
  'Testing against MariaDB/MySQL': 'runs the suite itself, and a database in Docker',
  Docker: 'deploys with Docker Compose instead (`keys generate` and `admin reset-password` are covered by test/cli.test.ts)'
}
// Languages of the README's code blocks; only sh is run. The TypeScript examples use client
// libraries against a listening server (test/rocket-chat-client.test.ts drives
// @rocket.chat/api-client); json blocks are answers (see `# → ...:`) or illustrations; unnamed
// blocks are output and layout.
const BLOCK_LANGUAGES = new Set(['sh', 'json', 'ts', ''])

interface Block { section: string, language: string, text: string, line: number }

function readmeBlocks (): Block[] {
  const blocks: Block[] = []
  const lines = README.split('\n')
  let section = ''
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] as string
    const heading = /^#{1,6} (.*)$/.exec(line)
    if (heading !== null) section = heading[1] as string
    const fence = /^(\s*)```(\S*)\s*$/.exec(line)
    if (fence === null) continue
    const start = index + 1
    const body: string[] = []
    while (++index < lines.length && !/^\s*```\s*$/.test(lines[index] as string)) body.push((lines[index] as string).slice((fence[1] as string).length))
    blocks.push({ section, language: fence[2] as string, text: body.join('\n'), line: start })
  }
  return blocks
}

// ---- A little of the POSIX shell: words, quotes, $VAR, $(...), pipes, comments, continuations.

type Part = { literal: string } | { variable: string } | { substitution: Item[] }
interface Word { parts: Part[] }
interface Pipeline { kind: 'pipeline', stages: Word[][], line: number }
interface Comment { kind: 'comment', text: string, line: number }
type Item = Pipeline | Comment

class ShellParser {
  private position = 0
  constructor (private readonly text: string, private readonly firstLine: number) {}

  parse (): Item[] {
    return this.list(false)
  }

  private line (): number {
    return this.firstLine + this.text.slice(0, this.position).split('\n').length - 1
  }

  private fail (message: string): never {
    throw new Error(`README.md line ${this.line()}: ${message}`)
  }

  // Pipelines and comments up to the end, or in a substitution up to its closing parenthesis.
  private list (inSubstitution: boolean): Item[] {
    const items: Item[] = []
    let stages: Word[][] = [[]]
    let line = this.line()
    const finish = (): void => {
      if (stages.length === 1 && stages[0]?.length === 0) return
      if (stages.some((stage) => stage.length === 0)) this.fail('a pipe with nothing on one side')
      items.push({ kind: 'pipeline', stages, line })
      stages = [[]]
    }
    for (;;) {
      const character = this.text[this.position]
      const current = stages[stages.length - 1] as Word[]
      if (character === undefined) {
        if (inSubstitution) this.fail('$( is never closed')
        finish()
        return items
      }
      if (character === ')' && inSubstitution) {
        this.position++
        finish()
        return items
      }
      if (character === ' ' || character === '\t') {
        this.position++
      } else if (character === '\\' && this.text[this.position + 1] === '\n') {
        this.position += 2
      } else if (character === '\n') {
        this.position++
        // After a pipe the pipeline goes on on the next line.
        if (!(current.length === 0 && stages.length > 1)) finish()
      } else if (character === '|') {
        if (current.length === 0) this.fail('a pipe with nothing before it')
        this.position++
        stages.push([])
      } else if (character === '#') {
        finish()
        const end = this.text.indexOf('\n', this.position)
        const commentLine = this.line()
        const text = this.text.slice(this.position + 1, end === -1 ? undefined : end).trim()
        this.position = end === -1 ? this.text.length : end
        items.push({ kind: 'comment', text, line: commentLine })
      } else if (';&<>()`'.includes(character)) {
        this.fail(`shell syntax "${character}" is not understood here`)
      } else {
        if (stages.length === 1 && current.length === 0) line = this.line()
        current.push(this.word())
      }
    }
  }

  private word (): Word {
    const parts: Part[] = []
    const literal = (text: string): void => {
      const last = parts[parts.length - 1]
      if (last !== undefined && 'literal' in last) last.literal += text
      else parts.push({ literal: text })
    }
    for (;;) {
      const character = this.text[this.position]
      if (character === undefined || /[\s|;&<>()`]/.test(character)) return { parts }
      if (character === "'") {
        const end = this.text.indexOf("'", this.position + 1)
        if (end === -1) this.fail('a single quote is never closed')
        literal(this.text.slice(this.position + 1, end))
        this.position = end + 1
      } else if (character === '"') {
        this.position++
        for (;;) {
          const inner = this.text[this.position]
          if (inner === undefined) this.fail('a double quote is never closed')
          if (inner === '"') { this.position++; break }
          if (inner === '\\' && '"\\$`\n'.includes(this.text[this.position + 1] ?? '')) {
            if (this.text[this.position + 1] !== '\n') literal(this.text[this.position + 1] as string)
            this.position += 2
          } else if (inner === '$') {
            parts.push(this.dollar())
          } else if (inner === '`') {
            this.fail('backquotes are not understood here')
          } else {
            literal(inner)
            this.position++
          }
        }
      } else if (character === '$') {
        parts.push(this.dollar())
      } else if (character === '\\') {
        if (this.text[this.position + 1] === '\n') return { parts }
        literal(this.text[this.position + 1] ?? '')
        this.position += 2
      } else {
        literal(character)
        this.position++
      }
    }
  }

  private dollar (): Part {
    const rest = this.text.slice(this.position)
    if (rest.startsWith('$(')) {
      this.position += 2
      return { substitution: this.list(true) }
    }
    const name = /^\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))/.exec(rest)
    if (name === null) this.fail(`"${rest.slice(0, 10)}" is not understood here`)
    this.position += (name[0]).length
    return { variable: (name[1] ?? name[2]) as string }
  }
}

// ---- Answers as the README shows them: JSON where "..." stands for what is left out.

const MORE = '\u0000more'

// The shown answer as a value: `...` as a member or an element becomes MORE.
function parseShown (shown: string, where: string): unknown {
  let json = ''
  const stack: string[] = []
  for (let index = 0; index < shown.length; index++) {
    const character = shown[index] as string
    if (character === '"') {
      const end = /^"(?:[^"\\]|\\.)*"/.exec(shown.slice(index))
      if (end === null) throw new Error(`${where}: an unclosed string in ${shown}`)
      json += end[0]
      index += end[0].length - 1
    } else if (shown.startsWith('...', index)) {
      json += stack[stack.length - 1] === '{' ? JSON.stringify(MORE) + ':true' : JSON.stringify(MORE)
      index += 2
    } else {
      if (character === '{' || character === '[') stack.push(character)
      if (character === '}' || character === ']') stack.pop()
      json += character
    }
  }
  try {
    return JSON.parse(json)
  } catch (error) {
    throw new Error(`${where}: the answer shown is not JSON (with ... for what is left out): ${shown}`)
  }
}

// The balanced JSON at the start of `text`, and what follows it.
function splitShown (text: string): [string, string] {
  let depth = 0
  for (let index = 0; index < text.length; index++) {
    const character = text[index] as string
    if (character === '"') {
      const end = /^"(?:[^"\\]|\\.)*"/.exec(text.slice(index))
      index += (end?.[0].length ?? 1) - 1
    } else if (character === '{' || character === '[') {
      depth++
    } else if ((character === '}' || character === ']') && --depth === 0) {
      return [text.slice(0, index + 1), text.slice(index + 1)]
    }
  }
  return [text, '']
}

// Values the service makes at random or from the clock: the README shows one of them, and what
// comes back must have the same form.
const GENERATED_FORMS = [
  /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, // a timestamp
  /^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/ // an invite code made by the service
]

// Where `actual` differs from what the README shows of it.
function differences (shown: unknown, actual: unknown, path = '$'): string[] {
  if (Array.isArray(shown)) {
    if (!Array.isArray(actual)) return [`${path}: shown an array, got ${JSON.stringify(actual)}`]
    const elided = shown.includes(MORE)
    const elements = shown.filter((element) => element !== MORE)
    if (elided ? actual.length < elements.length : actual.length !== elements.length) {
      return [`${path}: shown ${elements.length}${elided ? ' or more' : ''} elements, got ${actual.length}`]
    }
    return elements.flatMap((element, index) => differences(element, actual[index], `${path}[${index}]`))
  }
  if (shown !== null && typeof shown === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return [`${path}: shown an object, got ${JSON.stringify(actual)}`]
    const entries = Object.entries(shown).filter(([key]) => key !== MORE)
    const found: string[] = []
    if (!(MORE in shown)) {
      const extra = Object.keys(actual).filter((key) => !(key in shown))
      if (extra.length > 0) found.push(`${path}: not shown (add them, or ...): ${extra.join(', ')}`)
    }
    for (const [key, value] of entries) {
      if (!(key in actual)) found.push(`${path}.${key}: shown, but missing`)
      else found.push(...differences(value, (actual as Record<string, unknown>)[key], `${path}.${key}`))
    }
    return found
  }
  if (typeof shown === 'string' && typeof actual === 'string') {
    if (shown.endsWith('...') && actual.startsWith(shown.slice(0, -3))) return []
    const form = GENERATED_FORMS.find((pattern) => pattern.test(shown))
    if (form !== undefined && form.test(actual)) return []
  }
  return shown === actual ? [] : [`${path}: shown ${JSON.stringify(shown)}, got ${JSON.stringify(actual)}`]
}

// ---- Running it.

type Answer = { kind: 'http', response: ApiResponse, request: string } | { kind: 'cli', stdout: string, request: string }

class Session {
  private readonly variables = new Map<string, string>()
  // The requests the command being run has made.
  private made: Answer[] = []

  constructor (
    private readonly t: Test,
    private readonly api: TestApp,
    private readonly adminPassword: string,
    private readonly cliEnv: Record<string, string | undefined>
  ) {}

  // Runs one command; the request it made, if any.
  async command (pipeline: Pipeline): Promise<Answer | undefined> {
    this.made = []
    const [first, ...rest] = pipeline.stages
    const assignments = pipeline.stages.length === 1 ? (first as Word[]).map(assignment) : []
    if (assignments.every((parsed) => parsed !== undefined) && assignments.length > 0) {
      for (const parsed of assignments) {
        const { name, value } = parsed as { name: string, value: Word }
        const text = await this.expand(value, pipeline.line)
        this.variables.set(name, text === GENERATED_PASSWORD ? this.adminPassword : text)
      }
    } else {
      if (assignment((first as Word[])[0] as Word) !== undefined) throw new Error(`README.md line ${pipeline.line}: a variable set for one command is not understood here`)
      await this.pipeline([first as Word[], ...rest], pipeline.line)
    }
    if (this.made.length > 1) throw new Error(`README.md line ${pipeline.line}: one command, one request (this one makes ${this.made.length})`)
    return this.made[0]
  }

  private async expand (word: Word, line: number): Promise<string> {
    let text = ''
    for (const part of word.parts) {
      if ('literal' in part) {
        text += part.literal
      } else if ('variable' in part) {
        const value = this.variables.get(part.variable)
        if (value === undefined) throw new Error(`README.md line ${line}: $${part.variable} is used before it is set`)
        text += value
      } else {
        const pipelines = part.substitution.filter((item): item is Pipeline => item.kind === 'pipeline')
        if (pipelines.length !== 1 || part.substitution.length !== 1) throw new Error(`README.md line ${line}: $(...) must hold one pipeline`)
        text += (await this.pipeline((pipelines[0] as Pipeline).stages, line)).replace(/\n+$/, '')
      }
    }
    return text
  }

  // What the pipeline writes on stdout.
  private async pipeline (stages: Word[][], line: number): Promise<string> {
    let output: string | undefined
    for (const stage of stages) {
      const argv: string[] = []
      for (const word of stage) argv.push(await this.expand(word, line))
      output = output === undefined ? await this.program(argv, line) : pick(argv, output, line)
    }
    return output as string
  }

  private async program ([name, ...args]: string[], line: number): Promise<string> {
    if (name === 'curl') return await this.curl(args, line)
    if (name === 'npx' && args[0] === 'account-service') return await this.cli(args.slice(1), line)
    if (name === 'echo' && !(args[0] ?? '').startsWith('-')) return `${args.join(' ')}\n`
    throw new Error(`README.md line ${line}: the command ${String(name)} is not understood here`)
  }

  private async curl (args: string[], line: number): Promise<string> {
    const fail = (message: string): never => { throw new Error(`README.md line ${line}: curl ${message}`) }
    let method: string | undefined
    let url: string | undefined
    let user: string | undefined
    const headers: Record<string, string> = {}
    const data: string[] = []
    for (let index = 0; index < args.length; index++) {
      const option = args[index] as string
      const value = (): string => args[++index] ?? fail(`${option} needs a value`)
      if (option === '-s' || option === '--silent') continue
      if (option === '-X' || option === '--request') method = value()
      else if (option === '-u' || option === '--user') user = value()
      else if (option === '-H' || option === '--header') {
        const header = value()
        const colon = header.indexOf(':')
        if (colon <= 0) fail(`header ${header} has no name`)
        headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim()
      } else if (option === '-d' || option === '--data') {
        const body = value()
        if (body.startsWith('@')) fail('bodies from files are not understood here')
        data.push(body)
      } else if (option === '--data-urlencode') {
        const field = value()
        const equals = field.indexOf('=')
        data.push(equals === -1 ? encodeURIComponent(field) : `${field.slice(0, equals)}${equals === 0 ? '' : '='}${encodeURIComponent(field.slice(equals + 1))}`)
      } else if (option.startsWith('-')) {
        fail(`option ${option} is not understood here`)
      } else {
        if (url !== undefined) fail(`two URLs, ${url} and ${option}`)
        url = option
      }
    }
    if (url === undefined) return fail('without a URL')
    if (!url.startsWith(`${BASE_URL}/`)) fail(`${url} is not the service's default address, ${BASE_URL}`)
    if (data.length > 0) headers['content-type'] ??= 'application/x-www-form-urlencoded'
    if (user !== undefined) headers.authorization = `Basic ${Buffer.from(user).toString('base64')}`
    method ??= data.length > 0 ? 'POST' : 'GET'
    const path = url.slice(BASE_URL.length)
    const response = await this.api.request({
      method: method as 'GET',
      url: path,
      headers: { host: '127.0.0.1:3000', ...headers },
      ...(data.length > 0 ? { payload: data.join('&') } : {})
    })
    this.made.push({ kind: 'http', response, request: `${method} ${path}` })
    return response.text
  }

  // The CLI itself (cli.ts, as dist/cli.js runs it), with the server's environment.
  private async cli (args: string[], line: number): Promise<string> {
    const request = `account-service ${args.join(' ')}`
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(projectRoot, 'cli.ts'), ...args], {
        cwd: projectRoot, env: this.cliEnv, timeout: CLI_TIMEOUT_MS
      })
      this.made.push({ kind: 'cli', stdout, request })
      return stdout
    } catch (error) {
      const { stderr } = error as { stderr?: string }
      throw new Error(`README.md line ${line}: ${request} failed: ${(error as Error).message}\n${stderr ?? ''}`)
    }
  }

  // Checks `# → <status> <answer>` against what the request got; true when the answer goes on in
  // the next block (the comment ends in a colon), which must then be the JSON of its body.
  expectAnswer (answer: Answer, comment: Comment): boolean {
    const shown = /^→\s*(?:(\d{3})\b)?,?\s*(.*)$/.exec(comment.text)
    if (shown === null) throw new Error(`README.md line ${comment.line}: ${answer.request} shows no answer (# → <status> <answer>)`)
    const [, status, rest = ''] = shown
    const [json, remark] = rest.startsWith('{') || rest.startsWith('[') ? splitShown(rest) : ['', rest]
    const where = `README.md line ${comment.line} (${answer.request})`
    if (answer.kind === 'http') {
      if (status === undefined) throw new Error(`${where}: the answer shows no status`)
      this.t.equal(answer.response.statusCode, Number(status), `${where}: the status shown`, { body: answer.response.text })
    } else if (status !== undefined) {
      throw new Error(`${where}: a command's answer has no status`)
    }
    if (json !== '') this.expectBody(json, where, answer)
    return remark.trim().endsWith(':')
  }

  expectBody (shown: string, where: string, answer: Answer): void {
    const body: unknown = answer.kind === 'http' ? answer.response.body : JSON.parse(answer.stdout)
    this.t.same(differences(parseShown(shown, where), body), [], `${where}: the answer shown`)
  }
}

// `NAME=value` as a name and the word of its value, or undefined.
function assignment (word: Word): { name: string, value: Word } | undefined {
  const first = word.parts[0]
  const name = first !== undefined && 'literal' in first ? /^([A-Za-z_]\w*)=/.exec(first.literal) : null
  if (name === null || first === undefined || !('literal' in first)) return undefined
  const value = first.literal.slice(name[0].length)
  return { name: name[1] as string, value: { parts: [...(value === '' ? [] : [{ literal: value }]), ...word.parts.slice(1)] } }
}

// `node -pe 'JSON.parse(fs.readFileSync(0)).a.b'`: the field of the JSON on stdin.
function pick (argv: string[], input: string, line: number): string {
  const path = argv.length === 3 && argv[0] === 'node' && argv[1] === '-pe'
    ? /^JSON\.parse\(fs\.readFileSync\(0\)\)((?:\.[A-Za-z_]\w*)+)$/.exec(argv[2] as string)
    : null
  if (path === null) throw new Error(`README.md line ${line}: only node -pe 'JSON.parse(fs.readFileSync(0)).<field>' is understood after a pipe, not ${argv.join(' ')}`)
  let value: unknown = JSON.parse(input)
  for (const key of (path[1] as string).slice(1).split('.')) value = (value as Record<string, unknown> | undefined)?.[key]
  if (value === undefined || value === null || typeof value === 'object') {
    throw new Error(`README.md line ${line}: ${path[1] as string} is not a value in ${input}`)
  }
  return `${String(value)}\n`
}

async function freshStart (t: Test, kind: DatabaseKind): Promise<{ api: TestApp, password: string, cliEnv: Record<string, string | undefined> }> {
  // A database the CLI's process shares with the app.
  const databaseUrl = await createTestDatabase(t, kind, { shared: true })
  const announced: string[] = []
  const env = {
    NODE_ENV: 'development',
    ADMIN_USERNAME: undefined,
    ADMIN_EMAIL: undefined,
    ADMIN_PASSWORD: undefined,
    // The README's rate limit, not the tests' own.
    RATE_LIMIT_MAX: undefined
  }
  const api = await build(t, kind, { databaseUrl, env, announceFirstAdmin: (_username, password) => { announced.push(password) } })
  if (announced.length !== 1) throw new Error('the fresh app generated no first admin')
  const cliEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'development',
    DATA_DIR: t.testdirName,
    DATABASE_URL: databaseUrl,
    JWT_PRIVATE_KEY: TEST_JWT_PRIVATE_KEY,
    BCRYPT_COST: '4',
    ...UNCOVERED_CHILD
  }
  return { api, password: announced[0] as string, cliEnv }
}

onEachDatabase('the README, run top to bottom on a fresh start', async (t, kind) => {
  const blocks = readmeBlocks()
  const sections = new Set(blocks.map((block) => block.section))
  for (const section of Object.keys(OUT_OF_SCOPE)) t.ok(sections.has(section), `the section "${section}" left out of this test is still there`)

  const { api, password, cliEnv } = await freshStart(t, kind)
  const session = new Session(t, api, password, cliEnv)
  let requests = 0
  // The answer whose body the next block must show.
  let continued: { answer: Answer, line: number } | undefined
  for (const block of blocks) {
    const where = `README.md line ${block.line} (${block.section})`
    if (!BLOCK_LANGUAGES.has(block.language)) throw new Error(`${where}: a block of ${block.language}, which this test does not know`)
    if (continued !== undefined) {
      if (block.language !== 'json') throw new Error(`README.md line ${continued.line}: the answer goes on in a block of JSON, which does not follow`)
      session.expectBody(block.text.trim(), where, continued.answer)
      continued = undefined
      continue
    }
    if (block.language !== 'sh') {
      if (/\bcurl\s/.test(block.text)) throw new Error(`${where}: a curl outside a sh block`)
      continue
    }
    if (block.section in OUT_OF_SCOPE) {
      if (/\bcurl\s/.test(block.text)) throw new Error(`${where}: a curl in a section this test leaves out`)
      continue
    }
    const items = new ShellParser(block.text, block.line).parse()
    // Each curl and CLI command the block names, in a comment too, is one request made.
    const named = block.text.match(/\bcurl\s|\bnpx account-service\s/g)?.length ?? 0
    let made = 0
    let awaiting: Answer | undefined
    for (const item of items) {
      if (item.kind === 'comment') {
        if (awaiting !== undefined) {
          if (session.expectAnswer(awaiting, item)) continued = { answer: awaiting, line: item.line }
          awaiting = undefined
        } else if (item.text.startsWith('→')) {
          throw new Error(`README.md line ${item.line}: an answer shown where no request was made`)
        }
        continue
      }
      if (awaiting !== undefined) throw new Error(`README.md line ${item.line - 1}: ${awaiting.request} shows no answer (# → <status> <answer>)`)
      if (continued !== undefined) throw new Error('the answer goes on in a block of JSON, but more commands follow')
      awaiting = await session.command(item)
      if (awaiting !== undefined) made++
    }
    if (awaiting !== undefined) throw new Error(`${where}: ${awaiting.request}, last of its block, shows no answer (# → <status> <answer>)`)
    t.equal(made, named, `${where}: every request the block shows is made`)
    requests += made
  }
  if (continued !== undefined) throw new Error(`README.md line ${continued.line}: the answer goes on in a block of JSON, which does not follow`)
  t.ok(requests > 0, `the README's requests were made (${requests})`)
})
