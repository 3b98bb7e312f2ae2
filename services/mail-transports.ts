// Where rendered mails go: an SMTP server (nodemailer), or in development the mailbox folder,
// one .eml file per mail, which any mail client opens.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createTransport } from 'nodemailer'
import type { RenderedMail } from './mail-templates.js'

export interface MailMessage extends RenderedMail {
  // The outbox row's id, which names the mailbox's file.
  id: number
  from: string
  to: string
}

export interface MailTransport {
  // Sends one message; answers the file it was written to, when it went to the mailbox.
  send: (message: MailMessage) => Promise<{ file?: string }>
  close: () => void
}

// An SMTP server that does not answer fails the attempt within seconds, not nodemailer's default
// minutes: the relay retries later, and a shutdown does not wait on a dead connection for long.
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 }

export function smtpTransport (url: string): MailTransport {
  const transport = createTransport({ url, ...SMTP_TIMEOUTS })
  return {
    async send ({ id: _id, ...message }) {
      await transport.sendMail(message)
      return {}
    },
    close () { transport.close() }
  }
}

export function mailboxTransport (folder: string): MailTransport {
  const transport = createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
  return {
    async send ({ id, ...message }) {
      const { message: eml } = await transport.sendMail(message)
      await mkdir(folder, { recursive: true })
      // The time first, so the folder lists the mails in the order they were sent.
      const file = join(folder, `${new Date().toISOString().replace(/[:.]/g, '-')}-${id}.eml`)
      await writeFile(file, eml as Buffer, { mode: 0o600 })
      return { file }
    },
    close () { transport.close() }
  }
}
