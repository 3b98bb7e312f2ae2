import type { Knex } from 'knex'

// Tokens other services can trust: service clients (principals of their own, with roles),
// refresh tokens (stored as hashes, rotated, in families), revoked access tokens, and a record of
// which client did what wherever a user's id is recorded today.
export async function up (knex: Knex): Promise<void> {
  await knex('permissions').insert({ name: 'manage-clients', description: 'Create, change, rotate the secrets of and delete service clients.' })
  const admin = await knex('roles').where({ name: 'admin' }).first<{ id: number }>('id')
  await knex('role_permissions').insert({ role_id: admin.id, permission: 'manage-clients' })

  await knex.schema.createTable('oauth_clients', (table) => {
    table.increments('id')
    table.string('client_id', 64).notNullable().unique().collate('utf8mb4_bin')
    table.string('name', 255).notNullable()
    // HMAC-SHA-256 of the secret, keyed by the client_id: the secret is random, so a fast hash is enough.
    table.string('secret_hash', 64).nullable()
    // The scopes its tokens may have, space-separated.
    table.string('scopes', 255).notNullable()
    table.boolean('enabled').notNullable().defaultTo(true)
    table.integer('created_by').unsigned().nullable().references('id').inTable('users').onDelete('SET NULL')
    table.integer('created_by_client').unsigned().nullable().references('id').inTable('oauth_clients').onDelete('SET NULL')
    table.datetime('created_at', { precision: 3 }).notNullable()
    table.datetime('updated_at', { precision: 3 }).notNullable()
    table.datetime('secret_rotated_at', { precision: 3 }).notNullable()
    table.datetime('last_used_at', { precision: 3 }).nullable()
    // A deleted client keeps its row, so the records that name it still can; it is gone otherwise.
    table.datetime('deleted_at', { precision: 3 }).nullable()
  })

  await knex.schema.createTable('oauth_client_roles', (table) => {
    table.integer('client_id').unsigned().notNullable().references('id').inTable('oauth_clients').onDelete('CASCADE')
    table.integer('role_id').unsigned().notNullable().references('id').inTable('roles').onDelete('CASCADE')
    table.primary(['client_id', 'role_id'])
  })

  await knex.schema.createTable('refresh_tokens', (table) => {
    table.bigIncrements('id')
    // SHA-256 of the token, which is random; the token itself is never stored.
    table.string('token_hash', 64).notNullable().unique().collate('utf8mb4_bin')
    // Every token rotated from one grant shares its family: reuse of a spent one revokes them all.
    table.string('family', 32).notNullable().index()
    table.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE')
    // The client the grant was made through, when one authenticated.
    table.integer('client_id').unsigned().nullable().references('id').inTable('oauth_clients').onDelete('CASCADE')
    table.string('scope', 255).notNullable()
    table.datetime('created_at', { precision: 3 }).notNullable()
    table.datetime('expires_at', { precision: 3 }).notNullable().index()
    // Set when it was exchanged for its successor; a second use is a reuse.
    table.datetime('used_at', { precision: 3 }).nullable()
    table.datetime('revoked_at', { precision: 3 }).nullable()
    table.index(['user_id'])
  })

  // Access tokens revoked before they expire, by jti; a row is useless once its token has expired.
  await knex.schema.createTable('revoked_access_tokens', (table) => {
    table.string('jti', 64).primary().collate('utf8mb4_bin')
    table.datetime('expires_at', { precision: 3 }).notNullable().index()
  })

  await knex.schema.alterTable('users', (table) => {
    table.integer('created_by_client').unsigned().nullable().references('id').inTable('oauth_clients').onDelete('SET NULL')
  })
  await knex.schema.alterTable('audit_log', (table) => {
    table.integer('actor_client_id').unsigned().nullable().references('id').inTable('oauth_clients').onDelete('SET NULL')
    table.integer('subject_client_id').unsigned().nullable().references('id').inTable('oauth_clients').onDelete('SET NULL')
  })
  await knex.schema.alterTable('invite_codes', (table) => {
    table.integer('invited_by_client').unsigned().nullable().references('id').inTable('oauth_clients').onDelete('SET NULL')
  })
  await knex.schema.alterTable('promo_codes', (table) => {
    table.integer('created_by_client').unsigned().nullable().references('id').inTable('oauth_clients').onDelete('SET NULL')
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.alterTable('promo_codes', (table) => { table.dropForeign(['created_by_client']); table.dropColumn('created_by_client') })
  await knex.schema.alterTable('invite_codes', (table) => { table.dropForeign(['invited_by_client']); table.dropColumn('invited_by_client') })
  await knex.schema.alterTable('audit_log', (table) => {
    table.dropForeign(['actor_client_id'])
    table.dropForeign(['subject_client_id'])
    table.dropColumn('actor_client_id')
    table.dropColumn('subject_client_id')
  })
  await knex.schema.alterTable('users', (table) => { table.dropForeign(['created_by_client']); table.dropColumn('created_by_client') })
  for (const table of ['revoked_access_tokens', 'refresh_tokens', 'oauth_client_roles', 'oauth_clients']) await knex.schema.dropTable(table)
  await knex('role_permissions').where({ permission: 'manage-clients' }).delete()
  await knex('permissions').where({ name: 'manage-clients' }).delete()
}
