import { build, newAccount, onEachDatabase, type TestApp } from './helper.js'

const CREATE = '/api/v2/account/create/'

async function succeeded (response: Promise<{ statusCode: number, text: string, body: any }>, status = 200): Promise<any> {
  const { statusCode, text, body } = await response
  if (statusCode !== status) throw new Error(`Expected ${status}, got ${statusCode}: ${text}`)
  return body
}

async function enableInvites (api: TestApp, token: string): Promise<void> {
  await succeeded(api.request({ method: 'PATCH', url: '/api/v2/dynamic_preference/', token, payload: { 'configurations.invite_code': true } }))
}

async function issueInvite (api: TestApp, token: string, payload: Record<string, unknown> = {}): Promise<any> {
  return await succeeded(api.request({ method: 'POST', url: '/api/v2/invite_code/', token, payload }), 201)
}

async function enablePromos (api: TestApp, token: string): Promise<void> {
  await succeeded(api.request({ method: 'PATCH', url: '/api/v2/feature/promo_code/', token, payload: { enabled: true } }))
}

async function createPromo (api: TestApp, token: string, payload: Record<string, unknown> = {}): Promise<any> {
  return await succeeded(api.request({ method: 'POST', url: '/api/v2/promo_code/', token, payload }), 201)
}

async function create (api: TestApp, token: string, overrides: Record<string, unknown>) {
  return await api.request({ method: 'POST', url: CREATE, token, payload: newAccount(overrides) })
}

async function userCount (api: TestApp): Promise<number> {
  const [row] = await api.app.knex('users').count<Array<{ count: number | string }>>({ count: '*' })
  return Number(row?.count)
}

const PAST = '2020-01-01 00:00:00.000'

onEachDatabase('invite-only registration', async (t, kind) => {
  t.test('refuses an invite code while the invite_code preference is off', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const invite = await issueInvite(api, token)
    const response = await create(api, token, { invite_code: invite.code })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'invite_code_not_accepted', field: 'invite_code' })
  })

  t.test('requires an invite code once the preference is on', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await enableInvites(api, token)
    for (const overrides of [{}, { invite_code: '' }]) {
      const response = await create(api, token, overrides)
      t.equal(response.statusCode, 400)
      t.match(response.body, { code: 'invite_code_required', field: 'invite_code' })
    }
    t.equal(await userCount(api), 1, 'only the admin exists')
  })

  t.test('creates the account with a valid code, in any case, and records who used it and when', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await enableInvites(api, token)
    const invite = await issueInvite(api, token, { code: 'Welcome-2026' })
    const response = await create(api, token, { invite_code: 'wELCOME-2026' })
    t.equal(response.statusCode, 201)
    const check = await succeeded(api.request({ url: '/api/v2/invite_code/welcome-2026/', token }))
    t.equal(check.status, 'used')
    t.equal(check.invite.user.id, response.body.id)
    t.ok(Date.parse(check.invite.used_at) <= Date.now())
    t.equal(check.invite.id, invite.id)
  })

  t.test('refuses each unusable code with its own error code, creating nothing', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await enableInvites(api, token)
    const used = await issueInvite(api, token)
    await succeeded(create(api, token, { username: 'first', email: 'first@example.com', invite_code: used.code }), 201)
    const expired = await issueInvite(api, token)
    await api.app.knex('invite_codes').where({ id: expired.id }).update({ expires_at: PAST })
    const revoked = await issueInvite(api, token)
    await succeeded(api.request({ method: 'POST', url: `/api/v2/invite_code/${String(revoked.code)}/revoke/`, token }))
    const cases: Array<[string, string]> = [
      ['NO-SUCH-CODE', 'invite_code_not_found'],
      [used.code, 'invite_code_used'],
      [expired.code, 'invite_code_expired'],
      [revoked.code, 'invite_code_revoked']
    ]
    for (const [code, expected] of cases) {
      const response = await create(api, token, { invite_code: code })
      t.equal(response.statusCode, 400, code)
      t.match(response.body, { code: expected, field: 'invite_code' })
    }
    t.equal(await userCount(api), 2, 'only the admin and the first account exist')
  })

  t.test('a code bound to an email works only for that email, regardless of case', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await enableInvites(api, token)
    const invite = await issueInvite(api, token, { email: 'Invited@Example.com' })
    const wrong = await create(api, token, { email: 'someone.else@example.com', invite_code: invite.code })
    t.equal(wrong.statusCode, 400)
    t.match(wrong.body, { code: 'invite_code_email_mismatch', field: 'invite_code' })
    const right = await create(api, token, { email: 'invited@example.com', invite_code: invite.code })
    t.equal(right.statusCode, 201)
  })

  t.test('a code with a forced username works only for that username', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await enableInvites(api, token)
    const invite = await issueInvite(api, token, { forced_username: 'chosen_one' })
    const wrong = await create(api, token, { username: 'somebody', invite_code: invite.code })
    t.equal(wrong.statusCode, 400)
    t.match(wrong.body, { code: 'invite_code_username_mismatch', field: 'invite_code' })
    const right = await create(api, token, { username: 'chosen_one', invite_code: invite.code })
    t.equal(right.statusCode, 201)
  })

  t.test('grants the role the invite carries, besides user', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await enableInvites(api, token)
    const invite = await issueInvite(api, token, { role: 'admin' })
    const response = await create(api, token, { invite_code: invite.code })
    t.equal(response.statusCode, 201)
    t.strictSame([...response.body.roles].sort(), ['admin', 'user'])
  })

  t.test('a create that fails after its code was checked leaves the code unused', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await succeeded(create(api, token, { username: 'taken', email: 'taken@example.com' }), 201)
    await enableInvites(api, token)
    const invite = await issueInvite(api, token)
    // The username is taken: the insert fails on the unique index, after the code was locked.
    const response = await create(api, token, { username: 'TAKEN', invite_code: invite.code })
    t.equal(response.statusCode, 409)
    const row = await api.app.knex('invite_codes').where({ id: invite.id }).first('used_at', 'user_id')
    t.strictSame(row, { used_at: null, user_id: null })
    t.equal((await create(api, token, { invite_code: invite.code })).statusCode, 201)
  })

  t.test('puts the invite code on the user.created event', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await enableInvites(api, token)
    const invite = await issueInvite(api, token)
    const response = await create(api, token, { invite_code: invite.code })
    const events = await api.app.knex('outbox_events').where({ type: 'user.created' }).select('payload')
    const payload = events.map((event: { payload: string }) => JSON.parse(event.payload)).find((event: { id: number }) => event.id === response.body.id)
    t.match(payload, { invite_code: invite.code, promo_code: null })
  })
})

onEachDatabase('promo codes at registration', async (t, kind) => {
  t.test('refuses a promo code while the promo_code feature is off', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const promo = await createPromo(api, token)
    const response = await create(api, token, { promo_code: promo.code })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'promo_code_not_accepted', field: 'promo_code' })
  })

  t.test('keeps the promo code optional when the feature is on', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await enablePromos(api, token)
    t.equal((await create(api, token, {})).statusCode, 201)
    t.equal((await create(api, token, { username: 'other', email: 'other@example.com', promo_code: '' })).statusCode, 201)
  })

  t.test('redeems a valid code, in any case, and records the redemption', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await enablePromos(api, token)
    await createPromo(api, token, { code: 'Launch-Week', max_uses: 3 })
    const response = await create(api, token, { promo_code: 'launch-week' })
    t.equal(response.statusCode, 201)
    const promo = await succeeded(api.request({ url: '/api/v2/promo_code/LAUNCH-WEEK/', token }))
    t.equal(promo.uses, 1)
    const redemptions = await succeeded(api.request({ url: '/api/v2/promo_code/launch-week/redemptions/', token }))
    t.equal(redemptions.count, 1)
    t.equal(redemptions.results[0].user.id, response.body.id)
  })

  t.test('refuses each unusable promo code with its own error code, creating nothing', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await enablePromos(api, token)
    const inactive = await createPromo(api, token, { active: false })
    const future = await createPromo(api, token, { valid_from: new Date(Date.now() + 86_400_000).toISOString() })
    const expired = await createPromo(api, token)
    await api.app.knex('promo_codes').where({ id: expired.id }).update({ valid_from: PAST, valid_to: '2020-06-01 00:00:00.000' })
    const exhausted = await createPromo(api, token, { max_uses: 1 })
    await succeeded(create(api, token, { username: 'first', email: 'first@example.com', promo_code: exhausted.code }), 201)
    const cases: Array<[string, string]> = [
      ['NO-SUCH-PROMO', 'promo_code_not_found'],
      [inactive.code, 'promo_code_inactive'],
      [future.code, 'promo_code_not_yet_valid'],
      [expired.code, 'promo_code_expired'],
      [exhausted.code, 'promo_code_exhausted']
    ]
    for (const [code, expected] of cases) {
      const response = await create(api, token, { promo_code: code })
      t.equal(response.statusCode, 400, code)
      t.match(response.body, { code: expected, field: 'promo_code' })
    }
    t.equal(await userCount(api), 2, 'only the admin and the first account exist')
    const [row] = await api.app.knex('promo_code_redemptions').count<Array<{ count: number | string }>>({ count: '*' })
    t.equal(Number(row?.count), 1)
  })

  t.test('a create that fails after its code was checked redeems nothing', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await succeeded(create(api, token, { username: 'taken', email: 'taken@example.com' }), 201)
    await enablePromos(api, token)
    const promo = await createPromo(api, token, { max_uses: 1 })
    const response = await create(api, token, { username: 'TAKEN', promo_code: promo.code })
    t.equal(response.statusCode, 409)
    const row = await api.app.knex('promo_codes').where({ id: promo.id }).first('uses')
    t.equal(Number(row.uses), 0)
    t.equal((await create(api, token, { promo_code: promo.code })).statusCode, 201)
  })

  t.test('a create that fails after using its codes leaves both as they were', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await enableInvites(api, token)
    await enablePromos(api, token)
    await api.app.knex('roles').insert({ name: 'trial' })
    const invite = await issueInvite(api, token, { role: 'trial' })
    const promo = await createPromo(api, token, { max_uses: 1 })
    // The invite's role is gone by the time it is granted, after both codes were used.
    await api.app.knex('roles').where({ name: 'trial' }).delete()
    const response = await create(api, token, { invite_code: invite.code, promo_code: promo.code })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'unknown_role' })
    t.strictSame(await api.app.knex('invite_codes').where({ id: invite.id }).first('used_at', 'user_id'), { used_at: null, user_id: null })
    t.equal(Number((await api.app.knex('promo_codes').where({ id: promo.id }).first('uses')).uses), 0)
    t.equal((await api.app.knex('promo_code_redemptions').select()).length, 0)
    t.equal(await userCount(api), 1, 'only the admin exists')
  })

  t.test('uses an invite code and redeems a promo code in one create', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await enableInvites(api, token)
    await enablePromos(api, token)
    const invite = await issueInvite(api, token)
    const promo = await createPromo(api, token)
    const response = await create(api, token, { invite_code: invite.code, promo_code: promo.code })
    t.equal(response.statusCode, 201)
    const events = await api.app.knex('outbox_events').where({ type: 'user.created' }).select('payload')
    const payload = events.map((event: { payload: string }) => JSON.parse(event.payload)).find((event: { id: number }) => event.id === response.body.id)
    t.match(payload, { invite_code: invite.code, promo_code: promo.code })
  })
})

onEachDatabase('codes raced by parallel creates', async (t, kind) => {
  t.test('50 parallel creates racing for one invite code: exactly one 201', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await enableInvites(api, token)
    const invite = await issueInvite(api, token)
    const responses = await Promise.all(Array.from({ length: 50 }, async (_, index) =>
      await create(api, token, { username: `invitee${index}`, email: `invitee${index}@example.com`, invite_code: invite.code })))
    const winners = responses.filter((response) => response.statusCode === 201)
    t.equal(winners.length, 1, 'one winner')
    t.ok(responses.filter((response) => response.statusCode !== 201).every((response) =>
      response.statusCode === 400 && response.body.code === 'invite_code_used'), 'every other one is told the code is used')
    t.equal(await userCount(api), 2, 'the admin and the winner')
    const row = await api.app.knex('invite_codes').where({ id: invite.id }).first('user_id')
    t.equal(row.user_id, winners[0]?.body.id)
  })

  t.test('a promo code with max_uses 5 raced by 50 creates: exactly five redemptions', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await enablePromos(api, token)
    const promo = await createPromo(api, token, { max_uses: 5 })
    const responses = await Promise.all(Array.from({ length: 50 }, async (_, index) =>
      await create(api, token, { username: `racer${index}`, email: `racer${index}@example.com`, promo_code: promo.code })))
    t.equal(responses.filter((response) => response.statusCode === 201).length, 5, 'five winners')
    t.ok(responses.filter((response) => response.statusCode !== 201).every((response) =>
      response.statusCode === 400 && response.body.code === 'promo_code_exhausted'), 'every other one is told the code is used up')
    const row = await api.app.knex('promo_codes').where({ id: promo.id }).first('uses')
    t.equal(Number(row.uses), 5)
    const [redemptions] = await api.app.knex('promo_code_redemptions').where({ promo_code_id: promo.id }).count<Array<{ count: number | string }>>({ count: '*' })
    t.equal(Number(redemptions?.count), 5)
    t.equal(await userCount(api), 6, 'the admin and the five winners')
  })
})
