// Rocket.Chat's personal access tokens, driven by its own REST client over real HTTP: a bot makes
// a token, then creates users with it as X-Auth-Token, as Rocket.Chat integrations do.
import { ADMIN, createClient, clientToken, createUserWithToken, giveRole, onEachDatabase, rowCount } from './helper.js'
import { adminClient, clientFor, rejectionOf, serve } from './rocket-chat-rest-client.js'

onEachDatabase('personal access tokens', async (t, kind) => {
  t.test('a token made once, listed without its secret, creates users as its user, and stops at once when removed', async (t) => {
    const served = await serve(t, kind)
    const admin = await adminClient(served)
    const adminId = String((await served.api.app.knex('users').where({ username: ADMIN.username }).first('id')).id)
    const { token } = await admin.post('/v1/users.generatePersonalAccessToken', { tokenName: 'provisioning', bypassTwoFactor: false })
    t.match(token, /^pat_[\w-]{43}$/)
    const listed = await admin.get('/v1/users.getPersonalAccessTokens')
    t.match(listed.tokens, [{ name: 'provisioning', lastTokenPart: token.slice(-6), bypassTwoFactor: false, createdAt: String }])
    t.notOk(JSON.stringify(listed).includes(token), 'the secret is never listed')
    t.equal(await rowCount(served.api, 'personal_access_tokens', { token_hash: token }), 0, 'only its hash is kept')

    const bot = clientFor(served)
    bot.setCredentials({ 'X-User-Id': adminId, 'X-Auth-Token': token })
    const created = await bot.post('/v1/users.create', { name: 'Jane', email: 'jane@example.com', password: 'Corr3ct-Horse!', username: 'jane_doe' } as never)
    t.match(created, { success: true, user: { username: 'jane_doe' } })
    const other = clientFor(served)
    other.setCredentials({ 'X-User-Id': '4242', 'X-Auth-Token': token })
    t.equal((await rejectionOf(other.get('/v1/users.getPersonalAccessTokens'))).status, 401, 'with another user\'s X-User-Id it is refused')

    const duplicate = await rejectionOf(admin.post('/v1/users.generatePersonalAccessToken', { tokenName: 'provisioning', bypassTwoFactor: false }))
    t.match(await duplicate.json(), { success: false, errorType: 'error-token-already-exists' })
    const { token: renewed } = await admin.post('/v1/users.regeneratePersonalAccessToken', { tokenName: 'provisioning' })
    t.equal((await rejectionOf(bot.get('/v1/users.getPersonalAccessTokens'))).status, 401, 'the old secret stops working')
    bot.setCredentials({ 'X-User-Id': adminId, 'X-Auth-Token': renewed })
    t.equal((await bot.get('/v1/users.getPersonalAccessTokens')).tokens.length, 1)
    await admin.post('/v1/users.removePersonalAccessToken', { tokenName: 'provisioning' })
    t.equal((await rejectionOf(bot.get('/v1/users.getPersonalAccessTokens'))).status, 401, 'removed, it stops at once')
    const missing = await rejectionOf(admin.post('/v1/users.removePersonalAccessToken', { tokenName: 'provisioning' }))
    t.match(await missing.json(), { success: false, errorType: 'error-token-does-not-exists' })
  })

  t.test('needs create-personal-access-tokens and a token with every scope, works only as X-Auth-Token, and goes with a new password or a blocked or deleted user', async (t) => {
    const served = await serve(t, kind)
    const { api } = served
    const { user, token: jwt } = await createUserWithToken(api)
    const generate = async (bearer: string): Promise<{ statusCode: number, body: any }> =>
      await api.request({ method: 'POST', url: '/api/v1/users.generatePersonalAccessToken', token: bearer, payload: { tokenName: 'mine' } })
    t.match(await generate(jwt), { statusCode: 400, body: { errorType: 'error-action-not-allowed' } })
    await giveRole(api, user.id, 'admin')
    const made = await generate(jwt)
    t.equal(made.statusCode, 200)
    const pat = made.body.token as string
    t.equal((await api.request({ url: '/api/v2/user/me/', token: pat })).statusCode, 401, 'not as a bearer token')
    const asRocketChat = { 'x-auth-token': pat, 'x-user-id': String(user.id) }
    t.equal((await api.request({ url: '/api/v1/users.getPersonalAccessTokens', headers: asRocketChat })).statusCode, 200)
    const block = await api.request({ method: 'PATCH', url: `/api/v2/moderation/user/${String(user.id)}/`, token: await api.adminToken(), payload: { status: 'b' } })
    t.equal(block.statusCode, 204, block.text)
    t.equal(await rowCount(api, 'personal_access_tokens'), 0, 'a blocked user\'s tokens are gone')
    t.equal((await api.request({ url: '/api/v1/users.getPersonalAccessTokens', headers: asRocketChat })).statusCode, 401)
    await api.request({ method: 'PATCH', url: `/api/v2/moderation/user/${String(user.id)}/`, token: await api.adminToken(), payload: { status: 'a' } })
    t.equal((await generate(await api.tokenFor(user.username, 'Corr3ct-Horse!'))).statusCode, 200)
    const deleted = await api.request({ method: 'DELETE', url: `/api/v2/user/${String(user.id)}/`, token: await api.adminToken() })
    t.ok(deleted.statusCode < 300, deleted.text)
    t.equal(await rowCount(api, 'personal_access_tokens'), 0, 'a deleted user\'s tokens are gone')

    const owner = await createUserWithToken(api, { username: 'token_owner', email: 'owner@example.com' })
    await giveRole(api, owner.user.id, 'admin')
    t.equal((await generate(owner.token)).statusCode, 200)
    const changed = await api.request({ method: 'PATCH', url: `/api/v2/user/${String(owner.user.id)}/change_password/`, token: owner.token, payload: { password: 'Corr3ct-Horse!', new_password: 'An0ther-Horse!' } })
    t.equal(changed.statusCode, 204, changed.text)
    t.equal(await rowCount(api, 'personal_access_tokens'), 0, 'a new password deletes the user\'s tokens')
    const writeOnly = await api.request({ method: 'POST', url: '/oauth/token/', payload: { grant_type: 'password', username: 'token_owner', password: 'An0ther-Horse!', scope: 'write' } })
    t.match(await generate(writeOnly.body.access_token), { statusCode: 400, body: { errorType: 'error-action-not-allowed' } }, 'a token without every scope mints none')
    t.match(await api.request({ method: 'POST', url: '/api/v1/users.removePersonalAccessToken', token: await api.tokenFor('token_owner', 'An0ther-Horse!'), payload: { tokenName: 'mine ' } }),
      { statusCode: 400, body: { details: { field: 'tokenName' } } }, 'a name with a space at its end is refused, on MariaDB as on SQLite')

    const { client, secret } = await createClient(api, { roles: ['admin'] })
    const byClient = await generate(await clientToken(api, client.client_id, secret))
    t.match(byClient, { statusCode: 400, body: { errorType: 'error-action-not-allowed' } }, 'a service client has no personal tokens')
  })
})
