/**
 * Starting a program the way a shell would have: through the exec child (native/exec-child.ts),
 * which restores what Node took from the caller's process state (ignored signals, the soft
 * open-files limit: src/caller.ts), optionally loads a seccomp filter, and execs. `apply` runs
 * CMD this way; `record` runs strace this way (so the program strace starts inherits the same),
 * or, with the bpf engine, CMD itself, held at a gate until the recorder has marked its pid.
 *
 * The child's failures (filter refused, execve failing) come back as one JSON line on fd 3.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {callerState} from '../src/caller.js'
import {constants as osConstants} from 'node:os'
import {SeccompGenError} from '../src/errors.js'
import {packageRoot} from '../src/paths.js'

/** What the exec child is told (as JSON, its first argument). */
export interface ExecSpec {
  /** the program to exec, already looked up in PATH */
  path: string
  /** signal numbers to leave ignored (the caller's); every other one gets SIG_DFL */
  ignored: number[]
  /** the soft RLIMIT_NOFILE to restore */
  nofileSoft?: number
  /** PR_SET_PDEATHSIG: the program dies with this signal when seccomp-gen dies */
  parentDeathSignal?: number
  parentPid?: number
  /**
   * a compiled filter to load right before execv; listener: its flags ask for a listener fd
   * (SECCOMP_FILTER_FLAG_NEW_LISTENER), which the parent takes while the child waits at the gate
   * (after the load, not before it)
   */
  filter?: {bpf: string; flags: number; seccompNr: number; listener?: boolean}
  /** wait for one byte on this fd (the parent's gate) right before execv; end-of-file: exit */
  gateFd?: number
}

/** What the exec child reports on fd 3 when the target never started: a message, or an errno number. */
export interface ChildReport {
  /** listener: not a failure; the filter with a listener is about to be loaded */
  stage: 'load' | 'exec' | 'listener'
  errno?: number
  message?: string
}

export interface ExecFailure {
  stage: 'load' | 'exec'
  /** the errno's name (ENOENT, EACCES, …) */
  errno?: string
  message: string
}

const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, n]) => [n, name]))

/**
 * The child's report in words: `cannot execute PATH: exec format error`. libc (koffi) is loaded
 * only here, when there is a report: record, which starts strace this way, never needs it.
 */
async function describeReport(r: ChildReport & {stage: 'load' | 'exec'}, path: string, listener: boolean): Promise<ExecFailure> {
  if (r.errno === undefined) return {stage: r.stage, message: r.message ?? `${r.stage} failed`}
  const name = ERRNO_NAMES.get(r.errno) ?? `errno ${r.errno}`
  const what = r.stage === 'exec' ? `cannot execute ${path}` : 'seccomp(SECCOMP_SET_MODE_FILTER) failed'
  // the kernel allows one listener in a task's filters: this process runs under another one
  const why = r.stage === 'load' && listener && name === 'EBUSY'
    ? ' (a filter with a listener is in force here already, and the kernel allows one: is this run under apply --complain/--explain or a seccomp agent?)'
    : ''
  const {errnoText} = await import('./libc.js')
  return {stage: r.stage, errno: name, message: `${what}: ${errnoText(r.errno)}${why}`}
}

/** The compiled exec child (dist/native/exec-child.js). */
function execChildPath(): string {
  const p = join(packageRoot(), 'dist', 'native', 'exec-child.js')
  if (!existsSync(p)) throw new SeccompGenError('INTERNAL', `${p} is missing: run \`npm run build\` first`)
  return p
}

type StdioEntry = 'inherit' | 'ignore' | 'pipe' | number

export interface ExecOptions {
  /** stdio of the program for fds 0-2; fd 3 is always the child's report pipe */
  stdio: [StdioEntry, StdioEntry, StdioEntry]
  filter?: ExecSpec['filter']
  /** kill the program (SIGKILL) if seccomp-gen dies */
  dieWithUs?: boolean
  /** hold the exec until open() is called (the parent first does what needs the child's pid) */
  gate?: boolean
  /** with filter.listener: called when the child is about to load the filter */
  onListener?: () => void
}

/** The fd the gated exec child waits on. */
export const GATE_FD = 4

/** Spawn `path` with `argv` (argv[0] as typed) through the exec child, with the caller's process state. */
export function spawnAsCaller(
  path: string,
  argv: string[],
  opts: ExecOptions,
): {child: ChildProcess; failure: () => Promise<ExecFailure | undefined>; open: () => void} {
  const caller = callerState()
  const spec: ExecSpec = {
    path,
    ignored: caller.ignored,
    nofileSoft: caller.nofileSoft,
    filter: opts.filter,
    ...(opts.dieWithUs ? {parentDeathSignal: 9, parentPid: process.pid} : {}),
    ...(opts.gate ? {gateFd: GATE_FD} : {}),
  }
  const child = spawn(process.execPath, [execChildPath(), JSON.stringify(spec), '--', ...argv], {
    stdio: [...opts.stdio, 'pipe', ...(opts.gate ? ['pipe' as const] : [])],
    env: process.env,
  })
  const gate = opts.gate ? (child.stdio[GATE_FD] as NodeJS.WritableStream | null) : null
  // a child that dies at the gate (a signal) resets its end: its exit already says what happened
  gate?.on('error', () => {})
  const open = () => {
    if (gate) gate.end('.')
  }
  let report = ''
  const reportStream = child.stdio[3] as NodeJS.ReadableStream | null
  reportStream?.setEncoding('utf8')
  const LISTENER_LINE = JSON.stringify({stage: 'listener'})
  reportStream?.on('data', (d: string) => {
    report += d
    if (opts.onListener && report.startsWith(LISTENER_LINE + '\n')) {
      report = report.slice(LISTENER_LINE.length + 1)
      opts.onListener()
    }
  })
  /** Once the child has closed: why the target never started, or undefined when it did. */
  const failure = async (): Promise<ExecFailure | undefined> => {
    const line = report.split('\n').find((l) => l.trim() && l !== LISTENER_LINE)
    if (!line) return undefined
    let r: ChildReport
    try {
      r = JSON.parse(line) as ChildReport
    } catch {
      return {stage: 'load', message: line}
    }
    return describeReport(r as ChildReport & {stage: 'load' | 'exec'}, path, opts.filter?.listener === true)
  }
  return {child, failure, open}
}
