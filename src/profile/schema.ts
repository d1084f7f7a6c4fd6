/**
 * ajv validation against the project's own profile schemas (schemas/docker-profile.schema.json,
 * schemas/oci-seccomp.schema.json). Problems come back as values with a JSON pointer.
 */
import type {ErrorObject, ValidateFunction} from 'ajv'
import {schemaValidator} from '../validators.js'

export type ProfileFormat = 'docker' | 'oci'

export interface SchemaProblem {
  /** JSON pointer into the profile ('' is the root) */
  pointer: string
  message: string
}

function validator(format: ProfileFormat): ValidateFunction {
  return schemaValidator(format === 'docker' ? 'docker-profile' : 'oci-seccomp', true)
}

/** ajv cannot type-check bigint; a number copy is exact enough for range and type checks. */
function forAjv(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v)
  if (Array.isArray(v)) return v.map(forAjv)
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) o[k] = forAjv(x)
    return o
  }
  return v
}

function describe(e: ErrorObject): SchemaProblem {
  let pointer = e.instancePath
  let message = e.message ?? 'is invalid'
  if (e.keyword === 'additionalProperties') {
    const p = (e.params as {additionalProperty: string}).additionalProperty
    pointer += `/${p.replace(/~/g, '~0').replace(/\//g, '~1')}`
    message = 'is not an allowed property'
  } else if (e.keyword === 'enum') {
    message = `must be one of ${(e.params as {allowedValues: unknown[]}).allowedValues.join(', ')}`
  } else if (e.keyword === 'oneOf' && e.schemaPath.includes('/rule/')) {
    message = 'must have exactly one of "names" or "name"'
  }
  return {pointer, message}
}

/** Validate parsed JSON (bigint-bearing, from json64) against a format's schema. */
export function schemaProblems(data: unknown, format: ProfileFormat): SchemaProblem[] {
  const v = validator(format)
  if (v(forAjv(data))) return []
  const seen = new Set<string>()
  const out: SchemaProblem[] = []
  // The most specific errors first (deepest pointer); oneOf/anyOf noise after its causes.
  const errors = [...(v.errors ?? [])]
  for (const e of errors) {
    if (e.keyword === 'not' || e.keyword === 'required' && e.schemaPath.includes('/oneOf/')) continue
    const p = describe(e)
    const key = `${p.pointer} ${p.message}`
    if (!seen.has(key)) { seen.add(key); out.push(p) }
  }
  return out.length ? out : [{pointer: '', message: 'does not match the schema'}]
}
