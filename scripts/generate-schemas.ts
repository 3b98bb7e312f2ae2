// `npm run generate`: writes schemas/ (the routes' TypeBox schemas) and the typed client's
// clients/typescript/schema.d.ts (openapi-typescript's) from openapi.yaml. `--check` only
// reports drift.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript'
import { parse } from 'yaml'
import { generateTypeBox } from './openapi-to-typebox.js'
import { projectRoot } from '../paths.js'

const CLIENT_SCHEMA = 'clients/typescript/schema.d.ts'
const CLIENT_HEADER = '// Generated from openapi.yaml by `npm run generate` (openapi-typescript). Do not edit.\n\n'

// Every generated file, by its path from the project's root.
async function renderGenerated (): Promise<Record<string, string>> {
  const document = parse(await readFile(join(projectRoot, 'openapi.yaml'), 'utf8'))
  const schemas = Object.entries(generateTypeBox(document)).map(([name, content]) => [`schemas/${name}`, content])
  return Object.fromEntries([...schemas, [CLIENT_SCHEMA, CLIENT_HEADER + astToString(await openapiTS(document as OpenAPI3, { silent: true }))]])
}

export async function staleSchemaFiles (): Promise<string[]> {
  const stale: string[] = []
  for (const [path, content] of Object.entries(await renderGenerated())) {
    const current = await readFile(join(projectRoot, path), 'utf8').catch(() => undefined)
    if (current !== content) stale.push(path)
  }
  return stale
}

async function main (): Promise<void> {
  if (process.argv.includes('--check')) {
    const stale = await staleSchemaFiles()
    if (stale.length > 0) {
      console.error(`Out of date with openapi.yaml: ${stale.join(', ')}. Run \`npm run generate\`.`)
      process.exitCode = 1
    }
    return
  }
  for (const [path, content] of Object.entries(await renderGenerated())) {
    await writeFile(join(projectRoot, path), content)
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
