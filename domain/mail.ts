// The transactional mails the service sends; each has a template of its own (mail-templates/).
export const MAIL_TEMPLATES = ['verify_email', 'recover', 'set_password', 'change_email', 'welcome', 'password_changed', 'email_changed'] as const
export type MailTemplate = typeof MAIL_TEMPLATES[number]

// The values each template's placeholders take, beside `public_url` (PUBLIC_URL, the API) and
// `pages_url` (ACCOUNT_PAGES_URL, the web pages the links open), which every template may use
// and the relay fills in. A code goes into a link as it is: it must be URL-safe.
//   verify_email      username, code   (links to {pages_url}/account/verify?validation_code={code})
//   recover           username, code   (links to {pages_url}/account/recover/password?validation_code={code})
//   set_password      username, code   (the same link: a recovery code for an account made with a
//                                       generated password, setRandomPassword)
//   change_email      username, email (the new address, which the mail goes to), code, and
//                     what the confirmation takes beside the code: user_id, email_query (the
//                     new address URL-encoded) (links to {pages_url}/account/change_email?
//                     user_id={user_id}&new_email={email_query}&validation_code={code})
//   welcome           username
//   password_changed  username
//   email_changed     username, email (the new address; the notice goes to the old one)
export interface MailData {
  verify_email: { username: string, code: string }
  recover: { username: string, code: string }
  set_password: { username: string, code: string }
  change_email: { username: string, email: string, code: string, user_id: string, email_query: string }
  welcome: { username: string }
  password_changed: { username: string }
  email_changed: { username: string, email: string }
}

// A mail to send: the template, the recipient, and the values its placeholders take.
export type OutgoingMail = { [T in MailTemplate]: { template: T, to: string, data: MailData[T] } }[MailTemplate]
