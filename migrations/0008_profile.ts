import type { Knex } from 'knex'

// The profile of SelfCommunity's User beyond bio (0004): location, date of birth, description,
// gender and website, each changed by PATCH and PUT /api/v2/user/{id}/.
const NEW_COLUMNS = ['location', 'date_of_birth', 'description', 'gender', 'website']

export async function up (knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (table) => {
    table.string('location', 100).nullable()
    table.date('date_of_birth').nullable()
    table.string('description', 50).nullable()
    // Male or Female; null is SelfCommunity's Unspecified.
    table.string('gender', 11).nullable()
    table.string('website', 200).nullable()
  })
  // These names (and bio's) are now standard fields of the User, which a custom field may not
  // shadow: a custom field defined with one keeps its values under the name custom_<name>.
  for (const name of ['bio', ...NEW_COLUMNS]) {
    const renamed = `custom_${name}`
    if (await knex('custom_fields').where({ name }).first('id') === undefined) continue
    if (await knex('custom_fields').where({ name: renamed }).first('id') !== undefined) {
      throw new Error(`The custom field ${name} is now a standard field of the user, and custom field ${renamed} exists: rename one of them first`)
    }
    await knex('custom_fields').where({ name }).update({ name: renamed })
  }
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (table) => {
    for (const column of NEW_COLUMNS) table.dropColumn(column)
  })
}
