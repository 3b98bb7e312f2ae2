import type { Test } from 'tap'
import { build, createUserWithToken, type ApiResponse, type DatabaseKind, onEachDatabase, type TestApp } from './helper.js'
import {
  type RocketChatCredentials, USERS_CREATE, createRocketChatUser, giveRole, newRocketChatUser, rocketChatHeaders, rocketChatLogin, rowCount
} from './rocket-chat-helper.js'

const WRITTEN_TABLES = ['users', 'user_roles', 'user_custom_field_values', 'audit_log', 'outbox_events']

async function setUp (t: Test, kind: DatabaseKind): Promise<{ api: TestApp, admin: RocketChatCredentials }> {
  const api = await build(t, kind)
  return { api, admin: await rocketChatLogin(api) }
}

// Sends the request and checks that it is refused in Rocket.Chat's shape with the errorType
// (and the field, when given), and that nothing was written.
async function assertRefused (t: Test, api: TestApp, send: () => Promise<ApiResponse>, errorType: string, field?: string): Promise<ApiResponse> {
  const before = await Promise.all(WRITTEN_TABLES.map(async (table) => await rowCount(api, table)))
  const response = await send()
  t.equal(response.statusCode, 400)
  t.equal(response.body.success, false)
  t.equal(response.body.errorType, errorType)
  t.match(response.body.error, new RegExp(`.+ \\[${errorType}\\]$`))
  if (field !== undefined) t.strictSame(response.body.details, { field })
  t.strictSame(await Promise.all(WRITTEN_TABLES.map(async (table) => await rowCount(api, table))), before, 'nothing is written')
  return response
}

// A user who is not an admin, holding a role made of the permissions given, logged in on v1.
async function userWithPermissions (api: TestApp, permissions: string[]): Promise<RocketChatCredentials> {
  const { user } = await createUserWithToken(api, { username: 'recruiter', email: 'recruiter@example.com' })
  const role = await api.request({ method: 'POST', url: '/api/v2/role/', token: await api.adminToken(), payload: { name: 'recruiting', permissions } })
  if (role.statusCode !== 201) throw new Error(role.text)
  await giveRole(api, user.id, 'recruiting')
  return await rocketChatLogin(api, 'recruiter', 'Corr3ct-Horse!')
}

async function defineField (api: TestApp, field: Record<string, unknown>): Promise<void> {
  const response = await api.request({ method: 'POST', url: '/api/v2/custom_field/', token: await api.adminToken(), payload: field })
  if (response.statusCode !== 201) throw new Error(response.text)
}

interface InputRefusal {
  title: string
  body: Record<string, unknown>
  errorType: string
  field?: string
}

function without (name: string): Record<string, unknown> {
  const body = newRocketChatUser()
  delete body[name]
  return body
}

const REQUIRED = ['email', 'name', 'password', 'username']
// The parameter, a value of a wrong type, and the field the error names.
const WRONG_TYPES: Array<[string, unknown, string]> = [
  ['active', 'true', 'active'], ['verified', 1, 'verified'], ['roles', 'admin', 'roles'], ['roles', [1], 'roles[0]'],
  ['customFields', 'x', 'customFields'], ['name', 7, 'name'], ['bio', 5, 'bio'],
  ['username', null, 'username'], ['roles', null, 'roles'], ['customFields', null, 'customFields']
]

const INPUT_REFUSALS: InputRefusal[] = [
  { title: 'refuses an unknown key, naming it,', body: newRocketChatUser({ role: 'user' }), errorType: 'invalid-params', field: 'role' },
  ...WRONG_TYPES.map(([name, value, field]) => ({
    title: `refuses ${name}: ${JSON.stringify(value)}`, body: newRocketChatUser({ [name]: value }), errorType: 'invalid-params', field
  })),
  ...REQUIRED.map((name) => ({ title: `refuses a body without ${name}`, body: without(name), errorType: 'invalid-params', field: name })),
  { title: 'refuses a bio over 260 characters', body: newRocketChatUser({ bio: 'b'.repeat(261) }), errorType: 'invalid-params', field: 'bio' },
  { title: 'refuses a nickname over 120 characters', body: newRocketChatUser({ nickname: '😀'.repeat(121) }), errorType: 'invalid-params', field: 'nickname' },
  // A limit of the schema: invalid-params, not error-invalid-email.
  { title: 'refuses an email over 254 characters', body: newRocketChatUser({ email: `${'a'.repeat(243)}@example.com` }), errorType: 'invalid-params', field: 'email' },
  ...REQUIRED.map((name) => ({
    title: `refuses an empty ${name}`, body: newRocketChatUser({ [name]: '' }), errorType: 'error-the-field-is-required', field: name
  })),
  ...REQUIRED.map((name) => ({
    title: `refuses a ${name} of blanks`, body: newRocketChatUser({ [name]: ' \t ' }), errorType: 'error-the-field-is-required', field: name
  })),
  ...['jane doe', 'jane.doe', 'jané'].map((username) => ({
    title: `refuses the username ${JSON.stringify(username)}`, body: newRocketChatUser({ username }), errorType: 'error-input-is-not-a-valid-field', field: 'username'
  })),
  ...['admin', 'Here', 'ALL'].map((username) => ({
    title: `refuses the reserved username ${username}`, body: newRocketChatUser({ username }), errorType: 'error-blocked-username', field: 'username'
  })),
  ...['not-an-email', 'jane@', 'jane doe@example.com'].map((email) => ({
    title: `refuses the email ${JSON.stringify(email)}`, body: newRocketChatUser({ email }), errorType: 'error-invalid-email', field: 'email'
  })),
  // The seed's own password first: Rocket.Chat would take it, our policy holds on v1 too.
  ...['anypassyouwant', 'Sh0rt!', 'Jane_Doe-2026!', 'P@ssw0rd'].map((password) => ({
    title: `refuses the password ${password}`, body: newRocketChatUser({ password }), errorType: 'error-password-policy-not-met', field: 'password'
  })),
  { title: 'refuses a custom field that is not defined', body: newRocketChatUser({ customFields: { twitter: '@jane' } }), errorType: 'error-user-registration-custom-field', field: 'twitter' },
  { title: 'refuses a role that does not exist, naming roles,', body: newRocketChatUser({ roles: ['user', 'wizard'] }), errorType: 'error-action-not-allowed', field: 'roles' },
  { title: 'refuses a role whose name differs only in case', body: newRocketChatUser({ roles: ['Admin'] }), errorType: 'error-action-not-allowed', field: 'roles' }
]

onEachDatabase('Rocket.Chat users.create refusals', async (t, kind) => {
  t.test('answers 401 in Rocket.Chat\'s body without authentication, and writes nothing', async (t) => {
    const api = await build(t, kind)
    const before = await rowCount(api, 'users')
    const response = await api.request({ method: 'POST', url: USERS_CREATE, payload: newRocketChatUser() })
    t.equal(response.statusCode, 401)
    t.strictSame(response.body, {
      success: false, status: 'error', error: 'You must be logged in to do this.', message: 'You must be logged in to do this.'
    })
    t.equal(await rowCount(api, 'users'), before)
  })

  t.test('answers 401 when X-User-Id is not the token\'s user', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const response = await api.request({
      method: 'POST', url: USERS_CREATE, headers: { 'x-auth-token': admin.authToken, 'x-user-id': `${admin.userId}0` }, payload: newRocketChatUser()
    })
    t.equal(response.statusCode, 401)
    t.equal(response.body.error, 'You must be logged in to do this.')
  })

  // Bodies refused on their own, whatever the database holds: one app serves them all, as none
  // of them writes anything.
  t.test('refuses bad input with its errorType, writing nothing', async (t) => {
    const { api, admin } = await setUp(t, kind)
    for (const { title, body, errorType, field } of INPUT_REFUSALS) {
      t.test(`${title} with ${errorType}`, async (t) => {
        await assertRefused(t, api, async () => await createRocketChatUser(api, admin, body), errorType, field)
      })
    }
  })

  t.test('refuses malformed JSON with invalid-params', async (t) => {
    const { api, admin } = await setUp(t, kind)
    await assertRefused(t, api, async () => await api.request({
      method: 'POST', url: USERS_CREATE, headers: { ...rocketChatHeaders(admin), 'content-type': 'application/json' }, payload: '{"name":'
    }), 'invalid-params')
  })

  t.test('refuses a username that differs only in case with error-field-unavailable', async (t) => {
    const { api, admin } = await setUp(t, kind)
    t.equal((await createRocketChatUser(api, admin, newRocketChatUser({ username: 'Bob', email: 'bob@example.com' }))).statusCode, 200)
    await assertRefused(t, api, async () => await createRocketChatUser(api, admin, newRocketChatUser({ username: 'bob' })), 'error-field-unavailable', 'username')
  })

  t.test('refuses an email that is taken, regardless of case, with error-field-unavailable', async (t) => {
    const { api, admin } = await setUp(t, kind)
    t.equal((await createRocketChatUser(api, admin, newRocketChatUser())).statusCode, 200)
    await assertRefused(t, api, async () => await createRocketChatUser(api, admin, newRocketChatUser({ username: 'other', email: 'Jane@Example.COM' })), 'error-field-unavailable', 'email')
  })

  t.test('error-user-registration-custom-field', async (t) => {
    t.test('refuses a body without customFields while a field is mandatory', async (t) => {
      const { api, admin } = await setUp(t, kind)
      await defineField(api, { name: 'company', label: 'Company', mandatory: true })
      await assertRefused(t, api, async () => await createRocketChatUser(api, admin, newRocketChatUser()), 'error-user-registration-custom-field', 'company')
      await assertRefused(t, api, async () => await createRocketChatUser(api, admin, newRocketChatUser({ customFields: {} })), 'error-user-registration-custom-field', 'company')
      t.equal((await createRocketChatUser(api, admin, newRocketChatUser({ customFields: { company: 'ACME' } }))).statusCode, 200)
    })

    t.test('refuses an invalid value of a custom field', async (t) => {
      const { api, admin } = await setUp(t, kind)
      await defineField(api, { name: 'age', label: 'Age', type: 'integer' })
      await defineField(api, { name: 'plan', label: 'Plan', type: 'enum', type_options: ['free', 'pro'] })
      await assertRefused(t, api, async () => await createRocketChatUser(api, admin, newRocketChatUser({ customFields: { age: 'old' } })), 'error-user-registration-custom-field', 'age')
      await assertRefused(t, api, async () => await createRocketChatUser(api, admin, newRocketChatUser({ customFields: { plan: 'gold' } })), 'error-user-registration-custom-field', 'plan')
    })
  })

  t.test('error-action-not-allowed', async (t) => {
    t.test('refuses a caller without create-user', async (t) => {
      const api = await build(t, kind)
      await createUserWithToken(api, { username: 'plain', email: 'plain@example.com' })
      const plain = await rocketChatLogin(api, 'plain', 'Corr3ct-Horse!')
      const response = await assertRefused(t, api, async () => await createRocketChatUser(api, plain, newRocketChatUser()), 'error-action-not-allowed')
      t.match(response.body.error, /create-user/)
    })

    t.test('lets a caller with create-user but not assign-admin-role create users, but not admins', async (t) => {
      const api = await build(t, kind)
      const recruiter = await userWithPermissions(api, ['create-user'])
      const response = await assertRefused(t, api, async () => await createRocketChatUser(api, recruiter, newRocketChatUser({ roles: ['admin'] })), 'error-action-not-allowed', 'roles')
      t.match(response.body.error, /assign-admin-role/)
      const plain = await createRocketChatUser(api, recruiter, newRocketChatUser())
      t.equal(plain.statusCode, 200)
      t.strictSame(plain.body.user.roles, ['user'])
      const explicit = await createRocketChatUser(api, recruiter, newRocketChatUser({ username: 'bob', email: 'bob@example.com', roles: ['user', 'bot'] }))
      t.equal(explicit.statusCode, 200, 'roles that grant nothing may be given')
    })

    t.test('refuses a role granting a permission the caller lacks', async (t) => {
      const api = await build(t, kind)
      const recruiter = await userWithPermissions(api, ['create-user'])
      const response = await assertRefused(t, api, async () => await createRocketChatUser(api, recruiter, newRocketChatUser({ roles: ['moderator'] })), 'error-action-not-allowed', 'roles')
      t.match(response.body.error, /moderator.*view-user-administration|moderator.*view-full-other-user-info/)
    })

    t.test('lets a caller hand out a role whose permissions it holds', async (t) => {
      const api = await build(t, kind)
      const recruiter = await userWithPermissions(api, ['create-user', 'view-user-administration', 'view-full-other-user-info'])
      const response = await createRocketChatUser(api, recruiter, newRocketChatUser({ roles: ['moderator'] }))
      t.equal(response.statusCode, 200)
      t.strictSame(response.body.user.roles, ['moderator'])
    })
  })

  t.test('refuses users.create while invite codes are required, as v2 does without a code', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const on = await api.request({ method: 'PATCH', url: '/api/v2/dynamic_preference/', token: await api.adminToken(), payload: { 'configurations.invite_code': true } })
    t.equal(on.statusCode, 200)
    await assertRefused(t, api, async () => await createRocketChatUser(api, admin, newRocketChatUser()), 'invite-code-required', 'invite_code')
  })
})
