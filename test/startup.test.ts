import t from 'tap'
import { buildApp } from '../app.js'
import { loadConfig } from '../config.js'
import { TEST_JWT_PRIVATE_KEY } from './helper.js'

t.test('a database that cannot be reached stops the start with one line naming it, without credentials', async (t) => {
  const config = loadConfig({
    NODE_ENV: 'test', JWT_PRIVATE_KEY: TEST_JWT_PRIVATE_KEY, LOG_LEVEL: 'silent', DATABASE_URL: 'mysql://someone:hunter2-secret@127.0.0.1:1/accounts'
  })
  await t.rejects(buildApp({ config }), {
    name: 'StartupError',
    message: /^Cannot use the database 127\.0\.0\.1:1\/accounts: connect ECONNREFUSED [^\n]*$/
  })
})
