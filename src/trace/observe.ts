/**
 * Stages 2 and 3 of the strace parser: pair split calls per pid, then fold every finished
 * call into an Observation (per ABI: count, errors by errno, inspected argument values).
 *
 *   bytes --push()--> lines (Buffer.indexOf) --lexInto()--> LexState --assemble--> call --fold--> Observation
 *
 * Fast lanes, all giving what the general path gives (test/trace/fast-path.test.ts compares
 * them on fixtures, mixed and cut logs, and seeded mutations):
 * - lane.wasm (src/trace/wasm/lane.ts, see lane-wasm.ts) goes through a whole chunk and takes
 *   ~95% of the lines of the fixtures itself: finished calls and the two halves of split ones
 *   of pids whose state Observer shared with it, their errnos, inspected argument values it
 *   was told are recorded already, signals and exits. Its tallies are taken at the end of
 *   each chunk; the pending calls it started or finished are copied back after each scan.
 *   It stops at every other line with a record of what it lexed: laneRec() does lane()'s
 *   work from it, and shares what it leaves (the pid's state, a syscall that may be counted
 *   in an ABI, an errno, an argument value) for the lines after.
 * - lane() is the same in TypeScript, for when lane.wasm is not there (and the 'js' lanes).
 * - lexFast() + foldFast(): inspected calls split in two, `[pid N]` prefixes, first lines of
 *   a pid or syscall.
 * - the general path: exec, fork, anything a lane is unsure of.
 *
 * Choices where strace's output leaves room:
 * - A call is counted once, when it is complete: a finished line, a `<... resumed>` joined to
 *   its `<unfinished ...>`, a `<detached ...>`, a call cut by the process's exit, or (at end())
 *   a call that never resumed. A `<... NAME resumed>` with no pending call (log started
 *   mid-way, `-p` attach) counts NAME with its inspected arguments unknown.
 * - Errors: `= -1 ENAME (…)` counts ENAME. `= ? ERESTARTSYS` and the other ERESTART* codes
 *   are kernel-internal: the call is restarted or the program sees EINTR, never this code, so
 *   they are not errors of the program. Errors strace injected (`(INJECTED)`) are not counted,
 *   nor rt_sigreturn/sigreturn "errors" (strace shows the restored register of the code the
 *   signal interrupted, e.g. `rt_sigreturn({mask=[]}) = -1 EBADF`).
 * - ABI: a pid's ABI is the last `[ Process PID=N runs in … mode. ]` announced for it. A pid
 *   seen for the first time inherits its parent's ABI when the parent's clone/fork/vfork
 *   has already returned its pid, else the ABI of the previous call line (strace announces a
 *   mode only when it differs from the one it last decoded, so that is what strace assumed).
 *   A call's ABI is fixed when it starts (execve is counted in the ABI that entered it).
 * - `+++ superseded by execve in pid N +++` and `<pid changed to N ...>` move the pending call
 *   and ABI of the exec'ing thread to the leader's pid.
 * - Logs captured from stderr (no -o): lines without a prefix belong to the one live process
 *   when exactly one is known; a `strace: …` message written inside a line is cut out and the
 *   line joined with its continuation.
 * - Speed: the return part of a line is parsed backwards from its end, so the argument text of
 *   a syscall whose arguments are not read is not scanned (nor checked for balance); the
 *   arguments of inspected and exec syscalls are scanned exactly (strings, brackets, comments,
 *   decorations).
 * - Measured (2-vCPU VM shared with other work, whose speed varies by up to 1.7× in phases):
 *   steady state ≈ 1.4 ms per MiB (≈ 90 ns a line), of which lane.wasm ≈ 1.0; the TypeScript
 *   lane alone was ≈ 3 ms per MiB. V8's tier-up of the rarely called general path costs
 *   another ≈ 100 ms over the first ≈ 20 MiB.
 */
import {read, readFileSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {join} from 'node:path'
import {errnoWords, SeccompGenError} from '../errors.js'
import {KIND, LexState, MODE, RET, argAt, argEnd, argsCloseExact, argsEndOf, decodeCString, lexFast, lexInto, rescanExact, retValue, splitArgs, valueAt} from './lex-line.js'
import {L_DETACHED, L_INJECTED, L_RESUMED_HEAD, L_RESUMED_TAIL, L_UNFINISHED, NAME_BYTE, backOverSpaces, endsWith, returnBack, startsWith, stripDuration, tailEq} from './lex-line.js'
import {ValueResolver} from './constants.js'
import {profilesDir} from '../paths.js'
import {archTable} from '../arches.js'
import {hostFacts} from './host.js'
import {LANE, LaneScanner, REC, R_ARGS, R_ARGS_END, R_ARGV, R_ARGV_END, R_ERR, R_ERR_END, R_ERR_ID, R_ID, R_KIND, R_NAME, R_NAME_END, R_NEWLINE, R_PID, R_RET, R_START} from './lane-wasm.js'
import type {Abi, ArgObservation, Observation, SyscallObservation} from './observation.js'
import {addSyscall} from './observation-io.js'
import {nameRawSyscall} from '../syscall-table.js'

export interface ObserverOptions {
  command: string[]
  host: Observation['host']
  strict?: boolean
  defaultAbi?: Abi
  /**
   * @internal Which fast lanes to use (tests compare them with the general path): 'all'
   * (default: the lane lexed by lane.wasm when it loads, else 'js'), 'js' (the lane lexed in
   * TypeScript), 'lexfast' (lexFast + foldFast only), 'none' (every line through line()).
   */
  lanes?: 'all' | 'js' | 'lexfast' | 'none'
}

export interface Diagnostic {
  code: 'TRACE_UNPARSABLE' | 'TRACE_ORPHAN_RESUMED' | 'TRACE_UNFINISHED'
  line: number
  text: string
}

const ABIS: readonly Abi[] = ['x86_64', 'x86', 'x32', 'aarch64', 'arm', 'riscv64', 'ppc64le', 's390x']
/** What `[ Process PID=N runs in X mode. ]` means on each native ABI: [64 bit, 32 bit, x32]. */
const MODE_ABI: Partial<Record<Abi, [Abi, Abi | undefined, Abi | undefined]>> = {
  x86_64: ['x86_64', 'x86', 'x32'],
  x86: ['x86_64', 'x86', 'x32'],
  x32: ['x86_64', 'x86', 'x32'],
  aarch64: ['aarch64', 'arm', undefined],
  arm: ['aarch64', 'arm', undefined],
  riscv64: ['riscv64', undefined, undefined],
  ppc64le: ['ppc64le', undefined, undefined],
  s390x: ['s390x', undefined, undefined],
}
const NO_ERRORS = new Set(['rt_sigreturn', 'sigreturn'])
const FORKS = new Set(['clone', 'clone2', 'clone3', 'fork', 'vfork'])
const EXEC_PATH_ARG: Record<string, number> = {execve: 0, execveat: 1}
const MAX_LINE = 4 << 20 // a longer "line" is counted unparsable and skipped, memory stays flat
const MAX_DIAGNOSTICS = 20
const STRACE_MSG = Buffer.from('strace: ')
/** argument text kept for a pending call; beyond this its inspected arguments become unknown */
const MAX_ARGS_TEXT = 64 << 10

/** profiles/inspected-args.json: syscall -> kernel index -> argument name */
let inspectedCache: Map<string, Array<[number, string]>> | undefined
function inspectedArgs(): Map<string, Array<[number, string]>> {
  if (inspectedCache) return inspectedCache
  const data = JSON.parse(readFileSync(join(profilesDir(), 'inspected-args.json'), 'utf8')) as {syscalls: Record<string, Record<string, string>>}
  const m = new Map<string, Array<[number, string]>>()
  for (const [name, args] of Object.entries(data.syscalls)) {
    m.set(name, Object.entries(args).filter(([k]) => /^[0-5]$/.test(k)).map(([k, v]) => [Number(k), v] as [number, string]))
  }
  return (inspectedCache = m)
}

/** An interned syscall name. */
interface Sys {
  name: string
  /** kernel index -> label, or null when no argument is inspected */
  inspect: Array<[number, string]> | null
  /** label bytes per inspected argument, same order as inspect */
  labels: Uint8Array[]
  execArg: number
  forks: boolean
  /** whether the argument text must be kept (inspected or exec) */
  keepArgs: boolean
  valid: boolean
  /** sigreturn: its "return value" is the interrupted code's register, not an error of its own */
  noErrors: boolean
  /** no inspected arguments, not exec, not fork: only counts and errors */
  plain: boolean
  /** foldFast() may count it: valid, not exec, not fork */
  fast: boolean
  /** lane() may count it: fast and plain (only counts and errors) */
  lane: boolean
  /** accumulator per ABI index (fast path; the same objects as Observer.accs) */
  accs: Array<Acc | undefined>
}

interface Acc {
  count: number
  /** count per errno id (Observer.errnoNames) */
  errors: number[] | null
  args: Map<number, ArgSlot> | null
  /** the same slots in sys.inspect order */
  slots: ArgSlot[] | null
}

interface ArgSlot {
  values: Set<string>
  unknown: boolean
  /** bytes of the first printed values (foldInline skips a repeat) */
  seen: Uint8Array[]
}

/** Per pid: its ABI and its pending (unfinished) call, if any. */
interface PidState {
  pid: number
  abi: number
  /** the pending call's syscall, or null */
  psys: Sys | null
  /** ABI the pending call entered with */
  pabi: number
  /** its argument bytes so far in pbuf[0, plen) (only when psys.keepArgs; plen -1: none or lost) */
  pbuf: Buffer | null
  plen: number
  /** line number of its <unfinished ...> */
  pline: number
}

/** Byte-keyed intern table: name bytes -> value, without building a string per lookup. */
class Interner<T> {
  private keys: Uint8Array[] = []
  private vals: T[] = []
  private slots = new Int32Array(1024).fill(-1)
  private mask = 1023
  constructor(private readonly make: (name: string) => T) {}
  get(b: Uint8Array, s: number, e: number): T {
    let h = 0x811c9dc5
    for (let i = s; i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193)
    return this.getHashed(b, s, e, h)
  }
  /** get() with the FNV-1a hash of b[s, e) already computed */
  getHashed(b: Uint8Array, s: number, e: number, h: number): T {
    let slot = (h >>> 0) & this.mask
    for (;;) {
      const idx = this.slots[slot]!
      if (idx < 0) break
      const k = this.keys[idx]!
      if (k.length === e - s) {
        let same = true
        for (let i = 0; i < k.length; i++) if (k[i] !== b[s + i]) { same = false; break }
        if (same) return this.vals[idx]!
      }
      slot = (slot + 1) & this.mask
    }
    const key = Uint8Array.prototype.slice.call(b, s, e)
    const v = this.make(Buffer.from(key).toString('latin1'))
    this.slots[slot] = this.keys.length
    this.keys.push(key)
    this.vals.push(v)
    if (this.keys.length * 2 > this.mask) this.grow()
    return v
  }
  get size(): number { return this.keys.length }
  private grow(): void {
    const size = (this.mask + 1) * 2
    this.mask = size - 1
    this.slots = new Int32Array(size).fill(-1)
    this.keys.forEach((k, idx) => {
      let h = 0x811c9dc5
      for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k[i]!, 0x01000193)
      let slot = (h >>> 0) & this.mask
      while (this.slots[slot]! >= 0) slot = (slot + 1) & this.mask
      this.slots[slot] = idx
    })
  }
}

/** lane(): name byte -> its 6-bit code (a-z 1-26, _ 27, 0-9 28-37, ? 38), 0 for any other byte */
const NAME_CODE = new Uint8Array(256)
for (let c = 0x61; c <= 0x7a; c++) NAME_CODE[c] = c - 0x60
NAME_CODE[0x5f] = 27
for (let c = 0x30; c <= 0x39; c++) NAME_CODE[c] = c - 0x14
NAME_CODE[0x3f] = 38

const VALID_NAME = /^([a-z_][a-z0-9_]*|syscall_0x[0-9a-f]+)$/
const VALID_ERRNO = /^E[A-Z0-9_]+$/

export class Observer {
  readonly stats = {calls: 0, distinct: 0, processes: 0, lines: 0, unparsed: 0}
  readonly diagnostics: Diagnostic[] = []

  private readonly opts: ObserverOptions
  private readonly st = new LexState()
  private readonly resolver = new ValueResolver()
  private readonly inspected = inspectedArgs()
  private readonly sysnames: Interner<Sys>
  /** errno name bytes -> index into errnoNames, or -1 when it is not an errno name */
  private readonly errnoNames: string[] = []
  private readonly errnames = new Interner<number>((s) => (VALID_ERRNO.test(s) ? this.errnoNames.push(s) - 1 : -1))
  /** per ABI index: Map<Sys, Acc> */
  private readonly accs: Array<Map<Sys, Acc>> = ABIS.map(() => new Map())
  private readonly states = new Map<number, PidState>()
  private cur: PidState | null = null
  /** calls waiting for their `<... resumed>` (all pids) */
  private pendingCount = 0
  private readonly childAbi = new Map<number, number>()
  private readonly pids = new Set<number>()
  private readonly pathCache = new Map<string, string | undefined>()
  private readonly execs = new Set<string>()
  private readonly defaultAbi: number
  private readonly modeAbi: [Abi, Abi | undefined, Abi | undefined]
  private lastAbi: number
  private stitch: Buffer | null = null
  private carry: Buffer | null = null
  private carryLen = 0
  private overlong = false
  private ended = false
  private readonly laneOn: boolean
  /** lane(): direct-mapped name cache, 1024 entries of [length, packed name words] -> Sys (length 0: empty) */
  private readonly nameKeys = new Int32Array(1024 * 6)
  private readonly nameSys: Array<Sys | null> = new Array<Sys | null>(1024).fill(null)
  private readonly fastOn: boolean
  /** the lane's lexer in WebAssembly (null: lane() lexes in TypeScript) */
  private readonly wasm: LaneScanner | null
  /** lane.wasm's name ids -> Sys, for the scanner's generation idGen */
  private idSys: Sys[] = []
  private idGen = -1
  /** the (name id * 8 + ABI) lane.wasm may count, with the tally its counts go to */
  private readonly enabled: Array<[number, Acc]> = []
  /** the same tallies by (name id * 8 + ABI) */
  private kAcc: Acc[] = []
  /** lane.wasm errno ids -> index into errnoNames */
  private errOf: number[] = []

  constructor(opts: ObserverOptions) {
    this.opts = opts
    const lanes = opts.lanes ?? 'all'
    this.laneOn = lanes === 'all' || lanes === 'js'
    this.fastOn = lanes !== 'none'
    this.wasm = lanes === 'all' ? LaneScanner.shared() : null
    const def = opts.defaultAbi ?? abiOfMachine(opts.host.machine)
    this.defaultAbi = ABIS.indexOf(def)
    this.lastAbi = this.defaultAbi
    this.modeAbi = MODE_ABI[def] ?? [def, undefined, undefined]
    this.sysnames = new Interner<Sys>((name) => {
      const inspect = this.inspected.get(name) ?? null
      const execArg = EXEC_PATH_ARG[name] ?? -1
      const forks = FORKS.has(name)
      const valid = VALID_NAME.test(name)
      const noErrors = NO_ERRORS.has(name)
      return {name, inspect, plain: inspect === null && execArg < 0 && !forks, labels: (inspect ?? []).map(([, l]) => Buffer.from(l, 'latin1')), execArg, forks, keepArgs: inspect !== null || execArg >= 0, valid, noErrors, fast: valid && execArg < 0 && !forks, lane: valid && inspect === null && execArg < 0 && !forks, accs: ABIS.map(() => undefined)}
    })
  }

  /** Feed bytes; lines may span chunks. */
  /**
   * Two buffers of n bytes to read chunks into for push() (one read while the other is
   * parsed) that spare push() a copy (lane.wasm's input), or null (no lane.wasm, or another
   * reader has them). See LaneScanner.lease().
   */
  leaseInput(n: number): {view: (k: number) => Buffer; release: () => void} | null {
    return this.wasm === null ? null : this.wasm.lease(n)
  }

  push(chunk: Buffer): void {
    if (this.ended) return
    let s = 0
    const n = chunk.length
    if (this.carry !== null || this.overlong) {
      const nl = chunk.indexOf(10)
      const upto = nl < 0 ? n : nl
      if (this.overlong) {
        if (nl < 0) return
        this.overlong = false
        this.unparsable(null, 0, 0, '<line longer than 4 MiB>')
      } else {
        this.appendCarry(chunk, 0, upto)
        if (nl < 0) return
        if (!this.overlong) {
          const c = this.carry!
          const len = this.carryLen
          this.carry = null
          this.carryLen = 0
          this.line(c, 0, len)
        } else {
          this.overlong = false
          this.unparsable(null, 0, 0, '<line longer than 4 MiB>')
        }
      }
      s = nl + 1
    }
    s = this.lines(chunk, s)
    if (s < n) this.appendCarry(chunk, s, n)
  }

  /** Every whole line of chunk from s on; returns where the unfinished tail starts. */
  private lines(chunk: Buffer, s: number): number {
    const w = this.wasm
    if (w === null) return this.linesJs(chunk, s)
    // lane.wasm counts the commonest lines itself and stops at each other line with its
    // record; laneRec() does the rest of lane() with it
    if (w.claim(this)) this.forgetWasm()
    w.load(chunk, s, chunk.length)
    if (w.generation !== this.idGen) {
      this.idSys = []
      this.idGen = w.generation
      this.forgetWasm()
    }
    const st = this.st
    const fast = this.fastOn
    const r = w.rec
    const status = w.status
    let from = 0
    for (;;) {
      status[2] = this.lastAbi
      status[6] = this.stats.lines
      const got = w.scan(from, this.stitch === null)
      const taken = status[1]!
      if (taken > 0) {
        this.stats.lines += taken
        this.stats.calls += status[4]!
        this.lastAbi = status[2]!
        if (status[5]! > 0) this.syncDirty(w, status[5]!, chunk, s)
        if (status[7]! > 0) this.syncExited(w, status[7]!)
      }
      from = status[3]!
      if (got === 0) break
      const ls = s + r[R_START]!
      const nl = s + r[R_NEWLINE]!
      if (this.stitch === null && r[R_KIND] !== LANE.OTHER) {
        if (this.laneRec(chunk, s, r, 0)) continue
        // lane.wasm lexed the name as lexFast() would: foldFast() leaves such a syscall
        // (exec, fork, an invalid name) to line(), so it need not be lexed twice
        if (!this.idSys[r[R_ID]!]!.fast) {
          this.line(chunk, ls, nl)
          continue
        }
      }
      if (this.stitch === null && fast && lexFast(chunk, ls, nl, st) && this.foldFast(chunk)) {
        const ps = this.cur!
        if (ps.psys === null) w.setPid(ps.pid, ps.abi)
        else w.forgetPid(ps.pid)
        continue
      }
      this.line(chunk, ls, nl)
    }
    // take lane.wasm's counts
    const counts = w.counts
    for (const [k, acc] of this.enabled) {
      const n = counts[k]!
      if (n !== 0) {
        acc.count += n
        counts[k] = 0
      }
    }
    if (w.hasErrors()) {
      const errs = w.errs
      for (let q = 0; q < errs.length; q += 2) {
        const n = errs[q + 1]!
        if (n === 0) continue
        const key = errs[q]! - 1
        const acc = this.kAcc[key >>> 11]!
        this.tallyError(acc, this.errOf[key & 2047]!, n)
      }
      w.clearErrors()
    }
    return s + from
  }

  /** lane.wasm emptied its tables: forget what we had enabled there. */
  private forgetWasm(): void {
    this.enabled.length = 0
    this.kAcc = []
    this.errOf = []
  }

  /**
   * Copy the pending calls that lane.wasm started or finished into the pids' states (with the
   * argument text of an inspected one, from chunk at base + the offsets lane.wasm gives).
   */
  private syncDirty(w: LaneScanner, n: number, chunk: Buffer, base: number): void {
    const dirty = w.dirty
    const slots = w.pids
    for (let q = 0; q < n; q++) {
      const pid = dirty[q]!
      const ps = this.states.get(pid)!
      const t = w.slotOf(pid)
      const pend = slots[t + 3]!
      if (pend < 0) {
        if (ps.psys !== null) this.takePending(ps)
      } else {
        if (ps.psys === null) this.pendingCount++
        ps.psys = this.idSys[pend]!
        ps.pabi = slots[t + 4]!
        ps.pline = slots[t + 5]!
        ps.plen = -1
        if (slots[t + 8]! >= 0) this.appendPending(ps, chunk, base + slots[t + 9]!, base + slots[t + 10]!, true)
      }
    }
  }

  /** Drop the states of the pids whose exit lane.wasm took (as line() does; none had a call pending). */
  private syncExited(w: LaneScanner, n: number): void {
    const exited = w.exited
    for (let q = 0; q < n; q++) {
      const pid = exited[q]!
      this.states.delete(pid)
      this.childAbi.delete(pid)
    }
    this.cur = null
  }

  /**
   * lane() from the record at r[p] (lexed by lane.wasm; offsets relative to base): the same
   * decisions on the same line, from the name lookup on.
   */
  private laneRec(b: Buffer, base: number, r: Int32Array, p: number): boolean {
    const id = r[p + R_ID]!
    let sys = this.idSys[id]
    if (sys === undefined) {
      sys = this.idSys[id] = this.sysnames.get(b, base + r[p + R_NAME]!, base + r[p + R_NAME_END]!)
      // lane.wasm can check the argument of a syscall with one inspected argument
      if (sys.fast && sys.inspect !== null && sys.inspect.length === 1) this.wasm!.insp[id] = sys.inspect[0]![0] + 1
    }
    if (!sys.fast) return sys.valid && (sys.forks || sys.execArg >= 0) && this.laneProc(b, base, r, p, sys)
    const kind = r[p + R_KIND]!
    const pid = r[p + R_PID]!
    const plain = sys.lane
    if (kind === LANE.UNFINISHED) {
      if (!plain) return false
      const ps = this.laneUnfinished(sys, pid)
      if (ps === null) return false
      this.wasm!.setPid(pid, ps.abi, id, ps.pabi, ps.pline)
      return true
    }
    const resumed = kind === LANE.RESUMED
    if (resumed && !plain) return false
    let ae = -1
    if (!plain) {
      ae = r[p + R_ARGS_END]!
      if (ae < 0) return false
      ae += base
    }
    const es = r[p + R_ERR]!
    const acc = this.laneFold(b, sys, pid, resumed, base + r[p + R_ARGS]!, ae, es < 0 ? -1 : base + es, base + r[p + R_ERR_END]!)
    if (acc === null) return false
    const abi = this.laneAbi
    const w = this.wasm!
    const x = r[p + R_ERR_ID]!
    if (this.laneErrno >= 0 && x >= 0 && w.errOk[x] === 0) {
      // lane.wasm may count this errno from now on
      this.errOf[x] = this.laneErrno
      w.errOk[x] = 1
    }
    w.setPid(pid, this.cur!.abi)
    if (plain || (ae >= 0 && !resumed && w.insp[id] !== 0)) {
      // lane.wasm may count this syscall in this ABI from now on (an inspected one: when its
      // argument text is one recorded already)
      const k = id * 8 + abi
      if (w.ok[k] === 0) {
        w.ok[k] = (sys.noErrors ? 3 : 1) | (plain ? 0 : 4)
        this.enabled.push([k, acc])
        this.kAcc[k] = acc
      }
      if (!plain && r[p + R_ARGV]! >= 0) w.remember(k, r[p + R_ARGV]!, r[p + R_ARGV_END]!)
    }
    return true
  }

  /**
   * laneRec() for an exec or a fork (line() takes these otherwise), what general() does with
   * the lines that are most of them: the `<unfinished ...>` half (its argument text kept, as
   * foldFast() keeps it), a fork's finished call (its inspected arguments, the child's ABI),
   * an exec's finished one (count and errno; the path of a successful one when the exact
   * scan of its argument text ends where lane.wasm found the end), and the `<... resumed>`
   * half of the pid's pending one (laneResumed()). Not, to be safe: an argument text with a
   * '<' (decorations, `<pid changed to N ...>`: line() decides what they mean).
   */
  private laneProc(b: Buffer, base: number, r: Int32Array, p: number, sys: Sys): boolean {
    const kind = r[p + R_KIND]!
    if (kind === LANE.RESUMED) return this.laneResumed(b, base, r, p, sys)
    const as = base + r[p + R_ARGS]!
    let ae = r[p + R_ARGS_END]!
    const es = r[p + R_ERR]!
    if (kind === LANE.CALL && sys.inspect !== null && (ae < 0 || sys.execArg >= 0)) return false
    const value = kind === LANE.CALL && es < 0 ? valueAt(b, base + r[p + R_RET]!, base + r[p + R_NEWLINE]!) : NaN
    // a successful exec: general() scans its argument text exactly (rescanExact())
    const execOk = sys.execArg >= 0 && value === 0
    if (execOk && ae < 0) return false
    ae = ae < 0 ? base + r[p + R_NEWLINE]! : base + ae
    // (indexOf: exec's argument text can be long, and this runs before V8 optimizes it)
    if (b.subarray(as, ae).indexOf(0x3c) >= 0) return false
    if (execOk && argsCloseExact(b, as, ae + 1) !== ae) return false
    const pid = r[p + R_PID]!
    let ps = this.cur
    if (ps === null || ps.pid !== pid) ps = this.state(pid)
    if (ps.psys !== null) return false
    const abi = ps.abi
    const line = ++this.stats.lines
    this.lastAbi = abi
    if (kind === LANE.UNFINISHED) {
      this.setPending(ps, sys, abi, b, as, ae, line)
      this.wasm!.forgetPid(pid)
      return true
    }
    this.foldRec(b, base, r, p, sys, abi, b, as, ae, value)
    this.wasm!.setPid(pid, abi)
    return true
  }

  /**
   * The `<... NAME resumed>` of an exec or fork pending for the pid, as general() takes it,
   * when its argument text leaves nothing for rescanExact() to decide (no quote, bracket,
   * comment or decoration: it ends at the ')' before ` = `): joined to the pending text, then
   * fold() (inspected arguments, the exec's path, the child's ABI).
   */
  private laneResumed(b: Buffer, base: number, r: Int32Array, p: number, sys: Sys): boolean {
    const pid = r[p + R_PID]!
    let ps = this.cur
    if (ps === null || ps.pid !== pid) ps = this.state(pid)
    if (ps.psys !== sys) return false
    let ae = r[p + R_ARGS_END]!
    if (ae < 0) return false
    ae += base
    const as = base + r[p + R_ARGS]!
    if (sys.keepArgs) {
      for (let i = as; i < ae; i++) {
        const c = b[i]!
        if (c === 0x22 || c === 0x28 || c === 0x29 || c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d || c === 0x3c || c === 0x3e || c === 0x2f) return false
      }
    }
    this.stats.lines++
    if (sys.keepArgs) this.appendPending(ps, b, as, ae, false)
    else ps.plen = -1
    const abi = ps.pabi
    const len = ps.plen
    const src = len >= 0 ? ps.pbuf : null
    this.takePending(ps)
    const value = r[p + R_ERR]! < 0 ? valueAt(b, base + r[p + R_RET]!, base + r[p + R_NEWLINE]!) : NaN
    this.foldRec(b, base, r, p, sys, abi, src, 0, len, value)
    this.wasm!.setPid(pid, ps.abi)
    return true
  }

  /**
   * fold() for an exec or fork taken from lane.wasm's record at r[p] (laneProc(),
   * laneResumed()): count it and its errno, read its inspected arguments from src[as, ae)
   * (null: unknown), then procEffects() with its return value.
   */
  private foldRec(b: Buffer, base: number, r: Int32Array, p: number, sys: Sys, abi: number, src: Buffer | null, as: number, ae: number, value: number): void {
    const acc = this.acc(sys, abi)
    acc.count++
    this.stats.calls++
    const es = r[p + R_ERR]!
    if (es >= 0 && !sys.noErrors) this.countErrno(acc, b, base + es, base + r[p + R_ERR_END]!)
    if (sys.inspect !== null) this.argsFrom(acc, sys, src, as, ae)
    this.procEffects(sys, abi, src, as, ae, value)
  }

  /**
   * What a counted exec or fork leaves besides its count: an exec's path when it returned 0
   * (from its argument text src[as, ae)), a fork's child ABI (value: the child's pid).
   */
  private procEffects(sys: Sys, abi: number, src: Buffer | null, as: number, ae: number, value: number): void {
    if (sys.execArg >= 0 && src !== null && value === 0) {
      const path = this.execPath(src, as, ae, sys.execArg)
      if (path !== undefined && path !== '') this.execs.add(path)
    }
    if (sys.forks && value > 0 && !this.states.has(value)) this.childAbi.set(value, abi)
  }

  /** exec's path argument (execPathArg()) decoded; the same texts come again and again, so a cache */
  private execPath(src: Buffer, as: number, ae: number, n: number): string | undefined {
    const raw = execPathArg(src, as, ae, n)
    const cache = this.pathCache
    let path = cache.get(raw)
    if (path === undefined && !cache.has(raw)) {
      path = decodeCString(raw)
      if (cache.size >= 4096) cache.clear()
      cache.set(raw, path)
    }
    return path
  }

  /** lines() without lane.wasm. */
  private linesJs(chunk: Buffer, s: number): number {
    const st = this.st
    for (;;) {
      const nl = chunk.indexOf(10, s)
      if (nl < 0) return s
      if (!(this.stitch === null && ((this.laneOn && this.lane(chunk, s, nl)) || (this.fastOn && lexFast(chunk, s, nl, st) && this.foldFast(chunk))))) this.line(chunk, s, nl)
      s = nl + 1
    }
  }

  /**
   * The lane: lexFast() and foldFast() in one pass. For the syscalls that are only counted
   * (sys.lane): a finished call (no call pending), its `<unfinished ...>` half, and the
   * `<... NAME resumed>` of the pid's pending call, the argument text not visited; for the
   * inspected ones (not exec, not fork): a finished call, its arguments read in place.
   * Accepts a subset of what lexFast() accepts (a `PID ` prefix, optional timestamp and `-T`
   * duration) and does exactly what foldFast() would do with it; no LexState, no allocation.
   * Returns false for anything else, having changed nothing that foldFast() or line() would
   * not change the same way first (the pid's state).
   */
  private lane(b: Buffer, s: number, e: number): boolean {
    if (e - s < 8) return false
    let c = b[e - 1]!
    while (c === 0x20 || c === 0x0d) {
      if (--e <= s) return false
      c = b[e - 1]!
    }
    let i = s
    c = b[i]!
    let pid = 0
    while (c >= 0x30 && c <= 0x39) {
      pid = pid * 10 + (c - 0x30)
      if (++i >= e) return false
      c = b[i]!
    }
    if (i === s || i - s > 7 || c !== 0x20 || pid > 4194304) return false
    do { if (++i >= e) return false; c = b[i]! } while (c === 0x20)
    if (c >= 0x30 && c <= 0x39) {
      // timestamp
      do { if (++i >= e) return false; c = b[i]! } while ((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x3a)
      if (c !== 0x20) return false
      do { if (++i >= e) return false; c = b[i]! } while (c === 0x20)
    }
    let angle = false
    if (b[e - 1] === 0x3e) {
      e = stripDuration(b, i, e)
      if (e <= i) return false
      angle = b[e - 1] === 0x3e
    }
    let resumed = false
    let ns = i
    if (c === 0x3c) {
      if (!startsWith(b, i, e, L_RESUMED_HEAD)) return false
      resumed = true
      ns = i + L_RESUMED_HEAD.length
      if (ns >= e || NAME_BYTE[(c = b[ns]!)] === 0) return false
    } else if (!((c >= 0x61 && c <= 0x7a) || c === 0x5f)) return false
    // The name, packed exactly: 6 bits a byte (NAME_CODE), five bytes a
    // word; w is the word being filled, w0-w3 the last four full ones. Up to 24 bytes the pack
    // (with the length) is the name itself, so the name cache needs no byte comparison.
    let w = 0
    let w0 = 0
    let w1 = 0
    let w2 = 0
    let w3 = 0
    let left = 5
    let j = ns
    const code = NAME_CODE // a local: the table is loaded once, not once a byte
    for (; j < e; j++) {
      const v = code[b[j]!]!
      if (v === 0) break
      w = (w << 6) | v
      if (--left === 0) {
        w3 = w2
        w2 = w1
        w1 = w0
        w0 = w
        w = 0
        left = 5
      }
    }
    const n = j - ns
    let as = j + 1
    if (!resumed) {
      if (j >= e || b[j] !== 0x28) return false
    } else {
      if (!startsWith(b, j, e, L_RESUMED_TAIL)) return false
      as = j + L_RESUMED_TAIL.length
    }
    let x = Math.imul(w ^ n, 0x9e3779b1) ^ w0
    x = Math.imul(x ^ (x >>> 15), 0x85ebca6b) ^ w1
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) ^ w2 ^ w3
    const at = Math.imul(x ^ (x >>> 16), 0x9e3779b1) >>> 22
    const slot = at * 6
    const keys = this.nameKeys
    let sys: Sys
    if (keys[slot] === n && keys[slot + 1] === w && keys[slot + 2] === w0 && keys[slot + 3] === w1 && keys[slot + 4] === w2 && keys[slot + 5] === w3) {
      sys = this.nameSys[at]!
    } else {
      sys = this.sysnames.get(b, ns, j)
      if (n <= 24) {
        keys[slot] = n
        keys[slot + 1] = w
        keys[slot + 2] = w0
        keys[slot + 3] = w1
        keys[slot + 4] = w2
        keys[slot + 5] = w3
        this.nameSys[at] = sys
      }
    }
    if (!sys.fast) return false
    // count-only syscalls take every shape here; inspected ones only a finished call
    const plain = sys.lane
    if (angle) {
      if (endsWith(b, as, e, L_UNFINISHED)) {
        // NAME(… <unfinished ...>
        if (resumed || !plain) return false
        return this.laneUnfinished(sys, pid) !== null
      }
      if (endsWith(b, as, e, L_DETACHED)) return false
    }
    if (resumed && !plain) return false
    // the return part, backwards (as lexFast())
    if (endsWith(b, as, e, L_INJECTED)) return false
    const t = returnBack(b, as, e)
    if (t < 0) return false
    const k = tailEq + 1
    // an error return (as parseValue()): -DIGITS SP ENAME
    let es = -1
    let ee = -1
    if (b[t] === 0x2d && t + 1 < e && (c = b[t + 1]!) >= 0x30 && c <= 0x39) {
      j = t + 2
      while (j < e && (c = b[j]!) >= 0x30 && c <= 0x39) j++
      if (j + 1 < e && b[j] === 0x20 && b[j + 1] === 0x45) {
        es = j + 1
        ee = es + 1
        while (ee < e && ((c = b[ee]!) >= 0x41 && c <= 0x5a || c >= 0x61 && c <= 0x7a || c >= 0x30 && c <= 0x39 || c === 0x5f)) ee++
      }
    }
    // an inspected syscall's arguments end at the ')' before ' = ' (argsEndOf()); when they
    // do not, line() finds the line unparsable before it looks at the pid
    let ae = -1
    if (!plain) {
      ae = backOverSpaces(b, as, k - 1)
      if (ae <= as || b[ae - 1] !== 0x29) return false
      ae--
    }
    return this.laneFold(b, sys, pid, resumed, as, ae, es, ee) !== null
  }

  /**
   * The `NAME(… <unfinished ...>` of a count-only syscall (lane(), laneRec()): start the
   * pending call unless the pid has one. Returns the pid's state, or null (only the state was
   * made).
   */
  private laneUnfinished(sys: Sys, pid: number): PidState | null {
    let ps = this.cur
    if (ps === null || ps.pid !== pid) ps = this.state(pid)
    if (ps.psys !== null) return null
    const abi = ps.abi
    const line = ++this.stats.lines
    this.lastAbi = abi
    this.pendingCount++
    ps.psys = sys
    ps.pabi = abi
    ps.pline = line
    ps.plen = -1
    return ps
  }

  /** the ABI and errno index (-1: none) of the last laneFold() */
  private laneAbi = 0
  private laneErrno = -1

  /**
   * A finished call or the `<... resumed>` of the pid's pending call (lane(), laneRec()): count
   * it, its errno b[es, ee) (es -1: none) and its inspected arguments in b[as, ae) (ae -1: not
   * inspected). Returns the tally counted into, or null when this is not the lane's (only the
   * pid's state was made).
   */
  private laneFold(b: Buffer, sys: Sys, pid: number, resumed: boolean, as: number, ae: number, es: number, ee: number): Acc | null {
    let ps = this.cur
    if (ps === null || ps.pid !== pid) ps = this.state(pid)
    let abi = ps.abi
    if (resumed) {
      if (ps.psys !== sys) return null
      abi = ps.pabi
    } else if (ps.psys !== null) return null
    const acc = sys.accs[abi]
    if (acc === undefined) return null
    if (ae >= 0 && acc.slots === null) return null
    this.stats.lines++
    if (resumed) this.takePending(ps)
    else this.lastAbi = abi
    acc.count++
    this.stats.calls++
    this.laneAbi = abi
    this.laneErrno = es >= 0 && !sys.noErrors ? this.countErrno(acc, b, es, ee) : -1
    if (ae >= 0) this.argsFrom(acc, sys, b, as, ae)
    return acc
  }

  /**
   * The common lines (lexFast() accepted the line; st holds it): a finished call with no call
   * pending, an `<unfinished ...>` with none pending, and the `<... resumed>` of the pid's
   * pending call, of a syscall already counted in its ABI (not exec, not fork). Returns
   * false for anything else, having changed nothing that line() would not change the same
   * way first (the pid's state); line() then does the general work. Must agree with the
   * CALL, UNFINISHED and RESUMED cases of line().
   */
  private foldFast(b: Buffer): boolean {
    const st = this.st
    const sys = this.sysnames.getHashed(b, st.nameStart, st.nameEnd, st.nameHash)
    if (!sys.fast) return false
    const kind = st.kind
    let ae = 0
    if (kind === KIND.CALL && sys.inspect !== null) {
      // line() finds such a line unparsable before it looks at the pid
      ae = argsEndOf(b, st)
      if (ae < 0) return false
    }
    const pid = st.pid
    let ps = this.cur
    if (ps === null || ps.pid !== pid) ps = this.state(pid)
    let abi = ps.abi
    if (kind === KIND.RESUMED) {
      if (ps.psys !== sys) return false
      if (sys.keepArgs) return this.resumedArgs(b, ps, sys)
      abi = ps.pabi
    } else if (ps.psys !== null) return false
    else if (kind === KIND.UNFINISHED) {
      this.stats.lines++
      this.lastAbi = abi
      this.setPending(ps, sys, abi, b, st.argsStart, st.argsEnd, this.stats.lines)
      return true
    }
    const acc = sys.accs[abi]
    if (acc === undefined) return false
    if (ae > 0 && acc.slots === null) return false
    const error = st.ret === RET.ERROR && !st.injected && !sys.noErrors
    this.stats.lines++
    if (kind === KIND.RESUMED) this.takePending(ps)
    else this.lastAbi = abi
    acc.count++
    this.stats.calls++
    if (error) {
      this.lastBuf = b
      this.countError(acc)
    }
    if (ae > 0) this.argsFrom(acc, sys, b, st.argsStart, ae)
    return true
  }

  /** foldFast() of the `<... NAME resumed>` of an inspected syscall: its arguments are in two parts. */
  private resumedArgs(b: Buffer, ps: PidState, sys: Sys): boolean {
    const st = this.st
    const abi = ps.pabi
    const acc = sys.accs[abi]
    if (acc === undefined || acc.slots === null || rescanExact(b, st) !== KIND.RESUMED || st.otherPid >= 0) return false
    this.stats.lines++
    this.lastBuf = b
    this.appendPending(ps, b, st.argsStart, st.argsEnd, false)
    const len = ps.plen
    this.takePending(ps)
    acc.count++
    this.stats.calls++
    if (st.ret === RET.ERROR && !st.injected && !sys.noErrors) this.countError(acc)
    this.argsFrom(acc, sys, len >= 0 ? ps.pbuf : null, 0, len)
    return true
  }

  private appendCarry(chunk: Buffer, s: number, e: number): void {
    const len = e - s
    if (this.overlong) return
    if (this.carryLen + len > MAX_LINE) {
      this.overlong = true
      this.carry = null
      this.carryLen = 0
      return
    }
    if (this.carry === null) {
      this.carry = Buffer.allocUnsafe(Math.max(256, len * 2))
    } else if (this.carryLen + len > this.carry.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.carry.length * 2, this.carryLen + len))
      this.carry.copy(bigger, 0, 0, this.carryLen)
      this.carry = bigger
    }
    chunk.copy(this.carry, this.carryLen, s, e)
    this.carryLen += len
  }

  /** Flush, close calls that never resumed, and return the canonical observation. */
  end(): Observation {
    if (!this.ended) {
      if (this.overlong) { this.overlong = false; this.unparsable(null, 0, 0, '<line longer than 4 MiB>') }
      if (this.carry !== null && this.carryLen > 0) {
        const c = this.carry
        this.carry = null
        this.line(c, 0, this.carryLen)
      }
      this.ended = true
      const left = [...this.states.values()].filter((ps) => ps.psys !== null).sort((a, b) => a.pline - b.pline)
      for (const ps of left) {
        this.diag('TRACE_UNFINISHED', ps.pline, `${ps.psys!.name}(… <unfinished ...> of pid ${ps.pid} never resumed`)
        this.closePending(ps)
      }
    }
    if (this.opts.strict && this.stats.unparsed > 0) {
      const first = this.diagnostics.find((d) => d.code === 'TRACE_UNPARSABLE')
      throw new SeccompGenError(
        'TRACE_UNPARSABLE',
        `${this.stats.unparsed} strace line(s) could not be parsed; first at line ${first?.line ?? '?'}: ${first?.text ?? ''}`,
        {line: first?.line},
      )
    }
    return this.observation()
  }

  // ------------------------------------------------------------------------------------
  /** The state of a pid, created on first sight (its ABI inherited, see the header). */
  private state(pid: number): PidState {
    const c = this.cur
    if (c !== null && c.pid === pid) return c
    let ps = this.states.get(pid)
    if (ps === undefined) {
      const abi = this.childAbi.get(pid) ?? this.lastAbi
      this.childAbi.delete(pid)
      ps = {pid, abi, psys: null, pabi: 0, pbuf: null, plen: -1, pline: 0}
      this.states.set(pid, ps)
      if (!this.pids.has(pid)) {
        this.pids.add(pid)
        this.stats.processes = this.pids.size
      }
    }
    this.cur = ps
    return ps
  }

  /**
   * stderr logs: a call started while its process was the only one (no prefix, pid 0 here)
   * resumes as `[pid N] <... NAME resumed>` once there are several: pid 0 was N.
   */
  private adoptUnprefixed(ps: PidState, named: Sys): void {
    const z = this.states.get(0)!
    if (z.psys === null || (z.psys !== named && named.name !== '???')) return
    this.movePending(z, ps)
    ps.abi = z.abi
    this.states.delete(0)
    this.pids.delete(0)
    this.stats.processes = this.pids.size
  }

  /** The pid of an unprefixed line: the only live pid when exactly one is known, else 0. */
  private soloPid(): number {
    const n = this.states.size
    if (n === 1) {
      if (this.cur !== null && this.states.has(this.cur.pid)) return this.cur.pid
      for (const p of this.states.keys()) return p
    }
    if (n === 2) {
      // an idle unprefixed state (pid 0) and one live pid: they are the same process
      const z = this.states.get(0)
      if (z !== undefined && z.psys === null) {
        this.states.delete(0)
        this.pids.delete(0)
        this.stats.processes = this.pids.size
        this.cur = null
        for (const p of this.states.keys()) return p
      }
    }
    return 0
  }

  /** Start a pending call; keeps src[s, e) as its argument bytes when the syscall needs them. */
  private setPending(ps: PidState, sys: Sys, abi: number, src: Buffer | null, s: number, e: number, line: number): void {
    if (ps.psys === null) this.pendingCount++
    ps.psys = sys
    ps.pabi = abi
    ps.pline = line
    ps.plen = -1
    if (src !== null && sys.keepArgs) this.appendPending(ps, src, s, e, true)
  }

  /** Append src[s, e) to ps's argument bytes (reusing its buffer); over MAX_ARGS_TEXT they are dropped. */
  private appendPending(ps: PidState, src: Buffer, s: number, e: number, fresh: boolean): void {
    const at = fresh ? 0 : ps.plen
    if (at < 0) return
    const len = at + (e - s)
    if (len > MAX_ARGS_TEXT) { ps.plen = -1; return }
    if (ps.pbuf === null || ps.pbuf.length < len) {
      const bigger = Buffer.allocUnsafe(Math.max(256, len * 2))
      if (at > 0) ps.pbuf!.copy(bigger, 0, 0, at)
      ps.pbuf = bigger
    }
    src.copy(ps.pbuf, at, s, e)
    ps.plen = len
  }

  /** Move the pending call of `from` to `to` (which has none). */
  private movePending(from: PidState, to: PidState): void {
    if (from.psys === null) return
    if (to.psys === null) this.pendingCount++
    to.psys = from.psys
    to.pabi = from.pabi
    to.pline = from.pline
    const buf = to.pbuf
    to.pbuf = from.pbuf
    to.plen = from.plen
    from.pbuf = buf
    this.takePending(from)
  }

  /** Drop ps's pending call without counting it. */
  private takePending(ps: PidState): void {
    if (ps.psys === null) return
    ps.psys = null
    ps.plen = -1
    this.pendingCount--
  }

  /** A pending call that will never get its return: count it; arguments as far as printed. */
  private closePending(ps: PidState): void {
    const sys = ps.psys
    if (sys === null) return
    const abi = ps.pabi
    const len = ps.plen
    this.takePending(ps)
    if (sys.valid) this.foldIncomplete(sys, abi, len >= 0 ? ps.pbuf : null, len)
  }

  /** The general path for one line. */
  private line(b: Buffer, s: number, e: number): void {
    this.linePid = -1
    this.general(b, s, e)
    // what lane.wasm knows of the pids this line may have changed is stale now: the line's
    // pid, the other pid it names (exec's `<pid changed to N ...>`, a mode switch,
    // `superseded by execve in pid N`), and pid 0 (unprefixed lines)
    const w = this.wasm
    if (w !== null && this.linePid >= 0) {
      if (this.st.otherPid >= 0) w.forgetPid(this.st.otherPid)
      w.forgetPid(0)
      const ps = this.states.get(this.linePid)
      if (ps !== undefined && ps.psys === null) w.setPid(ps.pid, ps.abi)
      else w.forgetPid(this.linePid)
    }
  }

  /** the pid line() worked on (-1: none, it changed no pid) */
  private linePid = -1

  private general(b: Buffer, s: number, e: number): void {
    const lineNo = ++this.stats.lines
    const st = this.st
    if (this.stitch !== null) {
      // the rest of a line that a `strace: …` message cut (stderr logs)
      const joined = Buffer.concat([this.stitch, b.subarray(s, e)])
      this.stitch = null
      b = joined
      s = 0
      e = joined.length
    }
    this.lastBuf = b
    let kind = lexInto(b, s, e, st)
    if (kind === KIND.UNKNOWN) {
      // On stderr strace prints `strace: Process N attached` in the middle of the line it is
      // writing; the line goes on after the newline. Keep the head and join it to the next line.
      const k = b.subarray(s, e).indexOf(STRACE_MSG)
      if (k > 0) {
        this.stitch = Buffer.from(b.subarray(s, s + k))
        return
      }
    }
    // No prefix: a single-process log, an -ff file, or a stderr log while only one process
    // was traced (strace drops the `[pid N]` prefix then): the one live pid we know, else 0.
    this.linePid = 0
    const pid = st.pid >= 0 ? st.pid : this.soloPid()
    this.linePid = pid
    switch (kind) {
      case KIND.CALL: {
        const sys = this.sysnames.getHashed(b, st.nameStart, st.nameEnd, st.nameHash)
        if (!sys.valid) { this.unparsable(b, s, e); return }
        // execve/execveat: exact argument scan (path, `<pid changed to N ...>`); inspected
        // syscalls read their arguments with argAt(), which is exact within [argsStart, argsEnd)
        // (only a successful exec needs its path; `<pid changed to N ...>` only appears on one)
        const execOk = sys.execArg >= 0 && st.ret === RET.VALUE && retValue(b, st) === 0
        if (execOk ? rescanExact(b, st) !== KIND.CALL : sys.inspect !== null && argsEndOf(b, st) < 0) { this.unparsable(b, s, e); return }
        const ps = this.state(pid)
        const abi = ps.abi
        this.lastAbi = abi
        if (ps.psys !== null) this.closePending(ps)
        if (this.countPlain(sys, abi)) return
        if (sys.inspect !== null && sys.execArg < 0) this.foldInline(sys, abi, b)
        else this.fold(sys, abi, execOk ? b : null, st.argsStart, st.argsEnd, true)
        if (st.otherPid >= 0) this.rekey(pid, st.otherPid)
        return
      }
      case KIND.UNFINISHED: {
        const sys = this.sysnames.getHashed(b, st.nameStart, st.nameEnd, st.nameHash)
        if (!sys.valid && sys.name !== '???') { this.unparsable(b, s, e); return }
        const ps = this.state(pid)
        const abi = ps.abi
        this.lastAbi = abi
        if (ps.psys !== null) this.closePending(ps)
        this.setPending(ps, sys, abi, b, st.argsStart, st.argsEnd, lineNo)
        if (st.detached) this.closePending(ps)
        return
      }
      case KIND.RESUMED: {
        const named = this.sysnames.getHashed(b, st.nameStart, st.nameEnd, st.nameHash)
        const ps = this.state(pid)
        if (ps.psys === null && pid > 0 && this.states.has(0)) this.adoptUnprefixed(ps, named)
        const psys = ps.psys
        const keep = psys !== null ? psys.keepArgs || named.keepArgs : named.keepArgs
        if (keep && st.ret !== RET.NONE) {
          kind = rescanExact(b, st)
          if (kind !== KIND.RESUMED) { this.unparsable(b, s, e); return }
        }
        if (psys !== null && (psys === named || named.name === '???' || psys.name === '???')) {
          const sys = psys.name === '???' ? named : psys
          if (sys.keepArgs) this.appendPending(ps, b, st.argsStart, st.argsEnd, false)
          else ps.plen = -1
          if (st.stillPending) { ps.psys = sys; return }
          const abi = ps.pabi
          const len = ps.plen // -1: arguments lost; inspected ones become unknown
          const src = len >= 0 ? ps.pbuf : null
          this.takePending(ps)
          if (!sys.valid) return // `???` on both sides: nothing we can name
          if (st.detached) { this.foldIncomplete(sys, abi, src, len); return }
          if (this.countPlain(sys, abi)) return
          this.fold(sys, abi, src, 0, len, true)
        } else {
          if (psys !== null) this.closePending(ps)
          this.diag('TRACE_ORPHAN_RESUMED', lineNo, b.toString('latin1', s, Math.min(e, s + 200)))
          if (!named.valid) return
          const abi = ps.abi
          if (st.stillPending) { this.setPending(ps, named, abi, null, 0, 0, lineNo); return }
          // inspected positions unknown: we lack the start of the argument list
          if (st.detached || st.ret === RET.NONE) this.foldIncomplete(named, abi, null, 0)
          else this.fold(named, abi, null, 0, 0, false)
        }
        if (st.otherPid >= 0) this.rekey(pid, st.otherPid)
        return
      }
      case KIND.EXIT: {
        this.closePending(this.state(pid))
        this.states.delete(pid)
        this.childAbi.delete(pid)
        this.cur = null
        return
      }
      case KIND.SUPERSEDED: {
        // pid (the leader) is replaced by the thread st.otherPid that called execve
        this.closePending(this.state(pid))
        this.rekey(st.otherPid, pid)
        return
      }
      case KIND.MODE: {
        const abi = this.modeAbi[st.mode === MODE.BITS64 ? 0 : st.mode === MODE.BITS32 ? 1 : 2]
        if (abi === undefined) { this.unparsable(b, s, e); return }
        const idx = ABIS.indexOf(abi)
        this.state(st.otherPid).abi = idx
        this.lastAbi = idx
        return
      }
      case KIND.SIGNAL:
        this.state(pid)
        return
      case KIND.INFO:
      case KIND.BLANK:
        return
      default:
        this.unparsable(b, s, e)
    }
  }

  /** Move pid `from`'s pending call and ABI to pid `to` (execve in a non-leader thread). */
  private rekey(from: number, to: number): void {
    if (from === to || from < 0) return
    const f = this.states.get(from)
    if (f === undefined) return
    const t = this.state(to)
    this.closePending(t)
    this.movePending(f, t)
    t.abi = f.abi
    this.states.delete(from)
    this.cur = null
  }

  /**
   * The common case of a completed call: a count-only syscall that did not fail, whose tally
   * for this ABI exists already; nothing to record but the count. False: use fold().
   */
  private countPlain(sys: Sys, abi: number): boolean {
    if (!sys.plain || this.st.ret === RET.ERROR) return false
    const acc = sys.accs[abi]
    if (acc === undefined) return false
    acc.count++
    this.stats.calls++
    return true
  }

  private foldIncomplete(sys: Sys, abi: number, src: Buffer | null, len: number): void {
    const acc = this.acc(sys, abi)
    acc.count++
    this.stats.calls++
    if (sys.inspect !== null) this.argsFrom(acc, sys, src, 0, len)
  }

  /**
   * Count one finished call; the return value is in this.st, the argument text (when known
   * and needed) in src[as, ae).
   */
  private fold(sys: Sys, abi: number, src: Buffer | null, as: number, ae: number, argsKnown: boolean, skipArgs = false): void {
    const st = this.st
    const acc = this.acc(sys, abi)
    acc.count++
    this.stats.calls++
    if (st.ret === RET.ERROR && !st.injected && !sys.noErrors) this.countError(acc)
    if (sys.inspect !== null && !skipArgs) this.argsFrom(acc, sys, argsKnown ? src : null, as, ae)
    // (a fork's child pid: `-X raw`/`-e raw=` logs print it in hex; retValue() reads both)
    if (sys.execArg >= 0 || sys.forks) this.procEffects(sys, abi, src, as, ae, retValue(this.buf(), st))
  }

  /** Count the errno of the last lexed line (st.errStart…errEnd) in acc. */
  private countError(acc: Acc): void {
    this.countErrno(acc, this.buf(), this.st.errStart, this.st.errEnd)
  }

  /** Count the errno named by b[s, e) in acc when it is one we know; returns its index, or -1. */
  private countErrno(acc: Acc, b: Buffer, s: number, e: number): number {
    const id = this.errnames.get(b, s, e)
    if (id >= 0) this.tallyError(acc, id, 1)
    return id
  }

  /** Add n to acc's count of errno index id. */
  private tallyError(acc: Acc, id: number, n: number): void {
    const counts = acc.errors ?? (acc.errors = [])
    while (counts.length <= id) counts.push(0)
    counts[id]! += n
  }

  /** A complete one-line call of an inspected syscall: read the arguments from the bytes. */
  private foldInline(sys: Sys, abi: number, b: Buffer): void {
    const st = this.st
    this.fold(sys, abi, null, 0, 0, false, true)
    this.argsFrom(sys.accs[abi]!, sys, b, st.argsStart, st.argsEnd)
  }

  /** Record the inspected arguments found in b[s, e); all unknown when b is null. */
  private argsFrom(acc: Acc, sys: Sys, b: Buffer | null, s: number, e: number): void {
    if (acc.args === null) this.initArgs(acc, sys)
    const inspect = sys.inspect!
    const slots = acc.slots!
    for (let k = 0; k < inspect.length; k++) {
      const slot = slots[k]!
      const a = b === null ? -1 : argAt(b, s, e, inspect[k]![0], sys.labels[k]!)
      if (a < 0) { slot.unknown = true; continue }
      const ae = argEnd
      // a text already seen for this argument (the first few kept): already recorded
      const seen = slot.seen
      const len = ae - a
      let hit = false
      for (let q = 0; q < seen.length && !hit; q++) {
        const key = seen[q]!
        if (key.length !== len) continue
        hit = true
        for (let x = 0; x < len; x++) if (key[x] !== b![a + x]) { hit = false; break }
      }
      if (hit) continue
      if (seen.length < 8 && len <= 64) seen.push(Uint8Array.prototype.slice.call(b!, a, ae))
      const hex = this.valueOf(b!, a, ae)
      if (hex === null) slot.unknown = true
      else slot.values.add(hex)
    }
  }

  private valueOf(b: Buffer, s: number, e: number): string | null {
    if (this.values.size > 4096) this.values = new Interner<string | null>((t) => this.resolver.hex(t))
    return this.values.get(b, s, e)
  }
  private values = new Interner<string | null>((t) => this.resolver.hex(t))

  private initArgs(acc: Acc, sys: Sys): void {
    acc.args = new Map()
    acc.slots = []
    for (const [idx] of sys.inspect!) {
      const slot: ArgSlot = {values: new Set(), unknown: false, seen: []}
      acc.args.set(idx, slot)
      acc.slots.push(slot)
    }
  }

  private lastBuf: Buffer | null = null
  private buf(): Buffer { return this.lastBuf! }

  private acc(sys: Sys, abi: number): Acc {
    let a = sys.accs[abi]
    if (a === undefined) {
      a = {count: 0, errors: null, args: null, slots: null}
      sys.accs[abi] = a
      this.accs[abi]!.set(sys, a)
      this.stats.distinct++
    }
    return a
  }

  private unparsable(b: Buffer | null, s: number, e: number, text?: string): void {
    if (b === null) this.stats.lines++
    this.stats.unparsed++
    this.diag('TRACE_UNPARSABLE', this.stats.lines, text ?? b!.toString('latin1', s, Math.min(e, s + 200)))
  }

  private diag(code: Diagnostic['code'], line: number, text: string): void {
    // control bytes escaped so a diagnostic always prints as one line
    if (this.diagnostics.length < MAX_DIAGNOSTICS) {
      this.diagnostics.push({code, line, text: text.replace(/[\x00-\x1f\x7f]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'))})
    }
  }

  private observation(): Observation {
    const abis: Observation['abis'] = {}
    this.accs.forEach((m, i) => {
      if (m.size === 0) return
      const syscalls: Record<string, SyscallObservation> = {}
      for (const [sys, a] of [...m.entries()].sort((x, y) => (x[0].name < y[0].name ? -1 : 1))) {
        const o: SyscallObservation = {count: a.count}
        if (a.errors !== null) {
          const named = a.errors.map((n, id) => [this.errnoNames[id]!, n] as [string, number]).filter(([, n]) => n > 0)
          o.errors = Object.fromEntries(named.sort((x, y) => (x[0] < y[0] ? -1 : 1)))
        }
        if (a.args !== null) {
          const args: Record<string, ArgObservation> = {}
          for (const [idx, v] of [...a.args.entries()].sort((x, y) => x[0] - y[0])) {
            const values = [...v.values].sort(hexCompare)
            args[String(idx)] = v.unknown ? {values, unknown: true} : {values}
          }
          o.args = args
        }
        // a number strace could not name is written under the kernel table's name for it
        addSyscall(syscalls, nameRawSyscall(ABIS[i]!, sys.name), o)
      }
      abis[ABIS[i]!] = {syscalls}
    })
    return {
      schema: 'seccomp-gen/observation',
      version: 1,
      command: [...this.opts.command],
      host: {...this.opts.host},
      abis,
      execs: [...this.execs].sort(),
      stats: {processes: this.stats.processes, lines: this.stats.lines, unparsed: this.stats.unparsed},
    }
  }
}

/** Numeric order of "0x…" strings. */
export function hexCompare(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length
  return a < b ? -1 : a > b ? 1 : 0
}

/** The observation ABI of a `uname -m` machine name (profiles/arches.json), x86_64 when unknown. */
export function abiOfMachine(m: string): Abi {
  const abi = archTable().find((a) => a.uname.includes(m))?.abi as Abi | undefined
  if (abi) return abi
  return m.startsWith('arm') ? 'arm' : 'x86_64'
}

const READ_CHUNK = 4 << 20

/**
 * Feed a file to obs in chunks through two buffers, the next chunk read while the current
 * one is parsed: lane.wasm's own input areas when it has them free (push() copies nothing),
 * else two reused buffers. No buffer is allocated per chunk (Observer.push copies what it
 * keeps). Works on regular files and FIFOs alike.
 */
async function readChunks(path: string, obs: Observer): Promise<void> {
  const fh = await open(path, 'r')
  const lease = obs.leaseInput(READ_CHUNK)
  const own = lease === null ? [Buffer.allocUnsafeSlow(READ_CHUNK), Buffer.allocUnsafeSlow(READ_CHUNK)] : null
  const buf = (k: number): Buffer => (own !== null ? own[k]! : lease!.view(k))
  // fs.read on the descriptor: the FileHandle's promise API costs more per chunk
  const fd = fh.fd
  const readInto = (b: Buffer): Promise<number> =>
    new Promise((resolve, reject) => read(fd, b, 0, READ_CHUNK, null, (err, n) => (err ? reject(err) : resolve(n))))
  let k = 0
  let next = readInto(buf(0))
  try {
    for (;;) {
      const n = await next
      if (n === 0) return
      const cur = buf(k)
      k ^= 1
      next = readInto(buf(k))
      obs.push(n === READ_CHUNK ? cur : cur.subarray(0, n))
    }
  } finally {
    await next.catch(() => undefined)
    lease?.release()
    await fh.close()
  }
}

/**
 * The text of exec's path argument (index n) in the argument text [as, ae) of src, as
 * splitArgs() gives it. The usual case, a quoted string first and then a comma, without
 * making a string of the whole argument text (environment comments, argv arrays).
 */
function execPathArg(src: Buffer, as: number, ae: number, n: number): string {
  if (n === 0 && src[as] === 0x22) {
    let i = as + 1
    while (i < ae && src[i] !== 0x22) i += src[i] === 0x5c ? 2 : 1
    if (i + 1 < ae && src[i + 1] === 0x2c) return src.toString('latin1', as, i + 1)
  }
  return splitArgs(src.toString('latin1', as, ae), n + 1)[n] ?? ''
}

/** Parse an existing strace log file (any of the supported formats), streaming. */
export async function observeFile(path: string, opts: Partial<ObserverOptions> = {}): Promise<{observation: Observation; diagnostics: Diagnostic[]}> {
  const obs = new Observer({command: opts.command ?? [path], host: opts.host ?? hostFacts(), strict: opts.strict, defaultAbi: opts.defaultAbi, lanes: opts.lanes})
  try {
    await readChunks(path, obs)
  } catch (err) {
    throw new SeccompGenError('IO', `cannot read ${path}: ${errnoWords(err)}`, {file: path})
  }
  try {
    const observation = obs.end()
    return {observation, diagnostics: obs.diagnostics}
  } catch (err) {
    if (err instanceof SeccompGenError) throw new SeccompGenError(err.code, err.message, {file: path, line: err.line})
    throw err
  }
}
