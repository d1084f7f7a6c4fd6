/**
 * The WebAssembly half of Observer's lanes (source: src/trace/wasm/lane.ts, AssemblyScript,
 * compiled by `npm run build` to dist/src/trace/lane.wasm). scan() goes through a chunk's
 * lines, counts the ones Observer has said are safe to count there (tables in its memory,
 * written through the views below), and stops at each other line with a record of what it
 * lexed. Observer stays the owner of the state: it shares what lane.wasm may rely on (a pid's
 * ABI and pending call, which syscalls and errnos may be counted in which ABI, the argument
 * values recorded), copies back what lane.wasm changed after each scan() (pending calls,
 * exits), and takes its tallies at the end of each chunk.
 *
 * One scanner per process, shared by every Observer: an instance per Observer would reserve a
 * wasm memory each (gigabytes of address space, freed only by GC). Observers take turns with
 * claim(), which empties the tables of the one before; a turn never spans an await. The name
 * ids stay valid until the intern table fills; then it is emptied and `generation` changes,
 * and each Observer forgets what it knew by id.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {packageRoot} from '../paths.js'

/** Record layout (Int32 fields; offsets are relative to the start of the loaded input). */
export const REC = 15
export const R_KIND = 0
export const R_START = 1
export const R_NEWLINE = 2
export const R_PID = 3
export const R_ID = 4
export const R_NAME = 5
export const R_NAME_END = 6
export const R_ARGS = 7
export const R_ARGS_END = 8
export const R_ERR = 9
export const R_ERR_END = 10
export const R_ERR_ID = 11
export const R_ARGV = 12
export const R_ARGV_END = 13
export const R_RET = 14
/** kinds */
export const LANE = {OTHER: 0, CALL: 1, UNFINISHED: 2, RESUMED: 3} as const

/** bytes the scanner may read past the input (its vector loads) */
const PAD = 128
/** when lane.wasm holds this many names, start afresh (one chunk adds at most 1024 more before its table is full) */
const RESET_AT = 1024
const PIDS = 4096
const ABIS = 8

interface Exports {
  memory: WebAssembly.Memory
  heapBase(): number
  names(): number
  reset(): void
  pidTable(): number
  okTable(): number
  countTable(): number
  statusBlock(): number
  dirtyList(): number
  exitedList(): number
  errOkTable(): number
  errTable(): number
  clearErrors(): void
  errorsUsed(): number
  clearTallies(): void
  inspTable(): number
  remember(k: number, inp: number, s: number, e: number): void
  scan(inp: number, from: number, len: number, out: number, mayCount: number): number
}

let compiled: WebAssembly.Module | null | undefined
let shared: LaneScanner | null | undefined

/** The compiled module, or null when dist/src/trace/lane.wasm is missing or does not compile. */
export function laneModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled
  try {
    compiled = new WebAssembly.Module(readFileSync(join(packageRoot(), 'dist', 'src', 'trace', 'lane.wasm')))
  } catch {
    compiled = null
  }
  return compiled
}

export class LaneScanner {
  /** the record of the last scan() that returned 1 */
  rec!: Int32Array
  /**
   * [pid generation, lines taken by the last scan(), ABI of the last call started (set before
   * scan()), next offset, calls counted, dirty pids, line number before the scan (set before),
   * exited pids]
   */
  status!: Int32Array
  /** pids whose pending call lane.wasm changed in the last scan() (status[5] of them) */
  dirty!: Int32Array
  /** pids whose exit lane.wasm took in the last scan() (status[7] of them), in order */
  exited!: Int32Array
  /** per (name id * 8 + ABI): calls counted in lane.wasm, not yet taken */
  counts!: Int32Array
  /** per (name id * 8 + ABI): 1 when lane.wasm may count that syscall in that ABI */
  ok!: Uint8Array
  /** per errno id: 1 when lane.wasm may count that errno */
  errOk!: Uint8Array
  /** lane.wasm's errno tallies: [(name id * 8 + ABI) * 2048 + errno id + 1, count] per slot */
  errs!: Int32Array
  /** per name id: the index + 1 of its one inspected argument (0: none) */
  insp!: Uint8Array
  /** changes when the name ids are reassigned (ok and counts are cleared then) */
  generation = 0
  /**
   * lane.wasm's pid slots (16 i32): [pid, generation, ABI, pending id, its ABI, its line, known
   * id, known line, argument text length (-1: none kept), its start, its end]
   */
  pids!: Int32Array
  private readonly ex: Exports
  private readonly out: number
  /** the area load() copies input into (its capacity without the PAD bytes after it) */
  private inp: number
  private cap: number
  /** the two areas of lease() (capacity leaseCap each), and whether a reader holds them */
  private areas = [0, 0]
  private leaseCap = 0
  private leased = false
  private u8!: Uint8Array
  private len = 0
  /** where the input of the following scan() calls starts (in one of the areas) */
  private at = 0
  private owner: object | null = null

  private constructor(mod: WebAssembly.Module) {
    const inst = new WebAssembly.Instance(mod, {env: {abort: () => { throw new Error('lane.wasm aborted') }}})
    this.ex = inst.exports as unknown as Exports
    const base = this.ex.heapBase()
    this.out = base
    this.inp = base + 64
    this.cap = 1 << 20
    this.grow(this.inp + this.cap + PAD)
    this.views()
  }

  /** The process's scanner, or null when the WebAssembly module is not available (the TypeScript lane is used). */
  static shared(): LaneScanner | null {
    if (shared !== undefined) return shared
    const mod = laneModule()
    try {
      shared = mod === null ? null : new LaneScanner(mod)
    } catch {
      shared = null // an engine that cannot run it (no SIMD): the TypeScript lane does the work
    }
    return shared
  }

  private views(): void {
    const buf = this.ex.memory.buffer
    this.u8 = new Uint8Array(buf)
    this.rec = new Int32Array(buf, this.out, REC)
    this.status = new Int32Array(buf, this.ex.statusBlock(), 8)
    this.dirty = new Int32Array(buf, this.ex.dirtyList(), 4096)
    this.exited = new Int32Array(buf, this.ex.exitedList(), 4096)
    this.counts = new Int32Array(buf, this.ex.countTable(), 2048 * ABIS)
    this.ok = new Uint8Array(buf, this.ex.okTable(), 2048 * ABIS)
    this.pids = new Int32Array(buf, this.ex.pidTable(), PIDS * 16)
    this.errOk = new Uint8Array(buf, this.ex.errOkTable(), 2048)
    this.errs = new Int32Array(buf, this.ex.errTable(), 4096 * 2)
    this.insp = new Uint8Array(buf, this.ex.inspTable(), 2048)
  }

  /** Make the memory at least `need` bytes (its buffer changes then: the views are made anew). */
  private grow(need: number): void {
    const mem = this.ex.memory
    if (need > mem.buffer.byteLength) {
      mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536))
      this.views()
    }
  }

  /** A new area of n bytes (+ PAD) at the end of the memory; returns its start. */
  private area(n: number): number {
    const at = this.ex.memory.buffer.byteLength
    this.grow(at + n + PAD)
    return at
  }

  /**
   * Make `who` the user of the tables (Observers take turns; each empties them when it takes
   * over). True when they were emptied: `who` must forget what it had enabled.
   */
  claim(who: object): boolean {
    if (this.owner === who) return false
    this.owner = who
    this.ok.fill(0)
    this.counts.fill(0)
    this.errOk.fill(0)
    this.ex.clearTallies()
    this.invalidatePids()
    return true
  }

  /**
   * Two areas of n bytes in lane.wasm's memory for one reader at a time to read chunks into
   * (one read while the other is parsed): load() of a chunk that lies in one copies nothing.
   * Null while another reader holds them. view(k) is area k as a Buffer; take it anew for
   * every read (the memory's buffer changes when the memory grows; the bytes stay in place).
   */
  lease(n: number): {view: (k: number) => Buffer; release: () => void} | null {
    if (this.leased) return null
    if (n > this.leaseCap) {
      this.areas = [this.area(n), this.area(n)]
      this.leaseCap = n
    }
    this.leased = true
    const at = this.areas
    return {
      view: (k) => Buffer.from(this.ex.memory.buffer, at[k]!, n),
      release: () => { this.leased = false },
    }
  }

  /** src[s, e) is the input of the following scan() calls (copied in, unless it lies in a lease() area). */
  load(src: Uint8Array, s: number, e: number): void {
    if (this.ex.names() >= RESET_AT) {
      this.ex.reset()
      this.generation++
    }
    this.len = e - s
    if (src.buffer === this.ex.memory.buffer && e <= this.leaseCap) {
      const o = src.byteOffset
      if (o === this.areas[0] || o === this.areas[1]) {
        this.at = o + s
        return
      }
    }
    if (this.len > this.cap) {
      // a larger chunk than any before: a new copy area (the lease areas stay where they are)
      this.inp = this.area(this.len)
      this.cap = this.len
    }
    this.at = this.inp
    this.u8.set(src.subarray(s, e), this.inp)
  }

  /** See scan() in src/trace/wasm/lane.ts: 1 with a record in this.rec, 0 at the end. */
  scan(from: number, mayCount: boolean): number {
    return this.ex.scan(this.at, from, this.len, this.out, mayCount ? 1 : 0)
  }

  /**
   * What Observer knows of pid now: its ABI index, and its pending call when that is one
   * lane.wasm could have started (a count-only syscall: name id, ABI, line number), else -1.
   */
  setPid(pid: number, abi: number, pend = -1, pabi = 0, pline = 0): void {
    const t = (pid & (PIDS - 1)) << 4
    const p = this.pids
    p[t + 8] = -1
    p[t] = pid
    p[t + 1] = this.status[0]!
    p[t + 2] = abi
    p[t + 3] = pend
    p[t + 4] = pabi
    p[t + 5] = pline
    p[t + 6] = pend
    p[t + 7] = pline
  }

  /** Leave pid to Observer (its pending call is one lane.wasm cannot finish). */
  forgetPid(pid: number): void {
    const t = (pid & (PIDS - 1)) << 4
    if (this.pids[t] === pid) this.pids[t + 1] = (this.status[0]! - 1) | 0
  }

  /**
   * The slot of pid in this.pids: [3] pending name id or -1, [4] its ABI, [5] its line, [8]
   * the length of its argument text lane.wasm kept track of (-1: none), [9] and [10] its
   * bounds in the input of the last scan().
   */
  slotOf(pid: number): number {
    return (pid & (PIDS - 1)) << 4
  }

  /** Observer recorded the argument text at input offsets [s, e) for tally k. */
  remember(k: number, s: number, e: number): void {
    this.ex.remember(k, this.at, s, e)
  }

  /** Whether lane.wasm holds errno tallies. */
  hasErrors(): boolean {
    return this.ex.errorsUsed() > 0
  }

  /** Empty the errno tallies (after Observer took them). */
  clearErrors(): void {
    this.ex.clearErrors()
  }

  /** Forget every pid (the general path may have changed any of them). */
  invalidatePids(): void {
    this.status[0] = (this.status[0]! + 1) | 0
  }
}
