import { build, createUserWithToken, newAccount, onEachDatabase, type TestApp } from './helper.js'

const PREFERENCES = '/api/v2/dynamic_preference/'
const FIELDS = '/api/v2/custom_field/'
const CREATE = '/api/v2/account/create/'
const INVITE = 'configurations.invite_code'
const REGISTRY = 'configurations.user_metadata_definition'

async function patch (api: TestApp, payload: Record<string, unknown>) {
  return await api.request({ method: 'PATCH', url: PREFERENCES, token: await api.adminToken(), payload })
}

async function list (api: TestApp, query = '') {
  return await api.request({ url: `${PREFERENCES}${query}`, token: await api.adminToken() })
}

// The registry preference's value, parsed.
async function registry (api: TestApp): Promise<Record<string, any>> {
  const response = await api.request({ url: `${PREFERENCES}2/`, token: await api.adminToken() })
  return JSON.parse(response.body.value)
}

async function fieldNames (api: TestApp): Promise<string[]> {
  const response = await api.request({ url: FIELDS, token: await api.adminToken() })
  return response.body.results.map((field: { name: string }) => field.name)
}

async function inviteCodeStored (api: TestApp): Promise<string> {
  return (await api.app.knex('preferences').where({ id: 1 }).first('value')).value
}

onEachDatabase('dynamic preferences', async (t, kind) => {
  t.test('lists the seeded preferences with their types and values', async (t) => {
    const api = await build(t, kind)
    const response = await list(api)
    t.equal(response.statusCode, 200)
    t.match(response.body, { count: 4, next: null, previous: null })
    t.match(response.body.results, [
      { id: 1, section: 'configurations', name: 'invite_code', type: 'boolean', value: false, help: String },
      { id: 2, section: 'configurations', name: 'user_metadata_definition', type: 'json', value: '{}', help: String },
      { id: 3, section: 'configurations', name: 'verification_mail', type: 'boolean', value: true, help: String },
      { id: 4, section: 'configurations', name: 'deleted_accounts_release_identity', type: 'boolean', value: false, help: String }
    ])
  })

  t.test('reads one preference by id, and answers 404 for an unknown id', async (t) => {
    const api = await build(t, kind)
    const one = await api.request({ url: `${PREFERENCES}1/`, token: await api.adminToken() })
    t.equal(one.statusCode, 200)
    t.match(one.body, { id: 1, name: 'invite_code', value: false })
    const missing = await api.request({ url: `${PREFERENCES}99/`, token: await api.adminToken() })
    t.equal(missing.statusCode, 404)
    t.equal(missing.body.code, 'not_found')
  })

  t.test('search matches part of a name or of the help text, regardless of case', async (t) => {
    const api = await build(t, kind)
    const names = async (search: string) => (await list(api, `?search=${search}`)).body.results.map((p: { name: string }) => p.name)
    t.strictSame(await names('INVITE_'), ['invite_code'])
    t.strictSame(await names('Custom%20User%20Fields'), ['user_metadata_definition'])
    t.strictSame(await names('configurations'), [], 'the section is not searched')
    t.strictSame(await names('nothing-like-it'), [])
  })

  t.test('section keeps the preferences of that section only', async (t) => {
    const api = await build(t, kind)
    t.equal((await list(api, '?section=configurations')).body.count, 4)
    t.equal((await list(api, '?section=other')).body.count, 0)
  })

  t.test('keys keeps the preferences named by section.name', async (t) => {
    const api = await build(t, kind)
    const ids = async (keys: string) => (await list(api, `?keys=${keys}`)).body.results.map((p: { id: number }) => p.id)
    t.strictSame(await ids(INVITE), [1])
    t.strictSame(await ids(`${REGISTRY},%20${INVITE}`), [1, 2])
    t.strictSame(await ids('invite_code'), [], 'a bare name is not a key')
  })

  t.test('orders by id, name or section, and a leading minus reverses', async (t) => {
    const api = await build(t, kind)
    await api.app.knex('preferences').insert({ id: 5, section: 'appearance', name: 'a_theme', type: 'json', value: '{}', help: 'Theme.' })
    const expected: Record<string, number[]> = {
      id: [1, 2, 3, 4, 5], '-id': [5, 4, 3, 2, 1], name: [5, 4, 1, 2, 3], '-name': [3, 2, 1, 4, 5], section: [5, 1, 2, 3, 4], '-section': [4, 3, 2, 1, 5]
    }
    for (const [ordering, ids] of Object.entries(expected)) {
      const response = await list(api, `?ordering=${ordering}`)
      t.strictSame(response.body.results.map((p: { id: number }) => p.id), ids, ordering)
    }
    const unknown = await list(api, '?ordering=help')
    t.equal(unknown.statusCode, 400)
    t.equal(unknown.body.field, 'ordering')
  })

  t.test('invite_code switched on is enforced on account creation', async (t) => {
    const api = await build(t, kind)
    const response = await patch(api, { [INVITE]: true })
    t.equal(response.statusCode, 200)
    t.match(response.body, [{ id: 1, name: 'invite_code', value: true }])
    t.equal(await inviteCodeStored(api), 'true')
    const created = await api.request({ method: 'POST', url: CREATE, token: await api.adminToken(), payload: newAccount() })
    t.equal(created.statusCode, 400)
    t.match(created.body, { code: 'invite_code_required', field: 'invite_code' })
  })

  t.test('accepts a preference by its bare name and switches it off again', async (t) => {
    const api = await build(t, kind)
    await patch(api, { invite_code: true })
    const response = await patch(api, { invite_code: false })
    t.match(response.body, [{ id: 1, value: false }])
    t.equal(await inviteCodeStored(api), 'false')
  })

  t.test('answers the changed preferences in the order given', async (t) => {
    const api = await build(t, kind)
    const response = await patch(api, { [REGISTRY]: {}, invite_code: true })
    t.strictSame(response.body.map((p: { id: number }) => p.id), [2, 1])
  })

  t.test('refuses an unknown key, naming it, and changes nothing', async (t) => {
    const api = await build(t, kind)
    const response = await patch(api, { invite_code: true, 'configurations.colour': 'red' })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'unknown_field', field: 'configurations.colour' })
    t.equal(await inviteCodeStored(api), 'false')
  })

  t.test('refuses a value of the wrong type, naming the key', async (t) => {
    const api = await build(t, kind)
    for (const value of ['true', 1, null]) {
      const response = await patch(api, { [INVITE]: value })
      t.equal(response.statusCode, 400, JSON.stringify(value))
      t.match(response.body, { code: 'invalid_field', field: INVITE })
    }
    t.equal(await inviteCodeStored(api), 'false')
  })

  t.test('refuses the same preference given twice', async (t) => {
    const api = await build(t, kind)
    const response = await patch(api, { invite_code: true, [INVITE]: false })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'duplicate_field', field: INVITE })
    t.equal(await inviteCodeStored(api), 'false')
  })

  t.test('refuses an empty body', async (t) => {
    const api = await build(t, kind)
    const response = await patch(api, {})
    t.equal(response.statusCode, 400)
    t.equal(response.body.code, 'invalid_body')
  })

  t.test('a field defined through custom_field appears in user_metadata_definition', async (t) => {
    const api = await build(t, kind)
    await api.request({ method: 'POST', url: FIELDS, token: await api.adminToken(), payload: { name: 'plan', label: 'Plan', type: 'enum', type_options: ['free', 'pro'], default: 'free' } })
    t.strictSame(await registry(api), {
      plan: { label: 'Plan', type: 'enum', type_options: ['free', 'pro'], mandatory: false, min_length: null, max_length: null, default: 'free', public: false }
    })
  })

  t.test('a field written through user_metadata_definition is listed by custom_field and enforced on creation', async (t) => {
    const api = await build(t, kind)
    const response = await patch(api, { [REGISTRY]: { company: { label: 'Company', mandatory: true, max_length: 20 } } })
    t.equal(response.statusCode, 200)
    t.match(JSON.parse(response.body[0].value), { company: { label: 'Company', type: 'string', mandatory: true, max_length: 20 } })
    const fields = await api.request({ url: FIELDS, token: await api.adminToken() })
    t.match(fields.body.results, [{ name: 'company', label: 'Company', type: 'string', mandatory: true, max_length: 20 }])
    const missing = await api.request({ method: 'POST', url: CREATE, token: await api.adminToken(), payload: newAccount() })
    t.match(missing.body, { code: 'missing_field', field: 'company' })
    const created = await api.request({ method: 'POST', url: CREATE, token: await api.adminToken(), payload: newAccount({ company: 'ACME' }) })
    t.equal(created.body.company, 'ACME')
  })

  t.test('user_metadata_definition stores and changes whether a field is public', async (t) => {
    const api = await build(t, kind)
    await patch(api, { [REGISTRY]: { twitter: { public: true }, company: {} } })
    t.match(await registry(api), { twitter: { public: true }, company: { public: false } })
    const fields = await api.request({ url: FIELDS, token: await api.adminToken() })
    t.match(fields.body.results, [{ name: 'twitter', public: true }, { name: 'company', public: false }])
    await patch(api, { [REGISTRY]: { twitter: { public: false }, company: { public: true } } })
    t.match(await registry(api), { twitter: { public: false }, company: { public: true } })
  })

  t.test('accepts user_metadata_definition as JSON text, and a missing label is the name', async (t) => {
    const api = await build(t, kind)
    const response = await patch(api, { user_metadata_definition: JSON.stringify({ age: { type: 'integer' } }) })
    t.equal(response.statusCode, 200)
    t.match(await registry(api), { age: { label: 'age', type: 'integer' } })
  })

  t.test('writing back the value as read changes nothing', async (t) => {
    const api = await build(t, kind)
    await patch(api, { [REGISTRY]: { plan: { type: 'enum', type_options: ['free', 'pro'], default: 'free' }, age: { type: 'integer' } } })
    const before = await api.app.knex('custom_fields').orderBy('id').select('*')
    const read = await api.request({ url: `${PREFERENCES}2/`, token: await api.adminToken() })
    const written = await patch(api, { [REGISTRY]: read.body.value })
    t.equal(written.body[0].value, read.body.value)
    t.strictSame(await api.app.knex('custom_fields').orderBy('id').select('*'), before)
  })

  t.test('replacing the registry changes kept fields and deletes absent ones with their values', async (t) => {
    const api = await build(t, kind)
    await patch(api, { [REGISTRY]: { company: { label: 'Company' }, team: { label: 'Team' } } })
    const { user } = await createUserWithToken(api, { company: 'ACME', team: 'Blue' })
    const teamId = (await api.app.knex('custom_fields').where({ name: 'team' }).first('id')).id
    await patch(api, { [REGISTRY]: { company: { label: 'Employer' } } })
    t.strictSame(await fieldNames(api), ['company'])
    t.equal((await registry(api)).company.label, 'Employer')
    t.equal(await api.app.knex('custom_fields').where({ id: teamId }).first(), undefined)
    t.equal((await api.app.knex('user_custom_field_values').where({ field_id: teamId })).length, 0)
    const read = await api.request({ url: `/api/v2/user/${String(user.id)}/`, token: await api.adminToken() })
    t.equal(read.body.company, 'ACME')
    t.notOk('team' in read.body)
  })

  t.test('refuses to change the type of a field, and changes nothing', async (t) => {
    const api = await build(t, kind)
    await patch(api, { [REGISTRY]: { company: { label: 'Company' } } })
    const response = await patch(api, { [REGISTRY]: { company: { label: 'Company', type: 'integer' }, team: { label: 'Team' } } })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'invalid_field', field: `${REGISTRY}.company.type` })
    t.strictSame(await fieldNames(api), ['company'])
  })

  t.test('answers 409 for a field named like one whose deletion is not finished, and changes nothing', async (t) => {
    const api = await build(t, kind)
    await patch(api, { [REGISTRY]: { company: { label: 'Company' } } })
    // A deletion interrupted after marking the definition, before removing it.
    await api.app.knex('custom_fields').where({ name: 'company' }).update({ deleted_at: '2026-01-01 00:00:00.000' })
    const response = await patch(api, { [INVITE]: true, [REGISTRY]: { company: { label: 'Company' } } })
    t.equal(response.statusCode, 409)
    t.match(response.body, { code: 'custom_field_exists', field: 'name' })
    t.equal(await inviteCodeStored(api), 'false')
  })

  t.test('refuses a reserved name', async (t) => {
    const api = await build(t, kind)
    const response = await patch(api, { [REGISTRY]: { email: { label: 'Email' } } })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'reserved_name', field: `${REGISTRY}.email` })
  })

  t.test('refuses a wrongly shaped definition, naming the path at fault', async (t) => {
    const api = await build(t, kind)
    const cases: Array<[unknown, string, string]> = [
      ['{not json', REGISTRY, 'invalid_field'],
      [[], REGISTRY, 'invalid_field'],
      ['"text"', REGISTRY, 'invalid_field'],
      [{ company: 'Company' }, `${REGISTRY}.company`, 'invalid_field'],
      [{ company: { name: 'company' } }, `${REGISTRY}.company.name`, 'unknown_field'],
      [{ company: { colour: 'red' } }, `${REGISTRY}.company.colour`, 'unknown_field'],
      [{ 'Bad-Name': {} }, `${REGISTRY}.Bad-Name`, 'invalid_field'],
      [{ company: { label: '' } }, `${REGISTRY}.company.label`, 'invalid_field'],
      [{ company: { label: 'x'.repeat(256) } }, `${REGISTRY}.company.label`, 'invalid_field'],
      [{ age: { type: 'decimal' } }, `${REGISTRY}.age.type`, 'invalid_field'],
      [{ plan: { type: 'enum' } }, `${REGISTRY}.plan.type_options`, 'invalid_field'],
      [{ plan: { type: 'enum', type_options: ['free', ''] } }, `${REGISTRY}.plan.type_options[1]`, 'invalid_field'],
      [{ age: { type: 'integer', default: 'ten' } }, `${REGISTRY}.age.default`, 'invalid_field'],
      [{ code: { min_length: 5, max_length: 2 } }, `${REGISTRY}.code.min_length`, 'invalid_field']
    ]
    for (const [value, field, code] of cases) {
      const response = await patch(api, { [REGISTRY]: value })
      t.equal(response.statusCode, 400, JSON.stringify(value))
      t.match(response.body, { code, field }, JSON.stringify(value))
    }
    t.strictSame(await fieldNames(api), [])
  })

  t.test('one bad definition in a change of several preferences changes nothing', async (t) => {
    const api = await build(t, kind)
    await patch(api, { [REGISTRY]: { company: { label: 'Company' } } })
    const response = await patch(api, { [INVITE]: true, [REGISTRY]: { team: { label: 'Team' }, plan: { type: 'enum' } } })
    t.equal(response.statusCode, 400)
    t.equal(response.body.field, `${REGISTRY}.plan.type_options`)
    t.equal(await inviteCodeStored(api), 'false')
    t.strictSame(await fieldNames(api), ['company'])
  })

  t.test('a replacement racing account creates never causes a 500 and leaves no values of removed fields', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    for (let round = 0; round < 5; round++) {
      await patch(api, { [REGISTRY]: { company: { label: 'Company' } } })
      const [created, replaced] = await Promise.all([
        api.request({ method: 'POST', url: CREATE, token, payload: newAccount({ username: `racer${round}`, email: `racer${round}@example.com`, company: 'ACME' }) }),
        api.request({ method: 'PATCH', url: PREFERENCES, token, payload: { [REGISTRY]: {} } })
      ])
      t.equal(replaced.statusCode, 200)
      t.ok(created.statusCode === 201 || created.body.code === 'unknown_field', `round ${round}: ${created.statusCode} ${String(created.body.code)}`)
    }
    t.equal((await api.app.knex('user_custom_field_values').select('user_id')).length, 0)
  })

  t.test('concurrent replacements adding the same field all succeed and leave one definition', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const responses = await Promise.all(['A', 'B', 'C'].map(async (label) =>
      await api.request({ method: 'PATCH', url: PREFERENCES, token, payload: { [REGISTRY]: { company: { label } } } })))
    t.strictSame(responses.map((response) => response.statusCode), [200, 200, 200])
    t.strictSame(await fieldNames(api), ['company'])
  })

  t.test('stores any other json preference as JSON text', async (t) => {
    const api = await build(t, kind)
    await api.app.knex('preferences').insert({ id: 5, section: 'style', name: 'colors', type: 'json', value: null, help: 'Colors.' })
    t.equal((await api.request({ url: `${PREFERENCES}5/`, token: await api.adminToken() })).body.value, 'null')
    const response = await patch(api, { 'style.colors': '{"primary": "#fff"}' })
    t.match(response.body, [{ id: 5, value: '{"primary":"#fff"}' }])
    t.equal((await patch(api, { colors: { primary: '#000' } })).body[0].value, '{"primary":"#000"}')
    const tooDeep = await patch(api, { colors: `${'['.repeat(40)}${']'.repeat(40)}` })
    t.equal(tooDeep.statusCode, 400)
    t.match(tooDeep.body, { code: 'invalid_field', field: 'colors' })
  })

  t.test('any user can read preferences, only an admin can change them', async (t) => {
    const api = await build(t, kind)
    const { token } = await createUserWithToken(api)
    t.equal((await api.request({ url: PREFERENCES, token })).statusCode, 200)
    t.equal((await api.request({ url: `${PREFERENCES}1/`, token })).statusCode, 200)
    const refused = await api.request({ method: 'PATCH', url: PREFERENCES, token, payload: { invite_code: true } })
    t.equal(refused.statusCode, 403)
    t.equal(refused.body.code, 'forbidden')
    t.equal(await inviteCodeStored(api), 'false')
  })

  t.test('needs a token', async (t) => {
    const api = await build(t, kind)
    for (const [method, url] of [['GET', PREFERENCES], ['GET', `${PREFERENCES}1/`], ['PATCH', PREFERENCES]] as const) {
      const response = await api.request({ method, url, payload: method === 'PATCH' ? { invite_code: true } : undefined })
      t.equal(response.statusCode, 401, `${method} ${url}`)
    }
  })
})
