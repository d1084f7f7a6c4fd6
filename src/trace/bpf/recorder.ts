/**
 * User space of the in-kernel recorder (native/bpf/recorder.bpf.c): whether it can run here,
 * loading it with its tables filled from profiles/, marking the processes to record, and turning
 * its maps into the observation once the recording ends.
 *
 * The maps' layouts below mirror the structs of recorder.bpf.c (little-endian, x86-64).
 */
import {readdirSync} from 'node:fs'
import {release} from 'node:os'
import {SeccompGenError} from '../../errors.js'
import {returnErrnoName} from '../../errno.js'
import {syscallNameOf, syscallNumber} from '../../syscall-table.js'
import {BpfObject, type BpfMap} from '../../../native/libbpf.js'
import {bpfUnavailable, recorderObjectPath} from './engine.js'
import {readText} from '../../fsutil.js'
import {allPids} from '../host.js'
import {addSyscall, hexCompare} from '../observation-io.js'
import type {AbiObservation, Observation, SyscallObservation} from '../observation.js'
import {EXEC_PATH_ARG, FORKS, inspectedArgs, NO_ERRORS} from '../tally.js'

/** The ABIs of recorder.bpf.c, by index (ABI_X86_64, ABI_X86, ABI_X32). */
const ABIS = ['x86_64', 'x86', 'x32'] as const
const NR_SLOTS = 1024
const X32_BIT = 0x40000000
/** the exit cannot name these calls (an exec, a sigreturn rewrites the registers): kept at entry */
const SI_ENTRY = 0x40
const AT_ENTRY = new Set([...Object.keys(EXEC_PATH_ARG), 'rt_sigreturn', 'sigreturn'])
const SI_FORK = 0x80
const SI_EXIT = 0x100
const EXITS = new Set(['exit', 'exit_group'])
const STATE = {UNTRACKED: 0, WAITING_EXEC: 1, TRACKED: 2, EXITED: 3}
const ST = {DROPPED: 0, TASKS: 1, LIVE: 2}
const PATH_LEN = 4096

const SHAPES = {
  procs: {keySize: 4, valueSize: 8},
  sysinfo: {keySize: 4, valueSize: 2},
  calls: {keySize: 8, valueSize: 8},
  errors: {keySize: 16, valueSize: 8},
  args: {keySize: 24, valueSize: 1},
  execs: {keySize: PATH_LEN, valueSize: 1},
  stats: {keySize: 4, valueSize: 8},
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0)
  return b
}

/** Per ABI and syscall slot: which arguments to keep, and the entry/fork/exit kinds (SI_* in the C). */
function sysinfoTable(): Map<number, number> {
  const inspected = inspectedArgs()
  const names = new Set([...inspected.keys(), ...AT_ENTRY, ...FORKS, ...EXITS])
  const out = new Map<number, number>()
  ABIS.forEach((abi, i) => {
    for (const name of names) {
      const nr = syscallNumber(abi, name)
      if (nr === undefined) continue
      const slot = nr & ~X32_BIT
      if (slot >= NR_SLOTS) continue
      let flags = 0
      for (const [idx] of inspected.get(name) ?? []) flags |= 1 << idx
      if (AT_ENTRY.has(name)) flags |= SI_ENTRY
      if (FORKS.has(name)) flags |= SI_FORK
      if (EXITS.has(name)) flags |= SI_EXIT
      out.set(i * NR_SLOTS + slot, flags)
    }
  })
  return out
}

/** Whether pid is a process that has not exited (neither gone nor a zombie). */
export function processAlive(pid: number): boolean {
  const stat = readText(`/proc/${pid}/stat`)
  return stat !== undefined && !/^\d+ \(.*\) [ZX]/s.test(stat)
}

function readdirIf(path: string): string[] | undefined {
  try {
    return readdirSync(path)
  } catch {
    return undefined
  }
}

/** The thread-group id of a pid (a thread's id names its process). */
function tgidOf(pid: number): number | undefined {
  const m = /^Tgid:\s*(\d+)/m.exec(readText(`/proc/${pid}/status`) ?? '')
  return m ? Number(m[1]) : undefined
}

export interface BpfFacts {
  abis: Observation['abis']
  execs: string[]
  /** tasks (processes and threads) the tree had */
  tasks: number
}

/** The loaded, attached recorder. close() detaches it; everything it counted goes with it. */
export class BpfRecorder {
  private constructor(private readonly obj: BpfObject) {}

  private get maps(): Record<keyof typeof SHAPES, BpfMap> {
    return this.obj.maps as Record<keyof typeof SHAPES, BpfMap>
  }

  /** Load and attach; returns once the probes are live. */
  static open(): BpfRecorder {
    const reason = bpfUnavailable()
    if (reason) throw new SeccompGenError('BPF_UNAVAILABLE', `the bpf engine cannot run: ${reason}`)
    const pidMax = Number(readText('/proc/sys/kernel/pid_max')?.trim() ?? '4194304') || 4194304
    const obj = BpfObject.load(recorderObjectPath(), {...SHAPES, procs: {...SHAPES.procs, maxEntries: pidMax + 1}}, release())
    const r = new BpfRecorder(obj)
    try {
      for (const [idx, flags] of sysinfoTable()) {
        const v = Buffer.alloc(2)
        v.writeUInt16LE(flags)
        r.maps.sysinfo.update(u32(idx), v)
      }
    } catch (err) {
      obj.close()
      throw err
    }
    return r
  }

  private setState(tgid: number, state: number): void {
    const v = Buffer.alloc(8)
    v.writeUInt32LE(state)
    this.maps.procs.update(u32(tgid), v)
  }

  /** Record pid from its next exec on (the exec child about to become CMD; a runtime's init). */
  watchExec(pid: number): void {
    this.setState(pid, STATE.WAITING_EXEC)
  }

  /** Record running processes (their threads, their future children) from now on. */
  watchRunning(pids: readonly number[]): void {
    const tgids = [...new Set(pids.map((p) => tgidOf(p) ?? p))]
    const threads = tgids.reduce((n, t) => n + (readdirIf(`/proc/${t}/task`)?.length ?? 1), 0)
    const stats = this.maps.stats
    stats.update(u32(ST.LIVE), bigint(this.stat(ST.LIVE) + tgids.length))
    stats.update(u32(ST.TASKS), bigint(this.stat(ST.TASKS) + threads))
    for (const t of tgids) this.setState(t, STATE.TRACKED)
    // one that exited before it was marked never reports its exit (its tracepoint ran before a
    // zombie shows in /proc): count it out here, or the recording would wait for it forever
    for (const t of tgids) {
      if (processAlive(t) || !this.isTracked(t)) continue
      this.setState(t, STATE.EXITED)
      stats.update(u32(ST.LIVE), bigint(this.stat(ST.LIVE) - 1))
    }
  }

  private stat(which: number): number {
    return Number(this.maps.stats.lookup(u32(which))?.readBigInt64LE() ?? 0n)
  }

  /** How many processes of the tree are still running. */
  live(): number {
    return this.stat(ST.LIVE)
  }

  /** Whether the process (thread group) pid is being recorded. */
  isTracked(pid: number): boolean {
    return this.maps.procs.lookup(u32(pid))?.readUInt32LE() === STATE.TRACKED
  }

  /** Whether pid, given to watchExec(), still waits for its exec. */
  isWaiting(pid: number): boolean {
    return this.maps.procs.lookup(u32(pid))?.readUInt32LE() === STATE.WAITING_EXEC
  }

  /**
   * How a recorded process ended, as a shell says it (its exit code, or 128+N for signal N), once
   * it has; undefined while it runs or when it was never recorded. For a process that is not our
   * child (a container's init), this is the only way to learn it.
   */
  exitStatus(pid: number): number | undefined {
    const v = this.maps.procs.lookup(u32(pid))
    if (!v || v.readUInt32LE(0) !== STATE.EXITED) return undefined
    const status = v.readUInt32LE(4)
    return status & 0x7f ? 128 + (status & 0x7f) : (status >> 8) & 0xff
  }

  /** The tree's processes still running, from /proc. */
  running(): Array<{pid: number; comm: string}> {
    return allPids()
      .filter((pid) => this.isTracked(pid))
      .map((pid) => ({pid, comm: readText(`/proc/${pid}/comm`)?.trim() ?? '?'}))
  }

  /** A cheap live view for a status line: calls and distinct (ABI, syscall) pairs so far, tasks seen. */
  counters(): {calls: number; distinct: number; processes: number; lines: 0; unparsed: 0} {
    let calls = 0
    let distinct = 0
    for (const [, v] of this.maps.calls.entries()) {
      calls += Number(v.readBigUInt64LE())
      distinct++
    }
    return {calls, distinct, processes: this.stat(ST.TASKS), lines: 0, unparsed: 0}
  }

  /** Everything counted, as observation facts. A full map (entries dropped) is an error. */
  facts(): BpfFacts {
    const dropped = this.stat(ST.DROPPED)
    if (dropped > 0) throw new SeccompGenError('INTERNAL', `the bpf recorder dropped ${dropped} entr${dropped === 1 ? 'y' : 'ies'} (a full map, or the kernel out of memory for one), so the recording is incomplete; nothing written`)
    const m = this.maps
    const perAbi: Array<Map<number, SyscallObservation>> = ABIS.map(() => new Map())
    const callOf = (abi: number, nr: number): SyscallObservation => {
      let s = perAbi[abi]!.get(nr)
      if (!s) perAbi[abi]!.set(nr, (s = {count: 0}))
      return s
    }
    for (const [k, v] of m.calls.entries()) callOf(k.readUInt32LE(0), k.readUInt32LE(4)).count += Number(v.readBigUInt64LE())
    for (const [k, v] of m.errors.entries()) {
      const [abi, nr] = [k.readUInt32LE(0), k.readUInt32LE(4)]
      const name = returnErrnoName(k.readUInt32LE(8))
      // as strace: no error it cannot name, none for sigreturn (whose return is the interrupted call's)
      if (!name || NO_ERRORS.has(syscallNameOf(ABIS[abi]!, nr) ?? '')) continue
      const s = callOf(abi, nr)
      s.errors ??= {}
      s.errors[name] = (s.errors[name] ?? 0) + Number(v.readBigUInt64LE())
    }
    const values = new Map<string, Set<string>>()
    for (const [k] of m.args.entries()) {
      const key = `${k.readUInt32LE(0)}/${k.readUInt32LE(4)}/${k.readUInt32LE(8)}`
      let set = values.get(key)
      if (!set) values.set(key, (set = new Set()))
      set.add(`0x${k.readBigUInt64LE(16).toString(16)}`)
    }
    for (const [key, set] of values) {
      const [abi, nr, idx] = key.split('/').map(Number) as [number, number, number]
      const s = callOf(abi, nr)
      s.args ??= {}
      s.args[String(idx)] = {values: [...set].sort(hexCompare)}
    }
    const abis: Observation['abis'] = {}
    perAbi.forEach((calls, i) => {
      if (calls.size === 0) return
      const abi = ABIS[i]!
      const syscalls: AbiObservation['syscalls'] = {}
      for (const [nr, s] of calls) if (s.count > 0) addSyscall(syscalls, syscallNameOf(abi, nr) ?? `syscall_0x${nr.toString(16)}`, s)
      abis[abi] = {syscalls}
    })
    const execs = new Set<string>()
    for (const [k] of m.execs.entries()) {
      const end = k.indexOf(0)
      execs.add(k.toString('utf8', 0, end < 0 ? k.length : end))
    }
    return {abis, execs: [...execs].sort(), tasks: this.stat(ST.TASKS)}
  }

  close(): void {
    this.obj.close()
  }
}

function bigint(n: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeBigInt64LE(BigInt(n))
  return b
}
