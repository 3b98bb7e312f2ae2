import { Type } from '@sinclair/typebox'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import errors from '../plugins/errors.js'
import validation from '../plugins/validation.js'
import { build, onEachDatabase, type TestApp } from './helper.js'

const FIELDS = '/api/v2/custom_field/'
const CREATE = '/api/v2/account/create/'
const NOT_AN_INTEGER = { statusCode: 400, code: 'invalid_field', field: 'id', message: 'id must be integer' }

async function defineCompany (api: TestApp): Promise<number> {
  const created = await api.request({ method: 'POST', url: FIELDS, token: await api.adminToken(), payload: { name: 'company', label: 'Company' } })
  if (created.statusCode !== 201) throw new Error(`Could not define company: ${created.text}`)
  return created.body.id as number
}

onEachDatabase('path parameters are plain decimals', async (t, kind) => {
  // Each of these reads as a number to Number(), and so once read as user 16, 10 or 1.
  const spellings = [
    { written: '0x10', url: '0x10', reads: 16 },
    { written: '1e1', url: '1e1', reads: 10 },
    { written: '+1', url: '+1', reads: 1 },
    { written: ' 1', url: '%201', reads: 1 },
    { written: '1.0', url: '1.0', reads: 1 },
    { written: '01', url: '01', reads: 1 }
  ]
  for (const { written, url, reads } of spellings) {
    t.test(`a user id written as '${written}' is a 400 naming id, not user ${reads}`, async (t) => {
      const api = await build(t, kind)
      const response = await api.request({ url: `/api/v2/user/${url}/`, token: await api.adminToken() })
      t.equal(response.statusCode, 400)
      t.strictSame(response.body, NOT_AN_INTEGER)
    })
  }

  t.test('a user id beyond the largest id is a 400, not a rounded number', async (t) => {
    const api = await build(t, kind)
    for (const id of ['4294967296', '9007199254740993', '1'.repeat(99)]) {
      const response = await api.request({ url: `/api/v2/user/${id}/`, token: await api.adminToken() })
      t.equal(response.statusCode, 400, id)
      t.match(response.body, { code: 'invalid_field', field: 'id' }, id)
    }
  })

  t.test('a user id written as a plain decimal reads that user', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({ url: '/api/v2/user/1/', token: await api.adminToken() })
    t.equal(response.statusCode, 200)
    t.match(response.body, { id: 1, username: 'admin' })
  })

  t.test('a custom field id written in hexadecimal deletes nothing', async (t) => {
    const api = await build(t, kind)
    const id = await defineCompany(api)
    const response = await api.request({ method: 'DELETE', url: `${FIELDS}0x${id.toString(16)}/`, token: await api.adminToken() })
    t.equal(response.statusCode, 400)
    t.strictSame(response.body, NOT_AN_INTEGER)
    const still = await api.request({ url: `${FIELDS}${String(id)}/`, token: await api.adminToken() })
    t.equal(still.statusCode, 200)
  })
})

onEachDatabase('an empty JSON body is no body', async (t, kind) => {
  t.test('a DELETE sent with content-type application/json and an empty body is a 204', async (t) => {
    const api = await build(t, kind)
    const id = await defineCompany(api)
    const response = await api.request({
      method: 'DELETE', url: `${FIELDS}${String(id)}/`, token: await api.adminToken(), headers: { 'content-type': 'application/json' }, payload: ''
    })
    t.equal(response.statusCode, 204)
    t.equal(response.text, '')
    const gone = await api.request({ url: `${FIELDS}${String(id)}/`, token: await api.adminToken() })
    t.equal(gone.statusCode, 404)
  })

  t.test('a JSON body with a __proto__ key is still refused', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({
      method: 'POST', url: CREATE, token: await api.adminToken(), headers: { 'content-type': 'application/json' },
      payload: '{"username":"jane","email":"jane@example.com","password":"Corr3ct-Horse!","__proto__":{"admin":true}}'
    })
    t.equal(response.statusCode, 400)
    t.equal(response.body.code, 'malformed_json')
    t.equal(await api.app.knex('users').where({ username: 'jane' }).first(), undefined)
  })

  t.test('a JSON body with a constructor.prototype key is still refused', async (t) => {
    const api = await build(t, kind)
    const response = await api.request({
      method: 'POST', url: FIELDS, token: await api.adminToken(), headers: { 'content-type': 'application/json' },
      payload: '{"name":"company","label":"Company","constructor":{"prototype":{"admin":true}}}'
    })
    t.equal(response.statusCode, 400)
    t.equal(response.body.code, 'malformed_json')
  })
})

// No operation of the contract takes a query parameter yet: a bare app with the two plugins and
// one route that echoes what it was given.
async function queryApp (t: Test): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(errors)
  await app.register(validation)
  app.get('/echo', {
    schema: { querystring: Type.Object({ page: Type.Integer({ minimum: 1 }), ratio: Type.Optional(Type.Number()), tag: Type.Optional(Type.String()) }) }
  }, async (request) => request.query)
  t.teardown(async () => { await app.close() })
  return app
}

void t.test('query parameters are plain decimals', async (t) => {
  t.test('integer and number parameters written as plain decimals are read as numbers', async (t) => {
    const app = await queryApp(t)
    const response = await app.inject({ url: '/echo?page=2&ratio=-1.5e1&tag=0x10' })
    t.equal(response.statusCode, 200)
    t.strictSame(response.json(), { page: 2, ratio: -15, tag: '0x10' })
  })

  t.test('an integer query parameter written in hexadecimal is a 400 naming it', async (t) => {
    const app = await queryApp(t)
    const response = await app.inject({ url: '/echo?page=0x2' })
    t.equal(response.statusCode, 400)
    const { requestId, ...body } = response.json()
    t.type(requestId, 'string', 'the error names its request')
    t.strictSame(body, { statusCode: 400, code: 'invalid_field', field: 'page', message: 'page must be integer' })
  })

  t.test('a number query parameter without a leading digit is a 400 naming it', async (t) => {
    const app = await queryApp(t)
    const response = await app.inject({ url: '/echo?page=1&ratio=.5' })
    t.equal(response.statusCode, 400)
    const { requestId, ...body } = response.json()
    t.type(requestId, 'string', 'the error names its request')
    t.strictSame(body, { statusCode: 400, code: 'invalid_field', field: 'ratio', message: 'ratio must be number' })
  })

  t.test('an integer query parameter given twice is a 400, not its first value', async (t) => {
    const app = await queryApp(t)
    const response = await app.inject({ url: '/echo?page=1&page=2' })
    t.equal(response.statusCode, 400)
    t.match(response.json(), { code: 'invalid_field', field: 'page' })
  })
})
