/**
 * The exec child: a bare Node process (spawned by native/exec.ts with stdio inherited) that
 * gives the process the state a shell's child would have, optionally loads an already-compiled
 * seccomp filter on its main thread, and execs the target (after the parent's gate, when it
 * has one). `apply` runs CMD through it (with the filter); `record` runs strace through it (no
 * filter; strace dies with record), or CMD itself with the bpf engine (gated: the recorder marks
 * the pid first).
 *
 *   node exec-child.js SPEC_JSON -- ARGV0 ARGS…        (SPEC: ExecSpec in native/exec.ts)
 *
 * The parent did every check, the PATH lookup and the whole compile before spawning this, so
 * the work here is: fix stdio fds, restore the caller's signal dispositions (Node resets them
 * all and ignores SIGPIPE/SIGXFSZ; exec would pass that on) and soft open-files limit (Node
 * raises it), unblock signals, then either exec, or no_new_privs + one seccomp(2) call + exec.
 * Nothing runs between seccomp(2) and execv but the foreign calls themselves: everything they
 * need is prepared before the filter goes in (the profile may deny fcntl, rt_sigaction, …).
 * No TSYNC: Node's other threads stay unfiltered, and execve replaces them all anyway.
 *
 * Failures go to the parent as one JSON line on fd 3 (ChildReport), a pipe the
 * parent reads: it is close-on-exec, so it simply closes when execv succeeds, and the target's
 * own exit status can never be mistaken for ours. Without fd 3 (or if the profile denies the
 * write) the message goes to stderr, and the exit status still says it: 4 (filter not loaded),
 * 126 (exec failed: not executable, denied), 127 (exec failed: not found).
 */
import {closeSync, readSync} from 'node:fs'
import {constants} from 'node:os'
import type {ChildReport, ExecSpec} from './exec.js'
import {
  lastErrno,
  prepareExecv,
  preloadLibc,
  prepareSeccompLoad,
  rawExit,
  rawWrite,
  setCloexec,
  setParentDeathSignal,
  setSignalDisposition,
  setSoftNofileLimit,
  resetStdioFd,
  setNoNewPrivs,
  setBlockingCloexec,
  prepareReadByte,
  unblockAllSignals,
} from './libc.js'

/** Signals Node sets to SIG_IGN at start-up; every other disposition is already SIG_DFL here. */
const NODE_IGNORED_SIGNALS = [13 /* SIGPIPE */, 25 /* SIGXFSZ */]
const SIGKILL = 9
const SIGSTOP = 19
const EXIT_LOAD_FAILED = 4
const {ENOENT, ENOTDIR} = constants.errno
/** the error pipe from the parent */
const REPORT_FD = 3
let reportFd = -1

/**
 * Report and leave. After the filter is in, only raw numbers are at hand (naming an errno would
 * read a table from disk, which the filter may deny): the parent words the message (native/exec.ts).
 */
function die(report: ChildReport, code: number): never {
  const line = JSON.stringify(report) + '\n'
  if (reportFd < 0 || rawWrite(reportFd, line) < 0) rawWrite(2, `seccomp-gen: ${report.message ?? `${report.stage} failed: errno ${report.errno}`}\n`)
  rawExit(code)
}

/** The caller's dispositions: its ignored signals ignored, Node's own ignores undone. */
function restoreSignals(ignored: readonly number[]): void {
  for (const sig of NODE_IGNORED_SIGNALS) if (!ignored.includes(sig)) setSignalDisposition(sig, false)
  for (const sig of ignored) if (sig !== SIGKILL && sig !== SIGSTOP) setSignalDisposition(sig, true)
}

/** Wait until the parent opens the gate (one byte); false when it closed it instead. */
function passGate(fd: number): boolean {
  const b = Buffer.alloc(1)
  let opened = false
  for (;;) {
    try {
      opened = readSync(fd, b, 0, 1, null) === 1
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') break
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1) // a non-blocking pipe: retry in 1 ms
    }
  }
  closeSync(fd) // the program does not inherit it
  return opened
}

function main(argv: string[]): never {
  if (argv.length < 3 || argv[1] !== '--') die({stage: 'load', message: 'exec-child: bad arguments (internal)'}, EXIT_LOAD_FAILED)
  const spec = JSON.parse(argv[0]!) as ExecSpec
  const cmdArgv = argv.slice(2)

  let prepared
  let exec
  let gateRead: (() => number) | undefined
  try {
    preloadLibc()
    if (setCloexec(REPORT_FD)) reportFd = REPORT_FD
    if (spec.parentDeathSignal !== undefined && !setParentDeathSignal(spec.parentDeathSignal, spec.parentPid ?? -1)) {
      rawExit(EXIT_LOAD_FAILED) // the parent is gone already: nobody to run this for
    }
    for (const fd of [0, 1, 2]) resetStdioFd(fd)
    restoreSignals(spec.ignored)
    if (spec.nofileSoft !== undefined) setSoftNofileLimit(spec.nofileSoft)
    unblockAllSignals()
    if (spec.filter) {
      setNoNewPrivs()
      prepared = prepareSeccompLoad(spec.filter.seccompNr, Buffer.from(spec.filter.bpf, 'base64'), spec.filter.flags)
    }
    exec = prepareExecv(spec.path, cmdArgv)
    if (spec.filter?.listener) {
      if (spec.gateFd === undefined) throw new Error('a listener needs the gate (internal)')
      setBlockingCloexec(spec.gateFd)
      gateRead = prepareReadByte(spec.gateFd)
    } else if (spec.gateFd !== undefined && !passGate(spec.gateFd)) {
      rawExit(EXIT_LOAD_FAILED) // the parent gave up
    }
  } catch (err) {
    die({stage: 'load', message: `cannot prepare ${spec.filter ? 'the filter' : 'the process'}: ${(err as Error).message}`}, EXIT_LOAD_FAILED)
  }
  // With a listener (apply --complain/--explain): the parent takes the listener fd out of this
  // process with pidfd_getfd once it sees it in /proc/PID/fd (it is close-on-exec: it must have
  // it before the execv), then opens the gate. Told first, so it watches only from here on.
  if (gateRead && rawWrite(reportFd, JSON.stringify({stage: 'listener'} satisfies ChildReport) + '\n') < 0) rawExit(EXIT_LOAD_FAILED)
  // From here on the filter is in force: the foreign calls only (seccomp(2), with a listener
  // one read(2) of the gate, execv).
  if (prepared && prepared.load() < 0) die({stage: 'load', errno: lastErrno()}, EXIT_LOAD_FAILED)
  if (gateRead && gateRead() !== 1) rawExit(EXIT_LOAD_FAILED) // the parent gave up
  const errno = exec()
  die({stage: 'exec', errno}, errno === ENOENT || errno === ENOTDIR ? 127 : 126)
}

main(process.argv.slice(2))
