import type { Knex } from 'knex'

// Blocking, deleting and re-roling existing accounts: the permissions each takes (Rocket.Chat's
// names), granted to admin, whose grants are every permission; and whether a deleted account's
// username and email may be taken again.
const PERMISSIONS: Array<[string, string]> = [
  ['edit-other-user-active-status', 'Block and unblock other users.'],
  ['delete-user', 'Delete other users (soft, or hard: the row removed).'],
  ['assign-roles', 'Set the roles of existing users (only roles whose permissions one has).']
]

export async function up (knex: Knex): Promise<void> {
  await knex('permissions').insert(PERMISSIONS.map(([name, description]) => ({ name, description })))
  const admin = await knex('roles').where({ name: 'admin' }).first<{ id: number }>('id')
  await knex('role_permissions').insert(PERMISSIONS.map(([permission]) => ({ role_id: admin.id, permission })))
  await knex('preferences').insert({
    section: 'configurations',
    name: 'deleted_accounts_release_identity',
    type: 'boolean',
    value: 'false',
    help: 'Whether the username and email of a soft-deleted account can be used by a new account; by default they stay reserved.'
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex('preferences').where({ name: 'deleted_accounts_release_identity' }).delete()
  await knex('permissions').whereIn('name', PERMISSIONS.map(([name]) => name)).delete()
}
