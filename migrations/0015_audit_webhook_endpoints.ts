import type { Knex } from 'knex'

// The audit entries of webhook endpoints name the endpoint. No foreign key: an entry outlives the
// endpoint, whose deletion it records.
export async function up (knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (table) => {
    table.integer('subject_webhook_endpoint_id').unsigned().nullable()
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (table) => {
    table.dropColumn('subject_webhook_endpoint_id')
  })
}
