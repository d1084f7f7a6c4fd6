/**
 * `validate`: schema errors (with JSON pointers) and lint warnings for profile files.
 * Errors make a profile invalid; warnings point at things that break programs or weaken
 * the filter but that a runtime would still load.
 */
import {readFileSync} from 'node:fs'
import {errnoWords} from '../errors.js'
import type {Observation} from '../trace/observation.js'
import {callRuns} from '../actions.js'
import {archTable, findArch} from '../arches.js'
import {requireErrno} from '../errno.js'
import {evaluate} from './evaluate.js'
import {riskOf} from './data.js'
import {profileFromJson} from './from-json.js'
import {profileData, type ProfileData, type ProfileFormat} from './load.js'
import {schemaProblems} from './schema.js'
import {knownSyscall, syscallNumber, tableKernel, type SyscallResolver} from '../syscall-table.js'
import type {DockerProfile, FilterCond} from './types.js'

export type WarningCode =
  | 'DEFAULT_ALLOW'
  | 'MISSING_EXIT_GROUP'
  | 'CLONE3_NOT_ENOSYS'
  | 'ARCH_NOT_RECORDED'
  | 'UNKNOWN_SYSCALL'
  | 'NEWER_SYSCALL'
  | 'RULE_EQUALS_DEFAULT'
  | 'SINGULAR_NAME'
  | 'REPEATED_ARG'
  | 'RISKY_SYSCALL'
  | 'CONTAINERD_OPENS_GATED'
  | 'CONTAINERD_DROPS_FIELD'

export interface Finding {pointer: string; message: string}
export interface Warning extends Finding {code: WarningCode}

export interface ValidationReport {
  file: string
  /**
   * The input's form, named as load.ts names it for diff and check: 'k8s' (a SeccompProfile),
   * 'bundle-config' (a runtime-spec config.json); else 'oci' when the profile is also plain
   * runtime-spec linux.seccomp, 'docker' when it is not, 'unknown' when it is no valid profile
   */
  format: ProfileFormat | 'unknown'
  valid: boolean
  errors: Finding[]
  warnings: Warning[]
}

export interface ValidateOptions {
  /** recordings the profile was built from (ARCH_NOT_RECORDED) */
  observations?: Observation[]
  /** the names the filter library can place (native/libseccomp.ts libseccompSyscalls) */
  syscalls: SyscallResolver
  /** containerd: warn on the Moby-only fields it drops silently (it reads plain OCI) */
  for?: 'containerd'
}

const ENOSYS = requireErrno('ENOSYS')

export function validateProfileFile(file: string, opts: ValidateOptions): ValidationReport {
  const report: ValidationReport = {file, format: 'unknown', valid: false, errors: [], warnings: []}
  let parsed: ProfileData
  try {
    parsed = profileData(readFileSync(file, 'utf8'), file)
  } catch (err) {
    const e = err as NodeJS.ErrnoException & {line?: number}
    report.errors.push({pointer: '', message: e.code && typeof e.code === 'string' && e.code.startsWith('E') ? `cannot read: ${errnoWords(e)}` : `${e.message}${e.line ? ` (line ${e.line})` : ''}`})
    return report
  }
  if (!parsed.k8s) return validateProfileData(parsed.data, file, opts)
  // the spec of a Kubernetes SeccompProfile is the profile
  const inner = validateProfileData(parsed.data, file, opts)
  const fix = <T extends {pointer: string}>(x: T): T => ({...x, pointer: `/spec${x.pointer}`})
  return {...inner, format: 'k8s', errors: inner.errors.map(fix), warnings: inner.warnings.map(fix)}
}

export function validateProfileData(data: unknown, file: string, opts: ValidateOptions): ValidationReport {
  // An OCI bundle's config.json: check its linux.seccomp, pointers prefixed accordingly.
  const cfg = data as {ociVersion?: unknown; linux?: {seccomp?: unknown}} | null
  if (cfg && typeof cfg === 'object' && typeof cfg.ociVersion === 'string') {
    if (!cfg.linux?.seccomp) {
      return {file, format: 'bundle-config', valid: false, errors: [{pointer: '/linux/seccomp', message: 'this runtime-spec config.json has no seccomp profile'}], warnings: []}
    }
    const inner = validateProfileData(cfg.linux.seccomp, file, opts)
    const fix = <T extends {pointer: string}>(x: T): T => ({...x, pointer: `/linux/seccomp${x.pointer}`})
    return {...inner, format: 'bundle-config', errors: inner.errors.map(fix), warnings: inner.warnings.map(fix)}
  }
  const report: ValidationReport = {file, format: 'unknown', valid: false, errors: [], warnings: []}
  const problems = schemaProblems(data, 'docker')
  if (problems.length) {
    report.errors = problems
    return report
  }
  const d = data as {architectures?: unknown[] | null; archMap?: unknown[] | null}
  if (d.architectures?.length && d.archMap?.length) {
    report.errors.push({pointer: '/archMap', message: 'architectures and archMap are mutually exclusive (Docker rejects such a profile)'})
    return report
  }
  report.format = schemaProblems(data, 'oci').length === 0 ? 'oci' : 'docker'
  let p: DockerProfile
  try {
    p = profileFromJson(data, file)
  } catch (err) {
    report.errors.push({pointer: '', message: (err as Error).message})
    return report
  }
  report.valid = true
  report.warnings = lint(p, data as {syscalls?: Array<Record<string, unknown>>}, opts)
  if (opts.for === 'containerd') report.warnings.push(...containerdWarnings(p))
  return report
}

/**
 * containerd (ctr, and its CRI plugin) unmarshals a profile as plain runtime-spec
 * linux.seccomp: includes, excludes, archMap and comment are dropped without a word, so every
 * rule applies to every container, a capability-gated ALLOW rule included. (The singular
 * `name` form, which matches nothing there, is SINGULAR_NAME for every consumer.)
 */
function containerdWarnings(p: DockerProfile): Warning[] {
  const w: Warning[] = []
  if (p.archMap?.length) {
    w.push({code: 'CONTAINERD_DROPS_FIELD', pointer: '/archMap', message: 'containerd drops archMap: with no architectures its filter covers the native ABI only (list them in "architectures")'})
  }
  const gate = (c: FilterCond) => [c.caps?.length ? c.caps.join('+') : '', c.arches?.length ? `arch ${c.arches.join('/')}` : '', c.minKernel ? `kernel >= ${c.minKernel}` : ''].filter(Boolean).join(', ')
  const commented: number[] = []
  ;(p.syscalls ?? []).forEach((r, i) => {
    const names = r.names.length > 4 ? `${r.names.slice(0, 4).join(', ')} and ${r.names.length - 4} more` : r.names.join(', ')
    if (r.includes) {
      const opens = r.action === 'SCMP_ACT_ALLOW' && r.includes.caps?.length
      w.push(opens
        ? {code: 'CONTAINERD_OPENS_GATED', pointer: `/syscalls/${i}/includes`, message: `containerd drops includes: this ALLOW rule opens ${names} to every container, not only those with ${gate(r.includes)}; build --for containerd resolves capabilities`}
        : {code: 'CONTAINERD_DROPS_FIELD', pointer: `/syscalls/${i}/includes`, message: `containerd drops includes (${gate(r.includes)}): this ${r.action} rule for ${names} applies unconditionally`})
    }
    if (r.excludes) {
      w.push({code: 'CONTAINERD_DROPS_FIELD', pointer: `/syscalls/${i}/excludes`, message: `containerd drops excludes (${gate(r.excludes)}): this ${r.action} rule for ${names} applies to those containers too`})
    }
    if (r.comment) commented.push(i)
  })
  if (commented.length) {
    w.push({code: 'CONTAINERD_DROPS_FIELD', pointer: `/syscalls/${commented[0]}/comment`, message: `containerd drops comment (${commented.length} rule(s)): harmless, but the reasons are not in what it keeps`})
  }
  return w
}

function lint(p: DockerProfile, raw: {syscalls?: Array<Record<string, unknown>> | null}, opts: ValidateOptions): Warning[] {
  const w: Warning[] = []
  const rules = p.syscalls ?? []
  if (callRuns(p.defaultAction)) {
    w.push({code: 'DEFAULT_ALLOW', pointer: '/defaultAction', message: `default action ${p.defaultAction} lets every unlisted syscall through`})
  } else {
    if (!rules.some((r) => r.action === 'SCMP_ACT_ALLOW' && r.names.includes('exit_group') && !r.args?.length && !r.includes)) {
      w.push({code: 'MISSING_EXIT_GROUP', pointer: '/syscalls', message: 'exit_group is not allowed unconditionally: every process exit crashes or spins'})
    }
    // What does a container without extra capabilities get for clone3?
    const host = hostOf(p)
    const v = evaluate(p, host, 'clone3', [], {host, caps: []})
    if (v.action !== 'SCMP_ACT_ALLOW' && !(v.action === 'SCMP_ACT_ERRNO' && v.errno === ENOSYS)) {
      w.push({code: 'CLONE3_NOT_ENOSYS', pointer: '/syscalls', message: `clone3 gets ${v.action}${v.errno !== undefined ? ` errno ${v.errno}` : ''} instead of ENOSYS: glibc >= 2.34 only falls back to clone on ENOSYS`})
    }
  }
  const defErr = p.defaultErrnoRet ?? 1
  rules.forEach((r, i) => {
    if (r.action === p.defaultAction && (r.action !== 'SCMP_ACT_ERRNO' || (r.errnoRet ?? 1) === defErr)) {
      w.push({code: 'RULE_EQUALS_DEFAULT', pointer: `/syscalls/${i}`, message: `rule has the default action ${r.action}; libseccomp rejects it (EACCES) and runtimes skip it`})
    }
    const idx = (r.args ?? []).map((a) => a.index)
    if (new Set(idx).size !== idx.length) {
      w.push({code: 'REPEATED_ARG', pointer: `/syscalls/${i}/args`, message: 'two comparisons on the same argument in one rule: libseccomp rejects it (EINVAL); write one rule per comparison'})
    }
    if (raw.syscalls?.[i] && 'name' in raw.syscalls[i]) {
      w.push({code: 'SINGULAR_NAME', pointer: `/syscalls/${i}/name`, message: 'the singular "name" form is Moby-only: plain OCI consumers (containerd/ctr) match nothing with it; use "names"'})
    }
  })
  // Risky syscalls allowed with no argument rule and no capability gate.
  const risky = new Map<string, number>()
  rules.forEach((r, i) => {
    if (r.action !== 'SCMP_ACT_ALLOW' || r.args?.length || r.includes?.caps?.length || r.excludes?.caps?.length) return
    for (const n of r.names) if (riskOf(n) && !risky.has(n)) risky.set(n, i)
  })
  for (const [n, i] of [...risky].sort()) {
    const k = riskOf(n)!
    w.push({code: 'RISKY_SYSCALL', pointer: `/syscalls/${i}/names`, message: `${n} (${k.cls}) is allowed without an argument rule or capability gate: ${k.risk}`})
  }
  // Names libseccomp does not know on any arch it supports (arch-specific names such as
  // arm_fadvise64_64 in a multi-arch profile are fine: runtimes skip them where absent).
  // Those the kernel's table defines for one of the profile's ABIs are only newer than this
  // libseccomp: a softer NEWER_SYSCALL.
  const tokens = supportedArches(opts.syscalls)
  const abis = profileAbis(p)
  const unknown = new Map<string, number>()
  rules.forEach((r, i) => {
    for (const n of r.names) {
      const known = tokens.some((t) => {
        const k = opts.syscalls.lookup(n, t).kind
        return k === 'direct' || k === 'multiplexed'
      })
      if (!known && !unknown.has(n)) unknown.set(n, i)
    }
  })
  for (const [n, i] of [...unknown].sort()) {
    const abi = abis.find((a) => knownSyscall(a, n))
    if (abi) {
      w.push({code: 'NEWER_SYSCALL', pointer: `/syscalls/${i}/names`, message: `${n} is a syscall of Linux ${tableKernel(abi)} (${abi} ${syscallNumber(abi, n)}) that this libseccomp cannot name yet: runtimes built with it skip it, apply and export skip it with a warning`})
    } else {
      w.push({code: 'UNKNOWN_SYSCALL', pointer: `/syscalls/${i}/names`, message: `${n} is not a syscall this libseccomp knows on any architecture: runtimes skip it silently`})
    }
  }
  if (opts.observations?.length && p.architectures?.length) {
    const seen = new Set<string>()
    for (const o of opts.observations) for (const abi of Object.keys(o.abis)) { const t = findArch(abi)?.token; if (t) seen.add(t) }
    p.architectures.forEach((a, i) => {
      if (!seen.has(a)) w.push({code: 'ARCH_NOT_RECORDED', pointer: `/architectures/${i}`, message: `${a} was never seen in the recordings: it opens an ABI the program does not use`})
    })
  }
  return w
}

function hostOf(p: DockerProfile): string {
  const here = findArch(process.arch)?.token ?? 'SCMP_ARCH_X86_64'
  if (p.architectures?.length && !p.architectures.includes(here)) return p.architectures[0]
  return here
}

/** The observation ABIs of the profile's architectures (archMap included); every one when it lists none. */
function profileAbis(p: DockerProfile): string[] {
  const names = [...(p.architectures ?? []), ...(p.archMap ?? []).flatMap((m) => [m.architecture, ...(m.subArchitectures ?? [])])]
  const abis = names.map((a) => findArch(a)?.abi).filter((a): a is string => a !== undefined)
  return abis.length ? [...new Set(abis)] : archTable().map((a) => a.abi).filter((a): a is string => a !== undefined)
}

const supported = new WeakMap<SyscallResolver, string[]>()
/** The arch tokens this library can resolve names for. */
function supportedArches(syscalls: SyscallResolver): string[] {
  let tokens = supported.get(syscalls)
  if (!tokens) {
    tokens = archTable().map((a) => a.token).filter((t) => {
      try { syscalls.lookup('read', t); return true } catch { return false }
    })
    supported.set(syscalls, tokens)
  }
  return tokens
}
