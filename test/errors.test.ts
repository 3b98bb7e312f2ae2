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
  })
})
