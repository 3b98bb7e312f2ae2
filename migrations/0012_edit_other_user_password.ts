import type { Knex } from 'knex'

// Rocket.Chat's edit-other-user-password: setting another user's password without knowing it
// (users.update's password and setRandomPassword), or requiring them to change it. The admin
// role grants it, as it grants every permission.
export async function up (knex: Knex): Promise<void> {
  await knex('permissions').insert({ name: 'edit-other-user-password', description: 'Set or reset the password of other users, or require them to change it.' })
  const admin = await knex('roles').where({ name: 'admin' }).first<{ id: number }>('id')
  await knex('role_permissions').insert({ role_id: admin.id, permission: 'edit-other-user-password' })
}

export async function down (knex: Knex): Promise<void> {
  await knex('role_permissions').where({ permission: 'edit-other-user-password' }).delete()
  await knex('permissions').where({ name: 'edit-other-user-password' }).delete()
}
