/**
 * Precompiled schema validators (scripts/compile-schemas.js at build time, src/validators.ts at
 * run time): they must exist after the build, match the current schema files, and judge exactly
 * as a validator compiled from the schema does.
 */
import {Ajv} from 'ajv'
import {createHash} from 'node:crypto'
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {schemaValidator} from '../src/validators.js'
import {anchor} from './helpers/anchors.js'

const root = join(import.meta.dirname, '..')
const require = createRequire(import.meta.url)
const stems = readdirSync(join(root, 'schemas')).filter((f) => f.endsWith('.schema.json')).map((f) => f.replace('.schema.json', ''))

const samples: Record<string, unknown[]> = {
  'docker-profile': [
    JSON.parse(readFileSync(anchor('docker-default.json'), 'utf8')),
    {defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_MAYBE'}]},
    {defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{index: 9, value: 1, op: 'SCMP_CMP_EQ'}]}]},
    {syscalls: []},
  ],
  'oci-seccomp': [
    {defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW'}]},
    {defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW', includes: {caps: ['CAP_SYS_ADMIN']}}]},
  ],
  observation: [
    JSON.parse(readFileSync(join(root, 'fixtures/busybox-sh.obs.json'), 'utf8')),
    {schema: 'seccomp-gen/observation', version: 2},
  ],
}

describe('precompiled schema validators', () => {
  it.each(stems)('%s: built for the current schema file', (stem) => {
    const hash = createHash('sha256').update(readFileSync(join(root, 'schemas', `${stem}.schema.json`))).digest('hex')
    for (const mode of ['first', 'all']) {
      const file = join(root, 'dist', 'schemas', `${stem}.${mode}.cjs`)
      expect(existsSync(file)).toBe(true)
      expect((require(file) as {schemaSha256: string}).schemaSha256).toBe(hash)
    }
  })

  it.each(stems)('%s: judges like a validator compiled from the schema', (stem) => {
    expect(samples[stem]?.length).toBeGreaterThan(0)
    const schema = JSON.parse(readFileSync(join(root, 'schemas', `${stem}.schema.json`), 'utf8')) as object
    for (const allErrors of [false, true]) {
      const fresh = new Ajv({allErrors, strict: false}).compile(schema)
      const pre = schemaValidator(stem, allErrors)
      // the precompiled module itself, not a fallback compiled at run time
      expect(pre).toBe(require(join(root, 'dist', 'schemas', `${stem}.${allErrors ? 'all' : 'first'}.cjs`)))
      let rejected = 0
      for (const s of samples[stem]) {
        const a = fresh(s)
        expect(pre(s)).toBe(a)
        if (!a) rejected++
        expect((pre.errors ?? []).map((e) => [e.instancePath, e.keyword])).toEqual((fresh.errors ?? []).map((e) => [e.instancePath, e.keyword]))
      }
      expect(rejected).toBeGreaterThan(0)
    }
  })
})
