import { generatePrivateKeyPem } from '../config/signing-keys.js'
import { ADMIN, accessTokenClaims, build, createUserWithToken, newAccount, onEachDatabase, signToken, type TestApp } from './helper.js'

const CREATE = '/api/v2/account/create/'

async function create (api: TestApp, payload: unknown, token?: string) {
  return await api.request({ method: 'POST', url: CREATE, token: token ?? await api.adminToken(), payload: payload as Record<string, unknown> })
}

async function rowCount (api: TestApp, table: string): Promise<number> {
  const [row] = await api.app.knex(table).count<Array<{ count: number | string }>>({ count: '*' })
  return Number(row?.count)
}

onEachDatabase('account creation', async (t, kind) => {
  t.test('creates an account and answers 201 with the user', async (t) => {
    const api = await build(t, kind)
    const response = await create(api, newAccount({ real_name: 'Jane Doe' }))
    t.equal(response.statusCode, 201)
    t.match(response.body, {
      id: Number, username: 'jane_doe', real_name: 'Jane Doe', email: 'jane@example.com',
      email_isvalid: false, status: 'a', roles: ['user']
    })
    t.ok(Date.parse(response.body.date_joined) <= Date.now())
  })

  t.test('reads the created user back by id', async (t) => {
    const api = await build(t, kind)
    const created = await create(api, newAccount())
    const read = await api.request({ url: `/api/v2/user/${String(created.body.id)}/`, token: await api.adminToken() })
    t.equal(read.statusCode, 200)
    t.strictSame(read.body, created.body)
  })

  t.test('accepts the path without its trailing slash', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'POST', url: '/api/v2/account/create', token: await api.adminToken(), payload: newAccount() })
    t.equal(response.statusCode, 201)
  })

  t.test('stores the username as given', async (t) => {
    const api = await build(t, kind)
    const response = await create(api, newAccount({ username: 'Jane-Doe_1' }))
    t.equal(response.body.username, 'Jane-Doe_1')
  })

  t.test('records who created the account, an audit entry and a user.created event', async (t) => {
    const api = await build(t, kind)
    const response = await create(api, newAccount())
    const id = response.body.id as number
    const adminRow = await api.app.knex('users').where({ username: ADMIN.username }).first('id')
    const userRow = await api.app.knex('users').where({ id }).first('created_by')
    t.equal(userRow.created_by, adminRow.id)
    const audit = await api.app.knex('audit_log').where({ subject_id: id }).select('actor_id', 'action')
    t.strictSame(audit, [{ actor_id: adminRow.id, action: 'account.create' }])
    const events = await api.app.knex('outbox_events').where({ type: 'user.created' }).select('payload')
    const payloads = events.map((event: { payload: string }) => JSON.parse(event.payload))
    t.match(payloads.find((payload: { id: number }) => payload.id === id), { username: 'jane_doe', email: 'jane@example.com', roles: ['user'], created_by: adminRow.id })
  })

  t.test('username rules', async (t) => {
    t.test('rejects a username that differs only in case with 409', async (t) => {
      const api = await build(t, kind)
      t.equal((await create(api, newAccount({ username: 'Bob' }))).statusCode, 201)
      const response = await create(api, newAccount({ username: 'bob', email: 'other@example.com' }))
      t.equal(response.statusCode, 409)
      t.match(response.body, { code: 'username_taken', field: 'username' })
    })

    for (const username of ['jane doe', 'jané', 'jane.doe', 'jane@doe', '']) {
      t.test(`rejects the username ${JSON.stringify(username)}`, async (t) => {
        const api = await build(t, kind)
        const response = await create(api, newAccount({ username }))
        t.equal(response.statusCode, 400)
        t.match(response.body, { code: 'invalid_field', field: 'username' })
      })
    }

    t.test('accepts a username of 255 characters and rejects one of 256', async (t) => {
      const api = await build(t, kind)
      t.equal((await create(api, newAccount({ username: 'u'.repeat(255) }))).statusCode, 201)
      const response = await create(api, newAccount({ username: 'u'.repeat(256), email: 'x@example.com' }))
      t.equal(response.statusCode, 400)
      t.match(response.body, { code: 'invalid_field', field: 'username' })
    })

    t.test('rejects a missing username', async (t) => {
      const api = await build(t, kind)
      const response = await create(api, { email: 'jane@example.com', password: 'Corr3ct-Horse!' })
      t.equal(response.statusCode, 400)
      t.match(response.body, { code: 'missing_field', field: 'username' })
    })

    t.test('rejects a number where the username string belongs', async (t) => {
      const api = await build(t, kind)
      const response = await create(api, newAccount({ username: 12345 }))
      t.equal(response.statusCode, 400)
      t.match(response.body, { code: 'invalid_field', field: 'username' })
    })
  })

  t.test('email rules', async (t) => {
    t.test('rejects an email that differs only in case with 409', async (t) => {
      const api = await build(t, kind)
      t.equal((await create(api, newAccount({ email: 'Jane@Example.com' }))).statusCode, 201)
      const response = await create(api, newAccount({ username: 'other', email: 'jane@EXAMPLE.COM' }))
      t.equal(response.statusCode, 409)
      t.match(response.body, { code: 'email_taken', field: 'email' })
    })

    for (const email of ['not-an-email', 'jane@', '@example.com', 'jane doe@example.com', `${'a'.repeat(250)}@example.com`]) {
      t.test(`rejects the email ${JSON.stringify(email.slice(0, 40))}`, async (t) => {
        const api = await build(t, kind)
        const response = await create(api, newAccount({ email }))
        t.equal(response.statusCode, 400)
        t.match(response.body, { code: 'invalid_field', field: 'email' })
      })
    }

    t.test('rejects a missing email', async (t) => {
      const api = await build(t, kind)
      const response = await create(api, { username: 'jane', password: 'Corr3ct-Horse!' })
      t.equal(response.statusCode, 400)
      t.match(response.body, { code: 'missing_field', field: 'email' })
    })
  })

  t.test('password rules', async (t) => {
    const cases: Array<[string, string, string]> = [
      ['shorter than 8 characters', 'Sh0rt!', 'invalid_field'],
      ['longer than 128 characters', `Aa1!${'x'.repeat(125)}`, 'invalid_field'],
      ['with only two classes of characters', 'onlylowercase123', 'password_too_weak'],
      ['containing the username, in any case', 'xxJANE_DOE1!', 'password_contains_username'],
      ['that is a common password', 'P@ssw0rd', 'password_too_common']
    ]
    for (const [description, password, code] of cases) {
      t.test(`rejects a password ${description}`, async (t) => {
        const api = await build(t, kind)
        const response = await create(api, newAccount({ password }))
        t.equal(response.statusCode, 400)
        t.match(response.body, { code, field: 'password' })
        t.equal(await api.app.knex('users').where({ username: 'jane_doe' }).first(), undefined)
      })
    }

    t.test('accepts a password of exactly 128 characters with three classes', async (t) => {
      const api = await build(t, kind)
      t.equal((await create(api, newAccount({ password: `Aa1${'x'.repeat(125)}` }))).statusCode, 201)
    })

    t.test('stores only a bcrypt hash, and the password logs in', async (t) => {
      const api = await build(t, kind)
      await create(api, newAccount())
      const row = await api.app.knex('users').where({ username: 'jane_doe' }).first('password_hash')
      t.match(row.password_hash, /^\$2b\$04\$/)
      t.type(await api.tokenFor('jane_doe', 'Corr3ct-Horse!'), 'string')
    })
  })

  t.test('real_name longer than 255 characters is refused', async (t) => {
    const api = await build(t, kind)
    const response = await create(api, newAccount({ real_name: 'n'.repeat(256) }))
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'invalid_field', field: 'real_name' })
  })

  t.test('invite and promo codes', async (t) => {
    t.test('refuses a non-empty invite_code while invite codes are off', async (t) => {
      const api = await build(t, kind)
      const response = await create(api, newAccount({ invite_code: 'WELCOME' }))
      t.equal(response.statusCode, 400)
      t.match(response.body, { code: 'invite_code_not_accepted', field: 'invite_code' })
    })

    t.test('refuses a non-empty promo_code while promo codes are off', async (t) => {
      const api = await build(t, kind)
      const response = await create(api, newAccount({ promo_code: 'SPRING' }))
      t.equal(response.statusCode, 400)
      t.match(response.body, { code: 'promo_code_not_accepted', field: 'promo_code' })
    })

    t.test('accepts empty codes', async (t) => {
      const api = await build(t, kind)
      t.equal((await create(api, newAccount({ invite_code: '', promo_code: '' }))).statusCode, 201)
    })
  })

  t.test('who may create', async (t) => {
    t.test('answers 401 without a token', async (t) => {
      const api = await build(t, kind)
      const response = await api.request({ method: 'POST', url: CREATE, payload: newAccount() })
      t.equal(response.statusCode, 401)
      t.equal(response.body.code, 'unauthorized')
      t.equal(await rowCount(api, 'users'), 1)
    })

    t.test('answers 401 for a token signed with another secret', async (t) => {
      const api = await build(t, kind)
      const forged = await signToken(accessTokenClaims('1', { roles: ['admin'] }), { privateKey: generatePrivateKeyPem('ES256') })
      const response = await create(api, newAccount(), forged)
      t.equal(response.statusCode, 401)
    })

    t.test('answers 401 for an expired token', async (t) => {
      const api = await build(t, kind)
      const now = Math.floor(Date.now() / 1000)
      const expired = await signToken(accessTokenClaims('1', { roles: ['admin'], iat: now - 3610, exp: now - 10 }))
      t.equal((await create(api, newAccount(), expired)).statusCode, 401)
    })

    t.test('answers 403 for a valid token of a user without the admin role', async (t) => {
      const api = await build(t, kind)
      const { token } = await createUserWithToken(api, { username: 'member', email: 'member@example.com' })
      const response = await create(api, newAccount(), token)
      t.equal(response.statusCode, 403)
      t.equal(response.body.code, 'forbidden')
      t.equal(await api.app.knex('users').where({ username: 'jane_doe' }).first(), undefined)
    })

    t.test('answers 403 even when the token claims the admin role the account lacks', async (t) => {
      const api = await build(t, kind)
      const { user } = await createUserWithToken(api, { username: 'member', email: 'member@example.com' })
      const claimsAdmin = await signToken(accessTokenClaims(String(user.id), { username: 'member', roles: ['admin'] }))
      t.equal((await create(api, newAccount(), claimsAdmin)).statusCode, 403)
    })
  })

  t.test('a failed creation leaves nothing behind', async (t) => {
    const api = await build(t, kind)
    await create(api, newAccount())
    const before = await Promise.all(['users', 'user_roles', 'audit_log', 'outbox_events'].map(async (table) => await rowCount(api, table)))
    const duplicate = await create(api, newAccount({ username: 'someone_else' }))
    t.equal(duplicate.statusCode, 409)
    const unknownRole = api.app.accountService.createAccount(
      { username: 'ghost', email: 'ghost@example.com', password: 'Corr3ct-Horse!', customFields: {} },
      { creator: null, roles: ['user', 'no_such_role'] })
    await t.rejects(unknownRole, { code: 'unknown_role' })
    const after = await Promise.all(['users', 'user_roles', 'audit_log', 'outbox_events'].map(async (table) => await rowCount(api, table)))
    t.strictSame(after, before)
  })

  t.test('never shows a password or a hash in a response or a log line', async (t) => {
    const api = await build(t, kind)
    const password = 'Unique-Secret-9876'
    const created = await create(api, newAccount({ password }))
    const token = await api.tokenFor('jane_doe', password)
    const me = await api.request({ url: '/api/v2/user/me/', token })
    await create(api, newAccount({ username: 'weak', email: 'weak@example.com', password: 'weakweakweak' }))
    const { password_hash: hash } = await api.app.knex('users').where({ username: 'jane_doe' }).first('password_hash')
    for (const text of [created.text, me.text, ...api.logs]) {
      t.notOk(text.includes(password), 'no password')
      t.notOk(text.includes(hash), 'no hash')
      t.notOk(text.includes('weakweakweak'), 'no refused password')
      t.notOk(text.includes(token), 'no token')
    }
    t.ok(api.logs.length > 0, 'the app did log')
  })

  t.test('counts lengths in characters, as the contract does, not in UTF-16 units', async (t) => {
    const api = await build(t, kind)
    const response = await create(api, newAccount({ real_name: '😀'.repeat(255), password: `Aa1${'😀'.repeat(125)}` }))
    t.equal(response.statusCode, 201)
    t.equal(response.body.real_name, '😀'.repeat(255))
    t.type(await api.tokenFor('jane_doe', `Aa1${'😀'.repeat(125)}`), 'string')
  })
})
