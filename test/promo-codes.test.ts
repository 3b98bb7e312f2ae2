import { ADMIN, build, createUserWithToken, onEachDatabase, type TestApp } from './helper.js'

const PROMOS = '/api/v2/promo_code/'
const RANDOM_CODE = /^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$/
const DAY = 24 * 60 * 60 * 1000

async function createPromo (api: TestApp, payload: Record<string, unknown>, token?: string) {
  return await api.request({ method: 'POST', url: PROMOS, token: token ?? await api.adminToken(), payload })
}

// A promo code the test starts from; its representation.
async function givenPromo (api: TestApp, payload: Record<string, unknown>): Promise<any> {
  const response = await createPromo(api, payload)
  if (response.statusCode !== 201) throw new Error(`Could not create the promo code: ${response.text}`)
  return response.body
}

async function promoCount (api: TestApp): Promise<number> {
  const [row] = await api.app.knex('promo_codes').count<Array<{ count: number | string }>>({ count: '*' })
  return Number(row?.count)
}

async function listCodes (api: TestApp, query: string): Promise<string[]> {
  const response = await api.request({ url: `${PROMOS}?${query}`, token: await api.adminToken() })
  return response.body.results.map((promo: { code: string }) => promo.code)
}

function databaseTime (date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '')
}

// Records that `userId` redeemed the code at `at`, as account creation does.
async function redeem (api: TestApp, code: string, userId: number, at: Date): Promise<void> {
  const promo = await api.app.knex('promo_codes').where({ code }).first('id')
  await api.app.knex('promo_code_redemptions').insert({ promo_code_id: promo.id, user_id: userId, redeemed_at: databaseTime(at) })
  await api.app.knex('promo_codes').where({ id: promo.id }).increment('uses', 1)
}

onEachDatabase('promo code creation', async (t, kind) => {
  t.test('creates the code given, with defaults for everything else', async (t) => {
    const api = await build(t, kind)
    const before = Date.now()
    const response = await createPromo(api, { code: 'Launch-2026' })
    t.equal(response.statusCode, 201)
    t.match(response.body, { id: Number, code: 'Launch-2026', name: '', valid_to: null, max_uses: null, uses: 0, active: true, redeemable: true })
    t.ok(Date.parse(response.body.valid_from) >= before - 1 && Date.parse(response.body.valid_from) <= Date.now())
    t.equal(response.body.created_at, response.body.valid_from)
  })

  t.test('records the admin who created the code', async (t) => {
    const api = await build(t, kind)
    await givenPromo(api, { code: 'LAUNCH' })
    const admin = await api.app.knex('users').where({ username: ADMIN.username }).first('id')
    const row = await api.app.knex('promo_codes').where({ code: 'LAUNCH' }).first('created_by')
    t.equal(row.created_by, admin.id)
  })

  t.test('stores every setting given', async (t) => {
    const api = await build(t, kind)
    const validFrom = new Date(Date.now() - DAY).toISOString()
    const validTo = new Date(Date.now() + DAY).toISOString()
    const response = await createPromo(api, { code: 'SPRING', name: 'Spring sale', valid_from: validFrom, valid_to: validTo, max_uses: 100, active: true })
    t.equal(response.statusCode, 201)
    t.match(response.body, { code: 'SPRING', name: 'Spring sale', valid_from: validFrom, valid_to: validTo, max_uses: 100, uses: 0, active: true, redeemable: true })
    const read = await api.request({ url: `${PROMOS}SPRING/`, token: await api.adminToken() })
    t.strictSame(read.body, response.body)
  })

  t.test('makes up a random, human-readable code when none is given', async (t) => {
    const api = await build(t, kind)
    const first = await createPromo(api, { name: 'Random' })
    const second = await createPromo(api, {})
    t.equal(first.statusCode, 201)
    t.match(first.body.code, RANDOM_CODE)
    t.match(second.body.code, RANDOM_CODE)
    t.not(first.body.code, second.body.code)
  })

  t.test('refuses a code that already exists in another case with 409, adding nothing', async (t) => {
    const api = await build(t, kind)
    await givenPromo(api, { code: 'Launch' })
    const again = await createPromo(api, { code: 'LAUNCH', name: 'Other' })
    t.equal(again.statusCode, 409)
    t.match(again.body, { code: 'promo_code_exists', field: 'code' })
    t.equal(await promoCount(api), 1)
  })

  t.test('refuses a valid_to that is not after valid_from, adding nothing', async (t) => {
    const api = await build(t, kind)
    const at = new Date(Date.now() + 2 * DAY).toISOString()
    for (const validTo of [at, new Date(Date.now() + DAY).toISOString()]) {
      const response = await createPromo(api, { code: 'LATE', valid_from: at, valid_to: validTo })
      t.equal(response.statusCode, 400, validTo)
      t.match(response.body, { code: 'invalid_field', field: 'valid_to' }, validTo)
    }
    t.equal(await promoCount(api), 0)
  })

  t.test('refuses a valid_to in the past, adding nothing', async (t) => {
    const api = await build(t, kind)
    const response = await createPromo(api, { code: 'EXPIRED', valid_from: '2020-01-01T00:00:00Z', valid_to: '2020-06-01T00:00:00Z' })
    t.equal(response.statusCode, 400)
    t.match(response.body, { code: 'invalid_field', field: 'valid_to' })
    t.equal(await promoCount(api), 0)
  })

  t.test('refuses date-times no database column can hold, naming the field', async (t) => {
    const api = await build(t, kind)
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ valid_from: '2016-12-31T23:59:60Z' }, 'valid_from'],
      [{ valid_from: '0999-12-31T23:59:59Z' }, 'valid_from'],
      [{ valid_to: '9999-12-31T23:00:00-05:00' }, 'valid_to']
    ]
    for (const [payload, field] of cases) {
      const response = await createPromo(api, { code: 'TIMES', ...payload })
      t.equal(response.statusCode, 400, JSON.stringify(payload))
      t.match(response.body, { code: 'invalid_field', field }, JSON.stringify(payload))
    }
    t.equal(await promoCount(api), 0)
  })

  t.test('refuses malformed settings naming the field, adding nothing', async (t) => {
    const api = await build(t, kind)
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ code: 'abc' }, 'code'],
      [{ code: 'NO SPACES' }, 'code'],
      [{ code: 'x'.repeat(65) }, 'code'],
      [{ code: 42 }, 'code'],
      [{ name: 'n'.repeat(256) }, 'name'],
      [{ valid_from: 'tomorrow' }, 'valid_from'],
      [{ valid_to: '2030-02-30T00:00:00Z' }, 'valid_to'],
      [{ max_uses: 0 }, 'max_uses'],
      [{ max_uses: 4294967296 }, 'max_uses'],
      [{ max_uses: 1.5 }, 'max_uses'],
      [{ active: 'yes' }, 'active'],
      [{ uses: 3 }, 'uses']
    ]
    for (const [payload, field] of cases) {
      const response = await createPromo(api, payload)
      t.equal(response.statusCode, 400, JSON.stringify(payload))
      t.equal(response.body.field, field, JSON.stringify(payload))
    }
    t.equal(await promoCount(api), 0)
  })

  t.test('accepts the largest use limit', async (t) => {
    const api = await build(t, kind)
    const response = await createPromo(api, { code: 'MANY', max_uses: 4294967295 })
    t.equal(response.statusCode, 201)
    t.equal(response.body.max_uses, 4294967295)
  })

  t.test('answers 401 without a token and 403 to a non-admin, adding nothing', async (t) => {
    const api = await build(t, kind)
    const { token } = await createUserWithToken(api)
    t.equal((await api.request({ method: 'POST', url: PROMOS, payload: { code: 'NOPE' } })).statusCode, 401)
    t.equal((await createPromo(api, { code: 'NOPE' }, token)).statusCode, 403)
    t.equal(await promoCount(api), 0)
  })
})

onEachDatabase('whether a promo code is redeemable', async (t, kind) => {
  t.test('an inactive code is not redeemable', async (t) => {
    const api = await build(t, kind)
    const response = await createPromo(api, { code: 'IDLE', active: false })
    t.match(response.body, { active: false, redeemable: false })
  })

  t.test('a code not yet valid is not redeemable', async (t) => {
    const api = await build(t, kind)
    const response = await createPromo(api, { code: 'SOON', valid_from: new Date(Date.now() + DAY).toISOString() })
    t.match(response.body, { active: true, redeemable: false })
  })

  t.test('an expired code is not redeemable', async (t) => {
    const api = await build(t, kind)
    await givenPromo(api, { code: 'GONE', valid_to: new Date(Date.now() + DAY).toISOString() })
    await api.app.knex('promo_codes').where({ code: 'GONE' }).update({
      valid_from: databaseTime(new Date(Date.now() - 2 * DAY)), valid_to: databaseTime(new Date(Date.now() - DAY))
    })
    const read = await api.request({ url: `${PROMOS}GONE/`, token: await api.adminToken() })
    t.match(read.body, { active: true, redeemable: false })
  })

  t.test('a code used up to its limit is not redeemable', async (t) => {
    const api = await build(t, kind)
    await givenPromo(api, { code: 'ONCE', max_uses: 1 })
    const { user } = await createUserWithToken(api)
    await redeem(api, 'ONCE', user.id, new Date())
    const read = await api.request({ url: `${PROMOS}ONCE/`, token: await api.adminToken() })
    t.match(read.body, { max_uses: 1, uses: 1, redeemable: false })
  })
})

onEachDatabase('listing promo codes', async (t, kind) => {
  t.test('lists newest first, a page at a time, with the total and links', async (t) => {
    const api = await build(t, kind)
    for (const code of ['FIRST', 'SECOND', 'THIRD']) await givenPromo(api, { code })
    const first = await api.request({ url: `${PROMOS}?limit=2`, token: await api.adminToken() })
    t.equal(first.statusCode, 200)
    t.match(first.body, { count: 3, next: '/api/v2/promo_code/?limit=2&offset=2', previous: null })
    t.strictSame(first.body.results.map((promo: { code: string }) => promo.code), ['THIRD', 'SECOND'])
    const second = await api.request({ url: first.body.next, token: await api.adminToken() })
    t.match(second.body, { count: 3, next: null, previous: '/api/v2/promo_code/?limit=2&offset=0' })
    t.strictSame(second.body.results.map((promo: { code: string }) => promo.code), ['FIRST'])
  })

  t.test('shows each code as it is read alone', async (t) => {
    const api = await build(t, kind)
    const created = await givenPromo(api, { code: 'ALONE', name: 'Alone', max_uses: 5 })
    const list = await api.request({ url: PROMOS, token: await api.adminToken() })
    t.strictSame(list.body, { count: 1, next: null, previous: null, results: [created] })
  })

  t.test('filters by whether a code is active', async (t) => {
    const api = await build(t, kind)
    await givenPromo(api, { code: 'ON-1' })
    await givenPromo(api, { code: 'OFF-1', active: false })
    await givenPromo(api, { code: 'ON-2' })
    t.strictSame(await listCodes(api, 'active=true'), ['ON-2', 'ON-1'])
    t.strictSame(await listCodes(api, 'active=false'), ['OFF-1'])
  })

  t.test('filters by the start of the code or of the name, regardless of case', async (t) => {
    const api = await build(t, kind)
    await givenPromo(api, { code: 'SPRING-1', name: 'First' })
    await givenPromo(api, { code: 'GIFT-1', name: 'Spring sale' })
    await givenPromo(api, { code: 'AUTUMN', name: 'Not in spring' })
    t.strictSame(await listCodes(api, 'search=spRING'), ['GIFT-1', 'SPRING-1'])
    t.strictSame(await listCodes(api, 'search=ring'), [])
    t.strictSame(await listCodes(api, 'search=AUTUMN'), ['AUTUMN'])
  })

  t.test('takes %, _ and \\ in the search text literally', async (t) => {
    const api = await build(t, kind)
    await givenPromo(api, { code: 'AB_CD', name: '100% off' })
    await givenPromo(api, { code: 'ABXCD', name: '1000 points' })
    await givenPromo(api, { code: 'SLASH', name: 'back\\slash' })
    await givenPromo(api, { code: 'NOSLASH', name: 'backxslash' })
    t.strictSame(await listCodes(api, 'search=ab_'), ['AB_CD'])
    t.strictSame(await listCodes(api, 'search=100%25'), ['AB_CD'])
    t.strictSame(await listCodes(api, 'search=%25'), [])
    t.strictSame(await listCodes(api, `search=${encodeURIComponent('back\\')}`), ['SLASH'])
  })

  t.test('counts and pages only the codes that pass the filters, keeping them in the links', async (t) => {
    const api = await build(t, kind)
    for (const code of ['SALE-1', 'SALE-2', 'SALE-3']) await givenPromo(api, { code })
    await givenPromo(api, { code: 'SALE-4', active: false })
    await givenPromo(api, { code: 'OTHER' })
    const response = await api.request({ url: `${PROMOS}?search=sale&active=true&limit=2`, token: await api.adminToken() })
    t.match(response.body, { count: 3, next: '/api/v2/promo_code/?search=sale&active=true&limit=2&offset=2', previous: null })
    t.strictSame(response.body.results.map((promo: { code: string }) => promo.code), ['SALE-3', 'SALE-2'])
  })

  t.test('refuses malformed filters naming the parameter', async (t) => {
    const api = await build(t, kind)
    const cases: Array<[string, string]> = [['active=maybe', 'active'], ['limit=0', 'limit'], ['limit=101', 'limit'], ['offset=-1', 'offset'], ['order=code', 'order']]
    for (const [query, field] of cases) {
      const response = await api.request({ url: `${PROMOS}?${query}`, token: await api.adminToken() })
      t.equal(response.statusCode, 400, query)
      t.equal(response.body.field, field, query)
    }
  })

  t.test('answers 401 without a token and 403 to a non-admin', async (t) => {
    const api = await build(t, kind)
    const { token } = await createUserWithToken(api)
    t.equal((await api.request({ url: PROMOS })).statusCode, 401)
    t.equal((await api.request({ url: PROMOS, token })).statusCode, 403)
  })
})

onEachDatabase('reading one promo code', async (t, kind) => {
  t.test('any signed-in user reads a code, in any case', async (t) => {
    const api = await build(t, kind)
    const created = await givenPromo(api, { code: 'Launch-2026', name: 'Launch' })
    const { token } = await createUserWithToken(api)
    const response = await api.request({ url: `${PROMOS}lAUNCH-2026/`, token })
    t.equal(response.statusCode, 200)
    t.strictSame(response.body, created)
  })

  t.test('answers 404 for an unknown code', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ url: `${PROMOS}UNKNOWN/`, token: await api.adminToken() })
    t.equal(response.statusCode, 404)
    t.equal(response.body.code, 'not_found')
  })

  t.test('answers 400 for a path that cannot be a code', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ url: `${PROMOS}no%20code/`, token: await api.adminToken() })
    t.equal(response.statusCode, 400)
    t.equal(response.body.field, 'code')
  })

  t.test('answers 401 without a token', async (t) => {
    const api = await build(t, kind)
    await givenPromo(api, { code: 'LAUNCH' })
    t.equal((await api.request({ url: `${PROMOS}LAUNCH/` })).statusCode, 401)
  })
})

onEachDatabase('the redemptions of a promo code', async (t, kind) => {
  t.test('lists who redeemed the code and when, oldest first, a page at a time', async (t) => {
    const api = await build(t, kind)
    await givenPromo(api, { code: 'LAUNCH' })
    const users = []
    for (const name of ['ann', 'bob', 'cid']) users.push((await createUserWithToken(api, { username: name, email: `${name}@example.com` })).user)
    const [ann, bob, cid] = users
    await redeem(api, 'LAUNCH', bob.id, new Date('2026-01-02T00:00:00.000Z'))
    await redeem(api, 'LAUNCH', cid.id, new Date('2026-01-03T00:00:00.000Z'))
    await redeem(api, 'LAUNCH', ann.id, new Date('2026-01-01T00:00:00.000Z'))
    const url = `${PROMOS}launch/redemptions/`
    const first = await api.request({ url: `${url}?limit=2`, token: await api.adminToken() })
    t.equal(first.statusCode, 200)
    t.strictSame(first.body, {
      count: 3,
      next: `${url}?limit=2&offset=2`,
      previous: null,
      results: [{ user: ann, redeemed_at: '2026-01-01T00:00:00.000Z' }, { user: bob, redeemed_at: '2026-01-02T00:00:00.000Z' }]
    })
    const second = await api.request({ url: first.body.next, token: await api.adminToken() })
    t.strictSame(second.body, { count: 3, next: null, previous: `${url}?limit=2&offset=0`, results: [{ user: cid, redeemed_at: '2026-01-03T00:00:00.000Z' }] })
  })

  t.test('lists only the redemptions of that code', async (t) => {
    const api = await build(t, kind)
    await givenPromo(api, { code: 'LAUNCH' })
    await givenPromo(api, { code: 'OTHER' })
    const { user } = await createUserWithToken(api)
    await redeem(api, 'OTHER', user.id, new Date())
    const response = await api.request({ url: `${PROMOS}LAUNCH/redemptions/`, token: await api.adminToken() })
    t.strictSame(response.body, { count: 0, next: null, previous: null, results: [] })
  })

  t.test('reads the users of a page in one batch', async (t) => {
    const api = await build(t, kind)
    await givenPromo(api, { code: 'LAUNCH' })
    for (const name of ['ann', 'bob', 'cid']) {
      const { user } = await createUserWithToken(api, { username: name, email: `${name}@example.com` })
      await redeem(api, 'LAUNCH', user.id, new Date())
    }
    const token = await api.adminToken()
    const accounts = api.app.repositories.accounts
    const batches: number[][] = []
    const findByIds = accounts.findByIds.bind(accounts)
    accounts.findByIds = async (ids) => { batches.push(ids); return await findByIds(ids) }
    t.teardown(() => { accounts.findByIds = findByIds })
    const response = await api.request({ url: `${PROMOS}LAUNCH/redemptions/`, token })
    t.equal(response.body.results.length, 3)
    t.equal(batches.length, 1)
    t.equal(batches[0]?.length, 3)
  })

  t.test('answers 404 for an unknown code', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ url: `${PROMOS}UNKNOWN/redemptions/`, token: await api.adminToken() })
    t.equal(response.statusCode, 404)
    t.equal(response.body.code, 'not_found')
  })

  t.test('answers 401 without a token and 403 to a non-admin', async (t) => {
    const api = await build(t, kind)
    await givenPromo(api, { code: 'LAUNCH' })
    const { token } = await createUserWithToken(api)
    t.equal((await api.request({ url: `${PROMOS}LAUNCH/redemptions/` })).statusCode, 401)
    t.equal((await api.request({ url: `${PROMOS}LAUNCH/redemptions/`, token })).statusCode, 403)
  })
})

onEachDatabase('deactivating a promo code', async (t, kind) => {
  t.test('deactivates a code named in any case, for good', async (t) => {
    const api = await build(t, kind)
    const created = await givenPromo(api, { code: 'Launch' })
    const response = await api.request({ method: 'POST', url: `${PROMOS}LAUNCH/deactivate/`, token: await api.adminToken() })
    t.equal(response.statusCode, 200)
    t.strictSame(response.body, { ...created, active: false, redeemable: false })
    const read = await api.request({ url: `${PROMOS}launch/`, token: await api.adminToken() })
    t.strictSame(read.body, response.body)
  })

  t.test('deactivating an inactive code changes nothing and answers 200', async (t) => {
    const api = await build(t, kind)
    const created = await givenPromo(api, { code: 'IDLE', active: false })
    const response = await api.request({ method: 'POST', url: `${PROMOS}IDLE/deactivate/`, token: await api.adminToken() })
    t.equal(response.statusCode, 200)
    t.strictSame(response.body, created)
  })

  t.test('answers 404 for an unknown code', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'POST', url: `${PROMOS}UNKNOWN/deactivate/`, token: await api.adminToken() })
    t.equal(response.statusCode, 404)
    t.equal(response.body.code, 'not_found')
  })

  t.test('answers 401 without a token and 403 to a non-admin, leaving the code active', async (t) => {
    const api = await build(t, kind)
    await givenPromo(api, { code: 'LAUNCH' })
    const { token } = await createUserWithToken(api)
    t.equal((await api.request({ method: 'POST', url: `${PROMOS}LAUNCH/deactivate/` })).statusCode, 401)
    t.equal((await api.request({ method: 'POST', url: `${PROMOS}LAUNCH/deactivate/`, token })).statusCode, 403)
    const read = await api.request({ url: `${PROMOS}LAUNCH/`, token })
    t.equal(read.body.active, true)
  })
})

onEachDatabase('redeeming a promo code at account creation', async (t, kind) => {
  t.test('an account created with a code shows in its redemptions and counts as a use', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const feature = await api.request({ method: 'PATCH', url: '/api/v2/feature/promo_code/', token, payload: { enabled: true } })
    t.equal(feature.statusCode, 200)
    await givenPromo(api, { code: 'Launch', max_uses: 10 })
    const { user } = await createUserWithToken(api, { promo_code: 'lAUNCH' })
    const redemptions = await api.request({ url: `${PROMOS}LAUNCH/redemptions/`, token })
    t.equal(redemptions.body.count, 1)
    t.strictSame(redemptions.body.results.map((redemption: { user: unknown }) => redemption.user), [user])
    t.ok(Date.parse(redemptions.body.results[0].redeemed_at) <= Date.now())
    const promo = await api.request({ url: `${PROMOS}LAUNCH/`, token })
    t.match(promo.body, { uses: 1, redeemable: true })
  })
})
