/**
 * Synthesis: a merged Observation + options -> the Docker/Moby profile model, by the nine rules
 * of the build issue. Every decision comes from a table in profiles/ (data.ts, layers.ts,
 * arches.ts); this module only applies them and says why in each rule's comment.
 *
 * Hand-off: synthesize() returns {profile, diagnostics}; render.ts turns the profile into bytes.
 */
import {restrictiveness} from '../actions.js'
import {SeccompGenError} from '../errors.js'
import type {Observation, SyscallObservation} from '../trace/observation.js'
import {knownSyscall, rawSyscallNr, syscallNameOf, type SyscallResolver} from '../syscall-table.js'
import {abiNames, archTable, findArch} from '../arches.js'
import {i386OnlyNames, unannouncedAbiError} from '../unannounced-abi.js'
import {type ArgsLevel, type ArgRule, levelAtLeast, riskOf, ruleData} from './data.js'
import {errnoNumber, requireErrno} from '../errno.js'
import {type RuntimeLayer, runtimeEnosysProbes, runtimeSyscalls} from './layers.js'
import type {DockerProfile, SeccompAction, SeccompArg, SyscallRule} from './types.js'

export interface SynthesisOptions {
  defaultAction: SeccompAction
  /** errno for an ERRNO default action (EPERM = 1 unless --errno) */
  defaultErrno: number
  /** runtime layers to add (empty for --runtime none) */
  runtimes: RuntimeLayer[]
  noNewPrivileges: boolean
  args: ArgsLevel
  /** extra architectures (--arch), any spelling findArch accepts */
  arches: string[]
  /** profiles to union in (--base), with the name to cite */
  bases?: Array<{profile: DockerProfile; source: string}>
  /** the names the filter library can place (native/libseccomp.ts libseccompSyscalls) */
  syscalls: SyscallResolver
  /** build --widen imports: syscalls the exec'd programs' imports can reach (build/widen.ts) */
  widen?: WidenCandidate[]
}

/**
 * A syscall a program can reach through a libc function it imports (`via`: the library that
 * imports it; `argsOf`: a multiplexer, i386's socketcall, whose argument rule is that syscall's;
 * `values`: what an exact-value argument rule may allow unrecorded, e.g. socketpair's AF_UNIX).
 */
export interface WidenCandidate {name: string; program: string; import: string; via?: string; argsOf?: string; values?: Array<{name: string; value: string}>}

export interface Synthesis {
  profile: DockerProfile
  /** warnings worth a line each (never errors) */
  diagnostics: string[]
  stats: {observed: number; allowed: number; rules: number; arches: string[]}
  /** with `widen`: the names added, each with the candidate it came from, and the ones left out and why */
  widened?: {added: WidenCandidate[]; skipped: Array<{name: string; why: string}>}
}

const U32 = 0xffffffffn
const ENOSYS = requireErrno('ENOSYS')

interface Merged {
  count: number
  errors: Record<string, number>
  /** arg index -> values (bigint) and whether some value was unknown */
  args: Map<number, {values: Set<bigint>; unknown: boolean}>
  abis: Set<string>
}

/** A rule under construction: grouped later by (action, errno, args, includes, excludes). */
interface Draft {
  name: string
  action: SeccompAction
  errnoRet?: number
  args?: SeccompArg[]
  includesCaps?: string[]
  excludesCaps?: string[]
  /** category, for grouping and comments: order of categories is the order of rules */
  kind: 'always' | 'runtime' | 'observed' | 'args' | 'caps' | 'clone3' | 'enosys' | 'recorded-enosys' | 'widened'
  why: string
}

const KIND_ORDER: Draft['kind'][] = ['always', 'runtime', 'observed', 'args', 'caps', 'clone3', 'recorded-enosys', 'widened', 'enosys']

const hex = (v: bigint) => `0x${v.toString(16)}`

function mergeAbis(obs: Observation, syscalls: SyscallResolver): Map<string, Merged> {
  const out = new Map<string, Merged>()
  const unknown: string[] = []
  for (const [abi, a] of Object.entries(obs.abis)) {
    if (!a) continue
    const token = findArch(abi)?.token
    for (const [rawName, s] of Object.entries(a.syscalls) as Array<[string, SyscallObservation]>) {
      let name = rawName
      const nr = rawSyscallNr(rawName)
      if (nr !== null) {
        // strace did not know the number (an observation recorded before the kernel's table
        // was shipped, or a log from elsewhere): the table names it, else libseccomp may
        const known = syscallNameOf(abi, nr) ?? (token ? syscalls.name(nr, token) : null)
        if (!known) { unknown.push(`${rawName} (${abi})`); continue }
        name = known
      }
      const e: Merged = out.get(name) ?? {count: 0, errors: {}, args: new Map(), abis: new Set<string>()}
      e.count += s.count
      e.abis.add(abi)
      for (const [k, n] of Object.entries(s.errors ?? {})) e.errors[k] = (e.errors[k] ?? 0) + n
      for (const [k, v] of Object.entries(s.args ?? {})) {
        const idx = Number(k)
        const slot = e.args.get(idx) ?? {values: new Set<bigint>(), unknown: false}
        for (const x of v.values) slot.values.add(BigInt(x))
        if (v.unknown) slot.unknown = true
        e.args.set(idx, slot)
      }
      out.set(name, e)
    }
  }
  if (unknown.length) {
    throw new SeccompGenError('PROFILE_UNKNOWN_SYSCALL', `syscall numbers neither strace, the kernel's syscall table (profiles/syscalls) nor libseccomp can name: ${unknown.sort().join(', ')}`)
  }
  return out
}

/** Does libseccomp know `name` on at least one of `tokens`? */
function knownOnAny(syscalls: SyscallResolver, name: string, tokens: string[]): boolean {
  return tokens.some((t) => {
    const k = syscalls.lookup(name, t).kind
    return k === 'direct' || k === 'multiplexed'
  })
}

export function synthesize(obs: Observation, o: SynthesisOptions): Synthesis {
  const data = ruleData()
  const diagnostics: string[] = []
  const observed = mergeAbis(obs, o.syscalls)
  let totalCalls = 0
  for (const m of observed.values()) totalCalls += m.count
  if (observed.size === 0 || totalCalls === 0) {
    throw new SeccompGenError('OBSERVATION_INVALID', 'the input records no syscalls: nothing to build a profile from')
  }

  // Rule 7: architectures are the recorded ABIs plus --arch, in the arch table's order.
  const wanted = new Set<string>()
  for (const abi of Object.keys(obs.abis)) {
    const a = findArch(abi)
    if (!a) throw new SeccompGenError('OBSERVATION_INVALID', `unknown ABI ${abi} in the observation`)
    wanted.add(a.token)
  }
  for (const x of o.arches) {
    const a = findArch(x)
    if (!a) throw new SeccompGenError('USAGE', `unknown architecture ${x} (try ${abiNames().join(', ')})`)
    wanted.add(a.token)
  }
  const arches = archTable().map((a) => a.token).filter((t) => wanted.has(t))
  const abisInProfile = new Set(archTable().filter((a) => wanted.has(a.token)).map((a) => a.abi).filter(Boolean) as string[])

  // Rule 8: every recorded name must be a syscall of the ABI it was seen on, by the kernel's
  // table (profiles/syscalls, which knows syscalls newer than this libseccomp; apply/export
  // skip those with a warning) or by libseccomp. A name that exists on another listed ABI but
  // not on the one it was attributed to (an ABI switch strace did not announce, logs
  // concatenated with reused pids) is kept with a note.
  const bad: string[] = []
  const badOn = new Map<string, string[]>()
  for (const [name, m] of observed) {
    for (const abi of m.abis) {
      if (knownSyscall(abi, name)) continue
      const k = o.syscalls.lookup(name, findArch(abi)!.token).kind
      if (k === 'direct' || k === 'multiplexed') continue
      if (k === 'absent' && knownOnAny(o.syscalls, name, arches)) {
        diagnostics.push(`${name} was recorded on ${abi}, where it does not exist; kept for ${arches.filter((t) => knownOnAny(o.syscalls, name, [t])).join(', ')}`)
        continue
      }
      bad.push(`${name} (${abi})`)
      badOn.set(abi, [...(badOn.get(abi) ?? []), name])
    }
  }
  // a 32-bit program traced without strace's ABI lines: its own names give it away
  const i386Only = i386OnlyNames('x86_64', badOn.get('x86_64') ?? [])
  if (i386Only.length) throw unannouncedAbiError(`${i386Only.join(', ')} exist${i386Only.length === 1 ? 's' : ''} only on i386`, 'x86')
  if (bad.length) {
    throw new SeccompGenError('PROFILE_UNKNOWN_SYSCALL', `names neither the kernel's syscall table nor libseccomp know as syscalls of the recorded ABI: ${[...new Set(bad)].sort().join(', ')}`)
  }

  const drafts: Draft[] = []
  const placed = new Set<string>()
  const counted = (name: string) => `${name} ×${observed.get(name)?.count ?? 0}`
  const alsoObserved = (name: string) => (observed.has(name) ? ` (also recorded ×${observed.get(name)!.count})` : '')

  // Rule 3: always allowed.
  for (const a of data.always) {
    if (a.abis && !a.abis.some((x) => abisInProfile.has(x))) continue
    if (!knownOnAny(o.syscalls, a.name, arches)) continue
    drafts.push({name: a.name, action: 'SCMP_ACT_ALLOW', kind: 'always', why: `${a.name}${alsoObserved(a.name)}`})
    placed.add(a.name)
  }

  // Rule 6: runtime layer (unconditional: the runtime's own arguments were never recorded).
  const layer = runtimeSyscalls(o.runtimes, o.noNewPrivileges)
  for (const [name] of [...layer].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (placed.has(name)) continue
    if (!knownOnAny(o.syscalls, name, arches)) { diagnostics.push(`runtime layer name ${name} is unknown to libseccomp; skipped`); continue }
    drafts.push({name, action: 'SCMP_ACT_ALLOW', kind: 'runtime', why: `${name}${alsoObserved(name)}`})
    placed.add(name)
  }

  // Recorded syscalls: rules 4 (args), 5 (caps), and the all-ENOSYS case.
  const clone3Data = data.args.clone3
  const clone3Fenced = levelAtLeast(o.args, clone3Data.level)
  for (const name of [...observed.keys()].sort()) {
    if (placed.has(name)) continue
    const m = observed.get(name)!
    placed.add(name)
    if ((m.errors.ENOSYS ?? 0) >= m.count) {
      drafts.push({name, action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, kind: 'recorded-enosys', why: `${name}: all ${m.count} recorded calls returned ENOSYS, so the program runs without it`})
      continue
    }
    if (name === 'clone3' && clone3Fenced) {
      const cap = clone3Data.unlessCaps
      drafts.push({name, action: 'SCMP_ACT_ALLOW', includesCaps: cap, kind: 'clone3', why: `clone3 ×${m.count} recorded; allowed only with ${cap.join('+')}, answered ${clone3Data.errno} otherwise (next rule)`})
      drafts.push({name, action: 'SCMP_ACT_ERRNO', errnoRet: errnoNumber(clone3Data.errno) ?? ENOSYS, excludesCaps: cap, kind: 'clone3', why: `clone3 ×${m.count} recorded, answered ${clone3Data.errno} without ${cap.join('+')} (profiles/arg-rules.json clone3): ${clone3Data.reason}`})
      continue
    }
    const gate = data.caps.syscalls[name]
    if (gate) {
      for (const cap of gate.caps) {
        drafts.push({name, action: 'SCMP_ACT_ALLOW', includesCaps: [cap], kind: 'caps', why: `${counted(name)} (${gate.why})`})
      }
      continue
    }
    const rule = data.args.syscalls[name]
    if (rule && levelAtLeast(o.args, rule.level)) {
      const made = argDrafts(name, m, rule, diagnostics, abisInProfile)
      if (made) { drafts.push(...made); continue }
    }
    drafts.push({name, action: 'SCMP_ACT_ALLOW', kind: 'observed', why: counted(name)})
    const risk = riskOf(name)
    if (risk) diagnostics.push(`${name} was recorded and is allowed with any arguments; it is risky (${risk.cls}): ${risk.risk}`)
  }

  // clone3 answered ENOSYS: glibc then creates the thread or process with clone(2), which the
  // recording may never have seen. Allow clone without namespace flags (the fallback's flags).
  const c3 = observed.get('clone3')
  const cloneRule = data.args.syscalls.clone
  if (clone3Fenced && c3 && (c3.errors.ENOSYS ?? 0) < c3.count && !layer.has('clone') && cloneRule?.kind === 'ns-flags') {
    const have = drafts.some((d) => d.name === 'clone' && (d.kind === 'observed' ||
      (d.args?.[0]?.op === 'SCMP_CMP_MASKED_EQ' && d.args[0].valueTwo === 0n && !d.includesCaps)))
    if (!have) {
      drafts.push({
        name: 'clone', action: 'SCMP_ACT_ALLOW', kind: 'args',
        args: [{index: cloneRule.arg, value: BigInt(cloneRule.mask), valueTwo: 0n, op: 'SCMP_CMP_MASKED_EQ'}],
        why: `clone3 ×${c3.count} recorded and answered ENOSYS, so glibc falls back to clone: ${cloneRule.what} & ${cloneRule.mask} (${cloneRule.maskNames}) must be 0`,
      })
      placed.add('clone')
    }
  }

  const widened = o.widen ? widenDrafts(o.widen, o, {placed, arches}) : undefined
  if (widened) drafts.push(...widened.drafts)

  // Rule 2: ENOSYS for fallback probes that were not recorded (clone3 included).
  for (const f of data.enosys.syscalls) {
    if (placed.has(f.name)) continue
    if (!knownOnAny(o.syscalls, f.name, arches)) { diagnostics.push(`ENOSYS fallback ${f.name} is unknown to this libseccomp for ${arches.join(', ')}; left to the default action`); continue }
    drafts.push({name: f.name, action: 'SCMP_ACT_ERRNO', errnoRet: errnoNumber(data.enosys.errno) ?? ENOSYS, kind: 'enosys', why: f.name})
    placed.add(f.name)
  }
  // Runtime layers' ENOSYS probes (e.g. runc's faccessat2): EPERM there stops the container.
  for (const [name, rts] of [...runtimeEnosysProbes(o.runtimes, o.noNewPrivileges)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (placed.has(name) || !knownOnAny(o.syscalls, name, arches)) continue
    drafts.push({name, action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, kind: 'enosys', why: `${name} (probed by ${rts.join(', ')})`})
    placed.add(name)
  }
  const eperm = o.runtimes.filter((l) => l.ignoresErrnoRet).map((l) => l.runtime)
  const errnoDrafts = drafts.filter((d) => d.action === 'SCMP_ACT_ERRNO' && d.errnoRet !== undefined && d.errnoRet !== o.defaultErrno)
  if (eperm.length && errnoDrafts.length) {
    diagnostics.push(`${eperm.join(', ')} ignores errnoRet and answers EPERM: ${[...new Set(errnoDrafts.map((d) => d.name))].sort().join(', ')} will not get their errno there, and libc falls back only on ENOSYS`)
  }

  let rules = group(drafts, o, layerTitle(o))
  // --base: union an existing profile's rules in (architectures come from the recordings).
  for (const b of o.bases ?? []) {
    for (const r of b.profile.syscalls ?? []) {
      const c: SyscallRule = structuredClone(r)
      c.comment = `from base profile ${b.source}${r.comment ? `: ${r.comment}` : ''}`
      rules.push(c)
    }
  }
  if (o.bases?.length) {
    // Union: a name the base allows outright is not also answered with an errno by our rules
    // (the two unconditional rules would conflict in libseccomp).
    const open = new Set(rules.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args?.length && !r.includes && !r.excludes).flatMap((r) => r.names))
    rules = rules.flatMap((r) => {
      if (r.action === 'SCMP_ACT_ALLOW' || r.args?.length) return [r]
      const names = r.names.filter((n) => !open.has(n))
      if (names.length === r.names.length) return [r]
      return names.length ? [{...r, names}] : []
    })
  }
  // A rule whose action equals the default is redundant, and libseccomp rejects it (-EACCES).
  const isDefault = (r: SyscallRule) => r.action === o.defaultAction &&
    (r.action !== 'SCMP_ACT_ERRNO' || (r.errnoRet ?? 1) === o.defaultErrno)
  rules = rules.filter((r) => !isDefault(r))
  rules = dedupe(rules)

  const profile: DockerProfile = {defaultAction: o.defaultAction}
  if (o.defaultAction === 'SCMP_ACT_ERRNO') profile.defaultErrnoRet = o.defaultErrno
  profile.architectures = arches
  profile.syscalls = rules
  const allowed = new Set(rules.filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names))
  return {profile, diagnostics, stats: {observed: observed.size, allowed: allowed.size, rules: rules.length, arches},
    ...(widened ? {widened: {added: widened.added, skipped: widened.skipped}} : {})}
}

/**
 * --widen imports: allow what the programs' imports can reach and nothing recorded or placed
 * already covers. Never a syscall of a risky class (profiles/syscall-classes.json: only ever
 * allowed when recorded), nor a libc fallback probe (answered ENOSYS by rule 2, which is what
 * the caller handles). Argument rules apply as to a recorded call that recorded no values: an
 * exact value set (socket families, prctl options, ioctl requests) allows none, so the call
 * is left out, unless the candidate carries the values the kernel alone accepts there
 * (socketpair: AF_UNIX; libc-syscalls.json argValues); namespace flags must be 0 (libc's own fork/thread/spawn paths pass none); W^X
 * holds. Capability gates apply as to a recorded call.
 */
function widenDrafts(cands: WidenCandidate[], o: SynthesisOptions, at: {placed: Set<string>; arches: string[]}):
  {drafts: Draft[]; added: WidenCandidate[]; skipped: Array<{name: string; why: string}>} {
  const data = ruleData()
  const enosys = new Set(data.enosys.syscalls.map((f) => f.name))
  const drafts: Draft[] = []
  const added: WidenCandidate[] = []
  const skipped: Array<{name: string; why: string}> = []
  const byName = new Map<string, WidenCandidate[]>()
  for (const c of cands) byName.set(c.name, [...(byName.get(c.name) ?? []), c])
  for (const name of [...byName.keys()].sort()) {
    if (at.placed.has(name)) continue
    const c = byName.get(name)!.slice().sort((a, b) => (a.program < b.program ? -1 : a.program > b.program ? 1 : 0))[0]!
    const risk = riskOf(name)
    if (risk) { skipped.push({name, why: `risky (${risk.cls}): only allowed when recorded`}); continue }
    if (enosys.has(name)) { skipped.push({name, why: 'answered ENOSYS as a libc fallback probe (profiles/enosys-fallbacks.json)'}); continue }
    if (!knownOnAny(o.syscalls, name, at.arches)) { skipped.push({name, why: `not a syscall of ${at.arches.join(', ')}`}); continue }
    const from = `${name} (${c.program}${c.via ? ` via ${c.via}` : ''} imports ${c.import})`
    const gate = data.caps.syscalls[name]
    const rule = data.args.syscalls[c.argsOf ?? name]
    if (gate) {
      for (const cap of gate.caps) drafts.push({name, action: 'SCMP_ACT_ALLOW', includesCaps: [cap], kind: 'widened', why: `${from}, with ${cap} (${gate.why})`})
    } else if (rule && levelAtLeast(o.args, rule.level) && rule.kind === 'eq-set') {
      if (!c.values?.length || c.argsOf) {
        skipped.push({name, why: `its argument rule allows only recorded ${c.argsOf ? `${c.argsOf} ` : ''}${rule.what} values (profiles/arg-rules.json), and none were recorded`})
        continue
      }
      // values the kernel alone accepts for this call (build/widen.ts argValues): one rule each
      for (const v of c.values) {
        const n = BigInt(v.value)
        const arg: SeccompArg = rule.width === 32 ? {index: rule.arg, value: U32, valueTwo: n & U32, op: 'SCMP_CMP_MASKED_EQ'} : {index: rule.arg, value: n, op: 'SCMP_CMP_EQ'}
        drafts.push({name, action: 'SCMP_ACT_ALLOW', kind: 'widened', args: [arg], ...(rule.caps ? {includesCaps: rule.caps} : {}),
          why: `${from}, ${rule.what} ${v.name} only`})
      }
    } else if (rule && levelAtLeast(o.args, rule.level) && rule.kind === 'ns-flags') {
      drafts.push({name, action: 'SCMP_ACT_ALLOW', kind: 'widened', args: [{index: rule.arg, value: BigInt(rule.mask), valueTwo: 0n, op: 'SCMP_CMP_MASKED_EQ'}],
        why: `${from}, ${rule.what} & ${rule.mask} (${rule.maskNames}) must be 0`})
    } else if (rule && levelAtLeast(o.args, rule.level) && rule.kind === 'w-xor-x') {
      for (const bit of [rule.write, rule.exec]) {
        drafts.push({name, action: 'SCMP_ACT_ALLOW', kind: 'widened', args: [{index: rule.arg, value: BigInt(bit), valueTwo: 0n, op: 'SCMP_CMP_MASKED_EQ'}],
          why: `${from}, W^X: ${rule.what} without ${bit === rule.write ? 'PROT_WRITE' : 'PROT_EXEC'}`})
      }
    } else {
      drafts.push({name, action: 'SCMP_ACT_ALLOW', kind: 'widened', why: from})
    }
    at.placed.add(name)
    added.push(c)
  }
  return {drafts, added, skipped}
}

function layerTitle(o: SynthesisOptions): string {
  if (o.runtimes.length === 0) return ''
  return `${o.runtimes.map((l) => `${l.runtime} ${l.measured.version}`).join(' + ')}, no_new_privileges=${o.noNewPrivileges}`
}

/** Rule 4 for one recorded syscall; null when its values do not allow a rule (allow it whole). */
function argDrafts(name: string, m: Merged, rule: ArgRule, diagnostics: string[], abis: Set<string>): Draft[] | null {
  const slot = m.args.get(rule.arg)
  if (!slot || slot.values.size === 0) {
    diagnostics.push(`${name}: no ${rule.what} values recorded; allowed with any arguments`)
    return null
  }
  if (slot.unknown) {
    diagnostics.push(`${name}: some ${rule.what} values could not be read from the trace; allowed with any arguments`)
    return null
  }
  const odd = 'unsupportedAbis' in rule ? (rule.unsupportedAbis ?? []).filter((a) => m.abis.has(a)) : []
  if (odd.length) {
    diagnostics.push(`${name}: recorded on ${odd.join(', ')}, where its ${rule.what} is not argument ${rule.arg}; allowed with any arguments`)
    return null
  }
  const values = [...slot.values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const base = `${name} ×${m.count}`
  if ((name === 'socket' || name === 'socketpair') && abis.has('x86')) {
    diagnostics.push(`${name}: on SCMP_ARCH_X86 calls made through socketcall(2) cannot be filtered by family (libseccomp drops the comparison there)`)
  }
  switch (rule.kind) {
    case 'eq-set': {
      if (values.length > rule.maxValues) {
        diagnostics.push(`${name}: ${values.length} distinct ${rule.what} values recorded (more than ${rule.maxValues}); allowed with any value`)
        return null
      }
      // An int argument: the kernel reads the low 32 bits, whatever the caller's sign extension.
      const vals = rule.width === 32 ? [...new Set(values.map((v) => v & U32))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) : values
      return vals.map((v): Draft => {
        const arg: SeccompArg = rule.width === 32
          ? {index: rule.arg, value: U32, valueTwo: v, op: 'SCMP_CMP_MASKED_EQ'}
          : {index: rule.arg, value: v, op: 'SCMP_CMP_EQ'}
        return {
          name, action: 'SCMP_ACT_ALLOW', args: [arg], kind: 'args',
          ...(rule.caps ? {includesCaps: rule.caps} : {}),
          why: `${base}, ${rule.what} ${hex(v)} recorded`,
        }
      })
    }
    case 'ns-flags': {
      const mask = BigInt(rule.mask)
      const combos = [...new Set(values.map((v) => v & mask))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      return combos.map((c): Draft => ({
        name, action: 'SCMP_ACT_ALLOW', kind: 'args',
        args: [{index: rule.arg, value: mask, valueTwo: c, op: 'SCMP_CMP_MASKED_EQ'}],
        ...(c !== 0n ? {includesCaps: rule.capsForNamespaces} : {}),
        why: c === 0n
          ? `${base}, no namespace flags recorded: ${rule.what} & ${rule.mask} (${rule.maskNames}) must be 0`
          : `${base}, namespace flags ${hex(c)} recorded; opens only with ${rule.capsForNamespaces.join('+')}`,
      }))
    }
    case 'w-xor-x': {
      const w = BigInt(rule.write)
      const x = BigInt(rule.exec)
      if (values.some((v) => (v & w) !== 0n && (v & x) !== 0n)) {
        diagnostics.push(`${name}: a writable and executable mapping was recorded (a JIT?); W^X not enforced`)
        return null
      }
      return [
        {name, action: 'SCMP_ACT_ALLOW', kind: 'args', args: [{index: rule.arg, value: w, valueTwo: 0n, op: 'SCMP_CMP_MASKED_EQ'}],
          why: `${base}, W^X: no writable+executable ${rule.what} recorded; this rule allows ${rule.what} without PROT_WRITE`},
        {name, action: 'SCMP_ACT_ALLOW', kind: 'args', args: [{index: rule.arg, value: x, valueTwo: 0n, op: 'SCMP_CMP_MASKED_EQ'}],
          why: `${base}, W^X: no writable+executable ${rule.what} recorded; this rule allows ${rule.what} without PROT_EXEC`},
      ]
    }
  }
}

const argKey = (a?: SeccompArg[]) => (a ?? []).map((x) => `${x.index}:${x.op}:${x.value}:${x.valueTwo ?? ''}`).join(',')

/** Rule 9: one rule per (kind, action, errno, args, caps); names sorted; a comment saying why. */
function group(drafts: Draft[], o: SynthesisOptions, layer: string): SyscallRule[] {
  const groups = new Map<string, Draft[]>()
  for (const d of drafts) {
    // W^X rules for mmap and mprotect share args: group across names on identical args.
    const key = [d.kind, d.action, d.errnoRet ?? '', argKey(d.args), (d.includesCaps ?? []).join('+'), (d.excludesCaps ?? []).join('+')].join('|')
    const g = groups.get(key) ?? []
    g.push(d)
    groups.set(key, g)
  }
  const rules: Array<{rule: SyscallRule; sort: string}> = []
  for (const g of groups.values()) {
    const d = g[0]
    const names = [...new Set(g.map((x) => x.name))].sort()
    const whys = [...new Set(g.map((x) => x.why))].sort()
    const rule: SyscallRule = {names, action: d.action}
    if (d.errnoRet !== undefined) rule.errnoRet = d.errnoRet
    if (d.args) rule.args = d.args
    rule.comment = comment(d, whys, layer)
    if (d.includesCaps) rule.includes = {caps: d.includesCaps}
    if (d.excludesCaps) rule.excludes = {caps: d.excludesCaps}
    const sort = [
      String(KIND_ORDER.indexOf(d.kind)).padStart(2, '0'),
      String(restrictiveness(d.action)).padStart(2, '0'),
      names[0], (d.includesCaps ?? []).join('+'), (d.excludesCaps ?? []).join('+'),
      // numeric-aware arg ordering: pad values
      (d.args ?? []).map((x) => `${x.index}:${x.op}:${x.value.toString(16).padStart(16, '0')}:${(x.valueTwo ?? 0n).toString(16).padStart(16, '0')}`).join(','),
    ].join('|')
    rules.push({rule, sort})
  }
  void o
  return rules.sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0)).map((r) => r.rule)
}

function comment(d: Draft, whys: string[], layer: string): string {
  const list = whys.join(', ')
  switch (d.kind) {
    case 'always': return `always needed (exit paths and kernel-made calls a recording can miss; profiles/always-allowed.json): ${list}`
    case 'runtime': return `runtime layer ${layer}: called by the runtime after it loads this filter and before exec (profiles/runtimes/): ${list}`
    case 'observed': return `recorded: ${list}`
    case 'args': return `argument rule (profiles/arg-rules.json): ${list}`
    case 'caps': return `capability ${(d.includesCaps ?? []).join('+')} (profiles/capabilities.json): recorded ${list}`
    case 'clone3': return whys.join('; ')
    case 'recorded-enosys': return `answered ENOSYS as recorded: ${list}`
    case 'widened': return `widened: not recorded, reachable through an import (build --widen imports, profiles/libc-syscalls.json): ${list}`
    case 'enosys': return `ENOSYS fallback, not recorded: libc and runtimes fall back to an older syscall only on ENOSYS, EPERM breaks them (profiles/enosys-fallbacks.json): ${list}`
  }
}

function dedupe(rules: SyscallRule[]): SyscallRule[] {
  const seen = new Set<string>()
  return rules.filter((r) => {
    const k = JSON.stringify({...r, comment: undefined, args: argKey(r.args)})
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}
