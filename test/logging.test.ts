import t from 'tap'
import { build } from './helper.js'

// Whatever a future log statement includes, the logger itself removes the secrets.
t.test('the logger redacts authorization headers, passwords, hashes, tokens, client secrets and signing keys', async (t) => {
  const api = await build(t, 'sqlite')
  api.app.log.info({
    request: { headers: { authorization: 'Bearer header-token', 'x-auth-token': 'rc-token', cookie: 'session=cookie-value' } },
    body: { password: 'body-password', password_hash: '$2b$10$hash', access_token: 'body-token' },
    user: { passwordHash: '$2b$10$otherhash', accessToken: 'camel-token' },
    password: 'top-password',
    grant: { refresh_token: 'rt_refresh', client_secret: 'cs_secret', token: 'introspected-token' },
    client: { clientSecret: 'cs_camel', secretHash: 'client-hash', secret_hash: 'client-hash-2' },
    key: { signingKey: '-----BEGIN PRIVATE KEY-----signing' },
    err: { config: { headers: { authorization: 'Bearer deep-token' } } }
  }, 'something happened')
  const line = api.logs.find((entry) => entry.includes('something happened')) ?? ''
  t.ok(line !== '', 'the line was logged')
  for (const secret of ['header-token', 'rc-token', 'cookie-value', 'body-password', '$2b$10$hash', 'body-token', '$2b$10$otherhash', 'camel-token', 'top-password', 'deep-token',
    'rt_refresh', 'cs_secret', 'introspected-token', 'cs_camel', 'client-hash', 'client-hash-2', 'BEGIN PRIVATE KEY']) {
    t.notOk(line.includes(secret), `${secret} is redacted`)
  }
  t.match(line, /\[redacted\]/)
})
