import type { Knex } from 'knex'

// SelfCommunity's webhooks: endpoints that other services register for event types, their
// signing secrets, and the delivery of every outbox event to each endpoint subscribed to it, with
// a row per attempt. A relay fans each event out into deliveries once, then sends them.
export async function up (knex: Knex): Promise<void> {
  await knex('permissions').insert({ name: 'manage-webhooks', description: 'Register, change and remove webhook endpoints; read and resend their deliveries.' })
  const admin = await knex('roles').where({ name: 'admin' }).first<{ id: number }>('id')
  await knex('role_permissions').insert({ role_id: admin.id, permission: 'manage-webhooks' })

  await knex.schema.alterTable('outbox_events', (table) => {
    // When a relay made the event's deliveries (to the endpoints subscribed to it then).
    table.datetime('dispatched_at', { precision: 3 }).nullable()
    table.index(['dispatched_at'])
    table.index(['published_at'])
  })

  await knex.schema.createTable('webhook_endpoints', (table) => {
    table.increments('id')
    table.string('target', 2048).notNullable()
    table.string('description', 1000).notNullable().defaultTo('')
    table.boolean('is_active').notNullable().defaultTo(true)
    table.boolean('ssl_cert_verification').notNullable().defaultTo(true)
    table.datetime('created_at', { precision: 3 }).notNullable()
    table.datetime('updated_at', { precision: 3 }).notNullable()
  })

  await knex.schema.createTable('webhook_endpoint_events', (table) => {
    table.integer('endpoint_id').unsigned().notNullable().references('id').inTable('webhook_endpoints').onDelete('CASCADE')
    table.string('type', 64).notNullable()
    table.datetime('added_at', { precision: 3 }).notNullable()
    table.primary(['endpoint_id', 'type'])
    // The relay looks endpoints up by the type of each event.
    table.index(['type'])
  })

  await knex.schema.createTable('webhook_secrets', (table) => {
    table.increments('id')
    table.integer('endpoint_id').unsigned().notNullable().references('id').inTable('webhook_endpoints').onDelete('CASCADE')
    // whsec_ and the base64 of 32 random bytes: the key of the endpoint's signatures.
    table.string('secret', 100).notNullable().collate('utf8mb4_bin')
    table.datetime('created_at', { precision: 3 }).notNullable()
    // Null for the current secret; an expired one still signs until then (the receiver's rollover).
    table.datetime('expires_at', { precision: 3 }).nullable()
    table.index(['endpoint_id', 'expires_at'])
  })

  await knex.schema.createTable('webhook_deliveries', (table) => {
    table.bigIncrements('id')
    table.integer('endpoint_id').unsigned().notNullable().references('id').inTable('webhook_endpoints').onDelete('CASCADE')
    table.bigInteger('event_id').unsigned().notNullable().references('id').inTable('outbox_events').onDelete('CASCADE')
    // pending, delivered, or failed (given up after the attempts; a resend makes it pending again).
    table.string('status', 10).notNullable().defaultTo('pending')
    table.integer('attempts').unsigned().notNullable().defaultTo(0)
    table.datetime('next_attempt_at', { precision: 3 }).notNullable()
    // A relay that took the delivery holds it until then; another may take it after (a crashed relay).
    table.datetime('lease_until', { precision: 3 }).nullable()
    table.datetime('created_at', { precision: 3 }).notNullable()
    table.datetime('delivered_at', { precision: 3 }).nullable()
    // The request body, made once when the event is dispatched: every retry sends the same bytes.
    table.text('body', 'mediumtext').notNullable()
    table.unique(['endpoint_id', 'event_id'])
    table.index(['status', 'next_attempt_at'])
    table.index(['event_id'])
  })

  await knex.schema.createTable('webhook_attempts', (table) => {
    table.bigIncrements('id')
    table.bigInteger('delivery_id').unsigned().notNullable().references('id').inTable('webhook_deliveries').onDelete('CASCADE')
    table.datetime('created_at', { precision: 3 }).notNullable()
    table.datetime('sent_at', { precision: 3 }).nullable()
    table.text('http_request_body', 'mediumtext').notNullable()
    table.string('http_request_signature_header', 1000).notNullable()
    // Null when no answer came (refused, timed out, a target not allowed).
    table.integer('http_response_code').nullable()
    // Cut to a few KiB; or what went wrong when no answer came.
    table.text('http_response_body').notNullable()
    // When the delivery is tried again; null when it was delivered or given up.
    table.datetime('next_retry', { precision: 3 }).nullable()
    table.index(['delivery_id'])
  })
}

export async function down (knex: Knex): Promise<void> {
  for (const table of ['webhook_attempts', 'webhook_deliveries', 'webhook_secrets', 'webhook_endpoint_events', 'webhook_endpoints']) {
    await knex.schema.dropTable(table)
  }
  await knex.schema.alterTable('outbox_events', (table) => {
    table.dropIndex(['published_at'])
    table.dropIndex(['dispatched_at'])
    table.dropColumn('dispatched_at')
  })
  await knex('role_permissions').where({ permission: 'manage-webhooks' }).delete()
  await knex('permissions').where({ name: 'manage-webhooks' }).delete()
}
