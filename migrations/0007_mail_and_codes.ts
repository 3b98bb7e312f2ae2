import type { Knex } from 'knex'

// The account after its creation: the mails the service sends (a transactional outbox, written
// with the change that causes each mail, sent by a relay), and the single-use codes those mails
// carry (verification, recovery, email change).
export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('mail_outbox', (table) => {
    table.bigIncrements('id')
    table.string('template', 40).notNullable()
    table.string('recipient', 254).notNullable()
    // What the template is filled with, as JSON; emptied once the mail is sent, since it may
    // carry a code.
    table.text('data').notNullable()
    // pending, sent, or failed (given up after the relay's attempts).
    table.string('status', 10).notNullable().defaultTo('pending')
    table.integer('attempts').unsigned().notNullable().defaultTo(0)
    table.datetime('next_attempt_at', { precision: 3 }).notNullable()
    // A relay that took the mail holds it until then; another may take it after (a crashed relay).
    table.datetime('lease_until', { precision: 3 }).nullable()
    table.string('last_error', 500).nullable()
    table.datetime('created_at', { precision: 3 }).notNullable()
    table.datetime('sent_at', { precision: 3 }).nullable()
    table.index(['status', 'next_attempt_at'])
  })

  await knex.schema.createTable('account_codes', (table) => {
    table.bigIncrements('id')
    table.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE')
    // verify_email, recover or change_email.
    table.string('purpose', 20).notNullable()
    // SHA-256 of the code, which is random; the code itself is only in the mail.
    table.string('code_hash', 64).notNullable().unique().collate('utf8mb4_bin')
    // For change_email: the address the code confirms.
    table.string('email', 254).nullable()
    table.datetime('created_at', { precision: 3 }).notNullable()
    table.datetime('expires_at', { precision: 3 }).notNullable()
    // Set when the code was used, or replaced by a newer one of its purpose.
    table.datetime('spent_at', { precision: 3 }).nullable()
    table.index(['user_id', 'purpose'])
  })

  await knex('preferences').insert({
    section: 'configurations',
    name: 'verification_mail',
    type: 'boolean',
    value: 'true',
    help: 'Whether a new account is mailed a code that verifies its email (POST /api/v2/account/verify/).'
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex('preferences').where({ name: 'verification_mail' }).delete()
  await knex.schema.dropTable('account_codes')
  await knex.schema.dropTable('mail_outbox')
}
