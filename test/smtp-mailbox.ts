// A real SMTP server on loopback (smtp-server) that keeps what it receives, parsed as a mail
// client would (mailparser), for tests to read the service's mails as their recipients do.
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { type ParsedMail, simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import type { Test } from 'tap'
import { type DatabaseKind, type TestApp, build } from './helper.js'

// The login the server takes (any username); a relay with another password is refused.
export const SMTP_PASSWORD = 'hunter2-smtp-password'

export interface Mailbox {
  port: number
  // SMTP_URL for the app, with the server's login.
  url: string
  received: ParsedMail[]
  // Resolves once `count` mails have arrived; fails after a few seconds.
  untilReceived: (count: number) => Promise<ParsedMail[]>
  // The next mail to `to` not yet taken, waiting for it (boundedly).
  next: (to: string) => Promise<ParsedMail>
  // While held, a mail's DATA is not acknowledged: the relay is in the middle of sending it.
  hold: () => { started: Promise<void>, release: () => void }
  close: () => Promise<void>
}

export async function until (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  for (let waited = 0; !(await condition()); waited += 10) {
    if (waited >= timeoutMs) throw new Error(`waited ${timeoutMs} ms for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export function smtpUrl (port: number): string {
  return `smtp://relay-user:${SMTP_PASSWORD}@127.0.0.1:${port}`
}

function addressedTo (mail: ParsedMail, to: string): boolean {
  return [mail.to ?? []].flat().some((address) => address.value.some((entry) => entry.address?.toLowerCase() === to.toLowerCase()))
}

// `port` picks the port (to bring a server up where the relay already tries one).
export async function startMailbox (t: Test, port = 0): Promise<Mailbox> {
  const received: ParsedMail[] = []
  let held: { started: () => void, released: Promise<void> } | undefined
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth (auth, _session, callback) {
      if (auth.password !== SMTP_PASSWORD) { callback(new Error('Invalid username or password')); return }
      callback(null, { user: auth.username })
    },
    onData (stream, _session, callback) {
      const hold = held
      simpleParser(stream).then(async (mail) => {
        if (hold !== undefined) {
          hold.started()
          await hold.released
        }
        received.push(mail)
        callback()
      }, callback)
    }
  })
  server.listen(port, '127.0.0.1')
  await once(server.server, 'listening')
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  }
  t.teardown(close)
  const taken = new Set<ParsedMail>()
  const listening = (server.server.address() as AddressInfo).port
  return {
    port: listening,
    url: smtpUrl(listening),
    received,
    untilReceived: async (count) => {
      await until(() => received.length >= count, `${count} mails to arrive (${received.length} did)`)
      return received
    },
    next: async (to) => {
      let mail: ParsedMail | undefined
      await until(() => {
        mail = received.find((candidate) => !taken.has(candidate) && addressedTo(candidate, to))
        return mail !== undefined
      }, `a mail to ${to}`, 10_000)
      taken.add(mail as ParsedMail)
      return mail as ParsedMail
    },
    hold: () => {
      let started!: () => void
      let release!: () => void
      const startedPromise = new Promise<void>((resolve) => { started = resolve })
      held = { started, released: new Promise<void>((resolve) => { release = resolve }) }
      return { started: startedPromise, release: () => { held = undefined; release() } }
    },
    close
  }
}

// An app whose mails go to a mailbox of its own, relayed at once.
export async function withMail (t: Test, kind: DatabaseKind, env: Record<string, string> = {}): Promise<{ api: TestApp, mailbox: Mailbox }> {
  const mailbox = await startMailbox(t)
  const api = await build(t, kind, { env: { SMTP_URL: mailbox.url, MAIL_FROM: 'Accounts <accounts@example.com>', ...env }, mailPollIntervalMs: 20 })
  return { api, mailbox }
}

// The code a mail of the service carries, from its link.
export function codeIn (mail: ParsedMail): string {
  const code = /validation_code=([A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1]
  if (code === undefined) throw new Error(`no code in the mail "${mail.subject ?? ''}"`)
  return code
}

// Production without SMTP_URL: no mail at all (development and tests have a mailbox of .eml
// files), and an admin password that is none of the repository's examples (kept out of
// test/helper.ts, whose passwords production refuses).
export const PRODUCTION_WITHOUT_MAIL = { NODE_ENV: 'production', PUBLIC_URL: 'https://accounts.example.com', ADMIN_PASSWORD: 'Pr0duction-0nly-Passphrase!' }
