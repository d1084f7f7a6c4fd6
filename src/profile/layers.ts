/**
 * Runtime layers (profiles/runtimes/NAME.json): the syscalls a container runtime makes after it
 * has loaded the container's filter and before it execs the container's process, measured per
 * no_new_privileges setting. The list of runtimes is whatever files are in that directory.
 *
 * Format: {"runtime": "runc", "measured": {"version": "1.1.5", "how": "…"},
 *          "nnp": {"true": [names…], "false": [names…]},
 *          "enosysProbes": {"true": [], "false": [names the runtime falls back from on ENOSYS]},
 *          "ignoresErrnoRet": false, "comment": "…"}
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {SeccompGenError} from '../errors.js'
import {profilesDir} from '../paths.js'

export interface RuntimeLayer {
  runtime: string
  measured: {version: string; how: string}
  nnp: {true: string[]; false: string[]}
  /** syscalls the runtime probes after loading the filter and falls back from only on ENOSYS */
  enosysProbes: {true: string[]; false: string[]}
  /** the runtime answers every denial with EPERM whatever errnoRet says (gVisor) */
  ignoresErrnoRet?: boolean
  comment?: string
  file: string
}

function runtimesDir(): string {
  return join(profilesDir(), 'runtimes')
}

function parseLayer(file: string): RuntimeLayer {
  let d: Record<string, unknown>
  try {
    d = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  } catch (err) {
    throw new SeccompGenError('INTERNAL', `runtime layer ${file} is not valid JSON: ${(err as Error).message}`)
  }
  const nnp = d.nnp as Record<string, unknown> | undefined
  const list = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string' && /^[a-z_][a-z0-9_]*$/.test(x))
  const m = d.measured as Record<string, unknown> | undefined
  const probes = d.enosysProbes as Record<string, unknown> | undefined
  if (probes !== undefined && (!list(probes.true) || !list(probes.false))) {
    throw new SeccompGenError('INTERNAL', `runtime layer ${file}: enosysProbes must have true and false name lists`)
  }
  if (typeof d.runtime !== 'string' || !nnp || !list(nnp.true) || !list(nnp.false) || !m || typeof m.version !== 'string' || typeof m.how !== 'string') {
    throw new SeccompGenError('INTERNAL', `runtime layer ${file} must have runtime, measured.{version,how} and nnp.{true,false} name lists`)
  }
  return {
    runtime: d.runtime,
    measured: {version: m.version, how: m.how},
    nnp: {true: [...(nnp.true as string[])].sort(), false: [...(nnp.false as string[])].sort()},
    enosysProbes: {true: [...(probes?.true as string[] ?? [])].sort(), false: [...(probes?.false as string[] ?? [])].sort()},
    ...(d.ignoresErrnoRet === true ? {ignoresErrnoRet: true} : {}),
    ...(typeof d.comment === 'string' ? {comment: d.comment} : {}),
    file,
  }
}

/** Every layer shipped in profiles/runtimes/, sorted by runtime name. */
export function listRuntimeLayers(): RuntimeLayer[] {
  let files: string[]
  try {
    files = readdirSync(runtimesDir()).filter((f) => f.endsWith('.json')).sort()
  } catch {
    return []
  }
  return files.map((f) => parseLayer(join(runtimesDir(), f))).sort((a, b) => a.runtime.localeCompare(b.runtime))
}

export function loadRuntimeLayer(name: string): RuntimeLayer {
  const layer = listRuntimeLayers().find((l) => l.runtime === name)
  if (!layer) {
    const known = listRuntimeLayers().map((l) => l.runtime)
    throw new SeccompGenError('USAGE', `unknown runtime ${name}; known: ${[...known, 'none'].join(', ')}`)
  }
  return layer
}

/** The chosen layers' ENOSYS probes for the NNP setting: name -> runtimes. */
export function runtimeEnosysProbes(layers: RuntimeLayer[], noNewPrivileges: boolean): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const l of layers) {
    for (const n of noNewPrivileges ? l.enosysProbes.true : l.enosysProbes.false) out.set(n, [...(out.get(n) ?? []), l.runtime].sort())
  }
  return out
}

/** syscall name -> the runtimes (sorted) that need it, for the chosen layers and NNP setting. */
export function runtimeSyscalls(layers: RuntimeLayer[], noNewPrivileges: boolean): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const l of layers) {
    for (const n of noNewPrivileges ? l.nnp.true : l.nnp.false) {
      const v = out.get(n) ?? []
      if (!v.includes(l.runtime)) v.push(l.runtime)
      out.set(n, v.sort())
    }
  }
  return out
}
