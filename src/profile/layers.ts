/**
 * Runtime layers (profiles/runtimes/NAME.json): the syscalls a container runtime makes after it
 * has loaded the container's filter and before it execs the container's process, measured per
 * no_new_privileges setting. The list of runtimes is whatever files are in that directory.
 *
 * Format: {"runtime": "runc", "measured": {"version": "1.1.5", "how": "…"},
 *          "nnp": {"true": [names…], "false": [names…]}, "comment": "…"}
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {SeccompGenError} from '../errors.js'
import {profilesDir} from './paths.js'

export interface RuntimeLayer {
  runtime: string
  measured: {version: string; how: string}
  nnp: {true: string[]; false: string[]}
  comment?: string
  file: string
}

export function runtimesDir(): string {
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
  if (typeof d.runtime !== 'string' || !nnp || !list(nnp.true) || !list(nnp.false) || !m || typeof m.version !== 'string' || typeof m.how !== 'string') {
    throw new SeccompGenError('INTERNAL', `runtime layer ${file} must have runtime, measured.{version,how} and nnp.{true,false} name lists`)
  }
  return {
    runtime: d.runtime,
    measured: {version: m.version, how: m.how},
    nnp: {true: [...(nnp.true as string[])].sort(), false: [...(nnp.false as string[])].sort()},
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
