import type { Knex } from 'knex'

// When a user's password was last set by a reset or a change: every access token issued before
// then stops working, those without a refresh-token grant too (Rocket.Chat's login).
export async function up (knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (table) => {
    table.datetime('password_changed_at', { precision: 3 }).nullable()
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (table) => {
    table.dropColumn('password_changed_at')
  })
}
