/**
 * ajv validators for the project's schemas (schemas/*.schema.json). The build precompiles them
 * (scripts/compile-schemas.js → dist/schemas/STEM.MODE.cjs); a precompiled one is used only
 * while the schema file still has the hash it was made from, else the schema is compiled here.
 */
import {createHash} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join} from 'node:path'
import type {ValidateFunction} from 'ajv'
import {packageRoot, schemasDir} from './paths.js'

const require = createRequire(import.meta.url)
const cache = new Map<string, ValidateFunction>()

/** `stem` names schemas/STEM.schema.json; allErrors as ajv's option. */
export function schemaValidator(stem: string, allErrors: boolean): ValidateFunction {
  const key = `${stem}.${allErrors ? 'all' : 'first'}`
  let v = cache.get(key)
  if (v) return v
  const text = readFileSync(join(schemasDir(), `${stem}.schema.json`), 'utf8')
  const pre = join(packageRoot(), 'dist', 'schemas', `${key}.cjs`)
  if (existsSync(pre)) {
    const mod = require(pre) as ValidateFunction & {schemaSha256?: string}
    if (mod.schemaSha256 === createHash('sha256').update(text).digest('hex')) v = mod
  }
  if (!v) {
    const {Ajv} = require('ajv') as typeof import('ajv')
    v = new Ajv({allErrors, strict: false}).compile(JSON.parse(text) as object)
  }
  cache.set(key, v)
  return v
}
