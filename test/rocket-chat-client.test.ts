// Acceptance of the v1 surface by Rocket.Chat's own REST client, over real HTTP: what its
// tooling sends, and what it gets back, checked against openapi.yaml as well.
import type { RestClient } from '@rocket.chat/api-client'
import type { UserCreateParamsPOST } from '@rocket.chat/rest-typings'
import { ADMIN, onEachDatabase, type TestApp, withoutRequestId } from './helper.js'
import { adminClient, clientFor, logIn, refusal, rejectionOf, serve } from './rocket-chat-rest-client.js'

// Rocket.Chat's typings require `fields`, which its server (and this one) treats as optional.
type CreateParams = Omit<UserCreateParamsPOST, 'fields'> & { fields?: string }

// The seed's example call, with a password that meets our policy.
const SEED_USER = { name: 'name', email: 'email@example.com', password: 'Any-Pass-You-Want1', username: 'uniqueusername' }

async function createUser (client: RestClient, params: CreateParams): Promise<Record<string, any>> {
  return await client.post('/v1/users.create', params as UserCreateParamsPOST)
}

function rocketChatError (errorType: string, reason: string, field?: string): { status: number, body: unknown } {
  return { status: 400, body: { success: false, error: `${reason} [${errorType}]`, errorType, ...(field !== undefined ? { details: { field } } : {}) } }
}

async function idOf (api: TestApp, username: string): Promise<string> {
  const row = await api.app.knex('users').where({ username }).first('id')
  return String(row.id)
}

async function userCount (api: TestApp): Promise<number> {
  const [row] = await api.app.knex('users').count<Array<{ count: number | string }>>({ count: '*' })
  return Number(row?.count)
}

onEachDatabase('logging in with the Rocket.Chat client', async (t, kind) => {
  t.test('logs in and returns the userId and authToken the client then sends as credentials', async (t) => {
    const served = await serve(t, kind)
    const client = clientFor(served)
    const result = await logIn(client, ADMIN.username, ADMIN.password)
    const adminId = await idOf(served.api, ADMIN.username)
    t.equal(result.status, 'success')
    t.equal(result.data.userId, adminId)
    t.match(result.data.authToken, /^[\w-]+\.[\w-]+\.[\w-]+$/)
    t.match(result.data.me, {
      _id: adminId, username: ADMIN.username, emails: [{ address: ADMIN.email, verified: false }], type: 'user', status: 'offline', active: true, roles: ['admin', 'user'], requirePasswordChange: false
    })
    t.notOk('services' in result.data.me)
    const info = await client.get('/v1/users.info', { userId: adminId })
    t.equal(info.user.username, ADMIN.username)
  })

  t.test('logs in with the email as user, in any case', async (t) => {
    const served = await serve(t, kind)
    const result = await logIn(clientFor(served), ADMIN.email.toUpperCase(), ADMIN.password)
    t.equal(result.data.me.username, ADMIN.username)
  })

  t.test('refuses a wrong password and an unknown user with the same 401 Unauthorized', async (t) => {
    const served = await serve(t, kind)
    const client = clientFor(served)
    const expected = { status: 401, body: { status: 'error', error: 'Unauthorized', message: 'Unauthorized' } }
    t.strictSame(await refusal(client.post('/v1/login', { user: ADMIN.username, password: 'Wrong-Passw0rd' })), expected)
    t.strictSame(await refusal(client.post('/v1/login', { user: 'nobody', password: 'Wrong-Passw0rd' })), expected)
  })

  t.test('refuses credentials whose X-User-Id is not the token\'s user', async (t) => {
    const served = await serve(t, kind)
    const client = await adminClient(served)
    const created = await createUser(client, SEED_USER)
    const token = client.getCredentials()?.['X-Auth-Token'] as string
    client.setCredentials({ 'X-User-Id': created.user._id, 'X-Auth-Token': token })
    t.strictSame(await refusal(client.get('/v1/users.info', { username: ADMIN.username })), {
      status: 401,
      body: { success: false, status: 'error', error: 'You must be logged in to do this.', message: 'You must be logged in to do this.' }
    })
  })

  t.test('answers 429 error-too-many-requests past RATE_LIMIT_MAX logins, with Retry-After', async (t) => {
    const served = await serve(t, kind, { env: { RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_SECONDS: '30' } })
    const client = clientFor(served)
    await logIn(client, ADMIN.username, ADMIN.password)
    await logIn(client, ADMIN.username, ADMIN.password)
    const response = await rejectionOf(client.post('/v1/login', { user: ADMIN.username, password: ADMIN.password }))
    t.equal(response.status, 429)
    t.equal(response.headers.get('retry-after'), '30')
    t.strictSame(withoutRequestId(response.url, response.headers.get('x-request-id'), await response.json()), {
      success: false, error: 'Too many requests: you must wait 30 seconds before trying this endpoint again [error-too-many-requests]', errorType: 'error-too-many-requests'
    })
  })
})

onEachDatabase('users.create with the Rocket.Chat client', async (t, kind) => {
  t.test('creates the seed\'s user and answers with it in Rocket.Chat\'s shape, without services', async (t) => {
    const served = await serve(t, kind)
    const result = await createUser(await adminClient(served), SEED_USER)
    const { createdAt, _updatedAt, ...user } = result.user
    t.strictSame({ ...result, user }, {
      user: {
        _id: await idOf(served.api, SEED_USER.username),
        username: 'uniqueusername',
        emails: [{ address: 'email@example.com', verified: false }],
        type: 'user',
        status: 'offline',
        active: true,
        roles: ['user'],
        name: 'name',
        settings: {},
        requirePasswordChange: false
      },
      success: true
    })
    t.ok(Date.parse(createdAt) <= Date.parse(_updatedAt))
    t.ok(Math.abs(Date.parse(createdAt) - Date.now()) < 60_000)
    const loggedIn = await logIn(clientFor(served), SEED_USER.username, SEED_USER.password)
    t.equal(loggedIn.data.userId, result.user._id)
  })

  t.test('applies Rocket.Chat\'s optional parameters and returns them', async (t) => {
    const served = await serve(t, kind)
    const result = await createUser(await adminClient(served), {
      ...SEED_USER,
      roles: ['bot'],
      verified: true,
      requirePasswordChange: true,
      sendWelcomeEmail: true,
      joinDefaultChannels: false,
      bio: 'Builds things',
      nickname: 'builder',
      statusText: 'On call',
      fields: '{"username":1}',
      freeSwitchExtension: '1234'
    })
    t.match(result.user, {
      username: SEED_USER.username,
      emails: [{ address: SEED_USER.email, verified: true }],
      type: 'bot',
      roles: ['bot'],
      requirePasswordChange: true,
      bio: 'Builds things',
      nickname: 'builder',
      statusText: 'On call'
    })
    const loggedIn = await logIn(clientFor(served), SEED_USER.username, SEED_USER.password)
    t.equal(loggedIn.data.me.requirePasswordChange, true)
  })

  t.test('creates an inactive user who cannot log in', async (t) => {
    const served = await serve(t, kind)
    const result = await createUser(await adminClient(served), { ...SEED_USER, active: false })
    t.equal(result.user.active, false)
    t.strictSame(await refusal(clientFor(served).post('/v1/login', { user: SEED_USER.username, password: SEED_USER.password })), {
      status: 401, body: { status: 'error', error: 'error-user-is-not-activated', message: 'User is not activated' }
    })
  })

  t.test('refuses an unknown key with invalid-params and creates nothing', async (t) => {
    const served = await serve(t, kind)
    const client = await adminClient(served)
    const before = await userCount(served.api)
    t.strictSame(await refusal(createUser(client, { ...SEED_USER, role: 'admin' } as CreateParams)),
      rocketChatError('invalid-params', 'role is not a field of the request body', 'role'))
    t.equal(await userCount(served.api), before)
  })

  t.test('refuses an empty required field with error-the-field-is-required', async (t) => {
    const served = await serve(t, kind)
    t.strictSame(await refusal(createUser(await adminClient(served), { ...SEED_USER, name: '' })),
      rocketChatError('error-the-field-is-required', 'The field name is required', 'name'))
  })

  t.test('refuses an invalid username with error-input-is-not-a-valid-field', async (t) => {
    const served = await serve(t, kind)
    t.strictSame(await refusal(createUser(await adminClient(served), { ...SEED_USER, username: 'unique username' })),
      rocketChatError('error-input-is-not-a-valid-field', 'username must be 1 to 255 letters, digits, "_" or "-"', 'username'))
  })

  t.test('refuses a reserved username in any case with error-blocked-username', async (t) => {
    const served = await serve(t, kind)
    t.strictSame(await refusal(createUser(await adminClient(served), { ...SEED_USER, username: 'Root' })),
      rocketChatError('error-blocked-username', 'Root is a reserved username', 'username'))
  })

  t.test('refuses a taken username or email, regardless of case, with error-field-unavailable', async (t) => {
    const served = await serve(t, kind)
    const client = await adminClient(served)
    await createUser(client, SEED_USER)
    t.strictSame(await refusal(createUser(client, { ...SEED_USER, email: 'other@example.com', username: 'UniqueUsername' })),
      rocketChatError('error-field-unavailable', 'username is already taken', 'username'))
    t.strictSame(await refusal(createUser(client, { ...SEED_USER, email: 'EMAIL@example.com', username: 'other' })),
      rocketChatError('error-field-unavailable', 'email is already taken', 'email'))
  })

  t.test('refuses an invalid email with error-invalid-email', async (t) => {
    const served = await serve(t, kind)
    t.strictSame(await refusal(createUser(await adminClient(served), { ...SEED_USER, email: 'not-an-email' })),
      rocketChatError('error-invalid-email', 'email must be a valid address of at most 254 characters', 'email'))
  })

  t.test('refuses the seed\'s own weak password with error-password-policy-not-met', async (t) => {
    const served = await serve(t, kind)
    t.strictSame(await refusal(createUser(await adminClient(served), { ...SEED_USER, password: 'anypassyouwant' })),
      rocketChatError('error-password-policy-not-met', 'password must contain at least 3 of: lower case letters, upper case letters, digits, special characters', 'password'))
  })

  t.test('refuses a missing mandatory custom field with error-user-registration-custom-field, even without customFields', async (t) => {
    const served = await serve(t, kind)
    const defined = await served.api.request({
      method: 'POST', url: '/api/v2/custom_field/', token: await served.api.adminToken(), payload: { name: 'department', label: 'Department', mandatory: true }
    })
    t.equal(defined.statusCode, 201)
    const client = await adminClient(served)
    t.strictSame(await refusal(createUser(client, SEED_USER)),
      rocketChatError('error-user-registration-custom-field', 'department is required', 'department'))
    const created = await createUser(client, { ...SEED_USER, customFields: { department: 'Sales' } })
    t.strictSame(created.user.customFields, { department: 'Sales' })
  })

  t.test('refuses a caller without create-user with error-action-not-allowed and creates nothing', async (t) => {
    const served = await serve(t, kind)
    const admin = await adminClient(served)
    await createUser(admin, SEED_USER)
    const plainUser = clientFor(served)
    await logIn(plainUser, SEED_USER.username, SEED_USER.password)
    t.strictSame(await refusal(createUser(plainUser, { ...SEED_USER, email: 'other@example.com', username: 'other' })),
      rocketChatError('error-action-not-allowed', 'This operation requires the create-user permission'))
    t.strictSame(await refusal(admin.get('/v1/users.info', { username: 'other' })),
      rocketChatError('error-invalid-user', 'User not found.', 'username'))
  })

  t.test('refuses the admin role from a caller without assign-admin-role with error-action-not-allowed', async (t) => {
    const served = await serve(t, kind)
    const role = await served.api.request({
      method: 'POST', url: '/api/v2/role/', token: await served.api.adminToken(), payload: { name: 'recruiter', description: 'Hires people', permissions: ['create-user'] }
    })
    t.equal(role.statusCode, 201)
    await createUser(await adminClient(served), { ...SEED_USER, roles: ['recruiter'] })
    const recruiter = clientFor(served)
    await logIn(recruiter, SEED_USER.username, SEED_USER.password)
    t.strictSame(await refusal(createUser(recruiter, { ...SEED_USER, email: 'other@example.com', username: 'other', roles: ['admin'] })),
      rocketChatError('error-action-not-allowed', 'Granting the admin role requires the assign-admin-role permission', 'roles'))
    const created = await createUser(recruiter, { ...SEED_USER, email: 'other@example.com', username: 'other' })
    t.strictSame(created.user.roles, ['user'])
  })

  t.test('refuses an unknown role with error-action-not-allowed', async (t) => {
    const served = await serve(t, kind)
    t.strictSame(await refusal(createUser(await adminClient(served), { ...SEED_USER, roles: ['wizard'] })),
      rocketChatError('error-action-not-allowed', 'wizard is not a role', 'roles'))
  })

  t.test('refuses a client without credentials with Rocket.Chat\'s 401', async (t) => {
    const served = await serve(t, kind)
    t.strictSame(await refusal(createUser(clientFor(served), SEED_USER)), {
      status: 401,
      body: { success: false, status: 'error', error: 'You must be logged in to do this.', message: 'You must be logged in to do this.' }
    })
  })
})

onEachDatabase('users.info with the Rocket.Chat client', async (t, kind) => {
  t.test('reads a user by userId and by username in any case, as users.create returned it', async (t) => {
    const served = await serve(t, kind)
    const client = await adminClient(served)
    const created = await createUser(client, SEED_USER)
    const byId = await client.get('/v1/users.info', { userId: created.user._id })
    t.strictSame(byId, { user: created.user, success: true })
    const byUsername = await client.get('/v1/users.info', { username: 'UniqueUserName' })
    t.strictSame(byUsername, { user: created.user, success: true })
  })

  t.test('refuses an unknown user with 400 error-invalid-user', async (t) => {
    const served = await serve(t, kind)
    const client = await adminClient(served)
    t.strictSame(await refusal(client.get('/v1/users.info', { userId: '999999' })),
      rocketChatError('error-invalid-user', 'User not found.', 'userId'))
    t.strictSame(await refusal(client.get('/v1/users.info', { username: 'nobody' })),
      rocketChatError('error-invalid-user', 'User not found.', 'username'))
  })

  t.test('shows a user without view-full-other-user-info only the public view of another', async (t) => {
    const served = await serve(t, kind)
    const admin = await adminClient(served)
    await createUser(admin, SEED_USER)
    const me = await admin.get('/v1/users.info', { username: ADMIN.username })
    const plainUser = clientFor(served)
    await logIn(plainUser, SEED_USER.username, SEED_USER.password)
    const info = await plainUser.get('/v1/users.info', { username: ADMIN.username })
    const { _id, createdAt, username, type, status, active, name } = me.user
    t.strictSame(info, { user: { _id, createdAt, username, type, status, active, name }, success: true })
  })
})

onEachDatabase('Accounts_CustomFields with the Rocket.Chat client', async (t, kind) => {
  // The client's typings do not infer the pattern of this path, so the calls name it: /v1/settings/:_id.
  const SETTING = '/v1/settings/Accounts_CustomFields'
  const FIELDS = {
    department: { type: 'select', required: true, options: ['Sales', 'Support'], public: false },
    twitter: { type: 'text', required: false, maxLength: 15, public: true }
  }

  t.test('replaces the custom fields from Rocket.Chat\'s JSON text and reads them back in that format', async (t) => {
    const served = await serve(t, kind)
    const client = await adminClient(served)
    t.strictSame(await client.post<'/v1/settings/:_id'>(SETTING, { value: JSON.stringify(FIELDS) }), { success: true })
    const setting = await client.get<'/v1/settings/:_id'>(SETTING)
    t.match(setting, { _id: 'Accounts_CustomFields', success: true })
    t.strictSame(JSON.parse(setting.value as string), FIELDS)
    t.strictSame(await refusal(createUser(client, SEED_USER)),
      rocketChatError('error-user-registration-custom-field', 'department is required', 'department'))
  })

  t.test('shows another user only the custom fields marked public', async (t) => {
    const served = await serve(t, kind)
    const admin = await adminClient(served)
    await admin.post<'/v1/settings/:_id'>(SETTING, { value: JSON.stringify(FIELDS) })
    const created = await createUser(admin, { ...SEED_USER, customFields: { department: 'Support', twitter: '@unique' } })
    t.strictSame(created.user.customFields, { department: 'Support', twitter: '@unique' })
    await createUser(admin, { ...SEED_USER, email: 'other@example.com', username: 'other', customFields: { department: 'Sales' } })
    const other = clientFor(served)
    await logIn(other, 'other', SEED_USER.password)
    const info = await other.get('/v1/users.info', { username: SEED_USER.username })
    t.strictSame(info.user.customFields, { twitter: '@unique' })
    t.notOk('emails' in info.user)
  })

  t.test('refuses a user without manage-custom-fields with error-action-not-allowed', async (t) => {
    const served = await serve(t, kind)
    await createUser(await adminClient(served), SEED_USER)
    const plainUser = clientFor(served)
    await logIn(plainUser, SEED_USER.username, SEED_USER.password)
    t.strictSame(await refusal(plainUser.post<'/v1/settings/:_id'>(SETTING, { value: JSON.stringify(FIELDS) })),
      rocketChatError('error-action-not-allowed', 'This operation requires the manage-custom-fields permission'))
  })
})
