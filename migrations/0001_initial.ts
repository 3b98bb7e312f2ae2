import type { Knex } from 'knex'

export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('roles', (table) => {
    table.increments('id')
    table.string('name', 64).notNullable().unique()
  })
  await knex('roles').insert([{ name: 'admin' }, { name: 'user' }])

  await knex.schema.createTable('users', (table) => {
    table.increments('id')
    table.string('username', 255).notNullable()
    // Lower-cased copies: their unique indexes make uniqueness case-insensitive on every database.
    // Compared by code point (utf8mb4_bin), not by MySQL's default collations, which would
    // equate accented letters.
    table.string('username_normalized', 255).notNullable().unique().collate('utf8mb4_bin')
    table.string('email', 254).notNullable()
    table.string('email_normalized', 254).notNullable().unique().collate('utf8mb4_bin')
    table.string('password_hash', 100).notNullable()
    table.string('real_name', 255).notNullable().defaultTo('')
    table.boolean('email_isvalid').notNullable().defaultTo(false)
    table.string('status', 1).notNullable().defaultTo('a')
    table.datetime('date_joined', { precision: 3 }).notNullable()
    table.datetime('updated_at', { precision: 3 }).notNullable()
    table.integer('created_by').unsigned().nullable().references('id').inTable('users').onDelete('SET NULL')
  })

  await knex.schema.createTable('user_roles', (table) => {
    table.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE')
    table.integer('role_id').unsigned().notNullable().references('id').inTable('roles').onDelete('CASCADE')
    table.primary(['user_id', 'role_id'])
  })

  await knex.schema.createTable('custom_fields', (table) => {
    table.increments('id')
    table.string('name', 64).notNullable().unique()
    table.string('label', 255).notNullable()
    table.string('type', 32).notNullable()
    // JSON texts; mediumtext on MySQL, whose text holds only 64 KiB.
    table.text('type_options', 'mediumtext').nullable()
    table.boolean('mandatory').notNullable().defaultTo(false)
    table.integer('min_length').nullable()
    table.integer('max_length').nullable()
    table.text('default_value', 'mediumtext').nullable()
    table.datetime('created_at', { precision: 3 }).notNullable()
    table.datetime('updated_at', { precision: 3 }).notNullable()
    // Set while a deleted definition's values are being removed; such a definition is gone.
    table.datetime('deleted_at', { precision: 3 }).nullable()
  })

  await knex.schema.createTable('user_custom_field_values', (table) => {
    table.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE')
    table.integer('field_id').unsigned().notNullable().references('id').inTable('custom_fields').onDelete('CASCADE')
    // JSON-encoded, so an integer field reads back as an integer.
    table.text('value', 'mediumtext').notNullable()
    table.primary(['user_id', 'field_id'])
  })

  await knex.schema.createTable('audit_log', (table) => {
    table.bigIncrements('id')
    table.integer('actor_id').unsigned().nullable().references('id').inTable('users').onDelete('SET NULL')
    table.string('action', 64).notNullable()
    table.integer('subject_id').unsigned().nullable().references('id').inTable('users').onDelete('SET NULL')
    table.datetime('created_at', { precision: 3 }).notNullable()
  })

  // Transactional outbox: events are written with the change they describe, delivered later.
  await knex.schema.createTable('outbox_events', (table) => {
    table.bigIncrements('id')
    table.string('type', 64).notNullable()
    table.text('payload', 'mediumtext').notNullable()
    table.datetime('created_at', { precision: 3 }).notNullable()
    table.datetime('published_at', { precision: 3 }).nullable()
  })
}

export async function down (knex: Knex): Promise<void> {
  for (const table of ['outbox_events', 'audit_log', 'user_custom_field_values', 'custom_fields', 'user_roles', 'users', 'roles']) {
    await knex.schema.dropTable(table)
  }
}
