/**
 * What two profiles do differently, found by evaluating them (evaluate.ts), never by comparing
 * their text: reordering, regrouping or renaming rules changes nothing here.
 *
 * - Per architecture (each profile's architectures, archMap resolved for the host arch): every
 *   syscall either profile names (that the arch's kernel table defines) is evaluated in both,
 *   on the boundary values of every argument comparison either profile makes for it (the value,
 *   ±1, 0 and the maximum; each bit of a MASKED_EQ mask flipped), so an argument rule that
 *   differs shows up as a concrete argument case. Names no rule mentions get the default action
 *   in both: a changed default is one line, not one line per syscall.
 * - Capability gating: the same evaluation for a container with each capability either
 *   profile's includes/excludes name added to (or taken from) the base set; only what differs
 *   beyond the base set's differences is reported.
 *
 * Also here, shared with check and score.ts: the argument cases of a syscall and the rule that
 * answers a call. The profiles are read by load.ts (every format).
 */
import {callRuns} from '../actions.js'
import {findArch} from '../arches.js'
import {errnoLabel} from '../errno.js'
import {SeccompGenError} from '../errors.js'
import {knownSyscall} from '../syscall-table.js'
import {argMatches, evaluator, type Verdict} from './evaluate.js'
import {normalizeCap, ruleApplies, toOci} from './resolve.js'
import type {DockerProfile, SeccompArg} from './types.js'

export interface EvalOptions {
  /** host arch (any spelling): resolves archMap and includes.arches (default x86_64) */
  host?: string
  /** the container's capabilities (default none) */
  caps?: string[]
  /** kernel release for minKernel (default the evaluator's) */
  kernel?: string
}

/** An argument case: argument index -> value. */
export type ArgCase = Array<{index: number; value: bigint}>

const M64 = 0xffffffffffffffffn
const M32 = 0xffffffffn

// --- evaluation helpers ----------------------------------------------------------------------

/** An answer in words: "SCMP_ACT_ERRNO(EPERM)", "SCMP_ACT_ALLOW". */
export function answerWords(v: Verdict): string {
  if (v.badArch) return `${v.action} (architecture not in the filter)`
  return v.action === 'SCMP_ACT_ERRNO' ? `${v.action}(${errnoLabel(v.errno ?? 1)})` : v.action
}

/** SCMP_ACT_KILL is libseccomp's old name of SCMP_ACT_KILL_THREAD: the same answer. */
const canonical = (a: Verdict['action']) => (a === 'SCMP_ACT_KILL' ? 'SCMP_ACT_KILL_THREAD' : a)

const sameAnswer = (a: Verdict, b: Verdict) => canonical(a.action) === canonical(b.action) && (a.errno ?? 0) === (b.errno ?? 0) && !a.badArch === !b.badArch

/** Boundary values of one comparison: where its answer can change, and the extremes. */
function boundaries(c: SeccompArg): bigint[] {
  const v = c.value & M64
  const out = [0n, M32, M64, v, v - 1n, v + 1n]
  if (c.op === 'SCMP_CMP_MASKED_EQ') {
    const want = (c.valueTwo ?? 0n) & M64
    out.push(want, want | ~v & M64)
    for (let bit = 1n; bit <= v && bit <= M64; bit <<= 1n) if (v & bit) out.push(want ^ bit)
  }
  return out.filter((x) => x >= 0n && x <= M64)
}

/**
 * The argument conditions of the rules of these profiles for `name` that can apply on this host
 * (for some capability set: rules for other arches or kernels are left out).
 */
export function conditionsOf(profiles: DockerProfile[], name: string, o: EvalOptions): SeccompArg[] {
  const host = findArch(o.host ?? 'x86_64')!.token
  const kernel = o.kernel ?? '6.1'
  return profiles.flatMap((p) => {
    // the capability sets worth trying: none, the base set, each gating capability, all of them
    const every = gatingCaps(p)
    const sets = [[], o.caps ?? [], every, ...every.map((c) => [c])]
    return (p.syscalls ?? []).filter((r) => r.names.includes(name) && r.args?.length &&
      sets.some((caps) => ruleApplies(r, {caps, arch: host, kernel}))).flatMap((r) => r.args ?? [])
  })
}

/** Candidate values per argument index tested by the conditions (sorted, distinct). */
export function argCandidates(conds: SeccompArg[]): Map<number, bigint[]> {
  const out = new Map<number, Set<bigint>>()
  const masks = new Map<number, bigint>()
  for (const c of conds) {
    const s = out.get(c.index) ?? new Set<bigint>()
    for (const v of boundaries(c)) s.add(v)
    out.set(c.index, s)
    if (c.op === 'SCMP_CMP_MASKED_EQ') masks.set(c.index, (masks.get(c.index) ?? 0n) | (c.value & M64))
  }
  // rules that each test one bit (W^X: "not W" or "not X") differ only when all bits are set
  for (const [i, m] of masks) out.get(i)!.add(m)
  return new Map([...out].sort(([a], [b]) => a - b).map(([i, s]) => [i, [...s].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))]))
}

/** Every combination of the candidates (one empty case when there are none). */
export function argCases(candidates: Map<number, bigint[]>): ArgCase[] {
  let cases: ArgCase[] = [[]]
  for (const [index, values] of candidates) cases = cases.flatMap((c) => values.map((value) => [...c, {index, value}]))
  return cases
}

export const argsArray = (c: ArgCase): bigint[] => {
  const a: bigint[] = []
  for (const {index, value} of c) a[index] = value
  return Array.from(a, (x) => x ?? 0n)
}

export const caseWords = (c: ArgCase): string => c.map(({index, value}) => `arg${index}=0x${value.toString(16)}`).join(' ')

/** The arch tokens a profile's filter holds on this host (the host's own when it lists none). */
function filterArches(p: DockerProfile, host: string): string[] {
  const h = findArch(host)
  if (!h) throw new SeccompGenError('USAGE', `unknown architecture ${host}`)
  const oci = toOci({...p, syscalls: []}, {caps: [], arch: h.token, kernel: '0'})
  return oci.architectures?.length ? oci.architectures : [h.token]
}

/** Does the arch's kernel table define the name? Arches without a table keep every name. */
export function existsOn(token: string, name: string): boolean {
  const abi = findArch(token)?.abi
  if (!abi || !knownSyscall(abi, 'read')) return true
  return knownSyscall(abi, name)
}

/**
 * The rule that answers a call, as a JSON pointer into the profile ("/syscalls/7") with its
 * comment, or the default action. The evaluator picks the most restrictive matching rule; any
 * rule that applies to this container, matches and gives that same answer is "the" rule.
 */
export function answeringRule(p: DockerProfile, v: Verdict, name: string, args: bigint[], o: EvalOptions): {pointer: string; comment?: string} | undefined {
  if (v.badArch) return undefined
  const host = findArch(o.host ?? 'x86_64')!
  const i = (p.syscalls ?? []).findIndex((r) =>
    r.names.includes(name) && ruleApplies(r, {caps: o.caps ?? [], arch: host.token, kernel: o.kernel ?? '6.1'}) &&
    (r.args ?? []).every((c) => argMatches(c, args)) &&
    sameAnswer({action: r.action, ...(r.action === 'SCMP_ACT_ERRNO' ? {errno: r.errnoRet ?? 1} : {})}, v))
  if (i < 0) return undefined
  const r = p.syscalls![i]
  return {pointer: `/syscalls/${i}`, ...(r.comment ? {comment: r.comment} : {})}
}

// --- diff ------------------------------------------------------------------------------------

export interface CaseDiff {
  /**
   * '+': B lets the call run and A does not; '-': the reverse; '~': both or neither, answered
   * differently; '=' (capability sections only): a difference of the base set gone with this
   * capability, a and b the (same) answer then
   */
  sign: '+' | '-' | '~' | '='
  /** the argument case ([] when the answers differ whatever the arguments) */
  args: ArgCase
  a: Verdict
  b: Verdict
}

export interface NameDiff {name: string; cases: CaseDiff[]}

/** Architectures with the same differences, grouped. */
export interface ArchDiff {arches: string[]; syscalls: NameDiff[]}

export interface CapsDiff {
  /** 'CAP_SYS_ADMIN' added to the base set (granted) or taken from it */
  cap: string
  granted: boolean
  arches: ArchDiff[]
}

export interface ProfileDiff {
  equal: boolean
  context: {host: string; caps: string[]; kernel?: string}
  defaults?: {a: Verdict; b: Verdict}
  flags?: {a: string[]; b: string[]}
  archesOnlyA: string[]
  archesOnlyB: string[]
  arches: ArchDiff[]
  caps: CapsDiff[]
}

const signOf = (a: Verdict, b: Verdict): CaseDiff['sign'] => {
  const ra = callRuns(a.action)
  const rb = callRuns(b.action)
  return rb && !ra ? '+' : ra && !rb ? '-' : '~'
}

/** Per arch token: the name differences under one capability set. */
function diffUnder(a: DockerProfile, b: DockerProfile, arches: string[], o: EvalOptions & {caps: string[]}): Map<string, NameDiff[]> {
  const ctx = {host: o.host, caps: o.caps, kernel: o.kernel}
  const ea = evaluator(a, ctx)
  const eb = evaluator(b, ctx)
  const da = ea(o.host ?? 'x86_64', '\u0000default')
  const db = eb(o.host ?? 'x86_64', '\u0000default')
  const defaultsDiffer = !sameAnswer(da, db)
  const names = [...new Set([a, b].flatMap((p) => (p.syscalls ?? []).flatMap((r) => r.names)))].sort()
  const out = new Map<string, NameDiff[]>()
  for (const arch of arches) {
    const list: NameDiff[] = []
    for (const name of names) {
      if (!existsOn(arch, name)) continue
      const cases = argCases(argCandidates(conditionsOf([a, b], name, o)))
      const diffs: CaseDiff[] = []
      for (const c of cases) {
        const args = argsArray(c)
        const va = ea(arch, name, args)
        const vb = eb(arch, name, args)
        if (sameAnswer(va, vb)) continue
        // both answered by their default: the changed default says it once
        if (defaultsDiffer && sameAnswer(va, da) && sameAnswer(vb, db)) continue
        diffs.push({sign: signOf(va, vb), args: c, a: va, b: vb})
      }
      if (!diffs.length) continue
      // the same change for every argument case: the arguments do not matter
      const uniform = diffs.length === cases.length && diffs.every((d) => sameAnswer(d.a, diffs[0].a) && sameAnswer(d.b, diffs[0].b))
      list.push({name, cases: uniform ? [{...diffs[0], args: []}] : diffs})
    }
    out.set(arch, list)
  }
  return out
}

const caseKey = (arch: string, n: string, d: CaseDiff) => `${arch} ${n} ${caseWords(d.args)} ${answerWords(d.a)} ${answerWords(d.b)}`

/** Arches with identical differences in one group, in the order first seen. */
function group(perArch: Map<string, NameDiff[]>): ArchDiff[] {
  const groups = new Map<string, ArchDiff>()
  for (const [arch, syscalls] of perArch) {
    if (!syscalls.length) continue
    const key = JSON.stringify(syscalls.map((s) => s.cases.map((d) => caseKey('', s.name, d))))
    const g = groups.get(key)
    if (g) g.arches.push(arch)
    else groups.set(key, {arches: [arch], syscalls})
  }
  return [...groups.values()]
}

/** Every capability a profile's includes/excludes names (normalized, sorted). */
function gatingCaps(p: DockerProfile): string[] {
  const caps = (p.syscalls ?? []).flatMap((r) => [...(r.includes?.caps ?? []), ...(r.excludes?.caps ?? [])])
  return [...new Set(caps.map(normalizeCap))].sort()
}

export function diffProfiles(a: DockerProfile, b: DockerProfile, o: EvalOptions = {}): ProfileDiff {
  const host = findArch(o.host ?? 'x86_64')?.token
  if (!host) throw new SeccompGenError('USAGE', `unknown architecture ${o.host}`)
  const base = [...new Set((o.caps ?? []).map(normalizeCap))].sort()
  const ctx = {host, kernel: o.kernel, caps: base}
  const fa = filterArches(a, host)
  const fb = filterArches(b, host)
  const both = fa.filter((x) => fb.includes(x))
  const out: ProfileDiff = {
    equal: true,
    context: {host, caps: base, ...(o.kernel ? {kernel: o.kernel} : {})},
    archesOnlyA: fa.filter((x) => !fb.includes(x)),
    archesOnlyB: fb.filter((x) => !fa.includes(x)),
    arches: [],
    caps: [],
  }
  const da = evaluator(a, ctx)(host, '\u0000default')
  const db = evaluator(b, ctx)(host, '\u0000default')
  if (!sameAnswer(da, db)) out.defaults = {a: da, b: db}
  const flagsA = [...(a.flags ?? [])].sort()
  const flagsB = [...(b.flags ?? [])].sort()
  if (flagsA.join() !== flagsB.join()) out.flags = {a: flagsA, b: flagsB}
  const baseDiff = diffUnder(a, b, both, ctx)
  out.arches = group(baseDiff)
  const seen = new Set([...baseDiff].flatMap(([arch, l]) => l.flatMap((n) => n.cases.map((d) => caseKey(arch, n.name, d)))))
  for (const cap of [...new Set([...gatingCaps(a), ...gatingCaps(b)])].sort()) {
    const granted = !base.includes(cap)
    const caps = granted ? [...base, cap] : base.filter((c) => c !== cap)
    const d = diffUnder(a, b, both, {...ctx, caps})
    const ea = evaluator(a, {...ctx, caps})
    const eb = evaluator(b, {...ctx, caps})
    for (const [arch, list] of d) {
      const kept = list.map((n) => ({name: n.name, cases: n.cases.filter((c) => !seen.has(caseKey(arch, n.name, c)))})).filter((n) => n.cases.length)
      // and the other way round: a difference of the base set that this capability takes away
      // (A gates mount on CAP_SYS_ADMIN, B allows it outright: the same once it is granted)
      const still = new Set(list.map((n) => n.name))
      for (const n of baseDiff.get(arch) ?? []) {
        if (still.has(n.name)) continue
        kept.push({name: n.name, cases: [{sign: '=', args: [], a: ea(arch, n.name), b: eb(arch, n.name)}]})
      }
      d.set(arch, kept.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)))
    }
    const arches = group(d)
    if (arches.length) out.caps.push({cap, granted, arches})
  }
  out.equal = !out.defaults && !out.flags && !out.archesOnlyA.length && !out.archesOnlyB.length && !out.arches.length && !out.caps.length
  return out
}
