import type { Knex } from 'knex'

// Rocket.Chat's send-mail: asking the service to mail another account (its welcome mail, a new
// verification code). The admin role grants it, as it grants every permission.
export async function up (knex: Knex): Promise<void> {
  await knex('permissions').insert({ name: 'send-mail', description: 'Have the service mail other accounts (welcome mail, verification code).' })
  const admin = await knex('roles').where({ name: 'admin' }).first<{ id: number }>('id')
  await knex('role_permissions').insert({ role_id: admin.id, permission: 'send-mail' })
}

export async function down (knex: Knex): Promise<void> {
  await knex('role_permissions').where({ permission: 'send-mail' }).delete()
  await knex('permissions').where({ name: 'send-mail' }).delete()
}
