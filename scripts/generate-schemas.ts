// `npm run generate`: writes schemas/ from openapi.yaml. `--check` only reports drift.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parse } from 'yaml'
import { generateTypeBox, type GeneratedFiles } from './openapi-to-typebox.js'
import { projectRoot } from '../paths.js'

export async function renderSchemas (): Promise<GeneratedFiles> {
  const document = parse(await readFile(join(projectRoot, 'openapi.yaml'), 'utf8'))
  return generateTypeBox(document)
}

export async function staleSchemaFiles (): Promise<string[]> {
  const stale: string[] = []
  for (const [name, content] of Object.entries(await renderSchemas())) {
    const current = await readFile(join(projectRoot, 'schemas', name), 'utf8').catch(() => undefined)
    if (current !== content) stale.push(`schemas/${name}`)
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
  for (const [name, content] of Object.entries(await renderSchemas())) {
    await writeFile(join(projectRoot, 'schemas', name), content)
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
