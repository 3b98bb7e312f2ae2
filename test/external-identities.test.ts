// External identities: SelfCommunity's SSO sign-up and sign-in, its provider associations and
// its one-account search, driven by its published client over HTTP, and through the API.
import { ADMIN, build, clientToken, createClient, createUserWithToken, onEachDatabase, rowCount, selfCommunity, selfCommunityTarget, type TestApp } from './helper.js'

const SEARCH = '/api/v2/account/search/'

async function signUp (api: TestApp, payload: Record<string, unknown>, token?: string): Promise<{ statusCode: number, body: any }> {
  return await api.request({ method: 'POST', url: '/api/v2/sso/signup/', token: token ?? await api.adminToken(), payload })
}

onEachDatabase('SelfCommunity\'s client provisioning by external id', async (t, kind) => {
  t.test('signs a platform\'s user up, finds them by ext_id, signs them in, and links and unlinks another provider\'s id', async (t) => {
    const api = await build(t, kind)
    const { SSOService, AccountService, UserService } = selfCommunity
    const admin = await selfCommunityTarget(api, await api.adminToken())

    const signedUp = await SSOService.SignUp({ ext_id: 4711, username: 'jane_doe', email: 'jane@example.com', password: 'Corr3ct-Horse' }, admin)
    t.match(signedUp, { id: Number, ext_id: 4711, username: 'jane_doe', email: 'jane@example.com', role: null, tags: null })

    const found = await AccountService.search({ ext_id: '4711', provider: 'external' }, admin)
    t.match(await AccountService.search({ ext_id: '004711', provider: 'external' }, admin), { id: signedUp.id }, 'an external id is a number, whatever its zeros')
    t.match(found, { id: signedUp.id, username: 'jane_doe', ext_id: 4711 })
    t.strictSame(await AccountService.search({ username: 'JANE_DOE' }, admin), found, 'by username, regardless of case')
    t.strictSame(await AccountService.search({ email: 'Jane@Example.com' }, admin), found, 'by email, regardless of case')

    const jane = await selfCommunityTarget(api, await api.tokenFor('jane_doe', 'Corr3ct-Horse'))
    t.strictSame(await SSOService.SignIn(jane), { id: signedUp.id, ext_id: 4711, username: 'jane_doe', role: null, tags: null })

    const linked = await UserService.createProviderAssociation({ user_id: signedUp.id, provider: 'github', ext_id: 'jd-42', profile_url: 'https://github.com/jd-42' }, admin)
    t.strictSame(linked, { user_id: signedUp.id, provider: 'github', ext_id: 'jd-42', profile_url: 'https://github.com/jd-42', metadata: null, show_in_profile: false })
    const own = await UserService.getProviderAssociations(signedUp.id, jane)
    t.strictSame(own.map((association) => [association.provider, association.ext_id]), [['external', '4711'], ['github', 'jd-42']], 'her own, in the order of the providers')
    t.match(await AccountService.search({ ext_id: 'jd-42', provider: 'github' } as never, admin), { id: signedUp.id })
    await UserService.deleteProviderAssociation({ user_id: signedUp.id, provider: 'github', ext_id: 'jd-42' as never }, admin)
    t.strictSame((await UserService.getProviderAssociations(signedUp.id, admin)).map((association) => association.provider), ['external'])
    t.equal(await rowCount(api, 'audit_log', { action: 'user.identity_linked' }), 1)
    t.equal(await rowCount(api, 'audit_log', { action: 'user.identity_unlinked' }), 1)
  })
})

onEachDatabase('SSO sign-up', async (t, kind) => {
  t.test('makes the account by the rules of account creation, in one transaction with its ext_id', async (t) => {
    const api = await build(t, kind)
    t.equal((await signUp(api, { ext_id: 1, username: 'jane_doe', email: 'jane@example.com', password: 'Corr3ct-Horse' })).statusCode, 201)
    const taken = await signUp(api, { ext_id: 1, username: 'john_doe', email: 'john@example.com', password: 'Corr3ct-Horse' })
    t.match(taken, { statusCode: 409, body: { code: 'ext_id_taken', field: 'ext_id' } })
    t.equal(await rowCount(api, 'users', { username: 'john_doe' }), 0, 'nothing of the refused account is written')
    const weak = await signUp(api, { ext_id: 2, username: 'weak', email: 'weak@example.com', password: 'password' })
    t.match(weak, { statusCode: 400, body: { field: 'password' } })
    t.equal(await rowCount(api, 'user_identities', { ext_id: '2' }), 0)
    const usernameTaken = await signUp(api, { ext_id: 3, username: 'JANE_DOE', email: 'other@example.com', password: 'Corr3ct-Horse' })
    t.match(usernameTaken, { statusCode: 409, body: { code: 'username_taken' } })
    t.equal(await rowCount(api, 'user_identities', { ext_id: '3' }), 0)
  })

  t.test('takes ext_id as digits too, grants the role beside user, and without a password mails a code to choose one', async (t) => {
    const api = await build(t, kind)
    const response = await signUp(api, { ext_id: '0042', username: 'mod', email: 'mod@example.com', role: 'moderator' })
    t.match(response, { statusCode: 201, body: { ext_id: 42, role: 'moderator' } })
    const user = await api.request({ url: `/api/v2/user/${String(response.body.id)}/`, token: await api.adminToken() })
    t.strictSame(user.body.roles, ['moderator', 'user'])
    t.equal(await rowCount(api, 'mail_outbox', { template: 'set_password' }), 1)
  })

  t.test('refuses a bad ext_id, tags, an unknown role, and a caller without create-user, changing nothing', async (t) => {
    const api = await build(t, kind)
    const before = await rowCount(api, 'users')
    for (const extId of ['abc', -1, 1.5, '1234567890123456']) {
      t.match(await signUp(api, { ext_id: extId, username: 'jane_doe', email: 'jane@example.com' }), { statusCode: 400, body: { field: 'ext_id' } }, String(extId))
    }
    t.match(await signUp(api, { username: 'jane_doe', email: 'jane@example.com', tags: [1] }), { statusCode: 400, body: { field: 'tags' } })
    t.match(await signUp(api, { username: 'jane_doe', email: 'jane@example.com', role: 'nobody' }), { statusCode: 400, body: { code: 'unknown_role' } })
    const { token } = await createUserWithToken(api)
    t.match(await signUp(api, { username: 'jane_doe', email: 'jane@example.com' }, token), { statusCode: 403 })
    t.equal(await rowCount(api, 'users'), before + 1, 'only the member made to ask')
  })

  t.test('sign-in answers 403 to a service client, which is no user', async (t) => {
    const api = await build(t, kind)
    const { client, secret } = await createClient(api)
    const response = await api.request({ method: 'POST', url: '/api/v2/sso/signin/', token: await clientToken(api, client.client_id, secret) })
    t.match(response, { statusCode: 403, body: { code: 'not_a_user' } })
  })
})

onEachDatabase('one account by username, email or external id', async (t, kind) => {
  t.test('answers 400 for too few or too many parameters, 404 when none has it', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const answer = async (query: string): Promise<{ statusCode: number, body: any }> => await api.request({ url: `${SEARCH}${query}`, token })
    t.match(await answer(''), { statusCode: 400, body: { code: 'missing_field' } })
    t.match(await answer('?username=admin&email=admin@example.com'), { statusCode: 400, body: { code: 'invalid_field' } })
    t.match(await answer('?ext_id=1'), { statusCode: 400, body: { code: 'missing_field', field: 'provider' } })
    t.match(await answer('?provider=external'), { statusCode: 400, body: { code: 'missing_field', field: 'ext_id' } })
    t.match(await answer('?username=nobody'), { statusCode: 404 })
    t.match(await answer('?email=nobody@example.com'), { statusCode: 404 })
    t.match(await answer('?ext_id=1&provider=external'), { statusCode: 404 })
    t.match(await answer(`?username=${ADMIN.username}`), { statusCode: 200, body: { username: ADMIN.username, ext_id: null } })
  })

  t.test('a deleted account lets its ext_id go: another account can be signed up with it', async (t) => {
    const api = await build(t, kind)
    const first = await signUp(api, { ext_id: 7, username: 'jane_doe', email: 'jane@example.com', password: 'Corr3ct-Horse' })
    const deleted = await api.request({ method: 'DELETE', url: `/api/v2/user/${String(first.body.id)}/`, token: await api.adminToken() })
    t.ok(deleted.statusCode < 300, `deleted: ${deleted.statusCode}`)
    t.match(await api.request({ url: `${SEARCH}?ext_id=7&provider=external`, token: await api.adminToken() }), { statusCode: 404 })
    t.equal((await signUp(api, { ext_id: 7, username: 'jane_again', email: 'again@example.com', password: 'Corr3ct-Horse' })).statusCode, 201)
  })
})

onEachDatabase('provider associations', async (t, kind) => {
  t.test('need link-user-identities to make, for one\'s own account too; reading one\'s own needs none', async (t) => {
    const api = await build(t, kind)
    const { user, token } = await createUserWithToken(api)
    const url = `/api/v2/user/${String(user.id)}/provider/`
    t.match(await api.request({ method: 'POST', url, token, payload: { provider: 'external', ext_id: '5' } }), { statusCode: 403 })
    t.match(await api.request({ url, token }), { statusCode: 200, body: [] })
    const other = await createUserWithToken(api, { username: 'other', email: 'other@example.com' })
    t.match(await api.request({ url, token: other.token }), { statusCode: 403 }, 'another user\'s need view-full-other-user-info')
  })

  t.test('refuse a second id of one provider, a pair another account has, and what a provider may not have', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const { user } = await createUserWithToken(api)
    const { user: other } = await createUserWithToken(api, { username: 'other', email: 'other@example.com' })
    const link = async (userId: number, payload: Record<string, unknown>): Promise<{ statusCode: number, body: any }> =>
      await api.request({ method: 'POST', url: `/api/v2/user/${String(userId)}/provider/`, token, payload })
    t.equal((await link(user.id, { provider: 'external', ext_id: 5, metadata: { plan: 'gold' } })).statusCode, 201)
    t.match(await link(user.id, { provider: 'external', ext_id: '6' }), { statusCode: 409, body: { code: 'provider_already_linked', field: 'provider' } })
    t.match(await link(other.id, { provider: 'external', ext_id: '5' }), { statusCode: 409, body: { code: 'ext_id_taken', field: 'ext_id' } })
    t.match(await link(other.id, { provider: 'external', ext_id: '8', profile_url: 'https://example.com/u/8' }), { statusCode: 400, body: { field: 'profile_url' } })
    t.match(await link(other.id, { provider: 'github', ext_id: 'x', metadata: {} }), { statusCode: 400, body: { field: 'metadata' } })
    t.match(await link(other.id, { provider: 'GitHub', ext_id: 'x' }), { statusCode: 400, body: { field: 'provider' } })
    t.match(await link(other.id, { user_id: user.id, provider: 'github', ext_id: 'x' }), { statusCode: 400, body: { field: 'user_id' } })
    t.match(await link(4242, { provider: 'github', ext_id: 'x' }), { statusCode: 404 })
    const unlink = await api.request({ method: 'DELETE', url: `/api/v2/user/${String(other.id)}/provider/`, token, payload: { provider: 'external', ext_id: '5' } })
    t.match(unlink, { statusCode: 404 }, 'the pair is not the other user\'s')
    t.equal(await rowCount(api, 'user_identities'), 1)
    t.match(await api.request({ url: `/api/v2/user/${String(user.id)}/`, token }), { body: { ext_id: 5 } })
  })

  t.test('of two accounts made at once with one ext_id, one is made', async (t) => {
    const api = await build(t, kind)
    const token = await api.adminToken()
    const answers = await Promise.all([0, 1, 2, 3].map(async (index) => await signUp(api, { ext_id: 99, username: `racer${index}`, email: `racer${index}@example.com`, password: 'Corr3ct-Horse' }, token)))
    t.strictSame(answers.map((answer) => answer.statusCode).sort(), [201, 409, 409, 409])
    t.equal(await rowCount(api, 'users', {}) - 1, 1, 'one account beside the admin')
  })
})

