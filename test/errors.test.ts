import { build, newAccount, onEachDatabase } from './helper.js'

const CREATE = '/api/v2/account/create/'

onEachDatabase('one error body for every bad request', async (t, kind) => {
  t.test('malformed JSON is a 400 malformed_json', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({
      method: 'POST', url: CREATE, token: await api.adminToken(), headers: { 'content-type': 'application/json' }, payload: '{"username": "jane",'
    })
    t.equal(response.statusCode, 400)
    t.equal(response.body.code, 'malformed_json')
  })

  t.test('a body that is not JSON is a 415', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({
      method: 'POST', url: CREATE, token: await api.adminToken(), headers: { 'content-type': 'text/plain' }, payload: 'username=jane'
    })
    t.equal(response.statusCode, 415)
    t.equal(response.body.code, 'unsupported_media_type')
  })

  t.test('a form-encoded account is a 415: only the token endpoint takes forms', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({
      method: 'POST', url: CREATE, token: await api.adminToken(), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=jane'
    })
    t.equal(response.statusCode, 415)
  })

  t.test('a body over the limit is a 413 and creates nothing', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({
      method: 'POST', url: CREATE, token: await api.adminToken(), payload: newAccount({ real_name: 'x'.repeat(70000) })
    })
    t.equal(response.statusCode, 413)
    t.equal(response.body.code, 'payload_too_large')
    t.equal(await api.app.knex('users').where({ username: 'jane_doe' }).first(), undefined)
  })

  t.test('an empty JSON body is a 400 invalid_body', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'POST', url: CREATE, token: await api.adminToken(), headers: { 'content-type': 'application/json' }, payload: '' })
    t.equal(response.statusCode, 400)
    t.equal(response.body.code, 'invalid_body')
  })

  t.test('no body at all is a 400 invalid_body', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'POST', url: CREATE, token: await api.adminToken() })
    t.equal(response.statusCode, 400)
    t.equal(response.body.code, 'invalid_body')
  })

  t.test('a JSON array or string where an object belongs is a 400 invalid_body', async (t) => {
    const api = await build(t, kind)
    for (const payload of ['[]', '"jane"', 'null', '42']) {
      const response = await api.request({ method: 'POST', url: CREATE, token: await api.adminToken(), headers: { 'content-type': 'application/json' }, payload })
      t.equal(response.statusCode, 400, payload)
      t.equal(response.body.code, 'invalid_body', payload)
    }
  })

  t.test('a boolean where a string belongs is refused, not coerced', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'POST', url: CREATE, token: await api.adminToken(), payload: newAccount({ real_name: true }) })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'invalid_field', field: 'real_name' })
  })

  t.test('a nested field is named by its path', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({
      method: 'POST', url: '/api/v2/custom_field/', token: await api.adminToken(), payload: { name: 'plan', label: 'Plan', type: 'enum', type_options: ['free', 7] }
    })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'invalid_field', field: 'type_options[1]' })
  })

  t.test('an unknown path is a 404 in the same shape', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ url: '/api/v2/nothing/here/?x=1' })
    t.equal(response.statusCode, 404)
    t.match(response.body, { statusCode: 404, code: 'not_found', message: 'No route for GET /api/v2/nothing/here/' })
  })

  t.test('a database that does not answer is a 503 with Retry-After, never a hang', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await api.app.knex.destroy()
    const response = await api.request({ method: 'POST', url: CREATE, token, payload: newAccount() })
    t.equal(response.statusCode, 503)
    t.equal(response.body.code, 'database_unavailable')
    t.equal(response.headers['retry-after'], '5')
    t.notOk(response.text.includes('knex'), 'no internals in the message')
  })

  t.test('an unexpected database failure is a 500 that reveals nothing, logs no values and writes nothing', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    // A schema the code does not expect: the insert of the user fails inside the transaction.
    await api.app.knex.schema.alterTable('users', (table) => { table.renameColumn('password_hash', 'secret_hash') })
    const response = await api.request({ method: 'POST', url: CREATE, token, payload: newAccount({ email: 'private@example.com' }) })
    t.equal(response.statusCode, 500)
    t.strictSame(response.body, { statusCode: 500, code: 'internal_error', message: 'Internal server error' })
    t.equal(await api.app.knex('users').where({ username: 'jane_doe' }).first(), undefined)
    t.equal(await api.app.knex('outbox_events').where('payload', 'like', '%private@example.com%').first(), undefined)
    const errorLines = api.logs.filter((line) => JSON.parse(line).level >= 50)
    t.equal(errorLines.length, 1, 'the failure is logged')
    for (const line of api.logs) {
      t.notOk(line.includes('$2b$'), 'no hash in the log')
      t.notOk(line.includes('private@example.com'), 'no values of the failed statement in the log')
    }
  })

  t.test('an undecodable URL is a 400 in the same body', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ url: '/api/v2/user/%E0%A4%A/', token: await api.adminToken() })
    t.equal(response.statusCode, 400)
    t.strictSame(response.body, { statusCode: 400, code: 'bad_request', message: 'The URL is not validly encoded' })
    t.match(response.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'named like any other answer')
  })
})

const LOGIN = '/api/v1/login'

onEachDatabase('Rocket.Chat\'s error body on /api/v1/', async (t, kind) => {
  t.test('malformed JSON is a 400 invalid-params', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'POST', url: LOGIN, headers: { 'content-type': 'application/json' }, payload: '{"user": "jane",' })
    t.equal(response.statusCode, 400)
    t.strictSame(response.body, { success: false, error: 'The request body is not valid JSON [invalid-params]', errorType: 'invalid-params' })
  })

  t.test('a body over BODY_LIMIT is a 413 payload-too-large', async (t) => {
    const api = await build(t, kind, { env: { BODY_LIMIT: '1024' } })
    const response = await api.request({ method: 'POST', url: LOGIN, payload: { user: 'jane_doe', password: 'x'.repeat(2000) } })
    t.equal(response.statusCode, 413)
    t.strictSame(response.body, { success: false, error: 'The request body is too large [payload-too-large]', errorType: 'payload-too-large' })
  })

  t.test('a body that is not JSON is a 415 unsupported-media-type', async (t) => {
    const api = await build(t, kind)
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
      const response = await api.request({ method: 'POST', url: LOGIN, headers: { 'content-type': contentType }, payload: 'user=jane&password=x' })
      t.equal(response.statusCode, 415, contentType)
      t.strictSame(response.body, { success: false, error: `This operation does not accept a ${contentType} body [unsupported-media-type]`, errorType: 'unsupported-media-type' }, contentType)
    }
  })

  t.test('a request that fails the schema is a 400 invalid-params naming the field', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'POST', url: LOGIN, payload: { user: 'jane_doe', password: 'x', remember: true } })
    t.equal(response.statusCode, 400)
    t.strictSame(response.body, {
      success: false,
      error: 'remember is not a field of the request body [invalid-params]',
      errorType: 'invalid-params',
      details: { field: 'remember' }
    })
  })

  t.test('a v1 operation reached through a percent-encoded path answers in Rocket.Chat\'s body', async (t) => {
    const api = await build(t, kind)
    // The router decodes /api/%761/login to the v1 login: its errors are v1's, never a failed
    // serialization of the v2 body.
    const response = await api.app.inject({ method: 'POST', url: '/api/%761/login', payload: { password: 'x' } })
    t.equal(response.statusCode, 400)
    t.match(response.json(), { success: false, error: /\[invalid-params\]$/, errorType: 'invalid-params', details: { field: 'user' } })
  })

  t.test('an unknown path is a 404 not-found', async (t) => {
    const api = await build(t, kind)
    for (const url of ['/api/v1/channels.list', '/api/v1/users.create/extra?x=1', '/api/v1', '/api/v1/']) {
      const response = await api.request({ url })
      t.equal(response.statusCode, 404, url)
      t.strictSame(response.body, { success: false, error: `No route for GET ${url.split('?')[0] ?? ''} [not-found]`, errorType: 'not-found' }, url)
    }
  })

  t.test('an operation under another method is a 404 not-found', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ url: LOGIN })
    t.equal(response.statusCode, 404)
    t.equal(response.body.errorType, 'not-found')
  })

  t.test('a database that does not answer is a 503 database-unavailable with Retry-After', async (t) => {
    const api = await build(t, kind)
    await api.app.knex.destroy()
    const response = await api.request({ method: 'POST', url: LOGIN, payload: { user: 'admin', password: 'Sup3r-Secret-Key!' } })
    t.equal(response.statusCode, 503)
    t.equal(response.body.errorType, 'database-unavailable')
    t.equal(response.headers['retry-after'], '5')
  })

  t.test('an unexpected failure is a 500 internal-error that reveals nothing', async (t) => {
    const api = await build(t, kind)
    await api.app.knex.schema.alterTable('users', (table) => { table.renameColumn('password_hash', 'secret_hash') })
    const response = await api.request({ method: 'POST', url: LOGIN, payload: { user: 'admin', password: 'Sup3r-Secret-Key!' } })
    t.equal(response.statusCode, 500)
    t.strictSame(response.body, { success: false, error: 'Internal server error [internal-error]', errorType: 'internal-error' })
  })

  t.test('paths that only look like v1 keep the v2 body', async (t) => {
    const api = await build(t, kind)
    for (const url of ['/api/v10/login', '/api/v1login', '/API/V1/login']) {
      const response = await api.request({ url })
      t.equal(response.statusCode, 404, url)
      t.strictSame(response.body, { statusCode: 404, code: 'not_found', message: `No route for GET ${url}` }, url)
    }
  })

  t.test('v2 keeps its own body for the same mistakes', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const malformed = await api.request({ method: 'POST', url: CREATE, token, headers: { 'content-type': 'application/json' }, payload: '{"username": ' })
    t.strictSame(malformed.body, { statusCode: 400, code: 'malformed_json', message: 'The request body is not valid JSON' })
    const unknownKey = await api.request({ method: 'POST', url: '/api/v2/role/', token, payload: { name: 'editor', remember: true } })
    t.strictSame(unknownKey.body, { statusCode: 400, code: 'unknown_field', message: 'remember is not a field of the request body', field: 'remember' })
    const notJson = await api.request({ method: 'POST', url: CREATE, token: await api.adminToken(), headers: { 'content-type': 'text/plain' }, payload: 'x' })
    t.strictSame(notJson.body, { statusCode: 415, code: 'unsupported_media_type', message: 'This operation does not accept a text/plain body' })
    const noToken = await api.request({ url: '/api/v2/user/me/' })
    t.strictSame(noToken.body, { statusCode: 401, code: 'unauthorized', message: 'A valid bearer token is required' })
  })
})
