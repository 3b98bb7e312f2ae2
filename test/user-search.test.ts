import { build, createUserWithToken, newAccount, onEachDatabase, type TestApp } from './helper.js'

const SEARCH = '/api/v2/user/search/'
const SEARCHES = [SEARCH, '/api/v2/account/search/?username=admin']

// Creates the accounts (username and email) in this order, so their ids follow it.
async function createAccounts (api: TestApp, accounts: Array<[string, string]>, extra: Record<string, unknown> = {}): Promise<void> {
  const token = await api.adminToken()
  for (const [username, email] of accounts) {
    const response = await api.request({ method: 'POST', url: '/api/v2/account/create/', token, payload: newAccount({ username, email, ...extra }) })
    if (response.statusCode !== 201) throw new Error(`Could not create ${username}: ${response.text}`)
  }
}

async function searchUsernames (api: TestApp, query: string): Promise<string[]> {
  const response = await api.request({ url: `${SEARCH}?${query}`, token: await api.adminToken() })
  if (response.statusCode !== 200) throw new Error(`${query}: ${response.statusCode} ${response.text}`)
  return response.body.results.map((user: { username: string }) => user.username)
}

onEachDatabase('user search', async (t, kind) => {
  t.test('search finds users whose username or email starts with the text', async (t) => {
    const api = await build(t, kind)
    await createAccounts(api, [['alice', 'alice@example.com'], ['bob', 'al.bob@example.com'], ['carol', 'carol@al.example.com'], ['malcolm', 'm@example.com']])
    t.strictSame(await searchUsernames(api, 'search=al'), ['alice', 'bob'])
  })

  t.test('username matches the start of the username only', async (t) => {
    const api = await build(t, kind)
    await createAccounts(api, [['alice', 'alice@example.com'], ['bob', 'al.bob@example.com'], ['alfred', 'fred@example.com'], ['malcolm', 'm@example.com']])
    t.strictSame(await searchUsernames(api, 'username=al'), ['alice', 'alfred'])
  })

  t.test('email matches the start of the email only', async (t) => {
    const api = await build(t, kind)
    await createAccounts(api, [['alice', 'alice@example.com'], ['bob', 'al.bob@example.com'], ['alfred', 'fred@example.com'], ['carol', 'carol@al.example.com']])
    t.strictSame(await searchUsernames(api, 'email=al'), ['alice', 'bob'])
  })

  t.test('ignores case in the text and in the stored username and email', async (t) => {
    const api = await build(t, kind)
    await createAccounts(api, [['MixedCase', 'Mixed.Case@Example.COM'], ['other', 'other@example.com']])
    t.strictSame(await searchUsernames(api, 'username=mIXEDc'), ['MixedCase'])
    t.strictSame(await searchUsernames(api, 'email=MIXED.case%40ex'), ['MixedCase'])
    t.strictSame(await searchUsernames(api, 'search=mixed.CASE'), ['MixedCase'])
  })

  t.test('takes _ in the text literally, not as a wildcard', async (t) => {
    const api = await build(t, kind)
    await createAccounts(api, [['a_b', 'first@example.com'], ['axb', 'second@example.com']])
    t.strictSame(await searchUsernames(api, 'username=a_'), ['a_b'])
    t.strictSame(await searchUsernames(api, 'search=a_'), ['a_b'])
  })

  t.test('takes % and ! in the text literally', async (t) => {
    const api = await build(t, kind)
    await createAccounts(api, [['p1', 'per%cent@example.com'], ['p2', 'perxcent@example.com'], ['p3', 'wow!x@example.com'], ['p4', 'wowyx@example.com']])
    t.strictSame(await searchUsernames(api, 'email=per%25'), ['p1'])
    t.strictSame(await searchUsernames(api, 'email=wow!x'), ['p3'])
    t.strictSame(await searchUsernames(api, 'email=wow!'), ['p3'])
  })

  t.test('takes a backslash in the text literally, not as an escape', async (t) => {
    const api = await build(t, kind)
    await createAccounts(api, [['jane', 'jane@example.com']])
    // As an escape, \n would stand for n and match "jane".
    t.strictSame(await searchUsernames(api, `username=${encodeURIComponent('ja\\ne')}`), [])
    t.strictSame(await searchUsernames(api, `search=${encodeURIComponent('ja\\')}`), [])
  })

  t.test('status finds only the users with that status', async (t) => {
    const api = await build(t, kind)
    await createAccounts(api, [['member_one', 'one@example.com'], ['member_two', 'two@example.com']])
    await api.app.knex('users').where({ username: 'member_two' }).update({ status: 'b' })
    t.strictSame(await searchUsernames(api, 'status=b'), ['member_two'])
    t.strictSame(await searchUsernames(api, 'username=member&status=a'), ['member_one'])
  })

  t.test('every criterion given must hold', async (t) => {
    const api = await build(t, kind)
    await createAccounts(api, [['sam', 'sam@example.com'], ['samuel', 'lee@example.com'], ['lee', 'samantha@example.com']])
    t.strictSame(await searchUsernames(api, 'username=sam&email=sam'), ['sam'])
    t.strictSame(await searchUsernames(api, 'search=sam&email=lee'), ['samuel'])
  })

  t.test('without criteria lists every user in the order of ids', async (t) => {
    const api = await build(t, kind)
    await createAccounts(api, [['zed', 'zed@example.com'], ['amy', 'amy@example.com']])
    const response = await api.request({ url: SEARCH, token: await api.adminToken() })
    t.equal(response.body.count, 3)
    t.strictSame(response.body.results.map((user: { username: string }) => user.username), ['admin', 'zed', 'amy'])
  })

  t.test('pages the results with the total count and links to the pages around', async (t) => {
    const api = await build(t, kind)
    await createAccounts(api, [0, 1, 2, 3, 4].map((index) => [`page${index}`, `page${index}@example.com`]))
    const page = async (offset: number) => (await api.request({ url: `${SEARCH}?username=page&limit=2&offset=${offset}`, token: await api.adminToken() })).body
    const first = await page(0)
    t.equal(first.count, 5)
    t.strictSame(first.results.map((user: { username: string }) => user.username), ['page0', 'page1'])
    t.equal(first.next, `${SEARCH}?username=page&limit=2&offset=2`)
    t.equal(first.previous, null)
    const middle = await page(2)
    t.strictSame(middle.results.map((user: { username: string }) => user.username), ['page2', 'page3'])
    t.equal(middle.next, `${SEARCH}?username=page&limit=2&offset=4`)
    t.equal(middle.previous, `${SEARCH}?username=page&limit=2&offset=0`)
    const last = await page(4)
    t.strictSame(last.results.map((user: { username: string }) => user.username), ['page4'])
    t.equal(last.next, null)
    t.equal(last.previous, `${SEARCH}?username=page&limit=2&offset=2`)
  })

  t.test('an offset beyond the end gives no results, the count, and a link back', async (t) => {
    const api = await build(t, kind)
    await createAccounts(api, [0, 1, 2].map((index) => [`page${index}`, `page${index}@example.com`]))
    const response = await api.request({ url: `${SEARCH}?username=page&limit=2&offset=10`, token: await api.adminToken() })
    t.equal(response.statusCode, 200)
    t.strictSame(response.body, { count: 3, next: null, previous: `${SEARCH}?username=page&limit=2&offset=1`, results: [] })
  })

  t.test('shows 20 results a page unless told otherwise', async (t) => {
    const api = await build(t, kind)
    await createAccounts(api, Array.from({ length: 21 }, (_, index) => [`many${index}`, `many${index}@example.com`]))
    const response = await api.request({ url: `${SEARCH}?username=many`, token: await api.adminToken() })
    t.equal(response.body.count, 21)
    t.equal(response.body.results.length, 20)
    t.equal(response.body.next, `${SEARCH}?username=many&offset=20`)
  })

  t.test('each result is the whole user, roles and custom fields included', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    await api.request({ method: 'POST', url: '/api/v2/custom_field/', token, payload: { name: 'company', label: 'Company' } })
    await createAccounts(api, [['worker', 'worker@example.com']], { company: 'ACME' })
    const response = await api.request({ url: `${SEARCH}?username=worker`, token })
    const [found] = response.body.results
    t.match(found, { username: 'worker', company: 'ACME', roles: ['user'] })
    t.strictSame(found, (await api.request({ url: `/api/v2/user/${String(found.id)}/`, token })).body)
  })

  t.test('reads a page with as many queries however many users it holds', async (t) => {
    const api = await build(t, kind)
    await createAccounts(api, Array.from({ length: 6 }, (_, index) => [`q${index}`, `q${index}@example.com`]))
    const token = await api.adminToken()
    const queriesFor = async (limit: number): Promise<number> => {
      let count = 0
      const listener = (): void => { count++ }
      api.app.knex.on('query', listener)
      await api.request({ url: `${SEARCH}?username=q&limit=${limit}`, token })
      api.app.knex.off('query', listener)
      return count
    }
    t.equal(await queriesFor(6), await queriesFor(1))
  })

  t.test('refuses an invalid page size naming the parameter', async (t) => {
    const api = await build(t, kind)
    for (const limit of ['0', '101', 'ten']) {
      const response = await api.request({ url: `${SEARCH}?limit=${limit}`, token: await api.adminToken() })
      t.equal(response.statusCode, 400, limit)
      t.equal(response.body.field, 'limit', limit)
    }
  })

  t.test('refuses an unknown status naming the parameter', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ url: `${SEARCH}?status=x`, token: await api.adminToken() })
    t.equal(response.statusCode, 400)
    t.equal(response.body.field, 'status')
  })

  for (const url of SEARCHES) {
    t.test(`${url}: answers 401 without a token`, async (t) => {
      const api = await build(t, kind)
      const response = await api.request({ url })
      t.equal(response.statusCode, 401)
    })

    t.test(`${url}: answers 403 to a user who is not an admin`, async (t) => {
      const api = await build(t, kind)
      const { token } = await createUserWithToken(api, { username: 'member', email: 'member@example.com' })
      const response = await api.request({ url, token })
      t.equal(response.statusCode, 403)
      t.equal(response.body.code, 'forbidden')
    })
  }
})
