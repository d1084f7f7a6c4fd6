/**
 * The tallies that become the observation: per ABI and syscall, how many calls, how many of
 * them failed with each errno, and the distinct values of the inspected arguments
 * (profiles/inspected-args.json). Names are interned from the line's bytes (no string per
 * line); observation() turns the tallies into the canonical Observation.
 */
import {inspectedArgs} from '../inspected-args.js'
import {ValueResolver} from './constants.js'
import {addSyscall, hexCompare} from './observation-io.js'
import {nameRawSyscall} from '../syscall-table.js'
import {hashStep} from './lex-line.js'
import {argAt, argEnd} from './values.js'

export {inspectedArgs}
import type {Abi, ArgObservation, Observation, SyscallObservation} from './observation.js'

/** The ABIs in the order their indexes are used everywhere in the parser. */
export const ABIS: readonly Abi[] = ['x86_64', 'x86', 'x32', 'aarch64', 'arm', 'riscv64', 'ppc64le', 's390x']

export const NO_ERRORS = new Set(['rt_sigreturn', 'sigreturn'])
/** syscalls that create a task (strace shows the parent's call only) */
export const FORKS = new Set(['clone', 'clone2', 'clone3', 'fork', 'vfork'])
/** the exec syscalls, and the index of their path argument */
export const EXEC_PATH_ARG: Record<string, number> = {execve: 0, execveat: 1}
const VALID_NAME = /^([a-z_][a-z0-9_]*|syscall_0x[0-9a-f]+)$/
const VALID_ERRNO = /^E[A-Z0-9_]+$/
/** argument texts remembered per inspected argument (a repeat is not resolved again) */
const SEEN_TEXTS = 8

/** An interned syscall name and what the parser does with its calls. */
export interface Sys {
  name: string
  /** a name a syscall can have (not `???`, not garbage) */
  valid: boolean
  /** kernel index -> label of each inspected argument, or null when none is */
  inspect: Array<[number, string]> | null
  /** label bytes per inspected argument, same order as inspect */
  labels: Uint8Array[]
  /** execve/execveat: the index of the path argument, else -1 */
  execArg: number
  forks: boolean
  /** whether a pending call keeps its argument text (inspected or exec) */
  keepArgs: boolean
  /** sigreturn: its "return value" is the interrupted code's register, not an error of its own */
  noErrors: boolean
  /** its tally per ABI index (the same objects as in Tally's maps) */
  accs: Array<Acc | undefined>
}

/** The tally of one syscall in one ABI. */
export interface Acc {
  count: number
  /** count per errno index (Tally.errnoNames) */
  errors: number[] | null
  /** one per inspected argument, in sys.inspect order */
  slots: ArgSlot[] | null
}

interface ArgSlot {
  values: Set<string>
  unknown: boolean
  /** bytes of the first argument texts seen (a repeat is skipped) */
  seen: Uint8Array[]
}


const hash = (b: Uint8Array, s: number, e: number): number => {
  let h = 0
  for (let i = s; i < e; i++) h = hashStep(h, b[i]!)
  return h
}
/** The slot of hash h in a table of mask + 1 slots (every byte of a short name counts). */
const slotOf = (h: number, mask: number): number => (h ^ (h >>> 10) ^ (h >>> 20)) & mask

/** Byte-keyed intern table: name bytes -> value, without building a string per lookup. */
export class Interner<T> {
  private keys: Uint8Array[] = []
  private vals: T[] = []
  private slots = new Int32Array(1024).fill(-1)
  private mask = 1023
  constructor(private readonly make: (name: string) => T) {}
  get(b: Uint8Array, s: number, e: number): T {
    return this.getHashed(b, s, e, hash(b, s, e))
  }
  /** get() with the hash of b[s, e) already computed (as lexInto() computes a name's) */
  getHashed(b: Uint8Array, s: number, e: number, h: number): T {
    let slot = slotOf(h, this.mask)
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
    this.mask = this.mask * 2 + 1
    this.slots = new Int32Array(this.mask + 1).fill(-1)
    this.keys.forEach((k, idx) => {
      let slot = slotOf(hash(k, 0, k.length), this.mask)
      while (this.slots[slot]! >= 0) slot = (slot + 1) & this.mask
      this.slots[slot] = idx
    })
  }
}

function makeSys(name: string, inspected: Map<string, Array<[number, string]>>): Sys {
  const inspect = inspected.get(name) ?? null
  const execArg = EXEC_PATH_ARG[name] ?? -1
  const forks = FORKS.has(name)
  return {
    name, valid: VALID_NAME.test(name), inspect, labels: (inspect ?? []).map(([, l]) => Buffer.from(l, 'latin1')),
    execArg, forks, keepArgs: inspect !== null || execArg >= 0, noErrors: NO_ERRORS.has(name),
    accs: ABIS.map(() => undefined),
  }
}

export class Tally {
  /** calls counted, and distinct (ABI, syscall) pairs */
  calls = 0
  distinct = 0
  /** paths of successful execs */
  readonly execs = new Set<string>()
  readonly sysnames: Interner<Sys>
  private readonly resolver = new ValueResolver()
  private readonly errnoNames: string[] = []
  /** errno name bytes -> index into errnoNames, or -1 when it is not an errno name */
  private readonly errnames = new Interner<number>((s) => (VALID_ERRNO.test(s) ? this.errnoNames.push(s) - 1 : -1))
  private values = new Interner<string | null>((t) => this.resolver.hex(t))
  /** per ABI index: Map<Sys, Acc> */
  private readonly accs: Array<Map<Sys, Acc>> = ABIS.map(() => new Map())

  constructor() {
    const inspected = inspectedArgs()
    this.sysnames = new Interner<Sys>((name) => makeSys(name, inspected))
  }

  /** Count one call of sys in abi (its tally made on first use); returns the tally. */
  count(sys: Sys, abi: number): Acc {
    let acc = sys.accs[abi]
    if (acc === undefined) {
      acc = sys.accs[abi] = {count: 0, errors: null, slots: null}
      this.accs[abi]!.set(sys, acc)
      this.distinct++
    }
    acc.count++
    this.calls++
    return acc
  }

  /** Count the errno named by b[s, e) (its hash h) in acc when it is an errno name. */
  countErrno(acc: Acc, b: Uint8Array, s: number, e: number, h: number): void {
    const id = this.errnames.getHashed(b, s, e, h)
    if (id < 0) return
    const counts = acc.errors ?? (acc.errors = [])
    while (counts.length <= id) counts.push(0)
    counts[id]!++
  }

  /** Record sys's inspected arguments found in the argument text b[s, e); all unknown when b is null. */
  argsFrom(acc: Acc, sys: Sys, b: Uint8Array | null, s: number, e: number): void {
    const inspect = sys.inspect!
    const slots = acc.slots ?? (acc.slots = inspect.map(() => ({values: new Set<string>(), unknown: false, seen: []})))
    for (let k = 0; k < inspect.length; k++) {
      const slot = slots[k]!
      const a = b === null ? -1 : argAt(b, s, e, inspect[k]![0], sys.labels[k]!)
      if (a < 0) slot.unknown = true
      else if (!seenBefore(slot, b!, a, argEnd)) this.addValue(slot, b!, a, argEnd)
    }
  }

  private addValue(slot: ArgSlot, b: Uint8Array, s: number, e: number): void {
    if (slot.seen.length < SEEN_TEXTS && e - s <= 64) slot.seen.push(Uint8Array.prototype.slice.call(b, s, e))
    if (this.values.size > 4096) this.values = new Interner<string | null>((t) => this.resolver.hex(t))
    const hex = this.values.get(b, s, e)
    if (hex === null) slot.unknown = true
    else slot.values.add(hex)
  }

  /** The canonical observation of everything counted. */
  observation(command: string[], host: Observation['host'], stats: Observation['stats']): Observation {
    const abis: Observation['abis'] = {}
    this.accs.forEach((m, i) => {
      if (m.size === 0) return
      const syscalls: Record<string, SyscallObservation> = {}
      // a number strace could not name (syscall_0x…) is written under the kernel table's name for it
      for (const [sys, a] of [...m.entries()].sort((x, y) => (x[0].name < y[0].name ? -1 : 1))) addSyscall(syscalls, nameRawSyscall(ABIS[i]!, sys.name), this.syscall(sys, a))
      abis[ABIS[i]!] = {syscalls}
    })
    return {schema: 'seccomp-gen/observation', version: 1, command: [...command], host: {...host}, abis, execs: [...this.execs].sort(), stats}
  }

  private syscall(sys: Sys, a: Acc): SyscallObservation {
    const o: SyscallObservation = {count: a.count}
    if (a.errors !== null) {
      const named = a.errors.map((n, id) => [this.errnoNames[id]!, n] as [string, number]).filter(([, n]) => n > 0)
      o.errors = Object.fromEntries(named.sort((x, y) => (x[0] < y[0] ? -1 : 1)))
    }
    if (a.slots !== null) {
      const args: Record<string, ArgObservation> = {}
      a.slots.forEach((v, k) => {
        const values = [...v.values].sort(hexCompare)
        args[String(sys.inspect![k]![0])] = v.unknown ? {values, unknown: true} : {values}
      })
      o.args = args
    }
    return o
  }
}

/** Whether the argument text b[s, e) is one of the first few texts slot has seen. */
function seenBefore(slot: ArgSlot, b: Uint8Array, s: number, e: number): boolean {
  const len = e - s
  for (const key of slot.seen) {
    if (key.length !== len) continue
    let same = true
    for (let x = 0; x < len && same; x++) same = key[x] === b[s + x]
    if (same) return true
  }
  return false
}
