import type { Test } from 'tap'
import { build, createUserWithToken, type ApiResponse, type DatabaseKind, onEachDatabase, type TestApp } from './helper.js'
import {
  type RocketChatCredentials, createRocketChatUser, giveRole, newRocketChatUser, rocketChatHeaders, rocketChatLogin
} from './rocket-chat-helper.js'

interface Fixture {
  api: TestApp
  admin: RocketChatCredentials
  // jane_doe's id: a user with a private and a public custom field, a bio and requirePasswordChange.
  janeId: string
}

async function setUp (t: Test, kind: DatabaseKind): Promise<Fixture> {
  const api = await build(t, kind)
  const admin = await rocketChatLogin(api)
  const token = await api.adminToken()
  for (const field of [{ name: 'company', label: 'Company', public: true }, { name: 'salary', label: 'Salary', type: 'integer' }]) {
    const defined = await api.request({ method: 'POST', url: '/api/v2/custom_field/', token, payload: field })
    if (defined.statusCode !== 201) throw new Error(defined.text)
  }
  const jane = await createRocketChatUser(api, admin, newRocketChatUser({
    bio: 'Writes code', requirePasswordChange: true, verified: true, customFields: { company: 'ACME', salary: 1000 }
  }))
  if (jane.statusCode !== 200) throw new Error(jane.text)
  return { api, admin, janeId: jane.body.user._id }
}

async function info (api: TestApp, credentials: RocketChatCredentials | undefined, query: string): Promise<ApiResponse> {
  return await api.request({ url: `/api/v1/users.info?${query}`, headers: credentials !== undefined ? rocketChatHeaders(credentials) : {} })
}

// A user who is not jane_doe, logged in on v1, with the role given if any.
async function otherUser (api: TestApp, role?: string): Promise<RocketChatCredentials> {
  const { user } = await createUserWithToken(api, { username: 'bob', email: 'bob@example.com' })
  if (role !== undefined) await giveRole(api, user.id, role)
  return await rocketChatLogin(api, 'bob', 'Corr3ct-Horse!')
}

function assertFullView (t: Test, response: ApiResponse, id: string, requirePasswordChange = true): void {
  t.equal(response.statusCode, 200)
  t.strictSame(response.body, {
    user: {
      _id: id,
      createdAt: response.body.user.createdAt,
      username: 'jane_doe',
      emails: [{ address: 'jane@example.com', verified: true }],
      type: 'user',
      status: 'offline',
      active: true,
      roles: ['user'],
      _updatedAt: response.body.user._updatedAt,
      name: 'Jane Doe',
      settings: {},
      requirePasswordChange,
      bio: 'Writes code',
      customFields: { company: 'ACME', salary: 1000 }
    },
    success: true
  })
}

function assertRefused (t: Test, response: ApiResponse, errorType: string): void {
  t.equal(response.statusCode, 400)
  t.equal(response.body.success, false)
  t.equal(response.body.errorType, errorType)
  t.match(response.body.error, new RegExp(`\\[${errorType}\\]$`))
}

onEachDatabase('Rocket.Chat users.info', async (t, kind) => {
  t.test('gives an admin the full user by userId', async (t) => {
    const { api, admin, janeId } = await setUp(t, kind)
    assertFullView(t, await info(api, admin, `userId=${janeId}`), janeId)
  })

  t.test('finds the user by username in any case', async (t) => {
    const { api, admin, janeId } = await setUp(t, kind)
    for (const username of ['jane_doe', 'JANE_DOE', 'Jane_Doe']) {
      assertFullView(t, await info(api, admin, `username=${username}`), janeId)
    }
  })

  t.test('gives users their own full view, once they have changed the password they were given', async (t) => {
    const { api, janeId } = await setUp(t, kind)
    const before = await rocketChatLogin(api, 'jane_doe', 'Corr3ct-Horse!')
    const refused = await info(api, before, `userId=${janeId}`)
    t.equal(refused.statusCode, 400)
    t.equal(refused.body.errorType, 'error-password-change-required')
    const changed = await api.request({
      method: 'PATCH', url: `/api/v2/user/${janeId}/change_password/`, token: before.authToken, payload: { password: 'Corr3ct-Horse!', new_password: 'N3w-Passw0rd-Jane' }
    })
    t.equal(changed.statusCode, 204)
    const jane = await rocketChatLogin(api, 'jane_doe', 'N3w-Passw0rd-Jane')
    assertFullView(t, await info(api, jane, `userId=${janeId}`), janeId, false)
  })

  t.test('gives a moderator (view-full-other-user-info) the full view', async (t) => {
    const { api, janeId } = await setUp(t, kind)
    const moderator = await otherUser(api, 'moderator')
    assertFullView(t, await info(api, moderator, `username=jane_doe`), janeId)
  })

  t.test('gives a plain user the public view of another user: no emails, roles, settings, private custom fields', async (t) => {
    const { api, janeId } = await setUp(t, kind)
    const bob = await otherUser(api)
    const response = await info(api, bob, `userId=${janeId}`)
    t.equal(response.statusCode, 200)
    t.strictSame(response.body, {
      user: {
        _id: janeId,
        createdAt: response.body.user.createdAt,
        username: 'jane_doe',
        type: 'user',
        status: 'offline',
        active: true,
        name: 'Jane Doe',
        bio: 'Writes code',
        customFields: { company: 'ACME' }
      },
      success: true
    })
  })

  t.test('leaves customFields out of the public view when no public field has a value', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const carol = await createRocketChatUser(api, admin, newRocketChatUser({ username: 'carol', email: 'carol@example.com', customFields: { salary: 5 } }))
    const bob = await otherUser(api)
    const response = await info(api, bob, `username=carol`)
    t.equal(response.statusCode, 200)
    t.notOk('customFields' in response.body.user)
    t.equal(response.body.user._id, carol.body.user._id)
  })

  t.test('shows an inactive user as not active', async (t) => {
    const { api, admin } = await setUp(t, kind)
    const created = await createRocketChatUser(api, admin, newRocketChatUser({ username: 'idle', email: 'idle@example.com', active: false }))
    const response = await info(api, admin, `userId=${String(created.body.user._id)}`)
    t.equal(response.statusCode, 200)
    t.equal(response.body.user.active, false)
  })

  t.test('accepts a bearer token', async (t) => {
    const { api, janeId } = await setUp(t, kind)
    const response = await api.request({ url: `/api/v1/users.info?userId=${janeId}`, token: await api.adminToken() })
    assertFullView(t, response, janeId)
  })

  t.test('answers an unknown user with 400 error-invalid-user', async (t) => {
    const { api, admin } = await setUp(t, kind)
    for (const query of ['userId=999999', 'userId=9999999999', 'username=nobody', 'username=jane%20doe', 'username=jane_doe%20']) {
      assertRefused(t, await info(api, admin, query), 'error-invalid-user')
    }
  })

  t.test('accepts Rocket.Chat\'s fields and includeUserRooms and answers the same view', async (t) => {
    const { api, admin, janeId } = await setUp(t, kind)
    const plain = await info(api, admin, `userId=${janeId}`)
    const withExtras = await info(api, admin, `userId=${janeId}&fields=${encodeURIComponent('{"username":1}')}&includeUserRooms=true`)
    t.equal(withExtras.statusCode, 200)
    t.strictSame(withExtras.body, plain.body)
  })

  t.test('refuses neither or both of userId and username with invalid-params', async (t) => {
    const { api, admin, janeId } = await setUp(t, kind)
    assertRefused(t, await info(api, admin, ''), 'invalid-params')
    assertRefused(t, await info(api, admin, `userId=${janeId}&username=jane_doe`), 'invalid-params')
  })

  t.test('refuses a userId that is not a decimal id, and an unknown parameter, with invalid-params', async (t) => {
    const { api, admin } = await setUp(t, kind)
    for (const query of ['userId=abc', 'userId=0x10', 'userId=01', 'userId=1e3', 'userId=-1', 'userId=', 'username=', 'email=jane@example.com']) {
      assertRefused(t, await info(api, admin, query), 'invalid-params')
    }
  })

  t.test('answers 401 in Rocket.Chat\'s body without authentication', async (t) => {
    const { api, janeId } = await setUp(t, kind)
    const response = await info(api, undefined, `userId=${janeId}`)
    t.equal(response.statusCode, 401)
    t.strictSame(response.body, {
      success: false, status: 'error', error: 'You must be logged in to do this.', message: 'You must be logged in to do this.'
    })
  })
})
