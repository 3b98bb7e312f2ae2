// The profile of a user after its creation: SelfCommunity's PUT and PATCH of /api/v2/user/{id}/
// (username, real_name, bio, location, date_of_birth, description, gender, website and custom
// fields), and mandatory custom fields holding on every change.
import { createRequire } from 'node:module'
import knex from 'knex'
import { loadConfig } from '../config.js'
import { knexConfig } from '../plugins/database.js'
import type * as SelfCommunity from '@selfcommunity/api-services'
import { decodeJwt } from 'jose'
import { contractViolations } from './contract.js'
import { ADMIN, type ApiResponse, TEST_JWT_PRIVATE_KEY, type TestApp, build, createTestDatabase, createUserWithToken, defineCustomField, giveRole, onEachDatabase, rowCount, silentLogger, updatedEvents, userSnapshot } from './helper.js'

// The client's ES module build imports directories, which Node refuses: its CommonJS build works.
const { UserService: SelfCommunityUsers } = createRequire(import.meta.url)('@selfcommunity/api-services') as typeof SelfCommunity

const userUrl = (id: number): string => `/api/v2/user/${id}/`

// The request settings of SelfCommunity's client (axios's).
type ClientConfig = NonNullable<Parameters<typeof SelfCommunityUsers.userPatch>[2]>

const PROFILE = {
  bio: 'Climbs things.',
  location: 'Trieste',
  date_of_birth: '1990-04-01',
  description: 'Climber',
  gender: 'Female',
  website: 'https://jane.example.com'
}

const UNSET_PROFILE = { bio: '', location: '', date_of_birth: null, description: '', gender: 'Unspecified', website: '' }

async function change (api: TestApp, method: 'PATCH' | 'PUT', id: number, payload: Record<string, unknown>, token?: string): Promise<ApiResponse> {
  return await api.request({ method, url: userUrl(id), token: token ?? await api.adminToken(), payload })
}

onEachDatabase('the profile of a user', async (t, kind) => {
  t.test('a new user shows every profile field unset, in SelfCommunity\'s defaults', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    t.match(user, UNSET_PROFILE)
  })

  t.test('PATCH sets the profile fields, and GET shows them', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const response = await change(api, 'PATCH', user.id, PROFILE)
    t.equal(response.statusCode, 200)
    t.strictSame(response.body, { ...user, ...PROFILE })
    t.strictSame((await api.request({ url: userUrl(user.id), token: await api.adminToken() })).body, response.body)
  })

  t.test('PATCH clears a profile field given null or an empty text, and gender given Unspecified', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    await change(api, 'PATCH', user.id, PROFILE)
    const response = await change(api, 'PATCH', user.id, { bio: null, location: '', date_of_birth: null, description: null, gender: 'Unspecified', website: '' })
    t.equal(response.statusCode, 200)
    t.match(response.body, UNSET_PROFILE)
    const row = await api.app.knex('users').where({ id: user.id }).first('bio', 'location', 'date_of_birth', 'description', 'gender', 'website')
    t.strictSame(Object.values(row), [null, null, null, null, null, null], 'stored as not set')
  })

  t.test('refuses a value that breaks its field\'s rule, naming the field, and changes nothing', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const before = await userSnapshot(api, user.id)
    for (const [field, value] of [
      ['bio', 'b'.repeat(261)], ['location', 'l'.repeat(101)], ['description', 'd'.repeat(51)],
      ['website', 'ftp://jane.example.com'], ['website', 'jane.example.com'], ['website', `https://example.com/${'w'.repeat(181)}`],
      ['gender', 'Other'], ['date_of_birth', '1990-02-30'], ['date_of_birth', '01/04/1990'], ['date_of_birth', '1899-12-31'],
      ['date_of_birth', '2999-01-01'], ['bio', 42]
    ] as const) {
      for (const method of ['PATCH', 'PUT'] as const) {
        const response = await change(api, method, user.id, { real_name: 'Changed', [field]: value })
        t.equal(response.statusCode, 400, `${method} ${field} ${String(value).slice(0, 30)}`)
        t.match(response.body, { code: 'invalid_field', field }, `${method} ${field} ${String(value).slice(0, 30)}`)
      }
    }
    t.strictSame(await userSnapshot(api, user.id), before)
  })

  t.test('takes a date of birth of today, by the service\'s clock', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const today = new Date().toISOString().slice(0, 10)
    const response = await change(api, 'PATCH', user.id, { date_of_birth: today })
    // A test run across midnight UTC may see tomorrow's date refused; anything else is a bug.
    t.ok(response.statusCode === 200 || new Date().toISOString().slice(0, 10) !== today, response.text)
  })

  t.test('counts lengths in characters: a bio of 260 emoji is taken', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const response = await change(api, 'PATCH', user.id, { bio: '😀'.repeat(260) })
    t.equal(response.statusCode, 200)
    t.equal(response.body.bio, '😀'.repeat(260))
  })

  t.test('PUT replaces the profile: what it leaves out is cleared, the username is kept', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api, { real_name: 'Jane Doe' })
    await change(api, 'PATCH', user.id, PROFILE)
    const response = await change(api, 'PUT', user.id, { bio: 'Only this.' })
    t.equal(response.statusCode, 200)
    t.strictSame(response.body, { ...user, ...UNSET_PROFILE, real_name: '', bio: 'Only this.' })
  })

  t.test('PUT keeps Rocket.Chat\'s nickname and statusText, which v2 does not show', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    await api.app.knex('users').where({ id: user.id }).update({ nickname: 'JD', status_text: 'Away' })
    t.equal((await change(api, 'PUT', user.id, { real_name: 'Jane' })).statusCode, 200)
    t.match(await api.app.knex('users').where({ id: user.id }).first('nickname', 'status_text'), { nickname: 'JD', status_text: 'Away' })
  })

  t.test('PUT replaces the custom fields as creation sets them: left out, a value is removed or takes its default', async (t) => {
    const api = await build(t, kind)
    await defineCustomField(api, { name: 'company', label: 'Company' })
    await defineCustomField(api, { name: 'plan', label: 'Plan', type: 'enum', type_options: ['free', 'pro'], default: 'free' })
    await defineCustomField(api, { name: 'team', label: 'Team' })
    const { user } = await createUserWithToken(api, { company: 'ACME', plan: 'pro', team: 'Blue' })
    const response = await change(api, 'PUT', user.id, { team: 'Red' })
    t.equal(response.statusCode, 200)
    t.match(response.body, { plan: 'free', team: 'Red' })
    t.notOk('company' in response.body)
    const [event] = (await updatedEvents(api)).slice(-1)
    t.strictSame(event?.changed, ['company', 'plan', 'team'])
  })

  t.test('PUT refuses to leave out a mandatory custom field without a default', async (t) => {
    const api = await build(t, kind)
    await defineCustomField(api, { name: 'company', label: 'Company', mandatory: true })
    const { user } = await createUserWithToken(api, { company: 'ACME' })
    const before = await userSnapshot(api, user.id)
    const response = await change(api, 'PUT', user.id, { real_name: 'Jane' })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'missing_field', field: 'company' })
    t.strictSame(await userSnapshot(api, user.id), before)
    t.equal((await change(api, 'PUT', user.id, { real_name: 'Jane', company: 'ACME' })).statusCode, 200)
  })

  t.test('PUT refuses the read-only fields as PATCH does', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    for (const [field, value] of Object.entries({ email: 'new@example.com', status: 'b', roles: ['admin'], id: 99, date_joined: user.date_joined })) {
      const response = await change(api, 'PUT', user.id, { real_name: 'Jane', [field]: value })
      t.equal(response.statusCode, 400, field)
      t.match(response.body, { code: 'read_only_field', field }, field)
    }
  })

  t.test('a user replaces their own profile; another user who is no admin gets 403 and changes nothing', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    const other = await createUserWithToken(api, { username: 'member', email: 'member@example.com' })
    t.equal((await change(api, 'PUT', user.id, PROFILE, token)).statusCode, 200)
    const before = await userSnapshot(api, user.id)
    const refused = await change(api, 'PUT', user.id, { real_name: 'Hijacked' }, other.token)
    t.equal(refused.statusCode, 403)
    t.strictSame(await userSnapshot(api, user.id), before)
  })

  t.test('a user with edit-other-user-info cannot change an admin, who has permissions they lack', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const role = await api.request({ method: 'POST', url: '/api/v2/role/', token, payload: { name: 'editor', description: 'Edits users', permissions: ['edit-other-user-info'] } })
    t.equal(role.statusCode, 201, role.text)
    const editor = await createUserWithToken(api)
    await giveRole(api, editor.user.id, 'editor')
    const { user: member } = await createUserWithToken(api, { username: 'member', email: 'member@example.com' })
    const editorToken = await api.tokenFor('jane_doe', 'Corr3ct-Horse!')
    t.equal((await change(api, 'PATCH', member.id, { bio: 'Edited' }, editorToken)).statusCode, 200)
    const admin = await api.app.knex('users').where({ username: ADMIN.username }).first('id')
    const refused = await change(api, 'PUT', admin.id, { bio: 'Edited' }, editorToken)
    t.equal(refused.statusCode, 403)
    t.match(refused.body.message, /permission/)
  })

  t.test('writes a user.updated event and audit entry naming the changed fields, without their values', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    const response = await change(api, 'PATCH', user.id, { username: 'jane_roe', ...PROFILE }, token)
    t.equal(response.statusCode, 200)
    const [event] = await updatedEvents(api)
    t.strictSame(event?.changed, ['username', 'bio', 'location', 'date_of_birth', 'description', 'gender', 'website'])
    t.equal(event?.updated_by, user.id)
    const stored = JSON.stringify(event)
    for (const value of ['jane_roe', ...Object.values(PROFILE)]) t.notOk(stored.includes(value), `no ${value} in the payload`)
    t.equal(await rowCount(api, 'audit_log', { action: 'user.updated', subject_id: user.id, actor_id: user.id }), 1)
  })

  t.test('a change that changes nothing writes no event and no audit entry', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api, { real_name: 'Jane Doe' })
    const before = await userSnapshot(api, user.id)
    const response = await change(api, 'PATCH', user.id, { real_name: 'Jane Doe', bio: null, gender: 'Unspecified' })
    t.equal(response.statusCode, 200)
    t.strictSame(response.body, user)
    t.strictSame(await userSnapshot(api, user.id), before)
  })
})

onEachDatabase('changing a username', async (t, kind) => {
  t.test('renames the user, who logs in with the new name, while the tokens issued before keep working', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    const login = await api.request({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'password', username: 'jane_doe', password: 'Corr3ct-Horse!' } })
    const response = await change(api, 'PATCH', user.id, { username: 'Jane_Roe' }, token)
    t.equal(response.statusCode, 200)
    t.equal(response.body.username, 'Jane_Roe')
    const me = await api.request({ url: '/api/v2/user/me/', token })
    t.equal(me.statusCode, 200, 'the token names the user by id, and keeps working')
    t.equal(me.body.username, 'Jane_Roe')
    t.equal(decodeJwt(token).username, 'jane_doe', 'an access token issued before keeps the username it was issued with')
    const refreshed = await api.request({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'refresh_token', refresh_token: login.body.refresh_token } })
    t.equal(refreshed.statusCode, 200, 'the refresh token keeps working')
    t.equal(decodeJwt(refreshed.body.access_token).username, 'Jane_Roe', 'a token issued after carries the new username')
    t.equal((await api.request({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'password', username: 'jane_roe', password: 'Corr3ct-Horse!' } })).statusCode, 200)
    t.equal((await api.request({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'password', username: 'jane_doe', password: 'Corr3ct-Horse!' } })).statusCode, 400)
  })

  t.test('frees the old username for another account', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    await change(api, 'PATCH', user.id, { username: 'jane_roe' })
    const other = await createUserWithToken(api, { username: 'JANE_DOE', email: 'other@example.com' })
    t.equal(other.user.username, 'JANE_DOE')
  })

  t.test('refuses a username another account has, in any case, with 409 naming it', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    await createUserWithToken(api, { username: 'Member', email: 'member@example.com' })
    const before = await userSnapshot(api, user.id)
    for (const method of ['PATCH', 'PUT'] as const) {
      const response = await change(api, method, user.id, { username: 'mEMBER', bio: 'Changed' })
      t.equal(response.statusCode, 409, method)
      t.match(response.body, { code: 'username_taken', field: 'username' }, method)
    }
    t.strictSame(await userSnapshot(api, user.id), before)
  })

  t.test('changes only the case of one\'s own username', async (t) => {
    const api = await build(t, kind)
    const { user } = await createUserWithToken(api)
    const response = await change(api, 'PATCH', user.id, { username: 'JANE_DOE' })
    t.equal(response.statusCode, 200)
    t.equal(response.body.username, 'JANE_DOE')
  })

  t.test('refuses a username that is not valid, or reserved, naming the field', async (t) => {
    const api = await build(t, kind, { env: { RESERVED_USERNAMES: 'acme' } })
    const { user } = await createUserWithToken(api)
    const before = await userSnapshot(api, user.id)
    for (const [username, code] of [['jane doe', 'invalid_field'], ['', 'invalid_field'], ['x'.repeat(256), 'invalid_field'], ['Support', 'username_reserved'], ['ACME', 'username_reserved']] as const) {
      const response = await change(api, 'PATCH', user.id, { username })
      t.equal(response.statusCode, 400, username)
      t.match(response.body, { code, field: 'username' }, username)
    }
    t.strictSame(await userSnapshot(api, user.id), before)
  })

  t.test('the first admin keeps the reserved username it has through a PUT', async (t) => {
    const api = await build(t, kind)
    const admin = await api.request({ url: '/api/v2/user/me/', token: await api.adminToken() })
    const response = await change(api, 'PUT', admin.body.id, { username: 'Admin', real_name: 'The Admin' })
    t.equal(response.statusCode, 200)
    t.equal(response.body.username, 'Admin')
  })

  t.test('of two users renamed to one username at once, one gets it and the other 409', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const { user: jane } = await createUserWithToken(api)
    const { user: john } = await createUserWithToken(api, { username: 'john_doe', email: 'john@example.com' })
    for (let round = 0; round < 5; round++) {
      const wanted = `taken${round}`
      const answers = await Promise.all([jane, john].map(async (user) => await change(api, 'PATCH', user.id, { username: wanted }, token)))
      t.strictSame(answers.map((answer) => answer.statusCode).sort(), [200, 409], `round ${round}`)
    }
  })
})

onEachDatabase('SelfCommunity\'s client', async (t, kind) => {
  // UserService's calls, over real HTTP, each answer checked against openapi.yaml.
  async function served (api: TestApp, token: string): Promise<ClientConfig> {
    const baseURL = await api.app.listen({ port: 0, host: '127.0.0.1' })
    return { baseURL, headers: { Authorization: `Bearer ${token}` }, validateStatus: () => true }
  }

  function checked<T> (method: string, id: number, answer: T): T {
    const violations = contractViolations(method, userUrl(id), { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(answer) })
    if (violations.length > 0) throw new Error(`${method} breaks openapi.yaml:\n  ${violations.join('\n  ')}`)
    return answer
  }

  t.test('userPatch changes what it names and userUpdate replaces the profile', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api, { real_name: 'Jane Doe' })
    const config = await served(api, token)
    const patched = checked('PATCH', user.id, await SelfCommunityUsers.userPatch(user.id, { location: 'Trieste', gender: 'Female' } as never, config))
    t.match(patched, { id: user.id, real_name: 'Jane Doe', location: 'Trieste', gender: 'Female' })
    const replaced = checked('PUT', user.id, await SelfCommunityUsers.userUpdate(user.id, { username: 'jane_roe', real_name: 'Jane Roe', website: 'https://jane.example.com' } as never, config))
    t.match(replaced, { id: user.id, username: 'jane_roe', real_name: 'Jane Roe', website: 'https://jane.example.com', location: '', gender: 'Unspecified' })
    t.match(await SelfCommunityUsers.getSpecificUser(user.id, config), { username: 'jane_roe', website: 'https://jane.example.com' })
  })

  t.test('a refused change reaches the client as the contract\'s error', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    const config = await served(api, token)
    const refusal = await SelfCommunityUsers.userPatch(user.id, { website: 'not a url' } as never, { ...config, validateStatus: (status) => status < 300 })
      .then(() => undefined, (error: { response?: { status: number, data: unknown } }) => error.response)
    t.equal(refusal?.status, 400)
    t.match(refusal?.data, { code: 'invalid_field', field: 'website' })
  })
})

onEachDatabase('the profile fields as standard fields', async (t, kind) => {
  t.test('no custom field can be named like one', async (t) => {
    const api = await build(t, kind)
    for (const name of ['bio', 'location', 'date_of_birth', 'description', 'gender', 'website']) {
      const response = await api.request({ method: 'POST', url: '/api/v2/custom_field/', token: await api.adminToken(), payload: { name, label: name } })
      t.match(response.body, { code: 'reserved_name', field: 'name' }, name)
    }
  })

  t.test('the migration that adds them renames a custom field defined with one of their names, keeping its values', async (t) => {
    const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: t.testdirName, DATABASE_URL: await createTestDatabase(t, kind), JWT_PRIVATE_KEY: TEST_JWT_PRIVATE_KEY })
    const db = knex(knexConfig(config.database, silentLogger))
    t.teardown(async () => { await db.destroy() })
    // Up to 0007, the one before: migrations are append-only, so it is the seventh.
    for (let migration = 1; migration <= 7; migration++) await db.migrate.up()
    const time = '2026-01-01 00:00:00.000'
    const [fieldId] = await db('custom_fields').insert({ name: 'website', label: 'Website', type: 'url', created_at: time, updated_at: time })
    await db.migrate.latest()
    t.match(await db('custom_fields').where({ id: fieldId }).first('name'), { name: 'custom_website' })
  })
})
