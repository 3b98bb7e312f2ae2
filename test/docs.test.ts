import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { projectRoot } from '../paths.js'
import { build } from './helper.js'

t.test('serves the Swagger UI at /docs', async (t) => {
  const api = await build(t, 'sqlite')
  const page = await api.app.inject({ url: '/docs/' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  t.match(page.body, /swagger/i)
})

t.test('serves openapi.yaml as written at /docs/json', async (t) => {
  const api = await build(t, 'sqlite')
  const served = await api.app.inject({ url: '/docs/json' })
  const written = parse(await readFile(join(projectRoot, 'openapi.yaml'), 'utf8'))
  t.strictSame(served.json(), written)
})
