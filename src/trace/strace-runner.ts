/**
 * Runs strace and streams its trace to a callback, chunk by chunk, as it is written.
 *
 * Transport: strace writes with `-o` to a FIFO in a private (0700) temp directory, and we read
 * it in batches (see FifoReader: strace writes twice per syscall, and waking on each write
 * costs more than the parsing). strace opens its `-o` file close-on-exec, so
 * the traced program never holds the FIFO (checked by test/record: `ls -l /proc/self/fd` run
 * under record shows only the program's own descriptors). A pipe on strace's stdout or stderr
 * would not do: the program inherits those from strace. The program keeps our stdin, stdout
 * and stderr untouched.
 *
 * We also hold a write end of the FIFO ourselves until strace exits. That keeps the reader
 * from seeing end-of-file before strace has opened the FIFO, and makes end-of-file certain
 * once strace is gone and the last bytes are read.
 *
 * strace is started through the exec child (native/exec.ts), so the program it runs gets the
 * caller's ignored signals and open-files limit (Node drops both), and strace dies with record:
 * a `kill -9` of record never leaves a tracer behind (the kernel detaches its tracees).
 *
 * Signals: SIGINT and SIGTERM sent to record are forwarded — in run mode to the traced
 * program (strace's direct child), in attach mode to strace, which then detaches. A SIGINT
 * typed on the terminal already reached the whole foreground process group (us, strace and
 * the program), so it is not sent a second time: many programs treat a second Ctrl-C as
 * "quit now" and would skip their traced shutdown. A signal the caller ignored (a background
 * job's SIGINT) is ignored here too.
 *
 * Once the program itself has exited, strace would wait for every descendant still traced (a
 * daemon it started may live for days). Then a SIGINT or SIGTERM ends the recording within a
 * second: unless strace ends by itself in that grace second, it is killed (it blocks those
 * signals while running a program, `-I never`), the kernel detaches what it traced, which keeps
 * running untraced, and the result says which processes they were.
 */
import {spawnSync} from 'node:child_process'
import {closeSync, constants as fsc, mkdtempSync, openSync, readSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {callerIgnores} from '../caller.js'
import {inTerminalForeground, shellStatus} from '../shell.js'
import {errnoWords, SeccompGenError} from '../errors.js'
import {spawnAsCaller} from '../../native/exec.js'
import {childrenOf, ptraceDenialCause, tracedBy} from './host.js'
import {straceAttachArgs, straceRunArgs} from './strace-args.js'

/** what to record: a program to run (path: argv[0] found in PATH), or running processes */
export type TraceTarget = {kind: 'run'; argv: string[]; path: string} | {kind: 'attach'; pids: number[]}

export interface StraceRunOptions {
  strace: string
  target: TraceTarget
  /** every byte strace writes, in order, as it arrives */
  onChunk: (chunk: Buffer) => void
  /** where the program's stdout goes: ours (default), or our stderr when our stdout carries data */
  programStdout?: 'stdout' | 'stderr'
}

export interface StraceRunResult {
  /** strace's exit: the program's code, or 128+N when it (and so strace) died of signal N */
  exit: number
  code: number | null
  signal: NodeJS.Signals | null
  /** signals record received and forwarded while tracing */
  signals: NodeJS.Signals[]
  /**
   * Set when a signal ended the recording after the program had exited: strace was stopped
   * and these processes, still traced then, were left running untraced. `exit` is then not
   * the program's status (strace, which knew it, was killed).
   */
  detached?: Array<{pid: number; comm: string}>
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']
/** How long strace may take to end by itself after a stop signal, once the program has exited. */
const DETACH_GRACE_MS = 1000

function makeFifo(): {dir: string; path: string} {
  const dir = mkdtempSync(join(tmpdir(), 'seccomp-gen-'))
  const path = join(dir, 'trace.fifo')
  const r = spawnSync('mkfifo', ['-m', '600', path], {stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'})
  if (r.status !== 0) {
    rmSync(dir, {recursive: true, force: true})
    throw new SeccompGenError('IO', `cannot create a FIFO in ${dir}: ${(r.stderr || r.error?.message || '').trim()}`)
  }
  return {dir, path}
}

/** Parse strace's own stderr in attach mode: attach failures become one clear error. */
function attachFailure(text: string): SeccompGenError | undefined {
  const m = /attach: ptrace\(PTRACE_SEIZE, (\d+)\): (.+)/.exec(text)
  if (!m) return undefined
  if (/No such process/.test(m[2])) return new SeccompGenError('USAGE', `--pid ${m[1]}: no such process`)
  if (/Operation not permitted/.test(m[2])) {
    const cause = ptraceDenialCause(true)
    return new SeccompGenError('PTRACE_DENIED', `cannot attach to process ${m[1]}: ptrace not permitted${cause ? ` (${cause})` : ''}`)
  }
  return new SeccompGenError('PTRACE_DENIED', `cannot attach to process ${m[1]}: ${m[2]}`)
}

/**
 * Reads a non-blocking FIFO in batches instead of on every write. strace flushes its output
 * at syscall entry and again at exit, so a reader woken by epoll on each write (a net.Socket)
 * wakes ≈2× per traced syscall and its wake-ups compete for the CPUs that strace and the
 * tracee ping-pong on: measured on `dd bs=1 count=100000` (2 vCPUs), strace to a FIFO drained
 * at once took 4.6-7.8 s, drained every 10 ms 4.5-4.7 s, to /dev/null 5.3-6.7 s.
 *
 * So: read up to 1 MiB; if the pipe held 32 KiB or more (it fills at 64 KiB and strace would
 * block), read again on the next turn of the event loop; otherwise wait 5 ms, backing off to
 * 20 ms while nothing comes.
 * Read 0 bytes = end-of-file: every writer (strace, and our own hold on it) is gone.
 */
class FifoReader {
  private readonly buf = Buffer.allocUnsafe(1 << 20)
  private idle = 5
  private timer: NodeJS.Timeout | undefined
  private immediate: NodeJS.Immediate | undefined
  private stopped = false

  constructor(
    private readonly fd: number,
    private readonly onData: (chunk: Buffer) => void,
    private readonly onEnd: (err?: Error) => void,
  ) {
    this.timer = setTimeout(() => this.poll(), 0)
  }

  private poll(): void {
    this.timer = undefined
    this.immediate = undefined
    if (this.stopped) return
    let n: number
    try {
      n = readSync(this.fd, this.buf, 0, this.buf.length, null)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') return this.finish(err as Error)
      this.idle = Math.min(this.idle * 2, 20)
      this.timer = setTimeout(() => this.poll(), this.idle)
      return
    }
    if (n === 0) return this.finish()
    // Copy out: the consumer may keep a reference (the raw-log tee writes synchronously,
    // the parser copies partial lines, but do not rely on either).
    this.onData(Buffer.from(this.buf.subarray(0, n)))
    if (n >= 32 << 10) {
      // More is likely waiting: read again at once, but through the event loop, so signal
      // forwarding and the status line still run while a fast tracee keeps the pipe full.
      this.immediate = setImmediate(() => this.poll())
    } else {
      this.idle = 5
      this.timer = setTimeout(() => this.poll(), this.idle)
    }
  }

  /** Read whatever is left now (strace has exited), then end. */
  drain(): void {
    if (this.stopped) return
    if (this.timer) clearTimeout(this.timer)
    if (this.immediate) clearImmediate(this.immediate)
    this.timer = undefined
    this.immediate = undefined
    // Every writer is gone: read until end-of-file without waiting.
    for (;;) {
      let n: number
      try {
        n = readSync(this.fd, this.buf, 0, this.buf.length, null)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        // EAGAIN here means a writer still holds the FIFO (it cannot be strace, which is
        // gone): go back to polling rather than lose what it writes.
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          this.timer = setTimeout(() => this.poll(), 5)
          return
        }
        return this.finish(err as Error)
      }
      if (n === 0) return this.finish()
      this.onData(Buffer.from(this.buf.subarray(0, n)))
    }
  }

  private finish(err?: Error): void {
    if (this.stopped) return
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    if (this.immediate) clearImmediate(this.immediate)
    try {
      closeSync(this.fd)
    } catch {
      /* closed */
    }
    this.onEnd(err)
  }

  stop(): void {
    this.finish()
  }
}

export function runStrace(opts: StraceRunOptions): Promise<StraceRunResult> {
  const {dir, path} = makeFifo()
  const cleanup = () => rmSync(dir, {recursive: true, force: true})
  let readFd = -1
  let holdFd = -1
  try {
    readFd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK)
    holdFd = openSync(path, fsc.O_WRONLY | fsc.O_NONBLOCK)
  } catch (err) {
    if (readFd >= 0) closeSync(readFd)
    cleanup()
    throw new SeccompGenError('IO', `cannot open the trace FIFO ${path}: ${(err as Error).message}`)
  }

  const attach = opts.target.kind === 'attach'
  const args = opts.target.kind === 'run' ? straceRunArgs(path, opts.target.argv) : straceAttachArgs(path, opts.target.pids)

  return new Promise<StraceRunResult>((resolve, reject) => {
    const signals: NodeJS.Signals[] = []
    let exited: {code: number | null; signal: NodeJS.Signals | null} | undefined
    let ended = false
    let failed: Error | undefined
    let stderrText = ''
    let unlinked = false
    const reader = new FifoReader(
      readFd,
      (chunk) => {
        // strace has the FIFO open: its name is no longer needed, so nothing is left in /tmp
        // even if record is killed outright.
        if (!unlinked) {
          unlinked = true
          cleanup()
        }
        if (failed) return
        try {
          opts.onChunk(chunk)
        } catch (err) {
          failed = err as Error
        }
      },
      (err) => {
        if (err) failed ??= new SeccompGenError('IO', `reading the trace failed: ${err.message}`)
        ended = true
        finish()
      },
    )

    const out = opts.programStdout === 'stderr' ? 2 : 'inherit'
    const {child, failure} = spawnAsCaller(opts.strace, [opts.strace, ...args], {
      stdio: attach ? ['ignore', out, 'pipe'] : ['inherit', out, 'inherit'],
      dieWithUs: true,
    })
    let detached: StraceRunResult['detached']
    let detachTimer: NodeJS.Timeout | undefined
    /** Send sig to the program (strace's direct child); false when there is none. */
    const toProgram = (pid: number, sig: NodeJS.Signals): boolean => {
      const kids = childrenOf(pid)
      for (const k of kids) {
        try {
          process.kill(k, sig)
        } catch {
          /* already gone */
        }
      }
      return kids.length > 0
    }
    const detach = (sig: NodeJS.Signals) => {
      detachTimer = undefined
      if (exited || child.pid === undefined) return
      // The signal came before strace had started the program: it runs now, and gets it.
      if (toProgram(child.pid, sig)) return
      detached = tracedBy(child.pid)
      child.kill('SIGKILL')
    }

    const onSignal = (sig: NodeJS.Signals) => {
      if (callerIgnores(sig)) return
      signals.push(sig)
      if (child.pid === undefined || exited) return
      if (attach) {
        child.kill(sig)
        return
      }
      if (childrenOf(child.pid).length === 0) {
        // The program has exited (maybe of this very signal: a Ctrl-C reaches the whole
        // process group). strace ends by itself if nothing else is traced; otherwise what it
        // still waits for is left running, untraced, after a grace second.
        detachTimer ??= setTimeout(detach, DETACH_GRACE_MS, sig)
        return
      }
      if (sig === 'SIGINT' && inTerminalForeground()) return
      toProgram(child.pid, sig)
    }
    for (const s of FORWARDED) process.on(s, onSignal)

    const finish = () => {
      if (!exited || !ended) return
      if (detachTimer) clearTimeout(detachTimer)
      for (const s of FORWARDED) process.off(s, onSignal)
      cleanup()
      const {code, signal} = exited
      void failure().then((notStarted) => {
        if (notStarted) failed ??= new SeccompGenError('STRACE_MISSING', `cannot run ${opts.strace}: ${notStarted.message}`)
        if (failed) return reject(failed)
        resolve({exit: shellStatus(code, signal), code, signal, signals, ...(detached ? {detached} : {})})
      }, reject)
    }

    if (child.stderr) {
      child.stderr.setEncoding('utf8')
      child.stderr.on('data', (s: string) => {
        stderrText += s
        let nl: number
        while ((nl = stderrText.indexOf('\n')) >= 0) {
          const line = stderrText.slice(0, nl)
          stderrText = stderrText.slice(nl + 1)
          const f = attachFailure(line)
          if (!f) process.stderr.write(`${line}\n`)
          else if (!failed) {
            // One target refused: stop (strace detaches from the others) and report it.
            failed = f
            child.kill('SIGTERM')
          }
        }
      })
    }

    child.on('error', (err: NodeJS.ErrnoException) => {
      failed ??= new SeccompGenError('STRACE_MISSING', `cannot run ${opts.strace}: ${errnoWords(err)}`)
      exited = {code: 1, signal: null}
      if (holdFd >= 0) closeSync(holdFd)
      holdFd = -1
      reader.stop()
    })
    child.on('close', (code, signal) => {
      exited = {code, signal}
      if (stderrText) {
        const f = attachFailure(stderrText)
        if (f) failed ??= f
        else process.stderr.write(stderrText)
        stderrText = ''
      }
      // strace is gone: drop our write end so the reader sees end-of-file after the last byte.
      if (holdFd >= 0) closeSync(holdFd)
      holdFd = -1
      reader.drain()
      finish()
    })
  })
}
