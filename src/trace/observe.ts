/**
 * The strace parser: bytes of a strace log (streamed, chunks of any size) -> an Observation.
 *
 *   chunks --LineSplitter (read.ts)--> lines --lexInto (lex-line.ts)--> LexState
 *          --Observer.line() (here)--> Processes (process-state.ts) + Tally (tally.ts) --> Observation
 *
 * This module decides what each kind of line means for the processes and the tallies (the
 * README's "How the parser counts" lists the choices where strace's output leaves room); the
 * productions of the line grammar are in lex-line.ts, those of argument values in values.ts.
 * Only the arguments of inspected and exec syscalls are scanned exactly; for every other call
 * the argument text is not looked at.
 */
import {errnoWords, SeccompGenError} from '../errors.js'
import {hostFacts} from './host.js'
import {KIND, LexState, RET, argsEndOf, lexInto, rescanExact} from './lex-line.js'
import {Processes, abiOfMachine} from './process-state.js'
import {LineSplitter, readChunks} from './read.js'
import {Tally, type Sys} from './tally.js'
import {decodeCString, execPathArg, retValue} from './values.js'
import type {Abi, Observation} from './observation.js'

export interface ObserverOptions {
  command: string[]
  host: Observation['host']
  strict?: boolean
  defaultAbi?: Abi
}

export interface Diagnostic {
  code: 'TRACE_UNPARSABLE' | 'TRACE_ORPHAN_RESUMED' | 'TRACE_UNFINISHED'
  line: number
  text: string
}

const MAX_DIAGNOSTICS = 20
const skipBlanks = (b: Buffer, i: number, e: number): number => {
  while (i < e && (b[i] === 0x20 || b[i] === 0x09)) i++
  return i
}
const STRACE_MSG = Buffer.from('strace: ')

export class Observer {
  readonly diagnostics: Diagnostic[] = []

  private readonly opts: ObserverOptions
  private readonly st = new LexState()
  private readonly tally = new Tally()
  private readonly procs: Processes
  private readonly reader: LineSplitter
  /** exec path texts -> decoded path (the same few come again and again) */
  private readonly pathCache = new Map<string, string | undefined>()
  private lines = 0
  private unparsed = 0
  private modeLines = 0
  /** the head of a line a `strace: …` message cut (stderr logs), joined to the next line */
  private stitch: Buffer | null = null
  /** a call line the traced program's output cut (stderr logs), joined to its `)` line */
  private cut: {head: Buffer; line: number} | null = null
  private ended = false
  /** the first pid of the trace: the program strace started (record's CMD) */
  private firstPid = -1
  private firstExit = -1

  constructor(opts: ObserverOptions) {
    this.opts = opts
    this.procs = new Processes(opts.defaultAbi ?? abiOfMachine(opts.host.machine), (sys, abi, args, len) => {
      if (sys.valid) this.foldIncomplete(sys, abi, args, len)
    })
    this.reader = new LineSplitter({
      line: (b, s, e) => this.line(b, s, e),
      overlong: () => this.unparsable(null, 0, 0, '<line longer than 4 MiB>'),
    })
  }

  /** Counts so far (lines read, calls counted, distinct ABI+syscall pairs, pids seen, unparsable lines). */
  get stats(): {calls: number; distinct: number; processes: number; lines: number; unparsed: number} {
    return {calls: this.tally.calls, distinct: this.tally.distinct, processes: this.procs.count, lines: this.lines, unparsed: this.unparsed}
  }

  /**
   * How many `[ Process PID=N runs in … mode. ]` lines were read: none in a log strace 6.1
   * wrote with `-o` and no `--quiet=` (it hides them), where 32-bit calls read as native ones.
   */
  get abiLines(): number {
    return this.modeLines
  }

  /**
   * How the trace's first process ended (record's CMD): its status as a shell reports it, from
   * its `+++ exited with N +++` or `+++ killed by SIG… +++` line; undefined before that line.
   */
  get firstProcessExit(): number | undefined {
    return this.firstExit >= 0 ? this.firstExit : undefined
  }

  /** Feed bytes; lines may span chunks. */
  push(chunk: Buffer): void {
    if (!this.ended) this.reader.push(chunk)
  }

  /** Flush, close calls that never resumed, and return the canonical observation. */
  end(): Observation {
    if (!this.ended) {
      this.reader.end()
      this.releaseCut()
      this.ended = true
      for (const ps of this.procs.pending()) {
        this.diag('TRACE_UNFINISHED', ps.pline, `${ps.psys!.name}(… <unfinished ...> of pid ${ps.pid} never resumed`)
        this.procs.closePending(ps)
      }
    }
    if (this.opts.strict && this.unparsed > 0) {
      const first = this.diagnostics.find((d) => d.code === 'TRACE_UNPARSABLE')
      const text = `${this.unparsed} strace line(s) could not be parsed; first at line ${first?.line ?? '?'}: ${first?.text ?? ''}`
      throw new SeccompGenError('TRACE_UNPARSABLE', text, {line: first?.line})
    }
    const stats = {processes: this.procs.count, lines: this.lines, unparsed: this.unparsed}
    return this.tally.observation(this.opts.command, this.opts.host, stats)
  }

  /** One line b[s, e): lex it, then what its kind means. */
  private line(b: Buffer, s: number, e: number): void {
    const lineNo = ++this.lines
    const st = this.st
    if (this.stitch !== null) {
      b = Buffer.concat([this.stitch, b.subarray(s, e)])
      this.stitch = null
      s = 0
      e = b.length
    }
    let kind = lexInto(b, s, e, st)
    if (kind === KIND.UNKNOWN) {
      const joined = this.cutLine(b, s, e, lineNo)
      if (joined === null) return
      if (joined !== b) {
        b = joined
        s = 0
        e = b.length
        kind = lexInto(b, s, e, st)
      }
    } else if (this.cut !== null && kind !== KIND.STACK) this.releaseCut()
    if (kind === KIND.STACK) return
    const pid = st.pid >= 0 ? st.pid : this.procs.soloPid()
    if (this.firstPid < 0 && (kind === KIND.CALL || kind === KIND.UNFINISHED)) this.firstPid = pid
    switch (kind) {
      case KIND.CALL: return this.call(b, s, e, pid)
      case KIND.UNFINISHED: return this.unfinished(b, s, e, pid, lineNo)
      case KIND.RESUMED: return this.resumed(b, s, e, pid, lineNo)
      case KIND.EXIT:
        if (pid === this.firstPid) this.firstExit = st.exitStatus
        return this.procs.exited(pid)
      case KIND.SUPERSEDED:
        // pid (the leader) is replaced by the thread st.otherPid that called execve
        this.procs.closePending(this.procs.state(pid))
        return this.procs.rekey(st.otherPid, pid)
      case KIND.MODE:
        if (this.procs.modeSwitch(st.otherPid, st.mode)) this.modeLines++
        else this.unparsable(b, s, e)
        return
      case KIND.SIGNAL:
        this.procs.state(pid)
        return
      case KIND.INFO:
      case KIND.BLANK:
        return
      default:
        this.unparsable(b, s, e)
    }
  }

  /**
   * An UNKNOWN line b[s, e) that may be part of a cut one (stderr logs). A head cut by a
   * `strace: …` message or by the traced program's own output is kept: null, nothing more to do
   * with this line. The `)` line of a kept call head comes back joined to the head; any other
   * line comes back as b.
   */
  private cutLine(b: Buffer, s: number, e: number, lineNo: number): Buffer | null {
    // strace prints `strace: Process N attached` in the middle of the line it is writing; the
    // line goes on after the newline
    const k = b.subarray(s, e).indexOf(STRACE_MSG)
    if (k > 0) {
      this.stitch = Buffer.from(b.subarray(s, s + k))
      return null
    }
    const j = skipBlanks(b, s, e)
    if (this.cut !== null && j < e && b[j] === 0x29) {
      // `)   = 5`: the rest of a call the program's output cut
      const joined = Buffer.concat([this.cut.head, b.subarray(s, e)])
      this.cut = null
      return joined
    }
    const st = this.st
    if (st.nameEnd > st.nameStart && st.nameEnd < e && b[st.nameEnd] === 0x28) {
      // `write(2, "oops\n", 5oops`: a call the program's output cut, kept until its `)` line
      this.releaseCut()
      this.cut = {head: Buffer.from(b.subarray(s, e)), line: lineNo}
      return null
    }
    return b
  }

  /** `NAME(…) = ret`: a whole call. */
  private call(b: Buffer, s: number, e: number, pid: number): void {
    const st = this.st
    const sys = this.tally.sysnames.getHashed(b, st.nameStart, st.nameEnd, st.nameHash)
    if (!sys.valid) return this.unparsable(b, s, e)
    // only a successful exec needs its path (and only it can carry `<pid changed to N ...>`);
    // inspected syscalls read their arguments with argAt(), exact within [argsStart, argsEnd)
    const execOk = sys.execArg >= 0 && st.ret === RET.VALUE && retValue(b, st) === 0
    if (execOk ? rescanExact(b, st) !== KIND.CALL : sys.inspect !== null && argsEndOf(b, st) < 0) return this.unparsable(b, s, e)
    const procs = this.procs
    const ps = procs.state(pid)
    const abi = ps.abi
    procs.lastAbi = abi
    procs.closePending(ps)
    const args = execOk || (sys.inspect !== null && sys.execArg < 0) ? b : null
    this.fold(b, sys, abi, args, st.argsStart, st.argsEnd)
    if (st.otherPid >= 0) procs.rekey(pid, st.otherPid)
  }

  /** `NAME(… <unfinished ...>` (or `<detached ...>`): the call is pending. */
  private unfinished(b: Buffer, s: number, e: number, pid: number, lineNo: number): void {
    const st = this.st
    const sys = this.tally.sysnames.getHashed(b, st.nameStart, st.nameEnd, st.nameHash)
    if (!sys.valid && sys.name !== '???') return this.unparsable(b, s, e)
    const procs = this.procs
    const ps = procs.state(pid)
    const abi = ps.abi
    procs.lastAbi = abi
    procs.closePending(ps)
    procs.setPending(ps, sys, abi, b, st.argsStart, st.argsEnd, lineNo)
    if (st.detached) procs.closePending(ps)
    else if (st.otherPid >= 0) procs.rekey(pid, st.otherPid)
  }

  /**
   * `<... NAME resumed>…`: joined to the pid's pending call of the same name (`???` matches
   * any); with none, an orphan, counted with its inspected arguments unknown.
   */
  private resumed(b: Buffer, s: number, e: number, pid: number, lineNo: number): void {
    const st = this.st
    const procs = this.procs
    const named = this.tally.sysnames.getHashed(b, st.nameStart, st.nameEnd, st.nameHash)
    const ps = procs.state(pid)
    if (ps.psys === null && pid > 0) procs.adoptUnprefixed(ps, named)
    const psys = ps.psys
    const keep = named.keepArgs || (psys !== null && psys.keepArgs)
    if (keep && st.ret !== RET.NONE && rescanExact(b, st) !== KIND.RESUMED) return this.unparsable(b, s, e)
    if (psys !== null && (psys === named || named.name === '???' || psys.name === '???')) {
      const sys = psys.name === '???' ? named : psys
      if (sys.keepArgs) procs.appendPending(ps, b, st.argsStart, st.argsEnd, false)
      else ps.plen = -1
      if (st.stillPending) { ps.psys = sys; return }
      const abi = ps.pabi
      const len = ps.plen // -1: arguments lost; inspected ones become unknown
      const args = len >= 0 ? ps.pbuf : null
      procs.takePending(ps)
      if (!sys.valid) return // `???` on both sides: nothing we can name
      if (st.detached) this.foldIncomplete(sys, abi, args, len)
      else this.fold(b, sys, abi, args, 0, len)
    } else {
      procs.closePending(ps)
      this.diag('TRACE_ORPHAN_RESUMED', lineNo, b.toString('latin1', s, Math.min(e, s + 200)))
      if (!named.valid) return
      // inspected positions unknown: we lack the start of the argument list
      if (st.stillPending) { procs.setPending(ps, named, ps.abi, null, 0, 0, lineNo); return }
      if (st.detached || st.ret === RET.NONE) this.foldIncomplete(named, ps.abi, null, 0)
      else this.fold(b, named, ps.abi, null, 0, 0)
    }
    if (st.otherPid >= 0) procs.rekey(pid, st.otherPid)
  }

  /**
   * Count one finished call (its return value in this.st, from line b) in ABI abi: its errno,
   * its inspected arguments from the argument text args[as, ae) (null: unknown), and what an
   * exec or fork leaves besides.
   */
  private fold(b: Buffer, sys: Sys, abi: number, args: Buffer | null, as: number, ae: number): void {
    const st = this.st
    const tally = this.tally
    const acc = tally.count(sys, abi)
    if (st.ret === RET.ERROR && !st.injected && !sys.noErrors) tally.countErrno(acc, b, st.errStart, st.errEnd, st.errHash)
    if (sys.inspect !== null) tally.argsFrom(acc, sys, args, as, ae)
    if (sys.execArg < 0 && !sys.forks) return
    // (a fork's child pid: `-X raw`/`-e raw=` logs print it in hex; retValue() reads both)
    const value = retValue(b, st)
    if (sys.execArg >= 0 && args !== null && value === 0) this.exec(args, as, ae, sys.execArg)
    if (sys.forks) this.procs.forked(value, abi)
  }

  /** A call that never returned (cut by exit, detached, never resumed): counted, no errno. */
  private foldIncomplete(sys: Sys, abi: number, args: Buffer | null, len: number): void {
    const acc = this.tally.count(sys, abi)
    if (sys.inspect !== null) this.tally.argsFrom(acc, sys, args, 0, len)
  }

  /** A successful exec: its path argument (index n of args[as, ae)), decoded, joins the execs. */
  private exec(args: Buffer, as: number, ae: number, n: number): void {
    const raw = execPathArg(args, as, ae, n)
    const cache = this.pathCache
    let path = cache.get(raw)
    if (path === undefined && !cache.has(raw)) {
      path = decodeCString(raw)
      if (cache.size >= 4096) cache.clear()
      cache.set(raw, path)
    }
    if (path !== undefined && path !== '') this.tally.execs.add(path)
  }

  /** An unparsable line b[s, e) (b null: one too long to keep, counted here, described by text). */
  private unparsable(b: Buffer | null, s: number, e: number, text?: string, line = this.lines): void {
    if (b === null) this.lines++
    this.unparsed++
    this.diag('TRACE_UNPARSABLE', b === null ? this.lines : line, text ?? b!.toString('latin1', s, Math.min(e, s + 200)))
  }

  /** A kept call head whose `)` line did not come: unparsable after all. */
  private releaseCut(): void {
    const c = this.cut
    if (c === null) return
    this.cut = null
    this.unparsable(c.head, 0, c.head.length, undefined, c.line)
  }

  private diag(code: Diagnostic['code'], line: number, text: string): void {
    // control bytes escaped so a diagnostic always prints as one line
    if (this.diagnostics.length < MAX_DIAGNOSTICS) {
      this.diagnostics.push({code, line, text: text.replace(/[\x00-\x1f\x7f]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'))})
    }
  }
}

/** Parse an existing strace log file (any of the supported formats), streaming. */
export async function observeFile(path: string, opts: Partial<ObserverOptions> = {}): Promise<{observation: Observation; diagnostics: Diagnostic[]; abiLines: number}> {
  const obs = new Observer({command: opts.command ?? [path], host: opts.host ?? hostFacts(), strict: opts.strict, defaultAbi: opts.defaultAbi})
  try {
    await readChunks(path, (chunk) => obs.push(chunk))
  } catch (err) {
    throw new SeccompGenError('IO', `cannot read ${path}: ${errnoWords(err)}`, {file: path})
  }
  try {
    const observation = obs.end()
    return {observation, diagnostics: obs.diagnostics, abiLines: obs.abiLines}
  } catch (err) {
    if (err instanceof SeccompGenError) throw new SeccompGenError(err.code, err.message, {file: path, line: err.line})
    throw err
  }
}
