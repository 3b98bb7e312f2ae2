import type { Knex } from 'knex'

// Reading users and the audit log at any size: the permission to read the log, and the indexes
// that keep its filters and the search by real name fast.
export async function up (knex: Knex): Promise<void> {
  await knex('permissions').insert({ name: 'view-audit-log', description: 'Read the audit log: who did what to whom, and when.' })
  const admin = await knex('roles').where({ name: 'admin' }).first<{ id: number }>('id')
  await knex('role_permissions').insert({ role_id: admin.id, permission: 'view-audit-log' })

  await knex.schema.alterTable('users', (table) => { table.index(['real_name']) })
  await knex.schema.alterTable('audit_log', (table) => {
    table.index(['action'])
    table.index(['created_at'])
    // MySQL and MariaDB index every foreign key already; an index of ours on such a column would
    // take the place of theirs, and could then not be dropped while the foreign key needs it.
    if (!indexesForeignKeys(knex)) {
      for (const column of ['actor_id', 'actor_client_id', 'subject_id', 'subject_client_id']) table.index([column])
    }
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (table) => {
    if (!indexesForeignKeys(knex)) {
      for (const column of ['actor_id', 'actor_client_id', 'subject_id', 'subject_client_id']) table.dropIndex([column])
    }
    table.dropIndex(['created_at'])
    table.dropIndex(['action'])
  })
  await knex.schema.alterTable('users', (table) => { table.dropIndex(['real_name']) })
  await knex('role_permissions').where({ permission: 'view-audit-log' }).delete()
  await knex('permissions').where({ name: 'view-audit-log' }).delete()
}

function indexesForeignKeys (knex: Knex): boolean {
  return knex.client.config.client === 'mysql2'
}
