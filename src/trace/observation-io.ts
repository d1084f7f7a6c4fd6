/**
 * Observation files: ajv validation on every read, canonical serialisation, merging.
 *
 * Canonical form: object keys sorted (code-unit order), argument values sorted numerically,
 * execs sorted, two-space JSON with a trailing newline. The same observation always gives
 * the same bytes, so recordings diff and hash cleanly.
 */
import type {ErrorObject, ValidateFunction} from 'ajv'
import {SeccompGenError} from '../errors.js'
import {readTextFile} from '../fsutil.js'
import {schemaValidator} from '../validators.js'
import type {Abi, AbiObservation, ArgObservation, Observation, SyscallObservation} from './observation.js'

function describe(err: ErrorObject): string {
  const at = err.instancePath === '' ? '/' : err.instancePath
  let what = err.message ?? 'is invalid'
  if (err.keyword === 'additionalProperties') what = `has unexpected property "${(err.params as {additionalProperty: string}).additionalProperty}"`
  else if (err.keyword === 'propertyNames') what = `has an invalid key "${(err.params as {propertyName: string}).propertyName}"`
  else if (err.keyword === 'const' || err.keyword === 'enum') what = `${what} (${JSON.stringify((err.params as {allowedValue?: unknown; allowedValues?: unknown}).allowedValue ?? (err.params as {allowedValues?: unknown}).allowedValues)})`
  return `${at} ${what}`
}

/** Check parsed JSON against schemas/observation.schema.json; one clear line on failure. */
export function validateObservation(data: unknown, source: string): Observation {
  const v: ValidateFunction = schemaValidator('observation', false)
  // A newer writer's file says so rather than failing on whichever field changed.
  const d = data as {schema?: unknown; version?: unknown} | null
  if (d?.schema === 'seccomp-gen/observation' && Number.isInteger(d.version) && (d.version as number) > 1) {
    throw new SeccompGenError('OBSERVATION_INVALID', `observation version ${d.version as number} is newer than this seccomp-gen reads (1); upgrade seccomp-gen`, {file: source})
  }
  if (!v(data)) {
    const err = v.errors?.[0]
    throw new SeccompGenError('OBSERVATION_INVALID', `not a valid seccomp-gen observation: ${err ? describe(err) : 'schema check failed'}`, {file: source})
  }
  return data as Observation
}

/** Read and validate an observation file. */
export function readObservation(path: string): Observation {
  const text = readTextFile(path, 'observation')
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    const m = /position (\d+)/.exec((err as Error).message)
    let line: number | undefined
    if (m) {
      line = 1
      const pos = Number(m[1])
      for (let k = 0; k < pos && k < text.length; k++) if (text.charCodeAt(k) === 10) line++
    }
    throw new SeccompGenError('OBSERVATION_INVALID', `not JSON: ${(err as Error).message}`, {file: path, line})
  }
  return validateObservation(data, path)
}

/** Numeric order of "0x…" strings (no leading zeros, so length first). */
export function hexCompare(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length
  return a < b ? -1 : a > b ? 1 : 0
}
const byKey = <T>(o: Record<string, T>): Array<[string, T]> => Object.entries(o).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))

function canonicalSyscall(s: SyscallObservation): SyscallObservation {
  const out: Record<string, unknown> = {}
  if (s.args) {
    const args: Record<string, ArgObservation> = {}
    for (const [k, a] of byKey(s.args)) {
      const values = [...new Set(a.values)].sort(hexCompare)
      args[k] = a.unknown ? {unknown: true, values} : {values}
    }
    out.args = args
  }
  out.count = s.count
  if (s.errors && Object.keys(s.errors).length > 0) out.errors = Object.fromEntries(byKey(s.errors))
  return out as unknown as SyscallObservation
}

function canonical(o: Observation): Record<string, unknown> {
  const abis: Record<string, AbiObservation> = {}
  for (const [abi, a] of byKey(o.abis as Record<string, AbiObservation>)) {
    abis[abi] = {syscalls: Object.fromEntries(byKey(a.syscalls).map(([n, s]) => [n, canonicalSyscall(s)]))}
  }
  const host: Record<string, string> = {kernel: o.host.kernel, machine: o.host.machine}
  if (o.host.strace !== undefined) host.strace = o.host.strace
  return {
    abis,
    command: [...o.command],
    execs: [...new Set(o.execs)].sort(),
    host: Object.fromEntries(byKey(host)),
    ...(o.runtime !== undefined ? {runtime: o.runtime} : {}),
    schema: o.schema,
    stats: {lines: o.stats.lines, processes: o.stats.processes, unparsed: o.stats.unparsed},
    version: o.version,
  }
}

/** Canonical bytes: keys sorted, values sorted numerically, trailing newline. */
export function serializeObservation(o: Observation): string {
  return JSON.stringify(canonical(o), null, 2) + '\n'
}

/**
 * Add one syscall's tallies to an ABI's syscalls under `name`: a copy when the name is new, else
 * counts and errors summed, argument values unioned, unknown OR-ed. An inspected argument
 * present on one side only becomes unknown (its values on the other side were not kept).
 */
export function addSyscall(syscalls: Record<string, SyscallObservation>, name: string, s: SyscallObservation): void {
  const prev = syscalls[name]
  if (prev === undefined) {
    syscalls[name] = structuredClone(s)
    return
  }
  prev.count += s.count
  if (s.errors) {
    prev.errors ??= {}
    for (const [e, n] of Object.entries(s.errors)) prev.errors[e] = (prev.errors[e] ?? 0) + n
  }
  if (prev.args || s.args) {
    const keys = new Set([...Object.keys(prev.args ?? {}), ...Object.keys(s.args ?? {})])
    const args: Record<string, ArgObservation> = {}
    for (const k of keys) {
      const x = prev.args?.[k]
      const y = s.args?.[k]
      const values = [...new Set([...(x?.values ?? []), ...(y?.values ?? [])])].sort(hexCompare)
      const unknown = !x || !y || x.unknown === true || y.unknown === true
      args[k] = unknown ? {values, unknown: true} : {values}
    }
    prev.args = args
  }
}

/**
 * Union of recordings: per ABI and syscall as addSyscall() says (an inspected argument
 * recorded in one observation but absent from another becomes unknown: its values there
 * were not kept, so no filter may rely on the recorded ones alone). Execs unioned; stats summed.
 * The command is kept when all are equal, else each command joined by spaces. The runtime that
 * ran them is kept only when all name the same one (a host recording names none): `build` adds
 * the layers of the runtimes each input names, from the inputs themselves.
 */
export function mergeObservations(list: Observation[]): Observation {
  if (list.length === 0) throw new SeccompGenError('USAGE', 'no observations to merge')
  const abis: Partial<Record<Abi, AbiObservation>> = {}
  for (const o of list) {
    for (const [abi, a] of Object.entries(o.abis) as Array<[Abi, AbiObservation]>) {
      const into = (abis[abi] ??= {syscalls: {}})
      for (const [name, s] of Object.entries(a.syscalls)) addSyscall(into.syscalls, name, s)
    }
  }
  const cmds = list.map((o) => o.command.join(' '))
  const same = cmds.every((c) => c === cmds[0])
  const runtime = list.every((o) => o.runtime === list[0]!.runtime) ? list[0]!.runtime : undefined
  const sum = (stat: keyof Observation['stats']) => list.reduce((n, o) => n + o.stats[stat], 0)
  return {
    schema: 'seccomp-gen/observation',
    version: 1,
    command: same ? [...list[0]!.command] : cmds,
    host: {...list[0]!.host},
    ...(runtime !== undefined ? {runtime} : {}),
    abis,
    execs: [...new Set(list.flatMap((o) => o.execs))].sort(),
    stats: {processes: sum('processes'), lines: sum('lines'), unparsed: sum('unparsed')},
  }
}

/**
 * True when the bytes start like a JSON object (after an optional BOM and whitespace).
 * strace output never starts with '{': lines start with a pid, '[pid', a timestamp, a
 * syscall name, '<...', '---', '+++' or 'strace:'.
 */
export function looksLikeObservation(firstBytes: Buffer): boolean {
  let i = 0
  if (firstBytes.length >= 3 && firstBytes[0] === 0xef && firstBytes[1] === 0xbb && firstBytes[2] === 0xbf) i = 3
  while (i < firstBytes.length) {
    const c = firstBytes[i]!
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) { i++; continue }
    return c === 0x7b
  }
  return false
}
