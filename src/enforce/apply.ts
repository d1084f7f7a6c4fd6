/**
 * `seccomp-gen apply PROFILE -- CMD…`: pre-flight, compile, and run CMD under the filter.
 *
 * Everything that can fail is done here in the parent, before anything runs: the profile is
 * read and validated, resolved for the capability set and this host, checked (it must let CMD
 * start, every name must exist for the arch, no action apply cannot serve), compiled by
 * libseccomp to BPF, and CMD is looked up in PATH. The exec child (native/exec-child.ts) then
 * only fixes its stdio and signal state, loads the program with one seccomp(2) call on its
 * main thread and execs CMD.
 */
import {SeccompGenError} from '../errors.js'
import {loadProfile} from '../profile/load.js'
import {callerIgnores} from '../caller.js'
import {inTerminalForeground, shellStatus} from '../shell.js'
import {toOci} from '../profile/resolve.js'
import {evaluate} from '../profile/evaluate.js'
import {callRuns} from '../actions.js'
import type {OciSeccomp} from '../profile/types.js'
import {compileBpf, notifyVariant, splitNotes} from './compile.js'
import {GATE_FD, spawnAsCaller, type ExecFailure} from '../../native/exec.js'
import {SECCOMP_FILTER_FLAGS} from '../../native/libc.js'
import {nativeArch, nativeArchToken, rawSyscallNumber, archToken, libseccompVersion} from '../../native/libseccomp.js'
import {release} from 'node:os'
import {superviseChild, type Supervision} from './supervise-child.js'
import {archShortName} from '../arches.js'
import {dockerDefaultCaps, rulesClosedByCaps, type ClosedRule} from './caps.js'

export interface PrepareOptions {
  /** capability set the rules' includes/excludes.caps are resolved against; default Docker's */
  caps?: string[]
  /** binary-tree dispatch (SCMP_FLTATR_CTL_OPTIMIZE=2) */
  optimize?: boolean
  /** skip names libseccomp cannot place on the filter's arches (as runc does) instead of failing */
  allowUnknown?: boolean
  /** recorded call counts by name: frequent calls are tested first (seccomp_syscall_priority) */
  counts?: Record<string, number>
  /** apply --complain/--explain: compile the notify variant (denying actions notify a supervisor) */
  notify?: boolean
}

export interface PreparedFilter {
  profile: OciSeccomp
  bpf: Buffer
  instructions: number
  loadFlags: number
  seccompNr: number
  arches: string[]
  notes: string[]
  /** worth saying even without -v (compile.ts splitNotes) */
  warnings: string[]
  /** allowing rules the capability set leaves closed (caps.ts rulesClosedByCaps) */
  closedByCaps: ClosedRule[]
}

/** This host's ABI as observation files name it ("x86_64"). */
export function nativeArchAbi(): string {
  return archShortName(nativeArch())
}

/** Read, validate, resolve and check a profile for apply; throws with one clear message. */
function preflight(profilePath: string, opts: PrepareOptions = {}): {profile: OciSeccomp; notes: string[]; closedByCaps: ClosedRule[]} {
  const docker = loadProfile(profilePath)
  const caps = opts.caps ?? dockerDefaultCaps()
  const profile = toOci(docker, {caps})
  const notes: string[] = []
  const where = {file: profilePath}

  const native = nativeArch()
  const listed = (profile.architectures ?? []).map((a) => archToken(a))
  if (listed.length && !listed.includes(nativeArchToken())) {
    throw new SeccompGenError('PROFILE_DENIES_EXEC', `the profile does not list this host's arch ${native} (${(profile.architectures ?? []).join(', ')}): CMD could never start`, where)
  }
  const exec = evaluate(profile, native, 'execve', [], {host: native}).action
  if (!callRuns(exec)) {
    throw new SeccompGenError('PROFILE_DENIES_EXEC', `the profile answers execve with ${exec}: CMD could never start (allow execve)`, where)
  }
  if (profile.defaultAction === 'SCMP_ACT_NOTIFY') {
    throw new SeccompGenError('PROFILE_INVALID', 'default action SCMP_ACT_NOTIFY needs a user-space listener; apply cannot serve one', where)
  }
  for (const r of profile.syscalls ?? []) {
    if (r.action === 'SCMP_ACT_NOTIFY') {
      throw new SeccompGenError('PROFILE_INVALID', `SCMP_ACT_NOTIFY (${r.names.slice(0, 3).join(', ')}…) needs a user-space listener; apply cannot serve one`, where)
    }
  }
  const flags = new Set(profile.flags ?? [])
  if (flags.has('SECCOMP_FILTER_FLAG_NEW_LISTENER')) {
    throw new SeccompGenError('PROFILE_INVALID', 'flag SECCOMP_FILTER_FLAG_NEW_LISTENER needs a user-space listener; apply cannot serve one', where)
  }
  for (const f of ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_TSYNC_ESRCH']) {
    if (flags.has(f)) {
      notes.push(`${f} ignored: the filter is loaded by a single thread that execs at once`)
      flags.delete(f)
    }
  }
  if (profile.flags) profile.flags = [...flags]
  return {profile, notes, closedByCaps: rulesClosedByCaps(docker, {caps})}
}

/** Pre-flight and compile: everything apply needs before it spawns anything. */
export function prepareFilter(profilePath: string, opts: PrepareOptions = {}): PreparedFilter {
  const {profile, notes, closedByCaps} = preflight(profilePath, opts)
  if (opts.notify) requireNotifySupport()
  const c = compileBpf(opts.notify ? notifyVariant(profile) : profile, {optimize: opts.optimize, counts: opts.counts, notifyBadArch: opts.notify})
  if (c.unknownNames.length && !opts.allowUnknown) {
    throw new SeccompGenError(
      'PROFILE_UNKNOWN_SYSCALL',
      `${c.unknownNames.length} syscall name(s) do not exist for ${c.arches.join(', ')} in libseccomp: ${c.unknownNames.join(' ')} (--allow-unknown skips them, as runc does)`,
      {file: profilePath},
    )
  }
  const seccompNr = rawSyscallNumber('seccomp', nativeArchToken())
  if (seccompNr < 0) throw new SeccompGenError('SECCOMP_ERROR', 'this arch has no seccomp(2) syscall known to libseccomp')
  const split = splitNotes(c.notes)
  return {
    profile,
    bpf: c.bpf,
    instructions: c.instructions,
    loadFlags: c.loadFlags,
    seccompNr,
    arches: c.arches,
    notes: [...notes, ...split.notes],
    warnings: split.warnings,
    closedByCaps,
  }
}

/**
 * Why this host cannot serve apply --complain/--explain, or undefined: the filter's listener
 * (SCMP_ACT_NOTIFY, libseccomp API level 5, Linux 5.0), CONTINUE answers (Linux 5.5) and
 * pidfd_getfd to take the listener out of the exec child (Linux 5.6).
 */
export function notifySupportProblem(kernel: string, libseccompApi: number): string | undefined {
  const m = /^(\d+)\.(\d+)/.exec(kernel)
  const [major, minor] = m ? [Number(m[1]), Number(m[2])] : [0, 0]
  if (major < 5 || (major === 5 && minor < 6)) return `this kernel (${kernel}) cannot serve --complain/--explain: seccomp user notification with CONTINUE answers and pidfd_getfd need Linux 5.6 or later`
  if (libseccompApi < 5) return `libseccomp reports API level ${libseccompApi} on this kernel (${kernel}): no seccomp user notification (SCMP_ACT_NOTIFY needs level 5)`
  return undefined
}

function requireNotifySupport(): void {
  const problem = notifySupportProblem(release(), libseccompVersion().api)
  if (problem) throw new SeccompGenError('SECCOMP_ERROR', problem)
}

export interface RunResult {
  /** the exit status to report: CMD's code, or 128+signal; 4/126/127 when CMD never started */
  status: number
  code: number | null
  signal: NodeJS.Signals | null
  /** set when CMD never started: the exec child's report (filter not loaded, or execve failed) */
  failure?: ExecFailure
  /** --complain/--explain: a process CMD started was still running under the filter when CMD ended */
  leftRunning?: boolean
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']
/** Signals a terminal sends to its whole foreground process group (CMD has it already). */
const TERMINAL_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(['SIGINT', 'SIGQUIT'])

/**
 * Run CMD (already found, argv[0] as typed) under the prepared filter with stdio inherited and
 * the caller's ignored signals and open-files limit (native/exec.ts); resolves when CMD ends.
 * SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to this process are forwarded to CMD, except:
 * - one the caller ignored (`nohup` and SIGHUP): apply ignores it too, as CMD does;
 * - SIGINT/SIGQUIT while we are the terminal's foreground group: Ctrl-C has then reached CMD
 *   (same process group) already, and forwarding would deliver it twice.
 */
export function runUnderFilter(prep: PreparedFilter, cmdPath: string, argv: string[], supervise?: Supervision): Promise<RunResult> {
  const flags = prep.loadFlags & ~SECCOMP_FILTER_FLAGS.SECCOMP_FILTER_FLAG_TSYNC!
  const filter = supervise
    ? {bpf: prep.bpf.toString('base64'), flags: flags | SECCOMP_FILTER_FLAGS.SECCOMP_FILTER_FLAG_NEW_LISTENER!, seccompNr: prep.seccompNr, listener: true}
    : {bpf: prep.bpf.toString('base64'), flags, seccompNr: prep.seccompNr}
  let served: ReturnType<typeof superviseChild> | undefined
  const {child, failure, open} = spawnAsCaller(cmdPath, argv, {
    stdio: ['inherit', 'inherit', 'inherit'],
    filter,
    ...(supervise ? {gate: true, onListener: () => (served = superviseChild(child, GATE_FD, prep.profile, supervise, open))} : {}),
  })
  const forward = (sig: NodeJS.Signals) => {
    if (callerIgnores(sig)) return
    if (TERMINAL_SIGNALS.has(sig) && inTerminalForeground()) return
    try {
      child.kill(sig)
    } catch { /* already gone */ }
  }
  for (const s of FORWARDED) process.on(s, forward)
  return new Promise((resolve, reject) => {
    child.once('error', (err) => {
      for (const s of FORWARDED) process.off(s, forward)
      reject(new SeccompGenError('IO', `cannot start the exec child: ${err.message}`))
    })
    // 'close': after the exit and the end of the report pipe, so the report is complete
    child.once('close', (code, signal) => {
      for (const s of FORWARDED) process.off(s, forward)
      // the supervisor answers what is still pending, then lets go of the listener
      const finished = served ? served.finish() : Promise.resolve({leftRunning: false})
      void finished
        .then(async ({leftRunning}) => ({leftRunning, f: await failure()}))
        .then(({leftRunning, f}) => resolve({status: shellStatus(code, signal), code, signal, failure: f, ...(leftRunning ? {leftRunning} : {})}), reject)
    })
  })
}
