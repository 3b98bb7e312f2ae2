import { basename, dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

// The folder holding package.json and openapi.yaml, whether running from source or from dist/.
export const projectRoot = basename(here) === 'dist' ? resolve(here, '..') : here
