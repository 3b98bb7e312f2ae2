import { build, createTestDatabase, createUserWithToken, newAccount, onEachDatabase, type TestApp } from './helper.js'

const FIELDS = '/api/v2/custom_field/'
const CREATE = '/api/v2/account/create/'

async function defineField (api: TestApp, definition: Record<string, unknown>) {
  return await api.request({ method: 'POST', url: FIELDS, token: await api.adminToken(), payload: definition })
}

async function create (api: TestApp, payload: Record<string, unknown>) {
  return await api.request({ method: 'POST', url: CREATE, token: await api.adminToken(), payload })
}

onEachDatabase('custom-field definitions', async (t, kind) => {
  t.test('defines a field and lists it', async (t) => {
    const api = await build(t, kind)
    const created = await defineField(api, { name: 'company', label: 'Company', mandatory: false, max_length: 100 })
    t.equal(created.statusCode, 201)
    t.match(created.body, { id: Number, name: 'company', label: 'Company', type: 'string', type_options: null, mandatory: false, min_length: null, max_length: 100, default: null, public: false })
    const list = await api.request({ url: FIELDS, token: await api.adminToken() })
    t.equal(list.body.count, 1)
    t.strictSame(list.body.results, [created.body])
    const one = await api.request({ url: `${FIELDS}${String(created.body.id)}/`, token: await api.adminToken() })
    t.strictSame(one.body, created.body)
  })

  t.test('refuses a second field with the same name with 409', async (t) => {
    const api = await build(t, kind)
    await defineField(api, { name: 'company', label: 'Company' })
    const again = await defineField(api, { name: 'company', label: 'Other' })
    t.equal(again.statusCode, 409)
    t.match(again.body, { code: 'custom_field_exists', field: 'name' })
  })

  t.test('refuses a name that is a standard field', async (t) => {
    const api = await build(t, kind)
    for (const name of ['email', 'real_name', 'roles', 'invite_code']) {
      const response = await defineField(api, { name, label: 'x' })
      t.equal(response.statusCode, 400, name)
      t.match(response.body, { code: 'reserved_name', field: 'name' }, name)
    }
  })

  t.test('refuses inconsistent definitions naming the field at fault', async (t) => {
    const api = await build(t, kind)
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ name: 'plan', label: 'Plan', type: 'enum' }, 'type_options'],
      [{ name: 'plan', label: 'Plan', type: 'string', type_options: ['a'] }, 'type_options'],
      [{ name: 'age', label: 'Age', type: 'integer', max_length: 3 }, 'max_length'],
      [{ name: 'code', label: 'Code', min_length: 5, max_length: 2 }, 'min_length'],
      [{ name: 'plan', label: 'Plan', type: 'enum', type_options: ['free', 'pro'], default: 'gold' }, 'default'],
      [{ name: 'Bad-Name', label: 'x' }, 'name'],
      [{ name: 'age', label: 'Age', type: 'decimal' }, 'type']
    ]
    for (const [definition, field] of cases) {
      const response = await defineField(api, definition)
      t.equal(response.statusCode, 400, JSON.stringify(definition))
      t.equal(response.body.field, field, JSON.stringify(definition))
    }
    t.equal((await api.request({ url: FIELDS, token: await api.adminToken() })).body.count, 0)
  })

  t.test('changes a definition, and null clears a setting', async (t) => {
    const api = await build(t, kind)
    const created = await defineField(api, { name: 'company', label: 'Company', max_length: 10 })
    const url = `${FIELDS}${String(created.body.id)}/`
    const changed = await api.request({ method: 'PATCH', url, token: await api.adminToken(), payload: { label: 'Employer', max_length: null, mandatory: true } })
    t.equal(changed.statusCode, 200)
    t.match(changed.body, { label: 'Employer', max_length: null, mandatory: true, name: 'company' })
  })

  t.test('stores whether a field is public, changes it, and keeps it when a change leaves it out', async (t) => {
    const api = await build(t, kind)
    const created = await defineField(api, { name: 'twitter', label: 'Twitter', public: true })
    t.equal(created.body.public, true)
    const url = `${FIELDS}${String(created.body.id)}/`
    t.equal((await api.request({ url, token: await api.adminToken() })).body.public, true)
    const relabelled = await api.request({ method: 'PATCH', url, token: await api.adminToken(), payload: { label: 'X' } })
    t.equal(relabelled.body.public, true)
    const hidden = await api.request({ method: 'PATCH', url, token: await api.adminToken(), payload: { public: false } })
    t.equal(hidden.body.public, false)
    const list = await api.request({ url: FIELDS, token: await api.adminToken() })
    t.match(list.body.results, [{ name: 'twitter', public: false }])
  })

  t.test('refuses a public setting that is not a boolean', async (t) => {
    const api = await build(t, kind)
    const response = await defineField(api, { name: 'twitter', label: 'Twitter', public: 'yes' })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'invalid_field', field: 'public' })
  })

  t.test('refuses an empty change and a change of the name', async (t) => {
    const api = await build(t, kind)
    const created = await defineField(api, { name: 'company', label: 'Company' })
    const url = `${FIELDS}${String(created.body.id)}/`
    const empty = await api.request({ method: 'PATCH', url, token: await api.adminToken(), payload: {} })
    t.equal(empty.statusCode, 400)
    t.equal(empty.body.code, 'invalid_body')
    const rename = await api.request({ method: 'PATCH', url, token: await api.adminToken(), payload: { name: 'employer' } })
    t.match(rename.body, { code: 'unknown_field', field: 'name' })
  })

  t.test('deletes a definition with its values', async (t) => {
    const api = await build(t, kind)
    const created = await defineField(api, { name: 'company', label: 'Company' })
    await create(api, newAccount({ company: 'ACME' }))
    const url = `${FIELDS}${String(created.body.id)}/`
    const deleted = await api.request({ method: 'DELETE', url, token: await api.adminToken() })
    t.equal(deleted.statusCode, 204)
    t.equal(deleted.text, '')
    t.equal((await api.request({ url, token: await api.adminToken() })).statusCode, 404)
    const user = await api.request({ url: '/api/v2/user/2/', token: await api.adminToken() })
    t.notOk('company' in user.body)
    t.equal((await api.request({ method: 'DELETE', url, token: await api.adminToken() })).statusCode, 404)
  })

  t.test('deletes a field with more values than one batch removes', async (t) => {
    const api = await build(t, kind)
    const field = await defineField(api, { name: 'company', label: 'Company' })
    const at = '2026-01-01 00:00:00.000'
    const users = Array.from({ length: 2500 }, (_, index) => ({
      username: `bulk${index}`, username_normalized: `bulk${index}`, email: `bulk${index}@example.com`,
      email_normalized: `bulk${index}@example.com`, password_hash: 'x', date_joined: at, updated_at: at
    }))
    for (let start = 0; start < users.length; start += 500) await api.app.knex('users').insert(users.slice(start, start + 500))
    const ids = await api.app.knex('users').where('username', 'like', 'bulk%').pluck('id')
    for (let start = 0; start < ids.length; start += 500) {
      await api.app.knex('user_custom_field_values').insert(ids.slice(start, start + 500).map((id: number) => ({ user_id: id, field_id: field.body.id, value: '"ACME"' })))
    }
    const deleted = await api.request({ method: 'DELETE', url: `${FIELDS}${String(field.body.id)}/`, token: await api.adminToken() })
    t.equal(deleted.statusCode, 204)
    t.equal(Number((await api.app.knex('user_custom_field_values').count<Array<{ count: number | string }>>({ count: '*' }))[0]?.count), 0)
    t.equal(await api.app.knex('custom_fields').where({ id: field.body.id }).first(), undefined)
  })

  t.test('a field whose deletion was interrupted is gone for everyone, and deleting it again finishes the job', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const field = await defineField(api, { name: 'company', label: 'Company' })
    const user = await create(api, newAccount({ company: 'ACME' }))
    await api.app.knex('custom_fields').where({ id: field.body.id }).update({ deleted_at: '2026-01-01 00:00:00.000' })
    const url = `${FIELDS}${String(field.body.id)}/`
    t.equal((await api.request({ url, token })).statusCode, 404)
    t.equal((await api.request({ url: FIELDS, token })).body.count, 0)
    t.equal((await api.request({ method: 'PATCH', url, token, payload: { label: 'Employer' } })).statusCode, 404)
    t.notOk('company' in (await api.request({ url: `/api/v2/user/${String(user.body.id)}/`, token })).body)
    t.match((await create(api, newAccount({ username: 'bob', email: 'bob@example.com', company: 'ACME' }))).body, { code: 'unknown_field', field: 'company' })
    t.equal((await api.request({ method: 'DELETE', url, token })).statusCode, 204)
    t.equal(await api.app.knex('user_custom_field_values').where({ field_id: field.body.id }).first(), undefined)
    t.equal(await api.app.knex('custom_fields').where({ id: field.body.id }).first(), undefined)
  })

  t.test('is for admins only', async (t) => {
    const api = await build(t, kind)
    const { token } = await createUserWithToken(api)
    t.equal((await api.request({ url: FIELDS, token })).statusCode, 403)
    t.equal((await api.request({ method: 'POST', url: FIELDS, token, payload: { name: 'x', label: 'x' } })).statusCode, 403)
    t.equal((await api.request({ url: FIELDS })).statusCode, 401)
  })
})

onEachDatabase('custom fields on account creation', async (t, kind) => {
  t.test('stores custom fields given as top-level keys and returns them with the user', async (t) => {
    const api = await build(t, kind)
    await defineField(api, { name: 'company', label: 'Company' })
    await defineField(api, { name: 'age', label: 'Age', type: 'integer' })
    const response = await create(api, newAccount({ company: 'ACME', age: 42 }))
    t.equal(response.statusCode, 201)
    t.match(response.body, { company: 'ACME', age: 42 })
    const read = await api.request({ url: `/api/v2/user/${String(response.body.id)}/`, token: await api.adminToken() })
    t.match(read.body, { company: 'ACME', age: 42 })
  })

  t.test('refuses a key that is neither a standard nor a custom field', async (t) => {
    const api = await build(t, kind)
    const response = await create(api, newAccount({ company: 'ACME' }))
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'unknown_field', field: 'company' })
  })

  t.test('requires a mandatory field, and a failed create leaves no user', async (t) => {
    const api = await build(t, kind)
    await defineField(api, { name: 'company', label: 'Company', mandatory: true })
    const response = await create(api, newAccount())
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'missing_field', field: 'company' })
    t.equal(await api.app.knex('users').where({ username: 'jane_doe' }).first(), undefined)
  })

  t.test('fills a missing field with its default', async (t) => {
    const api = await build(t, kind)
    await defineField(api, { name: 'plan', label: 'Plan', type: 'enum', type_options: ['free', 'pro'], mandatory: true, default: 'free' })
    const response = await create(api, newAccount())
    t.equal(response.body.plan, 'free')
  })

  const invalidValues: Array<[string, Record<string, unknown>, unknown]> = [
    ['a string field given a number', { type: 'string' }, 5],
    ['a string field shorter than min_length', { type: 'string', min_length: 3 }, 'ab'],
    ['a string field longer than max_length', { type: 'string', max_length: 3 }, 'abcd'],
    ['an integer field given a string', { type: 'integer' }, '42'],
    ['an integer field given a fraction', { type: 'integer' }, 4.2],
    ['a phone_number field given letters', { type: 'phone_number' }, 'call me'],
    ['a phone_number field without the country prefix', { type: 'phone_number' }, '3912345678'],
    ['an enum field given another value', { type: 'enum', type_options: ['free', 'pro'] }, 'gold'],
    ['a url field given a non-http URL', { type: 'url' }, 'ftp://example.com'],
    ['a url field given text', { type: 'url' }, 'not a url'],
    ['an email field given text', { type: 'email' }, 'nope'],
    ['a field given an object', { type: 'string' }, { nested: true }]
  ]
  for (const [description, definition, value] of invalidValues) {
    t.test(`refuses ${description}`, async (t) => {
      const api = await build(t, kind)
      await defineField(api, { name: 'extra', label: 'Extra', ...definition })
      const response = await create(api, newAccount({ extra: value }))
      t.equal(response.statusCode, 400)
      t.match(response.body, { code: 'invalid_field', field: 'extra' })
    })
  }

  const validValues: Array<[string, Record<string, unknown>, unknown]> = [
    ['a phone_number in international format', { type: 'phone_number' }, '+391234567890'],
    ['an https url', { type: 'url' }, 'https://example.com/me'],
    ['an email', { type: 'email' }, 'me@example.org'],
    ['one of the enum options', { type: 'enum', type_options: ['free', 'pro'] }, 'pro']
  ]
  for (const [description, definition, value] of validValues) {
    t.test(`accepts ${description}`, async (t) => {
      const api = await build(t, kind)
      await defineField(api, { name: 'extra', label: 'Extra', ...definition })
      const response = await create(api, newAccount({ extra: value }))
      t.equal(response.statusCode, 201)
      t.equal(response.body.extra, value)
    })
  }

  t.test('a definition changed through one instance is enforced by another', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const first = await build(t, kind, { databaseUrl })
    const second = await build(t, kind, { databaseUrl })
    t.equal((await create(second, newAccount({ username: 'before', email: 'before@example.com' }))).statusCode, 201)
    const field = await defineField(first, { name: 'company', label: 'Company', mandatory: true })
    const refused = await create(second, newAccount())
    t.match(refused.body, { code: 'missing_field', field: 'company' })
    await first.request({ method: 'PATCH', url: `${FIELDS}${String(field.body.id)}/`, token: await first.adminToken(), payload: { mandatory: false } })
    t.equal((await create(second, newAccount())).statusCode, 201)
  })

  t.test('a field named like an Object.prototype member is an ordinary optional field', async (t) => {
    const api = await build(t, kind)
    t.equal((await defineField(api, { name: 'constructor', label: 'Builder' })).statusCode, 201)
    const without = await create(api, newAccount())
    t.equal(without.statusCode, 201)
    t.notOk(Object.hasOwn(without.body, 'constructor'))
    const withValue = await create(api, newAccount({ username: 'bob', email: 'bob@example.com', constructor: 'ACME' }))
    t.equal(withValue.body.constructor, 'ACME')
  })

  t.test('a field deleted while accounts using it are created never causes a 500', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    for (let round = 0; round < 5; round++) {
      const field = await defineField(api, { name: 'company', label: 'Company' })
      const [created, deleted] = await Promise.all([
        api.request({ method: 'POST', url: CREATE, token, payload: newAccount({ username: `racer${round}`, email: `racer${round}@example.com`, company: 'ACME' }) }),
        api.request({ method: 'DELETE', url: `${FIELDS}${String(field.body.id)}/`, token })
      ])
      t.equal(deleted.statusCode, 204)
      t.ok(created.statusCode === 201 || created.body.code === 'unknown_field', `round ${round}: ${created.statusCode} ${String(created.body.code)}`)
    }
    t.equal(Number((await api.app.knex('user_custom_field_values').count<Array<{ count: number | string }>>({ count: '*' }))[0]?.count), 0)
  })

  t.test('caps a text value without max_length at 10000 characters, on every database', async (t) => {
    const api = await build(t, kind, { env: { BODY_LIMIT: '1048576' } })
    await defineField(api, { name: 'about', label: 'About' })
    const tooLong = await create(api, newAccount({ about: 'b'.repeat(10001) }))
    t.equal(tooLong.statusCode, 400)
    t.match(tooLong.body, { code: 'invalid_field', field: 'about' })
    const longest = await create(api, newAccount({ about: '😀'.repeat(10000) }))
    t.equal(longest.statusCode, 201)
    t.equal(longest.body.about, '😀'.repeat(10000))
  })

  t.test('stores the largest enum definition the contract allows', async (t) => {
    const api = await build(t, kind, { env: { BODY_LIMIT: '1048576' } })
    const options = Array.from({ length: 100 }, (_, index) => `${index}`.padEnd(255, '😀'))
    const response = await defineField(api, { name: 'choice', label: 'Choice', type: 'enum', type_options: options, default: options[99] })
    t.equal(response.statusCode, 201)
    t.strictSame(response.body.type_options, options)
  })

  t.test('counts lengths in characters, not UTF-16 units', async (t) => {
    const api = await build(t, kind)
    await defineField(api, { name: 'nickname', label: 'Nickname', max_length: 3 })
    t.equal((await create(api, newAccount({ nickname: '😀😀😀' }))).statusCode, 201)
  })

  t.test('refuses enum options that break the field\'s own length limits', async (t) => {
    const api = await build(t, kind)
    const response = await defineField(api, { name: 'size', label: 'Size', type: 'enum', type_options: ['S', 'XXL'], max_length: 2 })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'invalid_field', field: 'type_options[1]' })
  })

  t.test('concurrent changes of one definition cannot combine into an invalid one', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const field = await defineField(api, { name: 'code', label: 'Code', min_length: 1, max_length: 10 })
    const url = `${FIELDS}${String(field.body.id)}/`
    const responses = await Promise.all([
      api.request({ method: 'PATCH', url, token, payload: { min_length: 8 } }),
      api.request({ method: 'PATCH', url, token, payload: { max_length: 5 } })
    ])
    t.strictSame(responses.map((response) => response.statusCode).sort(), [200, 400])
    const final = await api.request({ url, token })
    t.ok(final.body.min_length <= final.body.max_length, `${String(final.body.min_length)} <= ${String(final.body.max_length)}`)
  })
})
