// Rocket.Chat's users.list, users.checkUsernameAvailability and users.getUsernameSuggestion,
// driven by Rocket.Chat's own REST client over real HTTP; every answer checked against openapi.yaml.
import { RestClient } from '@rocket.chat/api-client'
import type { Test } from 'tap'
import { contractViolations } from './contract.js'
import { ADMIN, type DatabaseKind, type TestApp, build, clientToken, createClient, newAccount, onEachDatabase, withoutRequestId } from './helper.js'

const PASSWORD = 'Corr3ct-Horse!'

interface Served { api: TestApp, client: RestClient }

// The app on a free port, and Rocket.Chat's client logged in to it as this user.
async function servedAs (t: Test, kind: DatabaseKind, setUp: (api: TestApp) => Promise<void>, user = ADMIN.username, password = ADMIN.password): Promise<Served> {
  const api = await build(t, kind)
  await setUp(api)
  const client = new RestClient({ baseUrl: await api.app.listen({ port: 0, host: '127.0.0.1' }) })
  client.use(async ([endpoint, method, options], next) => {
    const response = await next(endpoint, method, options).catch((error: unknown) => {
      if (error instanceof Response) return error
      throw error
    })
    const url = new URL(response.url)
    const violations = contractViolations(method, `${url.pathname}${url.search}`,
      { statusCode: response.status, headers: Object.fromEntries(response.headers.entries()), body: await response.clone().text() })
    if (violations.length > 0) throw new Error(`${method} ${url.pathname} → ${response.status} breaks openapi.yaml:\n  ${violations.join('\n  ')}`)
    if (!response.ok) throw response
    return response
  })
  const login = await client.post('/v1/login', { user, password })
  client.setCredentials({ 'X-User-Id': login.data.userId, 'X-Auth-Token': login.data.authToken })
  return { api, client }
}

// The status and body (its request id checked) of an answer the client rejected.
async function refusal (promise: Promise<unknown>): Promise<{ status: number, body: any }> {
  const response = await promise.then(() => { throw new Error('The service should have refused') }, (error: unknown) => error as Response)
  return { status: response.status, body: withoutRequestId(response.url, response.headers.get('x-request-id'), await response.json()) }
}

async function createUsers (api: TestApp, users: Array<[string, string]>): Promise<void> {
  const token = await api.adminToken()
  for (const [username, name] of users) {
    const response = await api.request({ method: 'POST', url: '/api/v2/account/create/', token, payload: newAccount({ username, email: `${username}@example.com`, real_name: name }) })
    if (response.statusCode !== 201) throw new Error(`Could not create ${username}: ${response.text}`)
  }
}

async function block (api: TestApp, username: string): Promise<void> {
  await api.app.knex('users').where({ username }).update({ status: 'b' })
}

onEachDatabase('users.list with the Rocket.Chat client', async (t, kind) => {
  t.test('pages, sorts and filters every user for an admin, in full', async (t) => {
    const { client } = await servedAs(t, kind, async (api) => {
      await createUsers(api, [['alice', 'Alice'], ['bob', 'Bob'], ['carol', 'Carol']])
      await block(api, 'carol')
    })
    const page = await client.get('/v1/users.list', { count: 2, offset: 1, sort: '{"username":-1}' })
    t.match(page, { count: 2, offset: 1, total: 4, success: true })
    t.strictSame(page.users.map((user) => user.username), ['bob', 'alice'])
    t.match(page.users[0], { emails: [{ address: 'bob@example.com' }], roles: ['user'], active: true })
    const inactive = await client.get('/v1/users.list', { query: '{"active":false}' })
    t.strictSame(inactive.users.map((user) => [user.username, user.active]), [['carol', false]])
    const byNames = await client.get('/v1/users.list', { sort: '{"name":1}', count: 2 })
    t.strictSame(byNames.users.map((user) => user.name), ['', 'Alice'], 'the first admin has no name')
    const byName = await client.get('/v1/users.list', { query: '{"name":"al","active":true}', fields: '{"name":1}' })
    t.strictSame(byName.users.map((user) => user.username), ['alice'])
    const byUsername = await client.get('/v1/users.list', { query: '{"username":"BOB"}', email: 'bob@' })
    t.strictSame(byUsername.users.map((user) => user.username), ['bob'])
  })

  t.test('shows a plain user active users only, others in public view, themselves in full', async (t) => {
    const { client } = await servedAs(t, kind, async (api) => {
      await createUsers(api, [['alice', 'Alice'], ['carol', 'Carol']])
      await block(api, 'carol')
    }, 'alice', PASSWORD)
    const page = await client.get('/v1/users.list', {})
    t.strictSame(page.users.map((user) => user.username), [ADMIN.username, 'alice'])
    t.notOk('emails' in (page.users[0] as object))
    t.match(page.users[1], { emails: [{ address: 'alice@example.com' }] })
    t.match(await refusal(client.get('/v1/users.list', { query: '{"active":false}' })), { status: 400, body: { errorType: 'error-action-not-allowed' } })
    t.match(await refusal(client.get('/v1/users.list', { email: 'carol' })), { status: 400, body: { errorType: 'error-action-not-allowed' } })
  })

  t.test('refuses a query, sort or page it does not support, naming the parameter', async (t) => {
    const { client } = await servedAs(t, kind, async () => {})
    for (const [params, field] of [
      [{ query: '{"emails.address":{"$regex":"a"}}' }, 'query'],
      [{ query: '{"username":{"$in":["a"]}}' }, 'query'],
      [{ query: '["active"]' }, 'query'],
      [{ query: 'not json' }, 'query'],
      [{ sort: '{"email":1}' }, 'sort'],
      [{ sort: '{}' }, 'sort'],
      [{ sort: '{"username":1,"name":1}' }, 'sort'],
      [{ sort: '{"username":"asc"}' }, 'sort'],
      [{ sort: '{"constructor":1}' }, 'sort'],
      [{ sort: '{"__proto__":1}' }, 'sort'],
      [{ count: 101 }, 'count']
    ] as const) {
      t.match(await refusal(client.get('/v1/users.list', params as never)), { status: 400, body: { success: false, errorType: 'invalid-params', details: { field } } }, JSON.stringify(params))
    }
  })
})

onEachDatabase('users.checkUsernameAvailability with the Rocket.Chat client', async (t, kind) => {
  t.test('is true only for a username an account could be created with now', async (t) => {
    const { client } = await servedAs(t, kind, async (api) => { await createUsers(api, [['jane_doe', 'Jane']]) })
    const available = async (username: string): Promise<boolean> => (await client.get('/v1/users.checkUsernameAvailability', { username })).result
    t.equal(await available('jane_roe'), true)
    t.equal(await available('JANE_DOE'), false, 'taken, whatever its case')
    t.equal(await available('support'), false, 'reserved')
    t.equal(await available('jane doe'), false, 'not a valid username')
    t.equal(await available(''), false, 'empty')
  })
})

onEachDatabase('users.getUsernameSuggestion with the Rocket.Chat client', async (t, kind) => {
  t.test('suggests a free name from the caller\'s name, else their email, numbered when taken', async (t) => {
    const { api, client } = await servedAs(t, kind, async (api) => {
      await createUsers(api, [['jane_doe', 'Jane Doe'], ['jane', 'Jane']])
    }, 'jane_doe', PASSWORD)
    t.strictSame(await client.get('/v1/users.getUsernameSuggestion'), { result: 'jane_doe-1', success: true })
    await createUsers(api, [['jane_doe-1', ''], ['jane_doe-2', '']])
    t.equal((await client.get('/v1/users.getUsernameSuggestion')).result, 'jane_doe-3')
    await createUsers(api, [['jane_doe-3', '']])
    const deleted = await api.request({ method: 'DELETE', url: `/api/v2/user/${String((await api.app.knex('users').where({ username: 'jane_doe-3' }).first('id')).id)}/`, token: await api.adminToken() })
    t.equal(deleted.statusCode, 204)
    t.equal((await client.get('/v1/users.getUsernameSuggestion')).result, 'jane_doe-4', 'a deleted account keeps its name reserved')
    await api.app.knex('users').where({ username: 'jane_doe' }).update({ real_name: 'Élodie  SSmith!' })
    t.equal((await client.get('/v1/users.getUsernameSuggestion')).result, 'elodie_ssmith')
  })

  t.test('numbers on past a whole batch of taken names', async (t) => {
    const { api, client } = await servedAs(t, kind, async (api) => {
      await createUsers(api, [['jane_doe', 'Jane Doe'], ['jane', 'Jane']])
    }, 'jane_doe', PASSWORD)
    // Twenty numbered names, counted first: numbering starts at 21, which is taken with all of its batch.
    await createUsers(api, Array.from({ length: 20 }, (_, index): [string, string] => [`jane_doe-${21 + index}`, '']))
    t.equal((await client.get('/v1/users.getUsernameSuggestion')).result, 'jane_doe-41')
  })

  t.test('falls back to the email\'s local part, then to user', async (t) => {
    const { api, client } = await servedAs(t, kind, async (api) => { await createUsers(api, [['bob', '']]) }, 'bob', PASSWORD)
    await createUsers(api, [['user', '']])
    t.equal((await client.get('/v1/users.getUsernameSuggestion')).result, 'bob-1', 'bob, from the email, is taken by bob')
    await api.app.knex('users').where({ username: 'bob' }).update({ real_name: '!!!', email: '...@example.com' })
    t.equal((await client.get('/v1/users.getUsernameSuggestion')).result, 'user-1')
  })

  t.test('refuses a service client, which is no user', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api)
    const refused = await api.request({ url: '/api/v1/users.getUsernameSuggestion', token: await clientToken(api, client.client_id, secret) })
    t.equal(refused.statusCode, 400)
    t.equal(refused.body.errorType, 'error-action-not-allowed')
  })
})
