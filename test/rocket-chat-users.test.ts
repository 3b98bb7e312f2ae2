import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runInNewContext } from 'node:vm'
import t, { type Test } from 'tap'
import { projectRoot } from '../paths.js'
import { contract } from './contract.js'
import { ADMIN, build, type DatabaseKind, onEachDatabase, type TestApp } from './helper.js'
import {
  type RocketChatCredentials, USERS_CREATE, createRocketChatUser, createdEventOf, newRocketChatUser, rocketChatLogin
} from './rocket-chat-helper.js'

// Every key anywhere in the value, and every string in it.
function keysAndStrings (value: unknown): { keys: string[], strings: string[] } {
  if (typeof value === 'string') return { keys: [], strings: [value] }
  if (value === null || typeof value !== 'object') return { keys: [], strings: [] }
  const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value)
  const parts = entries.map(([key, item]) => {
    const inner = keysAndStrings(item)
    return { keys: Array.isArray(value) ? inner.keys : [key, ...inner.keys], strings: inner.strings }
  })
  return { keys: parts.flatMap((part) => part.keys), strings: parts.flatMap((part) => part.strings) }
}

async function setUp (t: Test, kind: DatabaseKind): Promise<{ api: TestApp, admin: RocketChatCredentials }> {
  const api = await build(t, kind)
  return { api, admin: await rocketChatLogin(api) }
}

async function v2User (api: TestApp, id: string): Promise<Record<string, unknown>> {
  const response = await api.request({ url: `/api/v2/user/${id}/`, token: await api.adminToken() })
  return response.body
}

async function loginStatus (api: TestApp, user: string, password: string): Promise<{ statusCode: number, body: any }> {
  return await api.request({ method: 'POST', url: '/api/v1/login', payload: { user, password } })
}

onEachDatabase('Rocket.Chat users.create', async (t, kind) => {
  t.test('runs the seed example: logs in, then creates the user with X-Auth-Token and X-User-Id', async (t) => {
    const api = await build(t, kind)
    const login = await api.request({ method: 'POST', url: '/api/v1/login', payload: { user: ADMIN.username, password: ADMIN.password } })
    t.equal(login.statusCode, 200)
    const { authToken, userId } = login.body.data
    const response = await api.request({
      method: 'POST',
      url: USERS_CREATE,
      headers: { 'x-auth-token': authToken, 'x-user-id': userId, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'name', email: 'email@example.com', password: 'Any-Pass-You-W4nt', username: 'uniqueusername' })
    })
    t.equal(response.statusCode, 200)
    t.match(response.body, {
      user: {
        _id: /^[1-9][0-9]*$/,
        username: 'uniqueusername',
        emails: [{ address: 'email@example.com', verified: false }],
        type: 'user',
        status: 'offline',
        active: true,
        roles: ['user'],
        name: 'name',
        settings: {}
      },
      success: true
    })
    t.ok(Date.parse(response.body.user.createdAt) <= Date.now())
    t.ok(Date.parse(response.body.user._updatedAt) >= Date.parse(response.body.user.createdAt))
    t.notOk('customFields' in response.body.user, 'no customFields when none are defined')
    const { keys, strings } = keysAndStrings(response.body)
    t.notOk(keys.some((key) => /services|password_?hash|bcrypt/i.test(key)), 'no services nor hash key')
    t.notOk(strings.some((value) => value.includes('$2')), 'no bcrypt hash')
    t.notOk(strings.includes('Any-Pass-You-W4nt'), 'no password')
  })

  t.test('accepts a bearer token as well', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'POST', url: USERS_CREATE, token: await api.adminToken(), payload: newRocketChatUser() })
    t.equal(response.statusCode, 200)
    t.equal(response.body.user.username, 'jane_doe')
  })

  t.test('gives every optional parameter its default', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const response = await createRocketChatUser(api, admin, newRocketChatUser())
    t.equal(response.statusCode, 200)
    const { user } = response.body
    t.match(user, { active: true, roles: ['user'], emails: [{ verified: false }], requirePasswordChange: false })
    for (const absent of ['bio', 'nickname', 'statusText']) t.notOk(absent in user, `no ${absent}`)
    t.match(await v2User(api, user._id), { status: 'a', email_isvalid: false, roles: ['user'] })
    const row = await api.app.knex('users').where({ id: Number(user._id) }).first('send_welcome_email', 'join_default_channels', 'require_password_change')
    t.strictSame([Boolean(row.send_welcome_email), Boolean(row.join_default_channels), Boolean(row.require_password_change)], [false, true, false])
    t.match(await createdEventOf(api, user._id), {
      active: true, email_verified: false, require_password_change: false, send_welcome_email: false, join_default_channels: true, roles: ['user']
    })
    t.equal((await loginStatus(api, 'jane_doe', 'Corr3ct-Horse!')).statusCode, 200)
  })

  t.test('active: false stores the user blocked, and the user cannot log in', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const response = await createRocketChatUser(api, admin, newRocketChatUser({ active: false }))
    t.equal(response.statusCode, 200)
    t.equal(response.body.user.active, false)
    t.equal((await v2User(api, response.body.user._id)).status, 'b')
    t.match(await createdEventOf(api, response.body.user._id), { active: false })
    const login = await loginStatus(api, 'jane_doe', 'Corr3ct-Horse!')
    t.equal(login.statusCode, 401)
    t.match(login.body, { status: 'error', error: 'error-user-is-not-activated' })
    const token = await api.request({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'password', username: 'jane_doe', password: 'Corr3ct-Horse!' } })
    t.not(token.statusCode, 200, 'no token on v2 either')
  })

  t.test('active: true lets the user log in', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const response = await createRocketChatUser(api, admin, newRocketChatUser({ active: true }))
    t.equal(response.body.user.active, true)
    t.equal((await loginStatus(api, 'jane_doe', 'Corr3ct-Horse!')).statusCode, 200)
  })

  t.test('verified: true marks the email verified, and v2 shows email_isvalid', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const response = await createRocketChatUser(api, admin, newRocketChatUser({ verified: true }))
    t.equal(response.statusCode, 200)
    t.strictSame(response.body.user.emails, [{ address: 'jane@example.com', verified: true }])
    t.equal((await v2User(api, response.body.user._id)).email_isvalid, true)
    t.match(await createdEventOf(api, response.body.user._id), { email_verified: true })
  })

  t.test('requirePasswordChange: true is returned, and in me at login', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const response = await createRocketChatUser(api, admin, newRocketChatUser({ requirePasswordChange: true }))
    t.equal(response.body.user.requirePasswordChange, true)
    const login = await loginStatus(api, 'jane_doe', 'Corr3ct-Horse!')
    t.equal(login.statusCode, 200)
    t.equal(login.body.data.me.requirePasswordChange, true)
    t.match(await createdEventOf(api, response.body.user._id), { require_password_change: true })
  })

  t.test('sendWelcomeEmail and joinDefaultChannels are stored and carried on the user.created event', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const response = await createRocketChatUser(api, admin, newRocketChatUser({ sendWelcomeEmail: true, joinDefaultChannels: false }))
    t.equal(response.statusCode, 200)
    const id = Number(response.body.user._id)
    const row = await api.app.knex('users').where({ id }).first('send_welcome_email', 'join_default_channels')
    t.strictSame([Boolean(row.send_welcome_email), Boolean(row.join_default_channels)], [true, false])
    const adminId = Number(admin.userId)
    t.strictSame(await createdEventOf(api, id), {
      id,
      username: 'jane_doe',
      email: 'jane@example.com',
      roles: ['user'],
      invite_code: null,
      promo_code: null,
      created_by: adminId,
      created_by_client: null,
      date_joined: response.body.user.createdAt,
      active: true,
      email_verified: false,
      require_password_change: false,
      send_welcome_email: true,
      join_default_channels: false
    })
  })

  t.test('stores and returns bio, nickname and statusText at their longest', async (t) => {
    const { api, admin } = await setUp(t, kind)
    // Characters outside the basic plane count once, as in the schema and MySQL.
    const profile = { bio: '😀'.repeat(260), nickname: 'n'.repeat(119) + '😀', statusText: 'Out to lunch 🍔' }
    const response = await createRocketChatUser(api, admin, newRocketChatUser(profile))
    t.equal(response.statusCode, 200)
    t.match(response.body.user, profile)
    const info = await api.request({ url: `/api/v1/users.info?userId=${String(response.body.user._id)}`, token: await api.adminToken() })
    t.match(info.body.user, profile)
  })

  t.test('setRandomPassword replaces the password and requires a change', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const response = await createRocketChatUser(api, admin, newRocketChatUser({ setRandomPassword: true }))
    t.equal(response.statusCode, 200)
    t.equal(response.body.user.requirePasswordChange, true)
    t.notOk(keysAndStrings(response.body).strings.includes('Corr3ct-Horse!'))
    const login = await loginStatus(api, 'jane_doe', 'Corr3ct-Horse!')
    t.equal(login.statusCode, 401)
    t.equal(login.body.error, 'Unauthorized')
    t.match(await createdEventOf(api, response.body.user._id), { require_password_change: true })
  })

  t.test('setRandomPassword takes an empty or weak password, which is not used', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const empty = await createRocketChatUser(api, admin, newRocketChatUser({ password: '', setRandomPassword: true }))
    t.equal(empty.statusCode, 200)
    const weak = await createRocketChatUser(api, admin, newRocketChatUser({ username: 'bob', email: 'bob@example.com', password: 'bob', setRandomPassword: true }))
    t.equal(weak.statusCode, 200)
    t.equal((await loginStatus(api, 'bob', 'bob')).statusCode, 401)
  })

  t.test('null for every nullable parameter means it is not given', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const nulls = {
      active: null,
      bio: null,
      nickname: null,
      statusText: null,
      joinDefaultChannels: null,
      requirePasswordChange: null,
      setRandomPassword: null,
      sendWelcomeEmail: null,
      verified: null,
      fields: null,
      freeSwitchExtension: null
    }
    const response = await createRocketChatUser(api, admin, newRocketChatUser(nulls))
    t.equal(response.statusCode, 200)
    const { user } = response.body
    t.match(user, { active: true, emails: [{ verified: false }], requirePasswordChange: false, roles: ['user'] })
    for (const absent of ['bio', 'nickname', 'statusText']) t.notOk(absent in user, `no ${absent}`)
    t.match(await createdEventOf(api, user._id), { send_welcome_email: false, join_default_channels: true, require_password_change: false })
    t.equal((await loginStatus(api, 'jane_doe', 'Corr3ct-Horse!')).statusCode, 200, 'the given password is kept')
  })

  t.test('accepts fields and freeSwitchExtension, and still returns the whole user', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const response = await createRocketChatUser(api, admin, newRocketChatUser({ fields: '{"username":1}', freeSwitchExtension: '1001' }))
    t.equal(response.statusCode, 200)
    t.match(response.body.user, { username: 'jane_doe', name: 'Jane Doe', emails: [{ address: 'jane@example.com' }] })
    t.notOk('freeSwitchExtension' in response.body.user)
  })

  t.test('stores customFields and returns them, on v1 and v2', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const token = await api.adminToken()
    await api.request({ method: 'POST', url: '/api/v2/custom_field/', token, payload: { name: 'twitter', label: 'Twitter' } })
    await api.request({ method: 'POST', url: '/api/v2/custom_field/', token, payload: { name: 'age', label: 'Age', type: 'integer' } })
    const response = await createRocketChatUser(api, admin, newRocketChatUser({ customFields: { twitter: '@example', age: 42 } }))
    t.equal(response.statusCode, 200)
    t.strictSame(response.body.user.customFields, { twitter: '@example', age: 42 })
    t.match(await v2User(api, response.body.user._id), { twitter: '@example', age: 42 })
  })

  t.test('grants the roles given, and a bot is of type bot', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const moderator = await createRocketChatUser(api, admin, newRocketChatUser({ roles: ['user', 'moderator'] }))
    t.equal(moderator.statusCode, 200)
    t.strictSame([...moderator.body.user.roles].sort(), ['moderator', 'user'])
    t.equal(moderator.body.user.type, 'user')
    const bot = await createRocketChatUser(api, admin, newRocketChatUser({ username: 'helper_bot', email: 'bot@example.com', roles: ['bot'] }))
    t.equal(bot.statusCode, 200)
    t.strictSame(bot.body.user.roles, ['bot'])
    t.equal(bot.body.user.type, 'bot')
    t.match(await createdEventOf(api, bot.body.user._id), { roles: ['bot'] })
  })

  t.test('an empty list of roles means the default ones, as in Rocket.Chat', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const response = await createRocketChatUser(api, admin, newRocketChatUser({ roles: [] }))
    t.equal(response.statusCode, 200)
    t.strictSame(response.body.user.roles, ['user'])
    t.match(await createdEventOf(api, response.body.user._id), { roles: ['user'] })
  })

  t.test('an admin may grant the admin role', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const response = await createRocketChatUser(api, admin, newRocketChatUser({ roles: ['admin'] }))
    t.equal(response.statusCode, 200)
    t.strictSame(response.body.user.roles, ['admin'])
  })

  t.test('accepts a body with every parameter of Rocket.Chat at once', async (t) => {
    const { api, admin } = await setUp(t, kind)
    await api.request({ method: 'POST', url: '/api/v2/custom_field/', token: await api.adminToken(), payload: { name: 'twitter', label: 'Twitter' } })
    const body = {
      email: 'jane@example.com',
      name: 'Jane Doe',
      password: 'Corr3ct-Horse!',
      username: 'jane_doe',
      active: true,
      bio: 'Writes code',
      nickname: 'JD',
      statusText: 'Busy',
      roles: ['user', 'bot'],
      joinDefaultChannels: false,
      requirePasswordChange: true,
      setRandomPassword: false,
      sendWelcomeEmail: true,
      verified: true,
      customFields: { twitter: '@jane' },
      fields: '{}',
      freeSwitchExtension: '2002'
    }
    t.strictSame(Object.keys(body).sort(), Object.keys(rocketChatCreateSchema().properties).sort(), 'the body uses every parameter')
    const response = await createRocketChatUser(api, admin, body)
    t.equal(response.statusCode, 200)
    t.match(response.body.user, {
      active: true, bio: 'Writes code', nickname: 'JD', statusText: 'Busy', type: 'bot', requirePasswordChange: true,
      emails: [{ verified: true }], customFields: { twitter: '@jane' }
    })
    t.match(await createdEventOf(api, response.body.user._id), { send_welcome_email: true, join_default_channels: false, email_verified: true })
    t.equal((await loginStatus(api, 'jane_doe', 'Corr3ct-Horse!')).statusCode, 200, 'setRandomPassword: false keeps the password')
  })
})

interface JsonSchema {
  type?: string | string[]
  nullable?: boolean
  items?: JsonSchema
  properties: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean
}

// Rocket.Chat's own schema of the body. Its module cannot be imported on Node (extension-less
// ESM imports), so the schema literal is read out of the file and evaluated on its own.
function rocketChatCreateSchema (): JsonSchema {
  const path = join(projectRoot, 'node_modules/@rocket.chat/rest-typings/dist/v1/users/UserCreateParamsPOST.js')
  const source = readFileSync(path, 'utf8')
  const literal = /const userCreateParamsPostSchema = (\{[\s\S]*?\n\});/.exec(source)?.[1]
  if (literal === undefined) throw new Error(`No schema literal in ${path}`)
  return runInNewContext(`(${literal})`) as JsonSchema
}

function typesOf (schema: JsonSchema): string[] {
  const types = Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type]
  return schema.nullable === true ? [...types, 'null'] : types
}

t.test('the contract accepts every parameter of Rocket.Chat\'s UserCreateParamsPOST with its types', async (t) => {
  const theirs = rocketChatCreateSchema()
  const ours = contract.components.schemas.RocketChatUserCreateRequest as JsonSchema
  t.ok(Object.keys(theirs.properties).length >= 17, 'the schema was read')
  t.strictSame([...(ours.required ?? [])].sort(), [...(theirs.required ?? [])].sort(), 'the same required parameters')
  t.equal(ours.additionalProperties, false)
  t.equal(theirs.additionalProperties, false)
  t.strictSame(Object.keys(ours.properties).sort(), Object.keys(theirs.properties).sort(), 'the same parameters')
  for (const [name, their] of Object.entries(theirs.properties)) {
    const our = ours.properties[name]
    if (our === undefined) continue
    t.strictSame(typesOf(our).sort(), typesOf(their).sort(), `${name} has the same types`)
    if (their.items !== undefined) t.strictSame(typesOf(our.items as JsonSchema), typesOf(their.items), `${name} has items of the same type`)
  }
})
