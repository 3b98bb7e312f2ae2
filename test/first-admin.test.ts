import { ADMIN, build, createTestDatabase, onEachDatabase } from './helper.js'

const WITHOUT_ADMIN_CREDENTIALS = { ADMIN_USERNAME: undefined, ADMIN_EMAIL: undefined, ADMIN_PASSWORD: undefined }

onEachDatabase('the first admin', async (t, kind) => {
  t.test('is created from ADMIN_USERNAME, ADMIN_EMAIL and ADMIN_PASSWORD', async (t) => {
    const api = await build(t, kind)
    const me = await api.request({ url: '/api/v2/user/me/', token: await api.adminToken() })
    t.match(me.body, { username: ADMIN.username, email: ADMIN.email, roles: ['admin', 'user'] })
  })

  t.test('in development, is generated and announced once, and the password works', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const announced: Array<{ username: string, password: string }> = []
    const announceFirstAdmin = (username: string, password: string): void => { announced.push({ username, password }) }
    const env = { ...WITHOUT_ADMIN_CREDENTIALS, NODE_ENV: 'development' }
    const first = await build(t, kind, { databaseUrl, env, announceFirstAdmin })
    t.equal(announced.length, 1)
    const [{ username, password }] = announced as [{ username: string, password: string }]
    t.equal(username, 'admin')
    t.ok(password.length >= 20)
    t.type(await first.tokenFor(username, password), 'string')
    t.notOk(first.logs.some((line) => line.includes(password)), 'the password never reaches the log')
    await build(t, kind, { databaseUrl, env, announceFirstAdmin })
    t.equal(announced.length, 1, 'a restart does not make another admin')
  })

  t.test('an admin the operator makes or resets gets a generated password that works, even with a one-letter username', async (t) => {
    const api = await build(t, kind)
    // Half of all generated passwords hold a given letter: 26 one-letter admins would not all get
    // one the policy accepts by chance.
    for (const username of 'abcdefghijklmnopqrstuvwxyz') {
      const created = await api.app.accountService.createAdmin({ username, email: `${username}@example.com` })
      t.notOk(created.generatedPassword?.toLowerCase().includes(username), username)
      const reset = await api.app.accountService.resetAdminPassword(username)
      t.type(await api.tokenFor(username, reset.generatedPassword as string), 'string', username)
    }
  })

  t.test('outside development, nothing is generated without credentials', async (t) => {
    const announced: string[] = []
    const api = await build(t, kind, { env: WITHOUT_ADMIN_CREDENTIALS, announceFirstAdmin: (username) => { announced.push(username) } })
    t.strictSame(announced, [])
    t.equal(await api.app.knex('users').first(), undefined)
  })

  t.test('refuses to start, with one clear message, when the configured admin breaks the password policy', async (t) => {
    await t.rejects(build(t, kind, { env: { ADMIN_PASSWORD: 'password' } }), {
      name: 'ConfigError',
      message: /^Invalid configuration: ADMIN_PASSWORD: password must contain at least 3 of/
    })
  })

  t.test('a blocked admin still counts: a restart creates no second admin', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const first = await build(t, kind, { databaseUrl })
    await first.app.knex('users').where({ username: ADMIN.username }).update({ status: 'b' })
    const second = await build(t, kind, { databaseUrl })
    t.equal(Number((await second.app.knex('users').count<Array<{ count: number | string }>>({ count: '*' }))[0]?.count), 1)
  })

  t.test('refuses to start, in one line, when the admin username belongs to an account without the admin role', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const first = await build(t, kind, { databaseUrl })
    await first.app.knex('user_roles').delete().whereIn('role_id', first.app.knex('roles').select('id').where({ name: 'admin' }))
    await t.rejects(build(t, kind, { databaseUrl, env: { ADMIN_EMAIL: 'someone@example.com' } }), {
      name: 'StartupError',
      message: 'Cannot create the first admin: admin is the username of an account without the admin role; set another ADMIN_USERNAME'
    })
  })

  t.test('is created while registration needs invite codes and redeems promo codes', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const first = await build(t, kind, { databaseUrl })
    const token = await first.adminToken()
    const preference = await first.request({ method: 'PATCH', url: '/api/v2/dynamic_preference/', token, payload: { 'configurations.invite_code': true } })
    t.equal(preference.statusCode, 200)
    const feature = await first.request({ method: 'PATCH', url: '/api/v2/feature/promo_code/', token, payload: { enabled: true } })
    t.equal(feature.statusCode, 200)
    await first.app.knex('user_roles').delete()
    await first.app.knex('users').delete()
    const second = await build(t, kind, { databaseUrl })
    const me = await second.request({ url: '/api/v2/user/me/', token: await second.adminToken() })
    t.match(me.body, { username: ADMIN.username, roles: ['admin', 'user'] })
  })

  t.test('refuses to start, in one line, when a mandatory custom field leaves no way to make the first admin', async (t) => {
    const databaseUrl = await createTestDatabase(t, kind, { shared: true })
    const first = await build(t, kind, { databaseUrl })
    await first.request({ method: 'POST', url: '/api/v2/custom_field/', token: await first.adminToken(), payload: { name: 'company', label: 'Company', mandatory: true } })
    await first.app.knex('user_roles').delete()
    await first.app.knex('users').delete()
    await t.rejects(build(t, kind, { databaseUrl }), { name: 'StartupError', message: 'Cannot create the first admin: company is required' })
  })
})
