import { fromDatabaseTime } from '../repositories/sql.js'
import { ADMIN, build, createUserWithToken, defineCustomField, makeMandatory, onEachDatabase, rowCount, type TestApp, updatedEvents, userSnapshot } from './helper.js'

const userUrl = (id: number): string => `/api/v2/user/${id}/`

async function patch (api: TestApp, id: number, payload: unknown, token?: string) {
  return await api.request({ method: 'PATCH', url: userUrl(id), token: token ?? await api.adminToken(), payload: payload as Record<string, unknown> })
}

onEachDatabase('user update', async (t, kind) => {
  t.test('changes real_name and answers with the user as GET then shows it', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api, { real_name: 'Jane Doe' })
    const response = await patch(api, user.id, { real_name: 'Jane Roe' })
    t.equal(response.statusCode, 200)
    t.strictSame(response.body, { ...user, real_name: 'Jane Roe' })
    const read = await api.request({ url: userUrl(user.id), token: await api.adminToken() })
    t.strictSame(read.body, response.body)
  })

  t.test('accepts a real_name of 255 characters outside the basic plane', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const response = await patch(api, user.id, { real_name: '😀'.repeat(255) })
    t.equal(response.statusCode, 200)
    t.equal(response.body.real_name, '😀'.repeat(255))
  })

  t.test('refuses a real_name longer than 255 characters or not a string', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api, { real_name: 'Jane Doe' })
    const before = await userSnapshot(api, user.id)
    for (const realName of ['x'.repeat(256), 42, null]) {
      const response = await patch(api, user.id, { real_name: realName })
      t.equal(response.statusCode, 400, String(realName))
      t.match(response.body, { code: 'invalid_field', field: 'real_name' }, String(realName))
    }
    t.strictSame(await userSnapshot(api, user.id), before)
  })

  t.test('sets a custom field the user had no value for', async (t) => {
    const api = await build(t, kind)
    await defineCustomField(api, { name: 'company', label: 'Company' })
    const { user } = await createUserWithToken(api)
    const response = await patch(api, user.id, { company: 'ACME' })
    t.equal(response.statusCode, 200)
    t.equal(response.body.company, 'ACME')
  })

  t.test('changes a custom field and keeps the ones not given', async (t) => {
    const api = await build(t, kind)
    await defineCustomField(api, { name: 'company', label: 'Company' })
    await defineCustomField(api, { name: 'age', label: 'Age', type: 'integer' })
    const { user } = await createUserWithToken(api, { company: 'ACME', age: 30 })
    const response = await patch(api, user.id, { age: 31 })
    t.equal(response.statusCode, 200)
    t.strictSame(response.body, { ...user, age: 31 })
    t.equal(await rowCount(api, 'user_custom_field_values'), 2)
  })

  t.test('removes the value of a custom field given null', async (t) => {
    const api = await build(t, kind)
    await defineCustomField(api, { name: 'company', label: 'Company' })
    const { user } = await createUserWithToken(api, { company: 'ACME' })
    const response = await patch(api, user.id, { company: null })
    t.equal(response.statusCode, 200)
    t.notOk('company' in response.body)
    t.equal(await rowCount(api, 'user_custom_field_values'), 0)
  })

  t.test('refuses to remove the value of a mandatory field', async (t) => {
    const api = await build(t, kind)
    await defineCustomField(api, { name: 'company', label: 'Company', mandatory: true })
    const { user } = await createUserWithToken(api, { company: 'ACME' })
    const before = await userSnapshot(api, user.id)
    const response = await patch(api, user.id, { real_name: 'Changed', company: null })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'missing_field', field: 'company' })
    t.strictSame(await userSnapshot(api, user.id), before)
  })

  t.test('refuses a key that is no field with 400 unknown_field', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const before = await userSnapshot(api, user.id)
    const response = await patch(api, user.id, { real_name: 'Changed', nickname: 'JD' })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'unknown_field', field: 'nickname' })
    t.strictSame(await userSnapshot(api, user.id), before)
  })

  t.test('refuses to change each read-only standard field with 400 read_only_field, and changes nothing', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const before = await userSnapshot(api, user.id)
    for (const [field, value] of Object.entries({
      email: 'new@example.com', password: 'N3w-Password!', id: 99, roles: ['admin'], status: 'b',
      date_joined: '2020-01-01T00:00:00.000Z', email_isvalid: true, invite_code: 'CODE', promo_code: 'PROMO'
    })) {
      const response = await patch(api, user.id, { real_name: 'Changed', [field]: value })
      t.equal(response.statusCode, 400, field)
      t.match(response.body, { code: 'read_only_field', field }, field)
    }
    t.strictSame(await userSnapshot(api, user.id), before)
  })

  t.test('refuses an invalid custom value naming the field and changes nothing', async (t) => {
    const api = await build(t, kind)
    await defineCustomField(api, { name: 'age', label: 'Age', type: 'integer' })
    await defineCustomField(api, { name: 'plan', label: 'Plan', type: 'enum', type_options: ['free', 'pro'] })
    const { user } = await createUserWithToken(api, { real_name: 'Jane Doe', age: 30, plan: 'free' })
    const before = await userSnapshot(api, user.id)
    for (const [field, value] of [['age', 'thirty'], ['plan', 'gold'], ['age', 1.5]] as const) {
      const response = await patch(api, user.id, { real_name: 'Changed', plan: 'pro', [field]: value })
      t.equal(response.statusCode, 400, `${field}: ${value}`)
      t.match(response.body, { code: 'invalid_field', field }, `${field}: ${value}`)
    }
    t.strictSame(await userSnapshot(api, user.id), before)
  })

  t.test('refuses an empty change', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const response = await patch(api, user.id, {})
    t.equal(response.statusCode, 400)
    t.equal(response.body.code, 'invalid_body')
  })

  t.test('lets a user change themselves', async (t) => {
    const api = await build(t, kind)
    await defineCustomField(api, { name: 'company', label: 'Company' })
    const { user, token } = await createUserWithToken(api)
    const response = await patch(api, user.id, { real_name: 'Me Myself', company: 'Self Inc' }, token)
    t.equal(response.statusCode, 200)
    t.match(response.body, { real_name: 'Me Myself', company: 'Self Inc' })
  })

  t.test('answers 403 to a user who is not an admin changing another user', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api, { real_name: 'Jane Doe' })
    const { token } = await createUserWithToken(api, { username: 'member', email: 'member@example.com' })
    const before = await userSnapshot(api, user.id)
    const response = await patch(api, user.id, { real_name: 'Hijacked' }, token)
    t.equal(response.statusCode, 403)
    t.equal(response.body.code, 'forbidden')
    t.strictSame(await userSnapshot(api, user.id), before)
  })

  t.test('answers 403, not 404, to a user who is not an admin naming a user that does not exist', async (t) => {
    const api = await build(t, kind)
    const { token } = await createUserWithToken(api)
    const response = await patch(api, 9999, { real_name: 'Nobody' }, token)
    t.equal(response.statusCode, 403)
  })

  t.test('answers 404 for a user that does not exist', async (t) => {
    const api = await build(t, kind)
    const before = await Promise.all(['audit_log', 'outbox_events'].map(async (table) => await rowCount(api, table)))
    const response = await patch(api, 9999, { real_name: 'Nobody' })
    t.equal(response.statusCode, 404)
    t.equal(response.body.code, 'not_found')
    t.strictSame(await Promise.all(['audit_log', 'outbox_events'].map(async (table) => await rowCount(api, table))), before)
  })

  t.test('answers 401 without a token', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const response = await api.request({ method: 'PATCH', url: userUrl(user.id), payload: { real_name: 'Anonymous' } })
    t.equal(response.statusCode, 401)
  })

  t.test('records an audit entry and a user.updated event naming the fields changed', async (t) => {
    const api = await build(t, kind)
    await defineCustomField(api, { name: 'company', label: 'Company' })
    const { user } = await createUserWithToken(api, { company: 'ACME' })
    const admin = await api.app.knex('users').where({ username: ADMIN.username }).first('id')
    await patch(api, user.id, { real_name: 'Jane Roe', company: null })
    const audit = await api.app.knex('audit_log').where({ subject_id: user.id, action: 'user.updated' }).select('actor_id')
    t.strictSame(audit, [{ actor_id: admin.id }])
    const events = await api.app.knex('outbox_events').where({ type: 'user.updated' }).select('payload', 'created_at')
    t.equal(events.length, 1)
    const payload = JSON.parse(events[0].payload)
    t.strictSame(Object.keys(payload).sort(), ['changed', 'id', 'updated_at', 'updated_by', 'updated_by_client'])
    t.match(payload, { id: user.id, changed: ['real_name', 'company'], updated_by: admin.id })
    const row = await api.app.knex('users').where({ id: user.id }).first('updated_at')
    t.equal(payload.updated_at, fromDatabaseTime(row.updated_at))
    t.ok(Date.parse(payload.updated_at) >= Date.parse(user.date_joined))
  })

  t.test('records the user as the actor of a change of themselves', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    await patch(api, user.id, { real_name: 'Me' }, token)
    const audit = await api.app.knex('audit_log').where({ subject_id: user.id, action: 'user.updated' }).select('actor_id')
    t.strictSame(audit, [{ actor_id: user.id }])
    const [event] = await api.app.knex('outbox_events').where({ type: 'user.updated' }).pluck('payload')
    t.equal(JSON.parse(event).updated_by, user.id)
  })
})

onEachDatabase('mandatory custom fields on every change', async (t, kind) => {
  // The field became mandatory after the user was created, without a value.
  async function userWithoutMandatoryField (api: TestApp, settings: Record<string, unknown> = {}): Promise<{ user: any, fieldId: number }> {
    const field = await defineCustomField(api, { name: 'company', label: 'Company' })
    const { user } = await createUserWithToken(api, { real_name: 'Jane Doe' })
    await makeMandatory(api, field.id, settings)
    return { user, fieldId: field.id }
  }

  t.test('a PATCH of real_name alone is refused, naming the mandatory field the user has no value for', async (t) => {
    const api = await build(t, kind)
    const { user } = await userWithoutMandatoryField(api)
    const before = await userSnapshot(api, user.id)
    const response = await patch(api, user.id, { real_name: 'Jane Roe' })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'missing_field', field: 'company' })
    t.strictSame(await userSnapshot(api, user.id), before)
  })

  t.test('a PATCH of another custom field is refused too', async (t) => {
    const api = await build(t, kind)
    const { user } = await userWithoutMandatoryField(api)
    await defineCustomField(api, { name: 'team', label: 'Team' })
    const response = await patch(api, user.id, { team: 'Blue' })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'missing_field', field: 'company' })
  })

  t.test('a PATCH that gives the mandatory field as well goes through', async (t) => {
    const api = await build(t, kind)
    const { user } = await userWithoutMandatoryField(api)
    const response = await patch(api, user.id, { bio: 'Hello', company: 'ACME' })
    t.equal(response.statusCode, 200)
    t.match(response.body, { bio: 'Hello', company: 'ACME' })
  })

  t.test('a mandatory field with a default takes it on the next change', async (t) => {
    const api = await build(t, kind)
    const { user } = await userWithoutMandatoryField(api, { default: 'Freelance' })
    const response = await patch(api, user.id, { bio: 'Hello' })
    t.equal(response.statusCode, 200)
    t.equal(response.body.company, 'Freelance')
    const [event] = await updatedEvents(api)
    t.strictSame(event?.changed, ['bio', 'company'])
  })

  t.test('a user who has a value for every mandatory field changes the rest freely', async (t) => {
    const api = await build(t, kind)
    const field = await defineCustomField(api, { name: 'company', label: 'Company' })
    const { user } = await createUserWithToken(api, { company: 'ACME' })
    await makeMandatory(api, field.id)
    const response = await patch(api, user.id, { bio: 'Hello' })
    t.equal(response.statusCode, 200)
    t.equal(response.body.company, 'ACME')
  })
})
