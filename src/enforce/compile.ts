/**
 * Compile a resolved profile (plain OCI linux.seccomp: caps and archMap already resolved by
 * src/profile/resolve.ts toOci) into a libseccomp filter, and export it as BPF or PFC.
 *
 * The rules follow what runc does with the same profile, so a filter we load or export
 * behaves as the runtimes would:
 * - arches are added before any rule; the native arch is removed when the profile does not
 *   list it; no `architectures` means the native arch only;
 * - a rule whose action (with its errno) equals the default action is skipped (libseccomp
 *   rejects it with EACCES, and it changes nothing);
 * - several comparisons on the same argument index cannot go in one libseccomp rule (EINVAL):
 *   like runc, such a rule is split into one rule per comparison (their OR);
 * - names libseccomp cannot place on any of the filter's arches are skipped and reported
 *   (runtimes skip them silently). Those the kernel's syscall table (src/syscall-table.ts)
 *   defines for one of the arches are syscalls newer than this libseccomp: newerNames, one
 *   warning; the rest are unknownNames, which `apply` makes a pre-flight error;
 * - errnoRet missing on an ERRNO/TRACE action means EPERM, as in runc.
 * Kernel load flags (`flags`) are not part of the program: they are returned as loadFlags.
 */
import {closeSync, fstatSync, readSync} from 'node:fs'
import {SeccompGenError} from '../errors.js'
import {requireErrno} from '../errno.js'
import type {OciSeccomp, SeccompAction, SeccompArg} from '../profile/types.js'
import {SECCOMP_FILTER_FLAGS, memfd} from '../../native/libc.js'
import {
  BPF_INSN_SIZE,
  SeccompFilter,
  actionValue,
  archNameOfToken,
  libseccompVersion,
  lookupSyscall,
  nativeArchToken,
  rawSyscallNumber,
  requireArchToken,
} from '../../native/libseccomp.js'
import {knownSyscall} from '../syscall-table.js'
import {archProfileName} from '../arches.js'

export interface CompileOptions {
  /** binary-tree syscall dispatch (SCMP_FLTATR_CTL_OPTIMIZE=2) instead of libseccomp's linear default */
  optimize?: boolean
  /** recorded call counts by syscall name: frequent calls are tested first (seccomp_syscall_priority) */
  counts?: Record<string, number>
  /** calls of arches not in the filter are notified too (apply --complain/--explain), not killed */
  notifyBadArch?: boolean
}

export type NoteKind = 'unknown-name' | 'newer-syscall' | 'same-as-default' | 'split-args' | 'conflict' | 'multiplexed-args' | 'flag'

/**
 * Notes worth a line even without -v: rules that contradict each other, and syscalls the
 * kernel defines but this libseccomp cannot name (skipped, as runc does).
 */
const WARNING_NOTES: ReadonlySet<NoteKind> = new Set(['conflict', 'newer-syscall'])

export interface CompileNote {
  kind: NoteKind
  message: string
}

/** A compile's notes as the commands print them: warnings (WARNING_NOTES) always, the rest with -v. */
export function splitNotes(notes: readonly CompileNote[]): {notes: string[]; warnings: string[]} {
  return {
    notes: notes.filter((n) => !WARNING_NOTES.has(n.kind)).map((n) => n.message),
    warnings: notes.filter((n) => WARNING_NOTES.has(n.kind)).map((n) => n.message),
  }
}

export interface CompiledFilter {
  filter: SeccompFilter
  /** the filter's arches, profile spelling, native first when present */
  arches: string[]
  /** SECCOMP_FILTER_FLAG_* bits the profile asks for at load time */
  loadFlags: number
  /** names that exist on none of the filter's arches (skipped) */
  unknownNames: string[]
  /** names the kernel defines for one of the filter's arches but this libseccomp cannot place (skipped) */
  newerNames: string[]
  /** libseccomp rules added (after splitting) */
  rulesAdded: number
  /**
   * names given two different unconditional actions by different rules: libseccomp keeps one
   * of them without saying which, so the profile does not mean one thing
   */
  conflicts: Array<{name: string; actions: string[]}>
  notes: CompileNote[]
}

/** The action a rule or the default means, as one comparable number. */
function effectiveAction(action: SeccompAction, errnoRet?: number): number {
  return actionValue(action, errnoRet)
}

/** Group comparisons as libseccomp can take them: one rule, or (same index twice) one per comparison. */
export function splitRepeatedArgs(args: readonly SeccompArg[] | undefined): SeccompArg[][] {
  if (!args || args.length === 0) return [[]]
  const seen = new Set<number>()
  let repeated = false
  for (const a of args) {
    if (seen.has(a.index)) repeated = true
    seen.add(a.index)
  }
  return repeated ? args.map((a) => [a]) : [[...args]]
}

/** Kernel load flags named by the profile (unknown names are an error). */
function loadFlagsOf(flags: readonly string[] | undefined): number {
  let bits = 0
  for (const f of flags ?? []) {
    const b = SECCOMP_FILTER_FLAGS[f]
    if (b === undefined) throw new SeccompGenError('PROFILE_INVALID', `unknown seccomp flag ${JSON.stringify(f)} (known: ${Object.keys(SECCOMP_FILTER_FLAGS).join(', ')})`)
    bits |= b
  }
  return bits
}

/** seccomp_syscall_priority values from counts: the most frequent 255, the next 254, … (ties equal). */
function prioritiesOf(counts: Record<string, number>): Map<string, number> {
  const distinct = [...new Set(Object.values(counts).filter((c) => c > 0))].sort((a, b) => b - a)
  const rank = new Map(distinct.map((c, i) => [c, Math.max(1, 255 - i)]))
  return new Map(Object.entries(counts).filter(([, c]) => c > 0).map(([n, c]) => [n, rank.get(c)!]))
}

/** Build a libseccomp filter from a resolved profile. The caller must release() it. */
function compileProfile(profile: OciSeccomp, opts: CompileOptions = {}): CompiledFilter {
  const defAct = effectiveAction(profile.defaultAction, profile.defaultErrnoRet)
  const notes: CompileNote[] = []
  const native = nativeArchToken()
  const listed = (profile.architectures ?? []).map((a) => requireArchToken(a))
  const tokens = listed.length ? [...new Set(listed)] : [native]
  const loadFlags = loadFlagsOf(profile.flags)

  const filter = new SeccompFilter(defAct)
  try {
    for (const t of tokens) if (t !== native) filter.addArch(t)
    if (!tokens.includes(native)) filter.removeArch(native)
    if (loadFlags & SECCOMP_FILTER_FLAGS.SECCOMP_FILTER_FLAG_LOG!) filter.setAttr('CTL_LOG', 1)
    if (loadFlags & SECCOMP_FILTER_FLAGS.SECCOMP_FILTER_FLAG_SPEC_ALLOW!) filter.setAttr('CTL_SSB', 1)
    if (opts.optimize) filter.setAttr('CTL_OPTIMIZE', 2)
    if (opts.notifyBadArch) filter.setAttr('ACT_BADARCH', actionValue('SCMP_ACT_NOTIFY'))

    const unknown = new Set<string>()
    let skippedDefault = 0
    let split = 0
    let rulesAdded = 0
    const prioritized = new Set<number>()
    const priorities = prioritiesOf(opts.counts ?? {})
    const unconditional = new Map<string, Map<number, string>>()
    const multiplexedArgs = new Set<string>()
    for (const [i, rule] of (profile.syscalls ?? []).entries()) {
      const act = effectiveAction(rule.action, rule.errnoRet)
      if (act === defAct) {
        skippedDefault++
        continue
      }
      const groups = splitRepeatedArgs(rule.args)
      if (groups.length > 1) split++
      const label = `${rule.action}${rule.action === 'SCMP_ACT_ERRNO' || rule.action === 'SCMP_ACT_TRACE' ? `(${rule.errnoRet ?? 1})` : ''} (syscalls[${i}])`
      for (const name of rule.names) {
        if (!rule.args?.length) {
          const seen = unconditional.get(name) ?? new Map<number, string>()
          if (!seen.has(act)) seen.set(act, label)
          unconditional.set(name, seen)
        }
        const placed = tokens.some((t) => {
          const k = lookupSyscall(name, t).kind
          return k === 'direct' || k === 'multiplexed'
        })
        if (!placed) {
          unknown.add(name)
          continue
        }
        if (rule.args?.length && tokens.some((t) => lookupSyscall(name, t).kind === 'multiplexed')) multiplexedArgs.add(name)
        const nr = rawSyscallNumber(name, native)
        for (const g of groups) {
          filter.addRule(act, nr, g, `syscalls[${i}] ${name}${g.length ? ` with ${g.length} argument comparison(s)` : ''}`)
          rulesAdded++
        }
        const priority = priorities.get(name)
        if (priority !== undefined && nr >= 0 && !prioritized.has(nr)) {
          filter.setPriority(nr, priority)
          prioritized.add(nr)
        }
      }
    }
    if (skippedDefault) notes.push({kind: 'same-as-default', message: `${skippedDefault} rule(s) with the default action skipped`})
    if (split) notes.push({kind: 'split-args', message: `${split} rule(s) with several comparisons on one argument split into one rule per comparison`})
    const newer = [...unknown].filter((n) => tokens.some((t) => knownSyscall(archNameOfToken(t) ?? '', n))).sort()
    for (const n of newer) unknown.delete(n)
    if (newer.length) {
      const v = libseccompVersion()
      notes.push({kind: 'newer-syscall', message: `skipped ${newer.length} syscall(s) this libseccomp (${v.major}.${v.minor}.${v.micro}) cannot name: ${newer.join(' ')}`})
    }
    if (unknown.size) {
      const archNames = tokens.map((t) => archNameOfToken(t) ?? `0x${t.toString(16)}`).join(', ')
      const never = [...unknown].filter((n) => lookupSyscall(n, native).kind === 'unknown').sort()
      const absent = [...unknown].filter((n) => !never.includes(n)).sort()
      if (never.length) notes.push({kind: 'unknown-name', message: `skipped ${never.length} name(s) libseccomp does not know: ${never.join(' ')}`})
      if (absent.length) notes.push({kind: 'unknown-name', message: `skipped ${absent.length} name(s) that do not exist on ${archNames}: ${absent.join(' ')}`})
    }
    if (multiplexedArgs.size) {
      notes.push({
        kind: 'multiplexed-args',
        message: `argument checks on ${[...multiplexedArgs].sort().join(' ')} cannot see through socketcall(2)/ipc(2) on ${tokens.filter((t) => [...multiplexedArgs].some((n) => lookupSyscall(n, t).kind === 'multiplexed')).map((t) => archNameOfToken(t)).join(', ')}: there the multiplexed call is matched by its call number only`,
      })
    }
    const conflicts = [...unconditional].filter(([, acts]) => acts.size > 1).map(([name, acts]) => ({name, actions: [...acts.values()]}))
    if (conflicts.length) {
      notes.push({kind: 'conflict', message: `conflicting rules, libseccomp keeps one of them: ${conflicts.map((c) => `${c.name}: ${c.actions.join(' vs ')}`).join('; ')}`})
    }
    const arches = [...tokens].sort((a, b) => (a === native ? -1 : b === native ? 1 : 0)).map((t) => archProfileName(archNameOfToken(t) ?? String(t)))
    return {filter, arches, loadFlags, unknownNames: [...unknown].sort(), newerNames: newer, rulesAdded, conflicts, notes}
  } catch (err) {
    filter.release()
    throw err
  }
}

/** Actions that deny the call (a kill, a signal, an error) and so become SCMP_ACT_NOTIFY in notifyVariant(). */
const DENYING: ReadonlySet<SeccompAction> = new Set(['SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO'])

/** Does a rule with this action deny its call? ERRNO(ENOSYS) answers rather than denies (see notifyVariant). */
export function ruleDenies(action: SeccompAction, errnoRet?: number): boolean {
  return DENYING.has(action) && !(action === 'SCMP_ACT_ERRNO' && errnoRet === requireErrno('ENOSYS'))
}

/**
 * Does this default action deny? Unlike a rule, a default of ERRNO(ENOSYS) denies too: it is not
 * a fallback probe of one syscall but the answer to every call no rule names.
 */
export function defaultDenies(action: SeccompAction): boolean {
  return DENYING.has(action)
}

/**
 * The profile for apply --complain/--explain: every denying action (the default and the rules)
 * becomes SCMP_ACT_NOTIFY, so a supervisor sees the call and answers it. An ERRNO(ENOSYS) rule
 * keeps its answer: it answers rather than denies ("not implemented": the fallback probes of
 * profiles/enosys-fallbacks.json, clone3 first, go on to their older call). ALLOW and LOG rules
 * stay as they are, so the calls the profile allows cost what they cost under plain apply.
 * TRACE stays too (without a tracer it fails the call with ENOSYS, an answer as well).
 */
export function notifyVariant(profile: OciSeccomp): OciSeccomp {
  const out: OciSeccomp = {...profile, syscalls: (profile.syscalls ?? []).map((r) => (ruleDenies(r.action, r.errnoRet) ? {...r, action: 'SCMP_ACT_NOTIFY' as const, errnoRet: undefined} : r))}
  if (defaultDenies(profile.defaultAction)) {
    out.defaultAction = 'SCMP_ACT_NOTIFY'
    delete out.defaultErrnoRet
  }
  return out
}

function readAll(fd: number): Buffer {
  const size = fstatSync(fd).size
  const buf = Buffer.alloc(size)
  let off = 0
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, off)
    if (n <= 0) break
    off += n
  }
  return buf.subarray(0, off)
}

function exportVia(filter: SeccompFilter, kind: 'bpf' | 'pfc'): Buffer {
  const fd = memfd(`seccomp-gen-${kind}`)
  try {
    if (kind === 'bpf') filter.exportBpfToFd(fd)
    else filter.exportPfcToFd(fd)
    return readAll(fd)
  } finally {
    closeSync(fd)
  }
}

export interface ExportedFilter extends Omit<CompiledFilter, 'filter'> {
  /** raw BPF (struct sock_filter[]) as the kernel and `bwrap --seccomp` take it */
  bpf: Buffer
  instructions: number
}

/** Compile and export raw BPF. */
export function compileBpf(profile: OciSeccomp, opts: CompileOptions = {}): ExportedFilter {
  const c = compileProfile(profile, opts)
  try {
    const bpf = exportVia(c.filter, 'bpf')
    const {filter: _f, ...rest} = c
    return {...rest, bpf, instructions: bpf.length / BPF_INSN_SIZE}
  } finally {
    c.filter.release()
  }
}

/** Compile and export libseccomp's pseudo filter code (PFC) text, plus the BPF size. */
export function compilePfc(profile: OciSeccomp, opts: CompileOptions = {}): Omit<CompiledFilter, 'filter'> & {pfc: string; instructions: number} {
  const c = compileProfile(profile, opts)
  try {
    const pfc = exportVia(c.filter, 'pfc').toString('utf8')
    const instructions = exportVia(c.filter, 'bpf').length / BPF_INSN_SIZE
    const {filter: _f, ...rest} = c
    return {...rest, pfc, instructions}
  } finally {
    c.filter.release()
  }
}
