/**
 * A small evaluator of profile JSON, like libseccomp's .tests tables and minijail's simulate():
 * given an arch, a syscall name and its arguments, which action does the profile take?
 *
 * Semantics (documented, and what the tests rely on):
 * - Docker/Moby profiles are first resolved for a container (toOci: caps, host arch, kernel).
 * - An arch that is neither listed in architectures nor the host's own gets the bad-arch
 *   action, SCMP_ACT_KILL_THREAD (libseccomp's default; the native arch is always in a filter).
 * - A rule matches when the name is in names and every argument comparison holds (unsigned
 *   64-bit; MASKED_EQ is (arg & value) == valueTwo). Missing arguments are 0.
 * - Among matching rules the most restrictive action wins (the kernel's precedence order for
 *   stacked filters, src/actions.ts ACTION_PRECEDENCE);
 *   no match gives the default action.
 */
import {restrictiveness} from '../actions.js'
import {findArch} from '../arches.js'
import {toOci} from './resolve.js'
import type {DockerProfile, OciSeccomp, SeccompAction, SeccompArg} from './types.js'

export interface Verdict {
  action: SeccompAction
  errno?: number
  /** true when the arch is not in the filter */
  badArch?: boolean
}

const M64 = 0xffffffffffffffffn

export function argMatches(c: SeccompArg, args: bigint[]): boolean {
  const a = (args[c.index] ?? 0n) & M64
  const v = c.value & M64
  switch (c.op) {
    case 'SCMP_CMP_NE': return a !== v
    case 'SCMP_CMP_LT': return a < v
    case 'SCMP_CMP_LE': return a <= v
    case 'SCMP_CMP_EQ': return a === v
    case 'SCMP_CMP_GE': return a >= v
    case 'SCMP_CMP_GT': return a > v
    case 'SCMP_CMP_MASKED_EQ': return (a & v) === ((c.valueTwo ?? 0n) & M64)
  }
}

export interface EvalContext {
  /** host arch (any spelling), default 'x86_64' */
  host?: string
  /** container capabilities for Moby includes/excludes (default: none) */
  caps?: string[]
  kernel?: string
}

function isDocker(p: DockerProfile | OciSeccomp): p is DockerProfile {
  return (p.syscalls ?? []).some((r) => 'includes' in r || 'excludes' in r) || 'archMap' in p
}

/** A verdict and the index of the rule that decided it, in the resolved profile's syscalls (absent: the default or bad arch). */
export interface RuledVerdict {
  verdict: Verdict
  rule?: number
}

/** Resolve once, evaluate many, saying which rule decided (apply --explain names it). */
export function ruledEvaluator(p: DockerProfile | OciSeccomp, ctx: EvalContext = {}): (arch: string, name: string, args?: Array<bigint | number>) => RuledVerdict {
  const host = findArch(ctx.host ?? 'x86_64')!
  const oci: OciSeccomp = isDocker(p) ? toOci(p, {caps: ctx.caps ?? [], arch: host.token, kernel: ctx.kernel ?? '6.1'}) : p
  const listed = new Set(oci.architectures ?? [])
  return (arch, name, args = []) => {
    const token = findArch(arch)?.token ?? arch
    // a filter without architectures holds the native arch alone, not every arch
    if (!listed.has(token) && token !== host.token) return {verdict: {action: 'SCMP_ACT_KILL_THREAD', badArch: true}}
    const a = args.map((x) => BigInt(x))
    let best: RuledVerdict | undefined
    for (const [i, r] of (oci.syscalls ?? []).entries()) {
      if (!r.names.includes(name)) continue
      if (!(r.args ?? []).every((c) => argMatches(c, a))) continue
      const v: Verdict = {action: r.action, ...(r.action === 'SCMP_ACT_ERRNO' ? {errno: r.errnoRet ?? 1} : {})}
      if (!best || restrictiveness(v.action) > restrictiveness(best.verdict.action)) best = {verdict: v, rule: i}
    }
    return best ?? {verdict: {action: oci.defaultAction, ...(oci.defaultAction === 'SCMP_ACT_ERRNO' ? {errno: oci.defaultErrnoRet ?? 1} : {})}}
  }
}

/** Resolve once, evaluate many: returns a function (arch, name, args) -> verdict. */
export function evaluator(p: DockerProfile | OciSeccomp, ctx: EvalContext = {}): (arch: string, name: string, args?: Array<bigint | number>) => Verdict {
  const ruled = ruledEvaluator(p, ctx)
  return (arch, name, args) => ruled(arch, name, args).verdict
}

export function evaluate(p: DockerProfile | OciSeccomp, arch: string, name: string, args: Array<bigint | number> = [], ctx: EvalContext = {}): Verdict {
  return evaluator(p, ctx)(arch, name, args)
}
