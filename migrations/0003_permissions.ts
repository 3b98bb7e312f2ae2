import type { Knex } from 'knex'

// Every protected capability is a permission; roles grant permissions. The admin role grants
// them all, and its grants cannot change, so an admin can never be locked out.
const PERMISSIONS: Array<[string, string]> = [
  ['create-user', 'Create accounts.'],
  ['assign-admin-role', 'Grant the admin role (at creation, or through an invite code).'],
  ['view-user-administration', 'Search accounts and read any user.'],
  ['view-full-other-user-info', 'See the full profile of other users (emails, roles, settings, private custom fields).'],
  ['edit-other-user-info', 'Change the real name and custom fields of other users.'],
  ['manage-custom-fields', 'Define, change and delete custom fields.'],
  ['manage-invite-codes', 'Issue, list and revoke invite codes, and see who used them.'],
  ['manage-promo-codes', 'Create, list and deactivate promo codes, and see their redemptions.'],
  ['manage-preferences', 'Change dynamic preferences and switch features.'],
  ['manage-roles', 'Add roles and change which permissions a role grants.']
]

const MODERATOR_PERMISSIONS = ['view-user-administration', 'view-full-other-user-info']

export async function up (knex: Knex): Promise<void> {
  await knex.schema.alterTable('roles', (table) => {
    table.string('description', 255).notNullable().defaultTo('')
  })
  await knex('roles').where({ name: 'admin' }).update({ description: 'Administrators: every permission.' })
  await knex('roles').where({ name: 'user' }).update({ description: 'Every account.' })
  await knex('roles').insert([
    { name: 'bot', description: 'Accounts of programs.' },
    { name: 'moderator', description: 'Community moderators.' }
  ])

  await knex.schema.createTable('permissions', (table) => {
    table.string('name', 64).primary()
    table.string('description', 255).notNullable()
  })
  await knex('permissions').insert(PERMISSIONS.map(([name, description]) => ({ name, description })))

  await knex.schema.createTable('role_permissions', (table) => {
    table.integer('role_id').unsigned().notNullable().references('id').inTable('roles').onDelete('CASCADE')
    table.string('permission', 64).notNullable().references('name').inTable('permissions').onDelete('CASCADE')
    table.primary(['role_id', 'permission'])
  })
  const roleId = async (name: string): Promise<number> => (await knex('roles').where({ name }).first<{ id: number }>('id')).id
  const admin = await roleId('admin')
  const moderator = await roleId('moderator')
  await knex('role_permissions').insert([
    ...PERMISSIONS.map(([permission]) => ({ role_id: admin, permission })),
    ...MODERATOR_PERMISSIONS.map((permission) => ({ role_id: moderator, permission }))
  ])
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('role_permissions')
  await knex.schema.dropTable('permissions')
  await knex('roles').whereIn('name', ['bot', 'moderator']).delete()
  await knex.schema.alterTable('roles', (table) => { table.dropColumn('description') })
}
