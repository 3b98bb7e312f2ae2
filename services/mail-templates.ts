// The mails' texts, kept in mail-templates/: per template `<name>.txt` (its first line
// `Subject: ...`, then a blank line, then the plain-text body) and `<name>.html`, both filled by
// `{{placeholder}}`. Read once at start, so a missing file stops the start, not a mail.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { MAIL_TEMPLATES, type MailTemplate } from '../domain/mail.js'

export interface RenderedMail {
  subject: string
  text: string
  html: string
}

// A template asks for a value the mail does not give, or the template is unknown: the mail can
// never be rendered as it is.
export class MailRenderError extends Error {
  override name = 'MailRenderError'
}

interface TemplateSource {
  subject: string
  text: string
  html: string
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g
const SUBJECT_LINE = /^Subject: ?(.*)\r?\n\r?\n/

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

function escapeHtml (value: string): string {
  return value.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] as string)
}

export class MailTemplates {
  private constructor (private readonly sources: Map<string, TemplateSource>) {}

  // Every template of MAIL_TEMPLATES, from `folder`.
  static load (folder: string): MailTemplates {
    const sources = new Map<string, TemplateSource>()
    for (const name of MAIL_TEMPLATES) {
      const text = readFileSync(join(folder, `${name}.txt`), 'utf8')
      const subject = SUBJECT_LINE.exec(text)
      if (subject === null) throw new MailRenderError(`mail-templates/${name}.txt must start with a line "Subject: ..." and a blank line`)
      sources.set(name, { subject: subject[1] as string, text: text.slice(subject[0].length), html: readFileSync(join(folder, `${name}.html`), 'utf8') })
    }
    return new MailTemplates(sources)
  }

  // The mail `template` makes of `values`; each value HTML-escaped in the HTML part.
  render (template: MailTemplate | string, values: Record<string, string>): RenderedMail {
    const source = this.sources.get(template)
    if (source === undefined) throw new MailRenderError(`There is no mail template ${JSON.stringify(template)}`)
    const fill = (part: string, escape: (value: string) => string): string => part.replace(PLACEHOLDER, (_, name: string) => {
      const value = Object.hasOwn(values, name) ? values[name] : undefined
      if (typeof value !== 'string') throw new MailRenderError(`The mail template ${template} uses {{${name}}}, which the mail's data does not give`)
      return escape(value)
    })
    return {
      // A line break in a header would end it; a value can only ever make one line.
      subject: fill(source.subject, (value) => value.replace(/[\r\n]+/g, ' ')),
      text: fill(source.text, (value) => value),
      html: fill(source.html, escapeHtml)
    }
  }
}
