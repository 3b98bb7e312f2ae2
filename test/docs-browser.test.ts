// /docs in a real browser (Debian's headless Chromium, which .ci/run installs): Swagger UI loads
// under the service's headers and its CSP, and shows the contract's operations and Authorize.
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { build } from './helper.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

t.test('Swagger UI at /docs renders the contract in headless Chromium, its scripts allowed by the CSP', async (t) => {
  const api = await build(t, 'sqlite')
  await api.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = api.app.server.address() as { port: number }
  const profile = await mkdtemp(join(tmpdir(), 'chromium-'))
  t.teardown(async () => { await rm(profile, { recursive: true, force: true }) })
  const { stdout: dom, stderr } = await promisify(execFile)(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0',
    '--virtual-time-budget=10000', '--dump-dom', `http://127.0.0.1:${port}/docs/`
  ], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 })
  t.match(dom, /class="title">account-service/, 'the contract\'s title, rendered by Swagger UI\'s scripts')
  t.match(dom, /data-path="\/api\/v2\/account\/create\/"/, 'its operations')
  t.match(dom, /class="btn authorize/, 'and the Authorize button')
  t.notMatch(stderr, /Refused to (load|execute)|directive 'script-src/, 'no script was blocked')
})
