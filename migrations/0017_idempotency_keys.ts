import type { Knex } from 'knex'

// Idempotency-Key: the first answer to a create, kept per caller and key with a fingerprint of the
// request, so that a repeat gets it again instead of making the change twice.
export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('idempotency_keys', (table) => {
    table.bigIncrements('id')
    // `u:<user id>` or `c:<client row id>`: keys are per caller.
    table.string('caller', 40).notNullable().collate('utf8mb4_bin')
    table.string('idempotency_key', 255).notNullable().collate('utf8mb4_bin')
    // SHA-256 of the method, the path and the body.
    table.string('fingerprint', 64).notNullable()
    // The request that holds the key (a repeat finding another's token waits for its answer).
    table.string('claim_token', 36).notNullable()
    // in_progress, then done with the answer.
    table.string('status', 12).notNullable()
    // Set in the transaction of the change: whether the change was made.
    table.boolean('committed').notNullable().defaultTo(false)
    table.integer('response_status').nullable()
    table.string('response_content_type', 100).nullable()
    table.text('response_body', 'mediumtext').nullable()
    table.datetime('claimed_at', { precision: 3 }).notNullable()
    table.datetime('expires_at', { precision: 3 }).notNullable()
    table.unique(['caller', 'idempotency_key'])
    table.index(['expires_at'])
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('idempotency_keys')
}
