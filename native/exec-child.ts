/**
 * The exec child of `seccomp-gen apply`: a bare Node process (spawned by the parent with stdio
 * inherited) that makes the process look like a shell's child, loads the already-compiled BPF
 * program on its main thread and execs the target at once.
 *
 *   node exec-child.js BPF_BASE64 LOAD_FLAGS SECCOMP_NR PATH -- ARGV0 ARGS…
 *
 * The parent did every check and the whole compile (libseccomp) before spawning this, so the
 * work here is: fix stdio fds and signal state, no_new_privs, one seccomp(2) call, execv.
 * Nothing runs between seccomp(2) and execv but the foreign calls themselves: everything they
 * need is prepared before the filter goes in (the profile may deny fcntl, rt_sigaction, …).
 * No TSYNC: Node's other threads stay unfiltered, and execve replaces them all anyway.
 *
 * Failures go to the parent as one JSON line on fd 3 ({stage, errno?, message}), a pipe the
 * parent reads: it is close-on-exec, so it simply closes when execv succeeds, and CMD's own
 * exit status can never be mistaken for ours. Without fd 3 (or if the profile denies the
 * write) the message goes to stderr, and the exit status still says it: 4 (filter not
 * loaded), 126 (exec failed: not executable, denied), 127 (exec failed: not found).
 */
import {
  lastErrnoName,
  prepareExecv,
  preloadLibc,
  prepareSeccompLoad,
  rawExit,
  rawWrite,
  resetSignalDefault,
  setCloexec,
  resetStdioFd,
  setNoNewPrivs,
  unblockAllSignals,
} from './libc.js'

/** Signals Node sets to SIG_IGN at start-up; exec would keep them ignored. */
const NODE_IGNORED_SIGNALS = [13 /* SIGPIPE */, 25 /* SIGXFSZ */]
const EXIT_LOAD_FAILED = 4
/** the error pipe from the parent */
const REPORT_FD = 3
let reportFd = -1

function die(stage: 'load' | 'exec', msg: string, code: number, errno?: string): never {
  const line = JSON.stringify({stage, ...(errno ? {errno} : {}), message: msg}) + '\n'
  if (reportFd < 0 || rawWrite(reportFd, line) < 0) rawWrite(2, `seccomp-gen: ${msg}\n`)
  rawExit(code)
}

function main(argv: string[]): never {
  const sep = argv.indexOf('--')
  if (sep !== 4 || argv.length < 6) die('load', 'exec-child: bad arguments (internal)', EXIT_LOAD_FAILED)
  const [bpfB64, flagsText, nrText, path] = argv
  const cmdArgv = argv.slice(sep + 1)
  const bpf = Buffer.from(bpfB64!, 'base64')
  const flags = Number(flagsText)
  const seccompNr = Number(nrText)

  let prepared
  let exec
  try {
    preloadLibc()
    if (setCloexec(REPORT_FD)) reportFd = REPORT_FD
    for (const fd of [0, 1, 2]) resetStdioFd(fd)
    for (const sig of NODE_IGNORED_SIGNALS) resetSignalDefault(sig)
    unblockAllSignals()
    setNoNewPrivs()
    prepared = prepareSeccompLoad(seccompNr, bpf, flags)
    exec = prepareExecv(path!, cmdArgv)
  } catch (err) {
    die('load', `cannot prepare the filter: ${(err as Error).message}`, EXIT_LOAD_FAILED)
  }
  // From here on the filter is in force: the two foreign calls only.
  if (prepared.load() < 0) {
    const errno = lastErrnoName()
    die('load', `seccomp(SECCOMP_SET_MODE_FILTER) failed: ${errno}`, EXIT_LOAD_FAILED, errno)
  }
  const errno = exec()
  die('exec', `cannot execute ${path}: ${errno}`, errno === 'ENOENT' || errno === 'ENOTDIR' ? 127 : 126, errno)
}

main(process.argv.slice(2))
