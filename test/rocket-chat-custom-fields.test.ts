import { ADMIN, type ApiResponse, build, createUserWithToken, newAccount, onEachDatabase, type TestApp } from './helper.js'

const SETTING = '/api/v1/settings/Accounts_CustomFields'
const FIELDS = '/api/v2/custom_field/'
const NOT_LOGGED_IN = 'You must be logged in to do this.'

// The contract's example of the setting.
const EXAMPLE = {
  twitter: { type: 'text', required: false, maxLength: 15, public: true },
  role: { type: 'select', options: ['teacher', 'student'], defaultValue: 'student', required: true }
}

// Rocket.Chat's credentials for a token of ours: the token and its subject, the user's id.
function rocketChatHeaders (token: string): Record<string, string> {
  const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { sub: string }
  return { 'x-auth-token': token, 'x-user-id': claims.sub }
}

async function adminHeaders (api: TestApp): Promise<Record<string, string>> {
  return rocketChatHeaders(await api.adminToken())
}

async function setFields (api: TestApp, value: unknown): Promise<ApiResponse> {
  return await api.request({ method: 'POST', url: SETTING, headers: await adminHeaders(api), payload: { value } })
}

async function readFields (api: TestApp): Promise<unknown> {
  const response = await api.request({ url: SETTING, headers: await adminHeaders(api) })
  return JSON.parse(response.body.value as string)
}

async function definitions (api: TestApp): Promise<Array<Record<string, unknown>>> {
  return (await api.request({ url: FIELDS, token: await api.adminToken() })).body.results
}

onEachDatabase('Rocket.Chat Accounts_CustomFields', async (t, kind) => {
  t.test('stores fields given as JSON text as our definitions and reads them back as given', async (t) => {
    const api = await build(t, kind)
    const response = await setFields(api, JSON.stringify(EXAMPLE))
    t.equal(response.statusCode, 200)
    t.strictSame(response.body, { success: true })
    t.match(await definitions(api), [
      { name: 'twitter', label: 'twitter', type: 'string', type_options: null, mandatory: false, min_length: null, max_length: 15, default: null, public: true },
      { name: 'role', label: 'role', type: 'enum', type_options: ['teacher', 'student'], mandatory: true, default: 'student', public: false }
    ])
    const read = await api.request({ url: SETTING, headers: await adminHeaders(api) })
    t.equal(read.statusCode, 200)
    t.match(read.body, { _id: 'Accounts_CustomFields', value: String, success: true })
    t.strictSame(JSON.parse(read.body.value), {
      twitter: { type: 'text', required: false, maxLength: 15, public: true },
      role: { type: 'select', required: true, options: ['teacher', 'student'], defaultValue: 'student', public: false }
    })
  })

  t.test('accepts the fields as an object, and type defaults to text', async (t) => {
    const api = await build(t, kind)
    const response = await setFields(api, { nickname_2: { minLength: 2 } })
    t.equal(response.statusCode, 200)
    t.strictSame(await readFields(api), { nickname_2: { type: 'text', required: false, minLength: 2, public: false } })
  })

  t.test('reads an empty registry as an empty object', async (t) => {
    const api = await build(t, kind)
    t.strictSame(await readFields(api), {})
  })

  t.test('shows fields of types Rocket.Chat has not as text with their rules', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await api.request({ method: 'POST', url: FIELDS, token, payload: { name: 'homepage', label: 'Homepage', type: 'url', max_length: 200 } })
    await api.request({ method: 'POST', url: FIELDS, token, payload: { name: 'age', label: 'Age', type: 'integer', default: 18 } })
    t.strictSame(await readFields(api), {
      homepage: { type: 'text', required: false, maxLength: 200, public: false },
      age: { type: 'text', required: false, defaultValue: 18, public: false }
    })
  })

  t.test('writing back the value as read changes nothing, labels and our own types included', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await api.request({ method: 'POST', url: FIELDS, token, payload: { name: 'homepage', label: 'Homepage', type: 'url', public: true } })
    await api.request({ method: 'POST', url: FIELDS, token, payload: { name: 'plan', label: 'Plan', type: 'enum', type_options: ['free', 'pro'], mandatory: true } })
    const before = await api.app.knex('custom_fields').orderBy('id').select('*')
    const read = await api.request({ url: SETTING, headers: await adminHeaders(api) })
    const written = await setFields(api, read.body.value)
    t.equal(written.statusCode, 200)
    t.strictSame(await api.app.knex('custom_fields').orderBy('id').select('*'), before)
  })

  t.test('replaces the registry: changes kept fields and deletes absent ones with their values', async (t) => {
    const api = await build(t, kind)
    await setFields(api, { company: {}, team: {} })
    await createUserWithToken(api, { company: 'ACME', team: 'Blue' })
    const teamId = (await api.app.knex('custom_fields').where({ name: 'team' }).first('id')).id
    const response = await setFields(api, { company: { required: true, public: true } })
    t.equal(response.statusCode, 200)
    t.strictSame(await readFields(api), { company: { type: 'text', required: true, public: true } })
    t.equal(await api.app.knex('custom_fields').where({ id: teamId }).first(), undefined)
    t.equal((await api.app.knex('user_custom_field_values').where({ field_id: teamId })).length, 0)
  })

  t.test('refuses each bad value, naming the field at fault, and changes nothing', async (t) => {
    const api = await build(t, kind)
    await setFields(api, { plan: { type: 'select', options: ['free', 'pro'] } })
    const before = await api.app.knex('custom_fields').orderBy('id').select('*')
    const cases: Array<[unknown, string, string]> = [
      ['{not json', 'value', 'invalid-params'],
      ['[]', 'value', 'invalid-params'],
      ['"text"', 'value', 'invalid-params'],
      [`${'['.repeat(20000)}${']'.repeat(20000)}`, 'value', 'invalid-params'],
      [{ twitter: 'text' }, 'value.twitter', 'invalid-params'],
      [{ twitter: { colour: 'red' } }, 'value.twitter.colour', 'invalid-params'],
      [{ twitter: { type: 'number' } }, 'value.twitter.type', 'invalid-params'],
      [{ twitter: { required: 'yes' } }, 'value.twitter.required', 'invalid-params'],
      [{ twitter: { public: 1 } }, 'value.twitter.public', 'invalid-params'],
      [{ twitter: { maxLength: 0 } }, 'value.twitter.maxLength', 'invalid-params'],
      [{ twitter: { maxLength: 2.5 } }, 'value.twitter.maxLength', 'invalid-params'],
      ['{"twitter":{"maxLength":1e400}}', 'value.twitter.maxLength', 'invalid-params'],
      [{ twitter: { minLength: 5, maxLength: 2 } }, 'value.twitter.minLength', 'invalid-params'],
      [{ twitter: { options: ['a'] } }, 'value.twitter.options', 'invalid-params'],
      [{ twitter: { defaultValue: [[[['deep']]]] } }, 'value.twitter.defaultValue', 'invalid-params'],
      [{ role: { type: 'select' } }, 'value.role.options', 'invalid-params'],
      [{ role: { type: 'select', options: ['a', ''] } }, 'value.role.options[1]', 'invalid-params'],
      [{ role: { type: 'select', options: ['a'], defaultValue: 'b' } }, 'value.role.defaultValue', 'invalid-params'],
      [{ plan: { type: 'text' } }, 'value.plan.type', 'invalid-params'],
      [{ 'Twitter Handle': {} }, 'value.Twitter Handle', 'invalid-params'],
      [{ email: {} }, 'value.email', 'reserved-name']
    ]
    for (const [value, field, errorType] of cases) {
      const label = JSON.stringify(value).slice(0, 60)
      const response = await setFields(api, value)
      t.equal(response.statusCode, 400, label)
      t.match(response.body, { success: false, errorType, details: { field } }, label)
      t.ok((response.body.error as string).endsWith(` [${errorType}]`), label)
    }
    t.strictSame(await api.app.knex('custom_fields').orderBy('id').select('*'), before)
  })

  t.test('one bad field among good ones changes nothing', async (t) => {
    const api = await build(t, kind)
    await setFields(api, { company: {} })
    const response = await setFields(api, { team: {}, company: { required: true }, plan: { type: 'select' } })
    t.equal(response.statusCode, 400)
    t.equal(response.body.details.field, 'value.plan.options')
    t.strictSame(await readFields(api), { company: { type: 'text', required: false, public: false } })
  })

  t.test('refuses a body that is not { value }', async (t) => {
    const api = await build(t, kind)
    const headers = await adminHeaders(api)
    for (const payload of [{}, { value: '{}', _id: 'Accounts_CustomFields' }, { value: 7 }]) {
      const response = await api.request({ method: 'POST', url: SETTING, headers, payload })
      t.equal(response.statusCode, 400, JSON.stringify(payload))
      t.equal(response.body.errorType, 'invalid-params', JSON.stringify(payload))
    }
  })

  t.test('a required field defined this way is required on v2 account creation', async (t) => {
    const api = await build(t, kind)
    await setFields(api, JSON.stringify({ company: { required: true } }))
    const missing = await api.request({ method: 'POST', url: '/api/v2/account/create/', token: await api.adminToken(), payload: newAccount() })
    t.equal(missing.statusCode, 400)
    t.match(missing.body, { code: 'missing_field', field: 'company' })
    const created = await api.request({ method: 'POST', url: '/api/v2/account/create/', token: await api.adminToken(), payload: newAccount({ company: 'ACME' }) })
    t.equal(created.statusCode, 201)
  })

  t.test('users.info shows a plain user only the public fields of another user, and an admin all of them', async (t) => {
    const api = await build(t, kind)
    await setFields(api, { twitter: { public: true }, salary: {} })
    const { user: jane } = await createUserWithToken(api, { twitter: '@jane', salary: '1000' })
    const { token: bobToken } = await createUserWithToken(api, { username: 'bob', email: 'bob@example.com' })
    const url = `/api/v1/users.info?username=${String(jane.username)}`
    const asBob = await api.request({ url, headers: rocketChatHeaders(bobToken) })
    t.equal(asBob.statusCode, 200)
    t.strictSame(asBob.body.user.customFields, { twitter: '@jane' })
    const asAdmin = await api.request({ url, headers: await adminHeaders(api) })
    t.equal(asAdmin.statusCode, 200)
    t.strictSame(asAdmin.body.user.customFields, { twitter: '@jane', salary: '1000' })
  })

  t.test('is refused with error-action-not-allowed to a caller without manage-custom-fields', async (t) => {
    const api = await build(t, kind)
    const { token } = await createUserWithToken(api)
    const headers = rocketChatHeaders(token)
    for (const request of [{ url: SETTING, headers }, { method: 'POST' as const, url: SETTING, headers, payload: { value: '{"company":{}}' } }]) {
      const response = await api.request(request)
      t.equal(response.statusCode, 400, request.method ?? 'GET')
      t.match(response.body, { success: false, errorType: 'error-action-not-allowed' }, request.method ?? 'GET')
    }
    t.strictSame(await definitions(api), [])
  })

  t.test('needs a login', async (t) => {
    const api = await build(t, kind)
    for (const request of [{ url: SETTING }, { method: 'POST' as const, url: SETTING, payload: { value: '{}' } }]) {
      const response = await api.request(request)
      t.equal(response.statusCode, 401, request.method ?? 'GET')
      t.strictSame(response.body, { success: false, status: 'error', error: NOT_LOGGED_IN, message: NOT_LOGGED_IN }, request.method ?? 'GET')
    }
  })

  t.test('accepts a bearer token, and X-Auth-Token only with the X-User-Id of its user', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    t.equal((await api.request({ url: SETTING, token })).statusCode, 200)
    t.equal((await api.request({ url: SETTING, headers: rocketChatHeaders(token) })).statusCode, 200)
    const { user } = await createUserWithToken(api)
    const wrongUser = await api.request({ url: SETTING, headers: { 'x-auth-token': token, 'x-user-id': String(user.id) } })
    t.equal(wrongUser.statusCode, 401)
  })

  t.test('works with the credentials of POST /api/v1/login', async (t) => {
    const api = await build(t, kind)
    const login = await api.request({ method: 'POST', url: '/api/v1/login', payload: { user: ADMIN.username, password: ADMIN.password } })
    const headers = { 'x-auth-token': login.body.data.authToken, 'x-user-id': login.body.data.userId }
    t.equal((await api.request({ method: 'POST', url: SETTING, headers, payload: { value: EXAMPLE } })).statusCode, 200)
    const read = await api.request({ url: SETTING, headers })
    t.match(JSON.parse(read.body.value), { twitter: { public: true }, role: { type: 'select' } })
  })
})
