import type { Knex } from 'knex'

// What Rocket.Chat's users.create can set beyond our own fields: a profile (bio, nickname,
// status text) and flags that downstream services act on. Whether an account is active is its
// status ('a'), not a column of its own, so the two can never disagree. A custom field may be
// public: shown to every user, as Rocket.Chat's `public` custom fields are.
export async function up (knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (table) => {
    table.string('bio', 260).nullable()
    table.string('nickname', 120).nullable()
    table.string('status_text', 120).nullable()
    table.boolean('require_password_change').notNullable().defaultTo(false)
    table.boolean('send_welcome_email').notNullable().defaultTo(false)
    table.boolean('join_default_channels').notNullable().defaultTo(true)
  })
  await knex.schema.alterTable('custom_fields', (table) => {
    table.boolean('public').notNullable().defaultTo(false)
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.alterTable('custom_fields', (table) => {
    table.dropColumn('public')
  })
  await knex.schema.alterTable('users', (table) => {
    for (const column of ['bio', 'nickname', 'status_text', 'require_password_change', 'send_welcome_email', 'join_default_channels']) {
      table.dropColumn(column)
    }
  })
}
