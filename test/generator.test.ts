// Unit tests for the OpenAPI → TypeBox generator. Each test generates from a small hand-written
// OpenAPI 3.1 document, writes the output into a fixture directory inside the project (so that
// '@sinclair/typebox' resolves from node_modules), imports it and checks values against it.
// Values are checked with Ajv set up as plugins/validation.ts sets up body validation, since that
// is what the schemas are for (TypeBox's Value.Check cannot check the Type.Unsafe of an enum).
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { TSchema } from '@sinclair/typebox'
import { Ajv } from 'ajv'
import t, { type Test } from 'tap'
import { parse } from 'yaml'
import { staleSchemaFiles } from '../scripts/generate-schemas.js'
import { generateTypeBox, type GeneratedFiles } from '../scripts/openapi-to-typebox.js'

const ajv = new Ajv({ allErrors: false, removeAdditional: false, useDefaults: true, coerceTypes: false })

function accepts (schema: TSchema, value: unknown): boolean {
  return ajv.validate(schema, value)
}

type OpenApiDocument = Parameters<typeof generateTypeBox>[0]

interface GeneratedOperation {
  method: string
  url: string
  schema: {
    params?: TSchema
    querystring?: TSchema
    body?: TSchema
    response: Record<string, TSchema>
  }
  config: { access: { authenticated: boolean; scope?: string; permission?: string; rateLimit?: string; allowedBeforePasswordChange?: boolean }, idempotent?: boolean }
}

interface GeneratedModules {
  components: Record<string, TSchema>
  operations: Record<string, GeneratedOperation>
}

// A document from YAML giving its top-level keys (paths, components, security); paths and
// components.schemas default to empty.
function openApi (yaml: string): OpenApiDocument {
  const document = parse(`openapi: 3.1.0\ninfo: { title: Test, version: '1' }\n${yaml}`) as Record<string, unknown>
  document.paths ??= {}
  const components = (document.components ??= {}) as Record<string, unknown>
  components.schemas ??= {}
  return document as unknown as OpenApiDocument
}

// The security schemes of a document whose operations need scopes: OAuth2 defining read and
// write, a bearer token and HTTP Basic for clients.
const SECURITY_SCHEMES = `
components:
  securitySchemes:
    oauth2:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: /token/
          scopes: { read: Read, write: Write }
    bearerAuth: { type: http, scheme: bearer }
    clientBasic: { type: http, scheme: basic }`

// A document with no paths, from YAML giving its components.schemas entries at the top level.
function schemasOnly (yaml: string): OpenApiDocument {
  return openApi(`components:\n  schemas:\n${yaml.replace(/^/gm, '    ')}`)
}

async function importGenerated (t: Test, files: GeneratedFiles): Promise<GeneratedModules> {
  const dir = t.testdir({ 'components.ts': files['components.ts'], 'operations.ts': files['operations.ts'] })
  const components = await import(pathToFileURL(join(dir, 'components.ts')).href) as Record<string, TSchema>
  const operations = await import(pathToFileURL(join(dir, 'operations.ts')).href) as { operations: Record<string, GeneratedOperation> }
  return { components, operations: operations.operations }
}

async function component (t: Test, document: OpenApiDocument, name: string): Promise<TSchema> {
  const schema = (await importGenerated(t, generateTypeBox(document))).components[name]
  if (schema === undefined) throw new Error(`components.ts does not export ${name}`)
  return schema
}

async function operation (t: Test, document: OpenApiDocument, operationId: string): Promise<GeneratedOperation> {
  const generated = (await importGenerated(t, generateTypeBox(document))).operations[operationId]
  if (generated === undefined) throw new Error(`operations.ts has no ${operationId}`)
  return generated
}

// A minimal responses object for an operation at the usual indentation (path at 2, method at 4).
const OK_RESPONSE = `
      responses:
        '200':
          description: OK
          content:
            application/json:
              schema: { type: string }`

t.test('components', async (t) => {
  t.test('requires the properties listed in required', async (t) => {
    const schema = await component(t, schemasOnly(`
Pet:
  type: object
  required: [id]
  properties:
    id: { type: integer }
    name: { type: string }
`), 'Pet')
    t.ok(accepts(schema, { id: 1, name: 'Rex' }))
    t.notOk(accepts(schema, { name: 'Rex' }))
  })

  t.test('lets properties not listed in required be left out', async (t) => {
    const schema = await component(t, schemasOnly(`
Pet:
  type: object
  required: [id]
  properties:
    id: { type: integer }
    name: { type: string }
`), 'Pet')
    t.ok(accepts(schema, { id: 1 }))
    t.notOk(accepts(schema, { id: 1, name: 7 }), 'an optional property present is still checked')
  })

  t.test('refuses unknown properties when additionalProperties is false', async (t) => {
    const schema = await component(t, schemasOnly(`
Closed:
  type: object
  additionalProperties: false
  properties:
    id: { type: integer }
`), 'Closed')
    t.ok(accepts(schema, { id: 1 }))
    t.notOk(accepts(schema, { id: 1, extra: true }))
  })

  t.test('accepts unknown properties when additionalProperties is true', async (t) => {
    const schema = await component(t, schemasOnly(`
Open:
  type: object
  additionalProperties: true
  properties:
    id: { type: integer }
`), 'Open')
    t.ok(accepts(schema, { id: 1, extra: true }))
    t.equal(schema.additionalProperties, true)
  })

  t.test('refuses additionalProperties given as a schema, naming the location', async (t) => {
    t.throws(() => generateTypeBox(schemasOnly(`
Map:
  type: object
  additionalProperties: { type: string }
`)), { message: 'additionalProperties must be true or false at #/components/schemas/Map' })
  })

  t.test('refuses a required property that is not defined', async (t) => {
    t.throws(() => generateTypeBox(schemasOnly(`
Pet:
  type: object
  required: [id]
  properties:
    name: { type: string }
`)), { message: 'Required property id is not defined at #/components/schemas/Pet' })
  })

  t.test('quotes property names that are not identifiers', async (t) => {
    const schema = await component(t, schemasOnly(`
Headers:
  type: object
  required: [x-request-id]
  properties:
    x-request-id: { type: string }
`), 'Headers')
    t.ok(accepts(schema, { 'x-request-id': 'abc' }))
    t.notOk(accepts(schema, {}))
  })

  t.test('turns a nullable string into a union with null', async (t) => {
    const schema = await component(t, schemasOnly(`
Nickname:
  type: [string, 'null']
`), 'Nickname')
    t.ok(accepts(schema, null))
    t.ok(accepts(schema, 'bob'))
    t.notOk(accepts(schema, 1))
  })

  t.test('applies string keywords of a nullable string to the string member', async (t) => {
    const schema = await component(t, schemasOnly(`
Code:
  type: [string, 'null']
  minLength: 2
  maxLength: 3
`), 'Code')
    t.ok(accepts(schema, 'ab'))
    t.notOk(accepts(schema, 'a'))
    t.notOk(accepts(schema, 'abcd'))
    t.ok(accepts(schema, null), 'null is not held to the string keywords')
  })

  t.test('applies minimum of a nullable integer to the integer member and still accepts null', async (t) => {
    const schema = await component(t, schemasOnly(`
Limit:
  type: [integer, 'null']
  minimum: 1
`), 'Limit')
    t.ok(accepts(schema, 1))
    t.notOk(accepts(schema, 0))
    t.ok(accepts(schema, null))
  })

  t.test('refuses a string or a fraction for a nullable integer', async (t) => {
    const schema = await component(t, schemasOnly(`
Limit:
  type: [integer, 'null']
  minimum: 1
`), 'Limit')
    t.notOk(accepts(schema, '5'))
    t.notOk(accepts(schema, 1.5))
  })

  t.test('keeps the description of a nullable type on the union, not on its members', async (t) => {
    const schema = await component(t, schemasOnly(`
Limit:
  type: [integer, 'null']
  description: How many at most.
`), 'Limit')
    t.equal(schema.description, 'How many at most.')
    const members = schema.anyOf as TSchema[]
    t.equal(members.length, 2)
    t.notOk(members.some((member) => 'description' in member), 'no member repeats the description')
  })

  t.test('turns a string enum into an Unsafe typed as the union of its values', async (t) => {
    const document = schemasOnly(`
Colour:
  type: string
  enum: [red, green]
`)
    t.match(generateTypeBox(document)['components.ts'], 'export const Colour = Type.Unsafe<"red" | "green">(')
    const schema = await component(t, document, 'Colour')
    t.ok(accepts(schema, 'red'))
    t.notOk(accepts(schema, 'blue'))
  })

  t.test('refuses an enum of anything but strings, naming the location', async (t) => {
    t.throws(() => generateTypeBox(schemasOnly(`
Level:
  type: integer
  enum: [1, 2, 3]
`)), { message: 'Only string enums are supported at #/components/schemas/Level' })
  })

  t.test('turns anyOf into a union of its members', async (t) => {
    const schema = await component(t, schemasOnly(`
Value:
  anyOf:
    - { type: string }
    - { type: integer }
`), 'Value')
    t.ok(accepts(schema, 'a'))
    t.ok(accepts(schema, 1))
    t.notOk(accepts(schema, true))
  })

  t.test('refuses constraints beside anyOf rather than dropping them, naming the location', async (t) => {
    t.throws(() => generateTypeBox(schemasOnly(`
Pet:
  type: object
  required: [id]
  properties:
    id: { type: integer }
  anyOf:
    - { required: [name] }
    - { required: [tag] }
`)), { message: 'Keywords beside anyOf are not supported at #/components/schemas/Pet' })
  })

  t.test('keeps a description beside anyOf on the union', async (t) => {
    const schema = await component(t, schemasOnly(`
Value:
  description: A text or a number.
  title: Value
  anyOf:
    - { type: string }
    - { type: integer }
`), 'Value')
    t.equal(schema.description, 'A text or a number.')
    t.ok(accepts(schema, 'a'))
    t.notOk(accepts(schema, true))
  })

  t.test('keeps the default of a nullable type on the union, where Ajv applies it', async (t) => {
    const schema = await component(t, schemasOnly(`
Page:
  type: object
  properties:
    limit:
      type: [integer, 'null']
      minimum: 1
      default: 20
`), 'Page')
    const limit = (schema.properties as Record<string, TSchema>).limit as TSchema
    t.equal(limit.default, 20)
    t.notOk((limit.anyOf as TSchema[]).some((member) => 'default' in member), 'no member carries the default')
    const value: Record<string, unknown> = {}
    t.ok(accepts(schema, value))
    t.strictSame(value, { limit: 20 }, 'a missing property gets the default')
    t.notOk(accepts(schema, { limit: 0 }), 'the constraints still apply to the integer member')
  })

  t.test('refuses component names that are not PascalCase identifiers', async (t) => {
    for (const name of ['my-pet', 'delete', '1Pet']) {
      t.throws(() => generateTypeBox(schemasOnly(`${JSON.stringify(name)}: { type: string }`)),
        { message: `Unsupported component name ${JSON.stringify(name)} at #/components/schemas: it must be PascalCase and not one of Type, Static, OperationId` }, name)
    }
  })

  t.test('refuses component names that clash with the names the generated files declare', async (t) => {
    for (const name of ['Type', 'Static', 'OperationId']) {
      t.throws(() => generateTypeBox(schemasOnly(`${name}: { type: string }`)), { message: /^Unsupported component name / }, name)
    }
  })

  t.test('turns an array into an array of its items, keeping minItems', async (t) => {
    const schema = await component(t, schemasOnly(`
Tags:
  type: array
  minItems: 1
  items: { type: string }
`), 'Tags')
    t.ok(accepts(schema, ['a']))
    t.notOk(accepts(schema, []))
    t.notOk(accepts(schema, [1]))
  })

  t.test('carries pattern into a string schema', async (t) => {
    const schema = await component(t, schemasOnly(`
Username:
  type: string
  pattern: '^[a-z]+$'
`), 'Username')
    t.ok(accepts(schema, 'bob'))
    t.notOk(accepts(schema, 'Bob!'))
  })

  t.test('defines a referenced schema before the one referencing it, even when the YAML defines it later', async (t) => {
    const document = schemasOnly(`
Account:
  type: object
  required: [zone]
  additionalProperties: false
  properties:
    zone: { $ref: '#/components/schemas/Zone' }
Zone:
  type: string
  enum: [eu, us]
`)
    const source = generateTypeBox(document)['components.ts']
    t.ok(source.indexOf('export const Zone =') < source.indexOf('export const Account ='), 'Zone is emitted first')
    const schema = await component(t, document, 'Account')
    t.ok(accepts(schema, { zone: 'eu' }))
    t.notOk(accepts(schema, { zone: 'asia' }), 'the referenced schema constrains the property')
  })

  t.test('refuses recursive schemas, naming the cycle', async (t) => {
    t.throws(() => generateTypeBox(schemasOnly(`
A:
  type: object
  properties:
    b: { $ref: '#/components/schemas/B' }
B:
  type: object
  properties:
    a: { $ref: '#/components/schemas/A' }
`)), { message: 'Recursive schemas are not supported: A -> B -> A' })
  })

  t.test('refuses a $ref to a schema that does not exist', async (t) => {
    t.throws(() => generateTypeBox(schemasOnly(`
A:
  type: object
  properties:
    b: { $ref: '#/components/schemas/Missing' }
`)), { message: /^Unknown schema Missing referenced from A/ })
  })

  t.test('refuses a $ref outside #/components/schemas', async (t) => {
    t.throws(() => generateTypeBox(schemasOnly(`
A:
  type: object
  properties:
    b: { $ref: 'other.yaml#/B' }
`)), { message: /^Unsupported \$ref other\.yaml#\/B/ })
  })

  t.test('refuses keywords beside a $ref that would change what is valid', async (t) => {
    t.throws(() => generateTypeBox(schemasOnly(`
A:
  type: object
  properties:
    b: { $ref: '#/components/schemas/B', maxLength: 3 }
B:
  type: string
`)), { message: 'Keywords beside $ref are not supported at #/components/schemas/A/properties/b' })
  })

  t.test('refuses an unsupported keyword, naming it and where it was found', async (t) => {
    t.throws(() => generateTypeBox(schemasOnly(`
Pet:
  type: object
  properties:
    kind:
      oneOf:
        - { type: string }
        - { type: integer }
`)), { message: 'Unsupported keyword "oneOf" at #/components/schemas/Pet/properties/kind' })
  })

  t.test('refuses patternProperties rather than dropping it', async (t) => {
    t.throws(() => generateTypeBox(schemasOnly(`
Labels:
  type: object
  patternProperties:
    '^x-': { type: string }
`)), { message: 'Unsupported keyword "patternProperties" at #/components/schemas/Labels' })
  })
})

t.test('operations', async (t) => {
  t.test('turns a {id} path segment into a :id route parameter', async (t) => {
    const generated = await operation(t, openApi(`
paths:
  /users/{id}/:
    get:
      operationId: getUser
      parameters:
        - { name: id, in: path, required: true, schema: { type: integer } }
${OK_RESPONSE}
`), 'getUser')
    t.equal(generated.url, '/users/:id/')
    t.equal(generated.method, 'GET')
  })

  t.test('validates path parameters as a closed object of their schemas', async (t) => {
    const generated = await operation(t, openApi(`
paths:
  /users/{id}/:
    get:
      operationId: getUser
      parameters:
        - $ref: '#/components/parameters/Id'
${OK_RESPONSE}
components:
  parameters:
    Id:
      name: id
      in: path
      required: true
      schema: { type: integer, minimum: 1 }
`), 'getUser')
    const params = generated.schema.params as TSchema
    t.ok(accepts(params, { id: 1 }))
    t.notOk(accepts(params, { id: 0 }))
    t.notOk(accepts(params, {}))
    t.notOk(accepts(params, { id: 1, other: 2 }))
  })

  t.test('makes a query parameter optional unless it is required', async (t) => {
    const generated = await operation(t, openApi(`
paths:
  /users/:
    get:
      operationId: listUsers
      parameters:
        - { name: limit, in: query, schema: { type: integer } }
        - { name: q, in: query, required: true, schema: { type: string } }
${OK_RESPONSE}
`), 'listUsers')
    const querystring = generated.schema.querystring as TSchema
    t.ok(accepts(querystring, { q: 'a' }))
    t.notOk(accepts(querystring, { limit: 5 }))
    t.equal(generated.schema.params, undefined, 'no params schema without path parameters')
  })

  t.test('refuses header parameters', async (t) => {
    t.throws(() => generateTypeBox(openApi(`
paths:
  /users/:
    get:
      operationId: listUsers
      parameters:
        - { name: X-Trace, in: header, schema: { type: string } }
${OK_RESPONSE}
`)), { message: 'Only path and query parameters, and Idempotency-Key on an x-idempotent operation, are supported at GET /users/' })
  })

  t.test('takes Idempotency-Key only on an x-idempotent operation, which it marks idempotent', async (t) => {
    const idempotencyKey = '        - { name: Idempotency-Key, in: header, schema: { type: string } }'
    t.throws(() => generateTypeBox(openApi(`
paths:
  /users/:
    post:
      operationId: createUser
      parameters:
${idempotencyKey}
${OK_RESPONSE}
`)), { message: 'Only path and query parameters, and Idempotency-Key on an x-idempotent operation, are supported at POST /users/' })
    const generated = await operation(t, openApi(`
paths:
  /users/:
    post:
      operationId: createUser
      x-idempotent: true
      parameters:
${idempotencyKey}
${OK_RESPONSE}
`), 'createUser')
    t.equal(generated.config.idempotent, true)
  })

  t.test('records x-required-permission as the access permission of an authenticated operation', async (t) => {
    const generated = await operation(t, openApi(`${SECURITY_SCHEMES}
security:
  - bearerAuth: [read]
paths:
  /admin/:
    get:
      operationId: adminOnly
      x-required-permission: create-user
${OK_RESPONSE}
`), 'adminOnly')
    t.strictSame(generated.config.access, { authenticated: true, scope: 'read', permission: 'create-user' })
  })

  t.test('marks an operation with security: [] as open to anyone', async (t) => {
    const generated = await operation(t, openApi(`
security:
  - bearerAuth: []
paths:
  /health/:
    get:
      operationId: health
      security: []
${OK_RESPONSE}
`), 'health')
    t.strictSame(generated.config.access, { authenticated: false })
  })

  t.test('requires authentication when the operation inherits the document security', async (t) => {
    const generated = await operation(t, openApi(`${SECURITY_SCHEMES}
security:
  - oauth2: [read]
  - bearerAuth: [read]
paths:
  /me/:
    get:
      operationId: me
${OK_RESPONSE}
`), 'me')
    t.strictSame(generated.config.access, { authenticated: true, scope: 'read' })
  })

  t.test('records the scope an operation\'s own security requirements name', async (t) => {
    const generated = await operation(t, openApi(`${SECURITY_SCHEMES}
security:
  - oauth2: [read]
paths:
  /me/:
    patch:
      operationId: changeMe
      security:
        - oauth2: [write]
        - bearerAuth: [write]
${OK_RESPONSE}
`), 'changeMe')
    t.strictSame(generated.config.access, { authenticated: true, scope: 'write' })
  })

  t.test('refuses requirements that name no scope, several, different ones, or one no flow defines', async (t) => {
    for (const security of ['[{ bearerAuth: [] }]', '[{ oauth2: [read, write] }]', '[{ oauth2: [read] }, { bearerAuth: [write] }]']) {
      t.throws(() => generateTypeBox(openApi(`${SECURITY_SCHEMES}
paths:
  /me/:
    get:
      operationId: me
      security: ${security}
${OK_RESPONSE}
`)), { message: 'Every security requirement must name the same one scope at GET /me/' }, security)
    }
    t.throws(() => generateTypeBox(openApi(`${SECURITY_SCHEMES}
paths:
  /me/:
    get:
      operationId: me
      security: [{ oauth2: [admin] }]
${OK_RESPONSE}
`)), { message: 'The scope admin is not defined by any OAuth2 flow, at GET /me/' })
  })

  t.test('leaves client authentication (HTTP Basic) to the operation, which is then open', async (t) => {
    const { operations } = await importGenerated(t, generateTypeBox(openApi(`${SECURITY_SCHEMES}
security:
  - oauth2: [read]
paths:
  /token/:
    post:
      operationId: token
      security: [{}, { clientBasic: [] }]
${OK_RESPONSE}
  /introspect/:
    post:
      operationId: introspect
      security: [{ clientBasic: [] }]
${OK_RESPONSE}
`)))
    t.strictSame(operations.token?.config.access, { authenticated: false })
    t.strictSame(operations.introspect?.config.access, { authenticated: false })
  })

  t.test('leaves a scheme marked x-checked-by-operation to the operation, which the access-token check then passes by', async (t) => {
    const { operations } = await importGenerated(t, generateTypeBox(openApi(`${SECURITY_SCHEMES}
    metricsToken: { type: http, scheme: bearer, x-checked-by-operation: true }
security:
  - oauth2: [read]
paths:
  /metrics:
    get:
      operationId: metrics
      security: [{ metricsToken: [] }]
${OK_RESPONSE}
  /me/:
    get:
      operationId: me
      security: [{ bearerAuth: [read] }]
${OK_RESPONSE}
`)))
    t.strictSame(operations.metrics?.config.access, { authenticated: false })
    t.strictSame(operations.me?.config.access, { authenticated: true, scope: 'read' })
  })

  t.test('refuses a required role on an operation open to anyone', async (t) => {
    t.throws(() => generateTypeBox(openApi(`
paths:
  /admin/:
    get:
      operationId: adminOnly
      security: []
      x-required-permission: create-user
${OK_RESPONSE}
`)), { message: 'adminOnly requires a permission but no authentication' })
  })

  t.test('records x-rate-limited as the rate-limit bucket of the access rule', async (t) => {
    const generated = await operation(t, openApi(`
security:
  - bearerAuth: []
paths:
  /login/:
    post:
      operationId: logIn
      security: []
      x-rate-limited: login
${OK_RESPONSE}
`), 'logIn')
    t.strictSame(generated.config.access, { authenticated: false, rateLimit: 'login' })
  })

  t.test('records x-allowed-before-password-change on an authenticated operation, and refuses it elsewhere', async (t) => {
    const generated = await operation(t, openApi(`${SECURITY_SCHEMES}
security:
  - bearerAuth: [write]
paths:
  /password/:
    patch:
      operationId: changePassword
      x-allowed-before-password-change: true
${OK_RESPONSE}
`), 'changePassword')
    t.strictSame(generated.config.access, { authenticated: true, scope: 'write', allowedBeforePasswordChange: true })
    for (const [security, value] of [['[]', 'true'], ['[{ bearerAuth: [write] }]', 'false'], ['[{ bearerAuth: [write] }]', 'yes']]) {
      t.throws(() => generateTypeBox(openApi(`${SECURITY_SCHEMES}
paths:
  /password/:
    patch:
      operationId: changePassword
      security: ${security}
      x-allowed-before-password-change: ${value}
${OK_RESPONSE}
`)), { message: 'x-allowed-before-password-change must be true, on an operation that authenticates its caller, at PATCH /password/' }, `${security} ${value}`)
    }
  })

  t.test('keeps the rate-limit bucket beside a permission', async (t) => {
    const generated = await operation(t, openApi(`${SECURITY_SCHEMES}
security:
  - bearerAuth: [write]
paths:
  /accounts/:
    post:
      operationId: createAccount
      x-required-permission: create-user
      x-rate-limited: user-creation2
${OK_RESPONSE}
`), 'createAccount')
    t.strictSame(generated.config.access, { authenticated: true, scope: 'write', permission: 'create-user', rateLimit: 'user-creation2' })
  })

  t.test('gives operations naming one bucket the same bucket', async (t) => {
    const { operations } = await importGenerated(t, generateTypeBox(openApi(`
paths:
  /token/:
    post:
      operationId: issueToken
      security: []
      x-rate-limited: login
${OK_RESPONSE}
  /login/:
    post:
      operationId: logIn
      security: []
      x-rate-limited: login
${OK_RESPONSE}
`)))
    t.equal(operations.issueToken?.config.access.rateLimit, 'login')
    t.equal(operations.logIn?.config.access.rateLimit, 'login')
  })

  t.test('leaves the bucket out of an operation without x-rate-limited', async (t) => {
    const generated = await operation(t, openApi(`
paths:
  /login/:
    post:
      operationId: logIn
      security: []
${OK_RESPONSE}
`), 'logIn')
    t.strictSame(generated.config.access, { authenticated: false })
  })

  t.test('refuses an x-rate-limited that is not a bucket name, naming the operation', async (t) => {
    for (const value of ['true', 'false', '1', "''", 'Login', '2fa', '-login', 'log_in', 'log in', "'login:v1'", '{ max: 5 }', 'null']) {
      t.throws(() => generateTypeBox(openApi(`
paths:
  /login/:
    post:
      operationId: logIn
      security: []
      x-rate-limited: ${value}
${OK_RESPONSE}
`)), { message: 'x-rate-limited must name a bucket (lower-case letters, digits and "-", starting with a letter) at POST /login/' }, value)
    }
  })

  t.test('refuses optional authentication ({} beside a requirement), naming the operation', async (t) => {
    t.throws(() => generateTypeBox(openApi(`
paths:
  /me/:
    get:
      operationId: me
      security: [{}, { bearerAuth: [] }]
${OK_RESPONSE}
`)), { message: 'Optional authentication ({} in security) is not supported at GET /me/: use security: [] for public access, or require authentication' })
  })

  t.test('refuses optional authentication inherited from the document security', async (t) => {
    t.throws(() => generateTypeBox(openApi(`
security: [{}, { bearerAuth: [] }]
paths:
  /me/:
    get:
      operationId: me
${OK_RESPONSE}
`)), { message: /^Optional authentication \(\{\} in security\) is not supported at GET \/me\// })
  })

  t.test('refuses a response body that is neither application/json nor text/plain rather than declaring it null', async (t) => {
    for (const type of ['text/html', 'application/problem+json']) {
      t.throws(() => generateTypeBox(openApi(`
paths:
  /things/:
    get:
      operationId: listThings
      responses:
        '200':
          description: OK
          content:
            ${type}:
              schema: { type: string }
`)), { message: 'Only application/json or text/plain response bodies are supported at GET /things//responses/200' }, type)
    }
  })

  t.test('refuses a response with another content type beside application/json', async (t) => {
    t.throws(() => generateTypeBox(openApi(`
paths:
  /things/:
    get:
      operationId: listThings
      responses:
        '200':
          $ref: '#/components/responses/Text'
components:
  responses:
    Text:
      description: OK
      content:
        application/json:
          schema: { type: string }
        text/plain:
          schema: { type: string }
`)), { message: 'Only application/json or text/plain response bodies are supported at GET /things//responses/200' })
  })

  // GET /metrics answering 200 in text/plain (its media type object given as YAML) and 404 in JSON.
  const textResponse = (media: string): OpenApiDocument => openApi(`
paths:
  /metrics:
    get:
      operationId: metrics
      responses:
        '200':
          description: OK
          content:
            text/plain:
              ${media}
        '404':
          description: Not served.
          content:
            application/json:
              schema: { type: object }
`)

  t.test('declares a text/plain response\'s string schema for its content type, beside JSON ones', async (t) => {
    const generated = await operation(t, textResponse('schema: { type: string, maxLength: 5 }'), 'metrics')
    const text = (generated.schema.response['200'] as unknown as { content: Record<string, { schema: TSchema }> }).content
    t.strictSame(Object.keys(text), ['text/plain'])
    t.ok(accepts(text['text/plain']?.schema as TSchema, 'a b'))
    t.notOk(accepts(text['text/plain']?.schema as TSchema, 'too long'))
    t.notOk(accepts(text['text/plain']?.schema as TSchema, {}))
    t.ok(accepts(generated.schema.response['404'] as TSchema, {}))
  })

  t.test('refuses a text/plain response whose schema is not a string, or that has none', async (t) => {
    for (const [schema, message] of [
      ['schema: { type: object }', 'A text/plain response\'s schema must be of type string at GET /metrics/responses/200'],
      ['example: up 1', 'A response body of type text/plain needs a schema at GET /metrics/responses/200']
    ] as const) {
      t.throws(() => generateTypeBox(textResponse(schema)), { message }, schema)
    }
  })

  t.test('refuses response statuses that are not three-digit codes, such as 4XX or default', async (t) => {
    for (const status of ['4XX', 'default']) {
      t.throws(() => generateTypeBox(openApi(`
paths:
  /things/:
    get:
      operationId: listThings
      responses:
        ${status}:
          description: Failed.
`)), { message: `Unsupported response status ${status} at GET /things/: only explicit status codes are supported` }, status)
    }
  })

  t.test('accepts a status code written without quotes', async (t) => {
    const generated = await operation(t, openApi(`
paths:
  /things/:
    get:
      operationId: listThings
      responses:
        200:
          description: OK
          content:
            application/json:
              schema: { type: string }
`), 'listThings')
    t.ok(accepts(generated.schema.response['200'] as TSchema, 'a'))
  })

  t.test('declares a 204 response without content as Type.Null', async (t) => {
    const document = openApi(`
paths:
  /things/{id}/:
    delete:
      operationId: deleteThing
      parameters:
        - { name: id, in: path, required: true, schema: { type: integer } }
      responses:
        '204':
          description: Deleted.
`)
    t.match(generateTypeBox(document)['operations.ts'], '204: Type.Null({ description: "Deleted." })')
    const response = (await operation(t, document, 'deleteThing')).schema.response['204'] as TSchema
    t.ok(accepts(response, null))
    t.notOk(accepts(response, {}))
  })

  t.test('uses the component a response refers to as its schema', async (t) => {
    const { components, operations } = await importGenerated(t, generateTypeBox(openApi(`
paths:
  /users/me/:
    get:
      operationId: me
      responses:
        '200':
          description: OK
          content:
            application/json:
              schema: { $ref: '#/components/schemas/User' }
components:
  schemas:
    User:
      type: object
      required: [id]
      properties:
        id: { type: integer }
`)))
    t.equal(operations.me?.schema.response['200'], components.User, 'the very component object is reused')
  })

  t.test('resolves a response from components.responses', async (t) => {
    const { components, operations } = await importGenerated(t, generateTypeBox(openApi(`
paths:
  /users/me/:
    get:
      operationId: me
      responses:
        '401':
          $ref: '#/components/responses/Unauthorized'
components:
  responses:
    Unauthorized:
      description: Not authenticated.
      content:
        application/json:
          schema: { $ref: '#/components/schemas/ApiError' }
  schemas:
    ApiError:
      type: object
      required: [code]
      properties:
        code: { type: string }
`)))
    t.equal(operations.me?.schema.response['401'], components.ApiError)
  })

  t.test('uses the schema shared by every content type of a request body as the body', async (t) => {
    const generated = await operation(t, openApi(`
paths:
  /token/:
    post:
      operationId: token
      requestBody:
        required: true
        content:
          application/json:
            schema: { type: object, required: [grant_type], properties: { grant_type: { type: string } } }
          application/x-www-form-urlencoded:
            schema: { type: object, required: [grant_type], properties: { grant_type: { type: string } } }
${OK_RESPONSE}
`), 'token')
    const body = generated.schema.body as TSchema
    t.ok(accepts(body, { grant_type: 'password' }))
    t.notOk(accepts(body, {}))
  })

  t.test('refuses a request body whose content types have different schemas', async (t) => {
    t.throws(() => generateTypeBox(openApi(`
paths:
  /token/:
    post:
      operationId: token
      requestBody:
        required: true
        content:
          application/json:
            schema: { type: object }
          application/x-www-form-urlencoded:
            schema: { type: string }
${OK_RESPONSE}
`)), { message: 'Every content type of a request body must share one schema at POST /token/' })
  })

  t.test('refuses a request body that does not say whether it is required', async (t) => {
    t.throws(() => generateTypeBox(openApi(`
paths:
  /things/:
    post:
      operationId: createThing
      requestBody:
        content:
          application/json:
            schema: { type: object }
${OK_RESPONSE}
`)), { message: 'A request body must be declared required: true (or false) at POST /things/' })
  })

  t.test('marks an optional request body, which the validation plugin takes as {} when missing', async (t) => {
    const generated = await operation(t, openApi(`
paths:
  /things/:
    post:
      operationId: createThing
      requestBody:
        required: false
        content:
          application/json:
            schema: { type: object }
${OK_RESPONSE}
`), 'createThing')
    t.equal((generated.config as { optionalBody?: boolean }).optionalBody, true)
  })

  t.test('refuses a request body given as $ref with an error naming it', async (t) => {
    t.throws(() => generateTypeBox(openApi(`
paths:
  /things/:
    post:
      operationId: createThing
      requestBody:
        $ref: '#/components/requestBodies/Thing'
${OK_RESPONSE}
components:
  requestBodies:
    Thing:
      required: true
      content:
        application/json:
          schema: { type: object }
`)), { message: 'A request body given as $ref (#/components/requestBodies/Thing) is not supported at POST /things/: write it inline' })
  })

  t.test('refuses a request body without a schema', async (t) => {
    t.throws(() => generateTypeBox(openApi(`
paths:
  /things/:
    post:
      operationId: createThing
      requestBody:
        required: true
        content:
          application/json: {}
${OK_RESPONSE}
`)), { message: 'Every content type of a request body needs a schema at POST /things/' })
  })

  t.test('refuses an operation without an operationId', async (t) => {
    t.throws(() => generateTypeBox(openApi(`
paths:
  /things/:
    get:
${OK_RESPONSE}
`)), { message: 'GET /things/ needs an operationId' })
  })

  t.test('refuses a duplicate operationId', async (t) => {
    t.throws(() => generateTypeBox(openApi(`
paths:
  /a/:
    get:
      operationId: same
${OK_RESPONSE}
  /b/:
    get:
      operationId: same
${OK_RESPONSE}
`)), { message: 'Duplicate operationId same' })
  })

  t.test('refuses path item keys that are not HTTP methods', async (t) => {
    t.throws(() => generateTypeBox(openApi(`
paths:
  /a/:
    parameters: []
    get:
      operationId: a
${OK_RESPONSE}
`)), { message: 'Unsupported path item key parameters at /a/' })
  })
})

t.test('finds the committed schemas/ up to date with openapi.yaml', async (t) => {
  t.strictSame(await staleSchemaFiles(), [])
})
