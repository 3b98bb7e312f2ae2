import type { Knex } from 'knex'

// The gates of registration (preferences, features, invite and promo codes) and their records.
export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('preferences', (table) => {
    table.increments('id')
    table.string('section', 64).notNullable()
    table.string('name', 64).notNullable().unique()
    table.string('type', 16).notNullable()
    // JSON text; null where the value lives elsewhere (the custom-field registry).
    table.text('value', 'mediumtext').nullable()
    table.string('help', 1000).notNullable()
  })
  await knex('preferences').insert([
    {
      id: 1,
      section: 'configurations',
      name: 'invite_code',
      type: 'boolean',
      value: 'false',
      help: 'Whether creating an account needs an invite code.'
    },
    {
      id: 2,
      section: 'configurations',
      name: 'user_metadata_definition',
      type: 'json',
      value: null,
      help: 'The custom user fields, as a JSON object keyed by field name; the same registry as /api/v2/custom_field/.'
    }
  ])

  await knex.schema.createTable('features', (table) => {
    table.increments('id')
    table.string('name', 64).notNullable().unique()
    table.boolean('enabled').notNullable().defaultTo(false)
  })
  await knex('features').insert([{ id: 1, name: 'promo_code', enabled: false }])

  await knex.schema.createTable('invite_codes', (table) => {
    table.increments('id')
    table.string('code', 64).notNullable()
    // Lower-cased: codes match regardless of case, and are unique so.
    table.string('code_normalized', 64).notNullable().unique().collate('utf8mb4_bin')
    table.string('name', 255).notNullable().defaultTo('')
    table.string('email', 254).nullable()
    table.string('email_normalized', 254).nullable().index().collate('utf8mb4_bin')
    table.string('role', 64).nullable()
    table.string('forced_username', 255).nullable()
    table.text('extra_data', 'mediumtext').nullable()
    table.datetime('generated_at', { precision: 3 }).notNullable()
    table.datetime('sent_at', { precision: 3 }).nullable()
    table.datetime('expires_at', { precision: 3 }).nullable()
    table.datetime('used_at', { precision: 3 }).nullable()
    table.datetime('revoked_at', { precision: 3 }).nullable()
    table.integer('user_id').unsigned().nullable().references('id').inTable('users').onDelete('SET NULL')
    table.integer('invited_by').unsigned().nullable().references('id').inTable('users').onDelete('SET NULL')
  })

  await knex.schema.createTable('promo_codes', (table) => {
    table.increments('id')
    table.string('code', 64).notNullable()
    table.string('code_normalized', 64).notNullable().unique().collate('utf8mb4_bin')
    table.string('name', 255).notNullable().defaultTo('')
    table.datetime('valid_from', { precision: 3 }).notNullable()
    table.datetime('valid_to', { precision: 3 }).nullable()
    table.integer('max_uses').unsigned().nullable()
    table.integer('uses').unsigned().notNullable().defaultTo(0)
    table.boolean('active').notNullable().defaultTo(true)
    table.datetime('created_at', { precision: 3 }).notNullable()
    table.integer('created_by').unsigned().nullable().references('id').inTable('users').onDelete('SET NULL')
  })

  await knex.schema.createTable('promo_code_redemptions', (table) => {
    table.bigIncrements('id')
    table.integer('promo_code_id').unsigned().notNullable().references('id').inTable('promo_codes').onDelete('CASCADE')
    table.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE')
    table.datetime('redeemed_at', { precision: 3 }).notNullable()
    table.unique(['promo_code_id', 'user_id'])
  })
}

export async function down (knex: Knex): Promise<void> {
  for (const table of ['promo_code_redemptions', 'promo_codes', 'invite_codes', 'features', 'preferences']) {
    await knex.schema.dropTable(table)
  }
}
