import { build, createUserWithToken, newAccount, onEachDatabase, type TestApp } from './helper.js'

const FEATURES = '/api/v2/feature/'
const PROMO = `${FEATURES}promo_code/`

async function switchPromo (api: TestApp, enabled: boolean) {
  return await api.request({ method: 'PATCH', url: PROMO, token: await api.adminToken(), payload: { enabled } })
}

async function promoEnabledStored (api: TestApp): Promise<boolean> {
  return Boolean((await api.app.knex('features').where({ name: 'promo_code' }).first('enabled')).enabled)
}

onEachDatabase('features', async (t, kind) => {
  t.test('lists only the enabled features, and with all=true the disabled ones too', async (t) => {
    const api = await build(t, kind)
    const enabled = await api.request({ url: FEATURES, token: await api.adminToken() })
    t.equal(enabled.statusCode, 200)
    t.strictSame(enabled.body, { count: 0, next: null, previous: null, results: [] })
    const all = await api.request({ url: `${FEATURES}?all=true`, token: await api.adminToken() })
    t.strictSame(all.body, { count: 1, next: null, previous: null, results: [{ id: 1, name: 'promo_code', enabled: false }] })
  })

  t.test('orders the features by id', async (t) => {
    const api = await build(t, kind)
    await api.app.knex('features').insert([{ id: 3, name: 'alpha', enabled: true }, { id: 2, name: 'zeta', enabled: true }])
    await switchPromo(api, true)
    const response = await api.request({ url: FEATURES, token: await api.adminToken() })
    t.strictSame(response.body.results.map((feature: { id: number }) => feature.id), [1, 2, 3])
  })

  t.test('switches promo_code on and reads it back', async (t) => {
    const api = await build(t, kind)
    const response = await switchPromo(api, true)
    t.equal(response.statusCode, 200)
    t.strictSame(response.body, { id: 1, name: 'promo_code', enabled: true })
    t.equal(await promoEnabledStored(api), true)
    const listed = await api.request({ url: FEATURES, token: await api.adminToken() })
    t.strictSame(listed.body.results, [{ id: 1, name: 'promo_code', enabled: true }])
  })

  t.test('switches promo_code off again', async (t) => {
    const api = await build(t, kind)
    await switchPromo(api, true)
    const response = await switchPromo(api, false)
    t.strictSame(response.body, { id: 1, name: 'promo_code', enabled: false })
    t.equal(await promoEnabledStored(api), false)
    t.equal((await api.request({ url: FEATURES, token: await api.adminToken() })).body.count, 0)
  })

  t.test('account creation accepts promo codes only while the feature is on', async (t) => {
    const api = await build(t, kind)
    const create = async () => await api.request({ method: 'POST', url: '/api/v2/account/create/', token: await api.adminToken(), payload: newAccount({ promo_code: 'NO-SUCH-CODE' }) })
    t.match((await create()).body, { code: 'promo_code_not_accepted', field: 'promo_code' })
    await switchPromo(api, true)
    t.match((await create()).body, { code: 'promo_code_not_found', field: 'promo_code' })
  })

  t.test('answers 404 for an unknown feature', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'PATCH', url: `${FEATURES}teleport/`, token: await api.adminToken(), payload: { enabled: true } })
    t.equal(response.statusCode, 404)
    t.equal(response.body.code, 'not_found')
    t.equal((await api.app.knex('features').select('id')).length, 1)
  })

  t.test('refuses a body without a boolean enabled, naming the field', async (t) => {
    const api = await build(t, kind)
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ enabled: 'true' }, 'invalid_field', 'enabled'],
      [{}, 'missing_field', 'enabled'],
      [{ enabled: true, name: 'x' }, 'unknown_field', 'name']
    ]
    for (const [payload, code, field] of cases) {
      const response = await api.request({ method: 'PATCH', url: PROMO, token: await api.adminToken(), payload })
      t.equal(response.statusCode, 400, JSON.stringify(payload))
      t.match(response.body, { code, field }, JSON.stringify(payload))
    }
    t.equal(await promoEnabledStored(api), false)
  })

  t.test('refuses a feature name that cannot be one', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ method: 'PATCH', url: `${FEATURES}Promo-Code/`, token: await api.adminToken(), payload: { enabled: true } })
    t.equal(response.statusCode, 400)
    t.equal(response.body.field, 'name')
  })

  t.test('any user can read the features, only an admin can switch them', async (t) => {
    const api = await build(t, kind)
    const { token } = await createUserWithToken(api)
    t.equal((await api.request({ url: `${FEATURES}?all=true`, token })).statusCode, 200)
    const refused = await api.request({ method: 'PATCH', url: PROMO, token, payload: { enabled: true } })
    t.equal(refused.statusCode, 403)
    t.equal(refused.body.code, 'forbidden')
    t.equal(await promoEnabledStored(api), false)
  })

  t.test('needs a token', async (t) => {
    const api = await build(t, kind)
    t.equal((await api.request({ url: FEATURES })).statusCode, 401)
    t.equal((await api.request({ method: 'PATCH', url: PROMO, payload: { enabled: true } })).statusCode, 401)
    t.equal(await promoEnabledStored(api), false)
  })
})
