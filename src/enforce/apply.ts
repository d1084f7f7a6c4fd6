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
import {accessSync, constants, statSync} from 'node:fs'
import {delimiter, join} from 'node:path'
import {constants as osConstants} from 'node:os'
import {SeccompGenError} from '../errors.js'
import {loadProfile} from '../profile/load.js'
import {callerIgnores} from '../caller.js'
import {normalizeCap, toOci} from '../profile/resolve.js'
import type {OciSeccomp, SeccompAction} from '../profile/types.js'
import {WARNING_NOTES, compileBpf} from '../../native/compile.js'
import {spawnAsCaller, type ExecFailure} from '../../native/exec.js'
import {SECCOMP_FILTER_FLAGS, inTerminalForeground} from '../../native/libc.js'
import {archShortName, nativeArch, nativeArchToken, rawSyscallNumber, archToken} from '../../native/libseccomp.js'
import {dockerDefaultCaps} from './caps.js'

export interface PrepareOptions {
  /** capability set the rules' includes/excludes.caps are resolved against; default Docker's */
  caps?: string[]
  /** binary-tree dispatch (SCMP_FLTATR_CTL_OPTIMIZE=2) */
  optimize?: boolean
  /** skip names libseccomp cannot place on the filter's arches (as runc does) instead of failing */
  allowUnknown?: boolean
  /** recorded call counts by name: frequent calls are tested first (seccomp_syscall_priority) */
  counts?: Record<string, number>
}

export interface PreparedFilter {
  profile: OciSeccomp
  bpf: Buffer
  instructions: number
  loadFlags: number
  seccompNr: number
  arches: string[]
  notes: string[]
  /** worth saying even without -v (WARNING_NOTES) */
  warnings: string[]
}

/** Actions under which a call goes on (LOG allows and logs). */
const PASSING_ACTIONS: ReadonlySet<SeccompAction> = new Set(['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG'])

/** This host's ABI as observation files name it ("x86_64"). */
export function nativeArchAbi(): string {
  return archShortName(nativeArch())
}

/** "CAP_A,b" → normalized list; undefined → Docker's default set. */
export function parseCaps(flag: string | undefined): string[] {
  if (flag === undefined) return dockerDefaultCaps()
  return flag.split(',').map((c) => c.trim()).filter(Boolean).map(normalizeCap)
}

/**
 * What the filter does with execve on the native arch, for a process that calls it with
 * arbitrary pointers: the first unconditional rule naming it, else the default action.
 */
export function execveAction(p: OciSeccomp): SeccompAction {
  for (const r of p.syscalls ?? []) {
    if (r.names.includes('execve') && !(r.args && r.args.length)) return r.action
  }
  return p.defaultAction
}

/** Read, validate, resolve and check a profile for apply; throws with one clear message. */
export function preflight(profilePath: string, opts: PrepareOptions = {}): {profile: OciSeccomp; notes: string[]} {
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
  const exec = execveAction(profile)
  if (!PASSING_ACTIONS.has(exec)) {
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
  return {profile, notes}
}

/** Pre-flight and compile: everything apply needs before it spawns anything. */
export function prepareFilter(profilePath: string, opts: PrepareOptions = {}): PreparedFilter {
  const {profile, notes} = preflight(profilePath, opts)
  const c = compileBpf(profile, {optimize: opts.optimize, counts: opts.counts})
  if (c.unknownNames.length && !opts.allowUnknown) {
    throw new SeccompGenError(
      'PROFILE_UNKNOWN_SYSCALL',
      `${c.unknownNames.length} syscall name(s) do not exist for ${c.arches.join(', ')} in libseccomp: ${c.unknownNames.join(' ')} (--allow-unknown skips them, as runc does)`,
      {file: profilePath},
    )
  }
  const seccompNr = rawSyscallNumber('seccomp', nativeArchToken())
  if (seccompNr < 0) throw new SeccompGenError('SECCOMP_ERROR', 'this arch has no seccomp(2) syscall known to libseccomp')
  return {
    profile,
    bpf: c.bpf,
    instructions: c.instructions,
    loadFlags: c.loadFlags,
    seccompNr,
    arches: c.arches,
    notes: [...notes, ...c.notes.filter((n) => !WARNING_NOTES.has(n.kind)).map((n) => n.message)],
    warnings: c.notes.filter((n) => WARNING_NOTES.has(n.kind)).map((n) => n.message),
  }
}

export type CommandLookup = {path: string} | {error: string; exit: 126 | 127}

function isExecutableFile(p: string): 'yes' | 'not-executable' | 'directory' | 'missing' {
  let st
  try {
    st = statSync(p)
  } catch {
    return 'missing'
  }
  if (st.isDirectory()) return 'directory'
  try {
    accessSync(p, constants.X_OK)
    return 'yes'
  } catch {
    return 'not-executable'
  }
}

/**
 * Find CMD the way a POSIX shell does: a name with a slash is used as is; otherwise each PATH
 * entry in turn (an empty entry is the current directory). Not found → 127; found but not
 * executable (or a directory) → 126.
 */
export function findCommand(cmd: string, pathVar = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'): CommandLookup {
  if (cmd === '') return {error: 'empty command name', exit: 127}
  if (cmd.includes('/')) {
    const s = isExecutableFile(cmd)
    if (s === 'yes') return {path: cmd}
    if (s === 'missing') return {error: `${cmd}: No such file or directory`, exit: 127}
    return {error: `${cmd}: ${s === 'directory' ? 'Is a directory' : 'Permission denied'}`, exit: 126}
  }
  let denied: string | undefined
  for (const dir of pathVar.split(delimiter)) {
    const p = join(dir === '' ? '.' : dir, cmd)
    const s = isExecutableFile(p)
    if (s === 'yes') return {path: p}
    if (s === 'not-executable' && denied === undefined) denied = p
  }
  if (denied) return {error: `${denied}: Permission denied`, exit: 126}
  return {error: `${cmd}: command not found`, exit: 127}
}

export interface RunResult {
  /** the exit status to report: CMD's code, or 128+signal; 4/126/127 when CMD never started */
  status: number
  code: number | null
  signal: NodeJS.Signals | null
  /** set when CMD never started: the exec child's report (filter not loaded, or execve failed) */
  failure?: ExecFailure
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']
/** Signals a terminal sends to its whole foreground process group (CMD has it already). */
const TERMINAL_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(['SIGINT', 'SIGQUIT'])

/** Exit status as a shell reports it: the code, or 128 + the signal number. */
export function shellStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal) return 128 + (osConstants.signals[signal] ?? 0)
  return code ?? 1
}

/**
 * Run CMD (already found, argv[0] as typed) under the prepared filter with stdio inherited and
 * the caller's ignored signals and open-files limit (native/exec.ts); resolves when CMD ends.
 * SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to this process are forwarded to CMD, except:
 * - one the caller ignored (`nohup` and SIGHUP): apply ignores it too, as CMD does;
 * - SIGINT/SIGQUIT while we are the terminal's foreground group: Ctrl-C has then reached CMD
 *   (same process group) already, and forwarding would deliver it twice.
 */
export function runUnderFilter(prep: PreparedFilter, cmdPath: string, argv: string[]): Promise<RunResult> {
  const filter = {bpf: prep.bpf.toString('base64'), flags: prep.loadFlags & ~SECCOMP_FILTER_FLAGS.SECCOMP_FILTER_FLAG_TSYNC!, seccompNr: prep.seccompNr}
  const {child, failure} = spawnAsCaller(cmdPath, argv, {stdio: ['inherit', 'inherit', 'inherit'], filter})
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
      resolve({status: shellStatus(code, signal), code, signal, failure: failure()})
    })
  })
}
