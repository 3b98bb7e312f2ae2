import type { Knex } from 'knex'

// Rocket.Chat's personal access tokens: named, kept only as a hash, used as X-Auth-Token with
// X-User-Id. create-personal-access-tokens, which admin grants, lets a user make them.
export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('personal_access_tokens', (table) => {
    table.increments('id')
    table.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE')
    table.string('name', 100).notNullable().collate('utf8mb4_bin')
    // SHA-256 of the token (opaque-secrets.ts).
    table.string('token_hash', 64).notNullable().unique().collate('utf8mb4_bin')
    table.string('last_token_part', 6).notNullable()
    table.boolean('bypass_two_factor').notNullable().defaultTo(false)
    table.datetime('created_at', { precision: 3 }).notNullable()
    table.unique(['user_id', 'name'])
  })
  await knex('permissions').insert({ name: 'create-personal-access-tokens', description: 'Make personal access tokens for one\'s own account (Rocket.Chat).' })
  const admin = await knex('roles').where({ name: 'admin' }).first<{ id: number }>('id')
  await knex('role_permissions').insert({ role_id: admin.id, permission: 'create-personal-access-tokens' })
}

export async function down (knex: Knex): Promise<void> {
  await knex('role_permissions').where({ permission: 'create-personal-access-tokens' }).delete()
  await knex('permissions').where({ name: 'create-personal-access-tokens' }).delete()
  await knex.schema.dropTable('personal_access_tokens')
}
