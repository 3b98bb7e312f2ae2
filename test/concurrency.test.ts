import { build, newAccount, onEachDatabase } from './helper.js'

onEachDatabase('concurrent creates', async (t, kind) => {
  t.test('50 parallel creates of one username, each in a different case: exactly one 201, the rest 409', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const spellings = Array.from({ length: 50 }, (_, index) =>
      [...'racers'].map((letter, position) => ((index >> position) & 1) === 1 ? letter.toUpperCase() : letter).join(''))
    const responses = await Promise.all(spellings.map(async (username, index) => await api.request({
      method: 'POST', url: '/api/v2/account/create/', token, payload: newAccount({ username, email: `racers${index}@example.com` })
    })))
    const statuses = responses.map((response) => response.statusCode)
    t.equal(statuses.filter((status) => status === 201).length, 1, 'one winner')
    t.equal(statuses.filter((status) => status === 409).length, 49, 'every other one is a conflict')
    t.ok(responses.filter((response) => response.statusCode === 409).every((response) => response.body.code === 'username_taken'))
    const rows = await api.app.knex('users').whereRaw('lower(username) = ?', ['racers']).count<Array<{ count: number | string }>>({ count: '*' })
    t.equal(Number(rows[0]?.count), 1, 'one row')
    const events = await api.app.knex('outbox_events').where({ type: 'user.created' }).count<Array<{ count: number | string }>>({ count: '*' })
    t.equal(Number(events[0]?.count), 2, 'events only for the admin and the winner')
  })

  t.test('50 parallel creates of one email in different cases: exactly one 201', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const responses = await Promise.all(Array.from({ length: 50 }, async (_, index) => await api.request({
      method: 'POST', url: '/api/v2/account/create/', token,
      payload: newAccount({ username: `user${index}`, email: index % 2 === 0 ? 'same@example.com' : 'SAME@example.com' })
    })))
    t.equal(responses.filter((response) => response.statusCode === 201).length, 1)
    t.ok(responses.filter((response) => response.statusCode !== 201).every((response) => response.body.code === 'email_taken'))
  })

  t.test('200 creates of different accounts, 20 at a time, all succeed, each with its verification code', async (t) => {
    // Each create issues a verification code for its new account; spending the account's earlier
    // codes with an UPDATE locked the end of the codes' index, and InnoDB deadlocked creates there.
    const api = await build(t, kind)
    const token = await api.adminToken()
    const statuses: number[] = []
    for (let round = 0; round < 10; round++) {
      const responses = await Promise.all(Array.from({ length: 20 }, async (_, index) => await api.request({
        method: 'POST', url: '/api/v2/account/create/', token, payload: newAccount({ username: `many${round}_${index}`, email: `many${round}_${index}@example.com` })
      })))
      statuses.push(...responses.map((response) => response.statusCode))
    }
    t.strictSame([...new Set(statuses)], [201])
    const codes = await api.app.knex('account_codes as c').join('users as u', 'u.id', 'c.user_id')
      .where('u.username', 'like', 'many%').where({ 'c.purpose': 'verify_email' }).whereNull('c.spent_at').countDistinct({ count: 'u.id' })
    t.equal(Number(codes[0]?.count), 200, 'every new account has an unspent verification code')
  })

  t.test('parallel creates conflicting crosswise on username and email only ever get 201 or 409', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const statuses: number[] = []
    // Usernames and emails drawn from pools of three: a create that fails on one index rolls
    // back its insert into the other, which is where InnoDB deadlocks waiting creates.
    const pick = (): number => Math.floor(Math.random() * 3)
    for (let round = 0; round < 40; round++) {
      const responses = await Promise.all(Array.from({ length: 12 }, async () => await api.request({
        method: 'POST', url: '/api/v2/account/create/', token,
        payload: newAccount({ username: `cross${round}_${pick()}`, email: `cross${round}_${pick()}@example.com` })
      })))
      statuses.push(...responses.map((response) => response.statusCode))
    }
    t.strictSame([...new Set(statuses)].sort(), [201, 409])
    const users = await api.app.knex('users').where('username', 'like', 'cross%').select('username', 'email')
    t.equal(new Set(users.map((user: { username: string }) => user.username.toLowerCase())).size, users.length, 'no username twice')
    t.equal(new Set(users.map((user: { email: string }) => user.email.toLowerCase())).size, users.length, 'no email twice')
  })
})
