import type { Knex } from 'knex'

// The ids other systems know accounts by (SelfCommunity's provider associations; `external` for a
// platform's own, given at SSO sign-up). A pair (provider, ext_id) links one account, and an
// account has one id per provider. Linking needs link-user-identities, which admin grants.
export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('user_identities', (table) => {
    table.increments('id')
    table.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE')
    table.string('provider', 64).notNullable().collate('utf8mb4_bin')
    table.string('ext_id', 255).notNullable().collate('utf8mb4_bin')
    table.string('profile_url', 2048).nullable()
    table.text('metadata').nullable()
    table.boolean('show_in_profile').notNullable().defaultTo(false)
    table.datetime('created_at', { precision: 3 }).notNullable()
    table.unique(['provider', 'ext_id'])
    table.unique(['user_id', 'provider'])
  })
  await knex('permissions').insert({ name: 'link-user-identities', description: 'Link accounts to the ids other systems know them by, and unlink them.' })
  const admin = await knex('roles').where({ name: 'admin' }).first<{ id: number }>('id')
  await knex('role_permissions').insert({ role_id: admin.id, permission: 'link-user-identities' })
}

export async function down (knex: Knex): Promise<void> {
  await knex('role_permissions').where({ permission: 'link-user-identities' }).delete()
  await knex('permissions').where({ name: 'link-user-identities' }).delete()
  await knex.schema.dropTable('user_identities')
}
