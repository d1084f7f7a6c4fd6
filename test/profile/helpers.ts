/** Shared helpers for the profile tests: observations built in code, the runtime-spec oracle. */
import {Ajv, type ValidateFunction} from 'ajv'
import {readFileSync} from 'node:fs'
import {join, resolve, dirname} from 'node:path'
import {fileURLToPath} from 'node:url'
import type {Observation, SyscallObservation} from '../../src/trace/observation.js'
import {listRuntimeLayers} from '../../src/profile/layers.js'
import {anchors} from '../helpers/anchors.js'
import {synthesize, type SynthesisOptions} from '../../src/profile/synthesize.js'
import {libseccompSyscalls} from '../../native/libseccomp.js'
import type {DockerProfile, OciSeccomp} from '../../src/profile/types.js'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

type Calls = Record<string, number | {count: number; errors?: Record<string, number>; args?: Record<string, string[] | {values: string[]; unknown?: boolean}>}>

/** An observation from a compact spec: {x86_64: {read: 3, socket: {count: 2, args: {0: ['0x2']}}}} */
export function obs(abis: Partial<Record<string, Calls>>, command = ['test']): Observation {
  const out: Observation = {schema: 'seccomp-gen/observation', version: 1, command, host: {kernel: '6.1.0', machine: 'x86_64'}, abis: {}, execs: [], stats: {processes: 1, lines: 0, unparsed: 0}}
  for (const [abi, calls] of Object.entries(abis)) {
    const syscalls: Record<string, SyscallObservation> = {}
    for (const [name, spec] of Object.entries(calls ?? {})) {
      if (typeof spec === 'number') { syscalls[name] = {count: spec}; continue }
      const s: SyscallObservation = {count: spec.count}
      if (spec.errors) s.errors = spec.errors
      if (spec.args) {
        s.args = {}
        for (const [k, v] of Object.entries(spec.args)) s.args[k] = Array.isArray(v) ? {values: v} : v
      }
      syscalls[name] = s
    }
    ;(out.abis as Record<string, {syscalls: Record<string, SyscallObservation>}>)[abi] = {syscalls}
  }
  return out
}

export const defaults = (): SynthesisOptions => ({
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrno: 1,
  runtimes: listRuntimeLayers().filter((l) => l.runtime === 'runc' || l.runtime === 'crun'),
  noNewPrivileges: false,
  args: 'safe',
  arches: [],
  syscalls: libseccompSyscalls,
})

/** Every name some rule can ALLOW (for tightness checks). */
export function allowedNames(p: DockerProfile | OciSeccomp): string[] {
  return [...new Set((p.syscalls ?? []).filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names))].sort()
}

export function synth(o: Observation, over: Partial<SynthesisOptions> = {}) {
  return synthesize(o, {...defaults(), ...over})
}

let oracle: ValidateFunction | undefined
/**
 * The official runtime-spec schema (draft-04) for linux.seccomp, as an independent oracle.
 * Ajv 8 has no draft-04 meta-schema, but the seccomp part uses nothing draft-04-specific
 * (no boolean exclusiveMaximum, no `id`), so the files load as-is without meta validation.
 */
export function runtimeSpecSeccomp(): ValidateFunction {
  if (oracle) return oracle
  const dir = join(anchors, 'runtime-spec-schema')
  const ajv = new Ajv({strict: false, validateSchema: false, allErrors: true})
  for (const f of ['defs.json', 'defs-linux.json', 'config-linux.json']) {
    const s = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>
    delete s.$schema
    ajv.addSchema(s, f)
  }
  oracle = ajv.compile({$ref: 'config-linux.json#/linux/properties/seccomp'})
  return oracle
}

export const MOBY_ONLY = ['includes', 'excludes', 'comment', 'name', 'archMap']
