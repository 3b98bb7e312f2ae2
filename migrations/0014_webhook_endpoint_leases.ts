import type { Knex } from 'knex'

// One delivery per endpoint in flight across every instance, in the order of the events: a relay
// holds the endpoint's lease while it sends to it. The lease has a table of its own, which no
// delivery refers to: writing a delivery locks its endpoint's row for the foreign key, and would
// make a relay letting its lease go wait for it. A failed delivery keeps when it was given up, from
// which its retention counts.
export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_endpoint_leases', (table) => {
    table.integer('endpoint_id').unsigned().primary().references('id').inTable('webhook_endpoints').onDelete('CASCADE')
    // The relay sending to the endpoint holds it until then; another may take it after (a crashed relay).
    table.datetime('lease_until', { precision: 3 }).nullable()
  })
  await knex.schema.alterTable('webhook_deliveries', (table) => {
    table.datetime('failed_at', { precision: 3 }).nullable()
    // A relay holding an endpoint takes the endpoint's pending delivery of the lowest event id.
    table.index(['endpoint_id', 'status', 'event_id'])
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.alterTable('webhook_deliveries', (table) => {
    table.dropIndex(['endpoint_id', 'status', 'event_id'])
    table.dropColumn('failed_at')
  })
  await knex.schema.dropTable('webhook_endpoint_leases')
}
