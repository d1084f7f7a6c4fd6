/**
 * The security-profiles-operator's SeccompProfile CRD (test/anchors/spo-seccompprofile-crd.yaml)
 * as the oracle for what `build --format k8s` writes.
 */
import {readFileSync} from 'node:fs'
import {Ajv, type ValidateFunction} from 'ajv'
import {parse} from 'yaml'
import {anchor} from './anchors.js'

/**
 * The CRD's own OpenAPI schema of v1beta1 as an ajv validator. Every object schema that lists
 * properties is closed (additionalProperties false): the API server prunes fields its
 * structural schema does not list, so a field the schema lacks would be lost in the cluster.
 * format int32/int64 are checked as ranges.
 */
export function crdValidator(): ValidateFunction {
  const crd = parse(readFileSync(anchor('spo-seccompprofile-crd.yaml'), 'utf8')) as {
    spec: {versions: Array<{name: string; schema: {openAPIV3Schema: Record<string, unknown>}}>}
  }
  const v = crd.spec.versions.find((x) => x.name === 'v1beta1')
  if (!v) throw new Error('the vendored CRD has no v1beta1')
  const close = (s: unknown): void => {
    if (Array.isArray(s)) { s.forEach(close); return }
    if (!s || typeof s !== 'object') return
    const o = s as Record<string, unknown>
    if (o.properties && o.type === 'object' && o.additionalProperties === undefined) o.additionalProperties = false
    for (const x of Object.values(o)) close(x)
  }
  const schema = structuredClone(v.schema.openAPIV3Schema)
  close(schema)
  // metadata is `type: object` without properties (the API server checks it): name it here
  schema.properties = {...(schema.properties as object), metadata: {type: 'object', required: ['name'], properties: {name: {type: 'string'}, namespace: {type: 'string'}}, additionalProperties: false}}
  schema.required = ['apiVersion', 'kind', 'metadata', 'spec']
  const ajv = new Ajv({allErrors: true, strict: false})
  ajv.addFormat('int32', {type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31})
  ajv.addFormat('int64', {type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 63) && n < 2 ** 63})
  ajv.addFormat('date-time', true)
  return ajv.compile(schema)
}

