/**
 * The WebAssembly half of Observer's lane (source: src/trace/wasm/lane.ts, AssemblyScript,
 * compiled by `npm run build` to dist/src/trace/lane.wasm). It finds the lines of a chunk and
 * lexes the ones of the lane's shapes into fixed-size records; Observer reads the records and
 * keeps the per-pid state and the counts in TypeScript.
 *
 * One scanner per process, shared by every Observer: an instance per Observer would reserve a
 * wasm memory each (gigabytes of address space, freed only by GC). Sharing is safe because an
 * Observer reads the records of a scan before it returns to the event loop. The name ids stay
 * valid until the intern table fills; then it is emptied and `generation` changes, and each
 * Observer forgets its id -> syscall map.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {packageRoot} from '../paths.js'

/** Record layout (Int32 fields; offsets are relative to the start of the loaded input). */
export const REC = 12
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
/** kinds */
export const LANE = {OTHER: 0, CALL: 1, UNFINISHED: 2, RESUMED: 3} as const

/** records per scan() call: bounds the record area whatever the chunk holds */
const MAX_RECORDS = 4096
/** bytes the scanner may read past the input (its vector loads) */
const PAD = 128

/** when lane.wasm holds this many names, start afresh (one scan() adds at most 1024 more before its table is full) */
const RESET_AT = 1024

interface Exports {
  memory: WebAssembly.Memory
  heapBase(): number
  names(): number
  reset(): void
  scan(inp: number, from: number, len: number, out: number, max: number): number
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
  /** the records of the last scan() */
  rec: Int32Array
  /** changes when the name ids are reassigned */
  generation = 0
  private readonly ex: Exports
  private readonly out: number
  private readonly inp: number
  private u8: Uint8Array
  private len = 0

  private constructor(mod: WebAssembly.Module) {
    const inst = new WebAssembly.Instance(mod, {env: {abort: () => { throw new Error('lane.wasm aborted') }}})
    this.ex = inst.exports as unknown as Exports
    const base = this.ex.heapBase()
    this.out = base
    this.inp = base + MAX_RECORDS * REC * 4
    this.grow(1 << 20)
    this.u8 = new Uint8Array(this.ex.memory.buffer)
    this.rec = new Int32Array(this.ex.memory.buffer, this.out, MAX_RECORDS * REC)
  }

  /** The process's scanner, or null when the WebAssembly module is not available (the TypeScript lane is used). */
  static shared(): LaneScanner | null {
    if (shared !== undefined) return shared
    const mod = laneModule()
    return (shared = mod === null ? null : new LaneScanner(mod))
  }

  private grow(len: number): void {
    const need = this.inp + len + PAD
    const mem = this.ex.memory
    if (need > mem.buffer.byteLength) {
      mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536))
      this.u8 = new Uint8Array(mem.buffer)
      this.rec = new Int32Array(mem.buffer, this.out, MAX_RECORDS * REC)
    }
  }

  /** Copy src[s, e) in as the input of the following scan() calls. */
  load(src: Uint8Array, s: number, e: number): void {
    if (this.ex.names() >= RESET_AT) {
      this.ex.reset()
      this.generation++
    }
    this.len = e - s
    this.grow(this.len)
    this.u8.set(src.subarray(s, e), this.inp)
  }

  /**
   * Records (in this.rec) for the whole lines of the input from offset `from` on; returns how
   * many, at most MAX_RECORDS (call again from after the last one's newline for more).
   */
  scan(from: number): number {
    return this.ex.scan(this.inp, from, this.len, this.out, MAX_RECORDS)
  }
}
