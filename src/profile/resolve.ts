/**
 * Docker/Moby profile -> plain OCI linux.seccomp, resolved the way moby's seccomp loader does it
 * for one container: includes/excludes evaluated against the container's capability set, the
 * host arch and the kernel version; archMap reduced to the host arch and its sub-arches; the
 * singular `name` form already flattened into `names` by load.ts; Moby-only fields dropped.
 */
import {release} from 'node:os'
import {SeccompGenError} from '../errors.js'
import {findArch} from '../arches.js'
import type {DockerProfile, FilterCond, OciSeccomp, SyscallRule} from './types.js'

export interface ResolveOptions {
  /** the container's (bounding) capabilities, CAP_ prefix optional, any case */
  caps: string[]
  /** host arch: Node process.arch, uname -m, or SCMP_ARCH_*; default process.arch */
  arch?: string
  /** kernel release (for minKernel), default os.release() */
  kernel?: string
}

export function normalizeCap(c: string): string {
  const u = c.trim().toUpperCase()
  return u.startsWith('CAP_') ? u : `CAP_${u}`
}

/** Compare "6.18.0-1-amd64" style releases on their numeric major.minor.patch. */
export function kernelAtLeast(kernel: string, min: string): boolean {
  const parse = (s: string) => (/^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(s.trim()) ?? []).slice(1).map((x) => Number(x ?? 0))
  const a = parse(kernel)
  const b = parse(min)
  if (a.length === 0) return false
  for (let i = 0; i < 3; i++) {
    const x = a[i] ?? 0
    const y = b[i] ?? 0
    if (x !== y) return x > y
  }
  return true
}

interface Ctx {caps: Set<string>; native: string; kernel: string}

function excluded(c: FilterCond | undefined, ctx: Ctx): boolean {
  if (!c) return false
  if (c.arches?.length && c.arches.includes(ctx.native)) return true
  if (c.caps?.length && c.caps.some((x) => ctx.caps.has(normalizeCap(x)))) return true
  if (c.minKernel && kernelAtLeast(ctx.kernel, c.minKernel)) return true
  return false
}

function included(c: FilterCond | undefined, ctx: Ctx): boolean {
  if (!c) return true
  if (c.arches?.length && !c.arches.includes(ctx.native)) return false
  if (c.caps?.length && !c.caps.every((x) => ctx.caps.has(normalizeCap(x)))) return false
  if (c.minKernel && !kernelAtLeast(ctx.kernel, c.minKernel)) return false
  return true
}

/** Does this rule apply to a container with these caps on this host? */
export function ruleApplies(rule: SyscallRule, opts: ResolveOptions): boolean {
  return !excluded(rule.excludes, context(opts)) && included(rule.includes, context(opts))
}

function context(opts: ResolveOptions): Ctx {
  const host = findArch(opts.arch ?? process.arch)
  if (!host) throw new SeccompGenError('USAGE', `unknown architecture ${opts.arch ?? process.arch}`)
  return {caps: new Set(opts.caps.map(normalizeCap)), native: host.native, kernel: opts.kernel ?? release()}
}

export function toOci(p: DockerProfile, opts: ResolveOptions): OciSeccomp {
  const ctx = context(opts)
  const host = findArch(opts.arch ?? process.arch)!
  const out: OciSeccomp = {defaultAction: p.defaultAction}
  if (p.defaultErrnoRet !== undefined) out.defaultErrnoRet = p.defaultErrnoRet
  const arches: string[] = []
  const add = (a: string) => { if (!arches.includes(a)) arches.push(a) }
  for (const a of p.architectures ?? []) add(a)
  for (const m of p.archMap ?? []) {
    if (m.architecture !== host.token) continue
    add(m.architecture)
    for (const s of m.subArchitectures ?? []) add(s)
  }
  if (arches.length) out.architectures = arches
  if (p.flags?.length) out.flags = [...p.flags]
  if (p.listenerPath !== undefined) out.listenerPath = p.listenerPath
  if (p.listenerMetadata !== undefined) out.listenerMetadata = p.listenerMetadata
  out.syscalls = []
  for (const r of p.syscalls ?? []) {
    if (excluded(r.excludes, ctx) || !included(r.includes, ctx)) continue
    const o: NonNullable<OciSeccomp['syscalls']>[number] = {names: [...r.names], action: r.action}
    if (r.errnoRet !== undefined) o.errnoRet = r.errnoRet
    if (r.args?.length) o.args = r.args.map((a) => ({index: a.index, value: a.value, ...(a.valueTwo !== undefined ? {valueTwo: a.valueTwo} : {}), op: a.op}))
    out.syscalls.push(o)
  }
  return out
}
