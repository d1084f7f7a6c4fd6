/**
 * The per-process state machine of the parser: which pids exist, the ABI each runs in, and the
 * call each has pending (started by `NAME(… <unfinished ...>`, waiting for its
 * `<... NAME resumed>`), with the argument text the pending call needs kept.
 *
 * ABI rules (also in the README's "How the parser counts"): a pid's ABI is the last `[ Process PID=N runs in … mode. ]`
 * announced for it. A pid seen for the first time inherits its parent's ABI when the parent's
 * clone/fork/vfork has already returned its pid, else the ABI of the previous call line (strace
 * announces a mode only when it differs from the one it last decoded, so that is what strace
 * assumed). A call's ABI is fixed when it starts.
 */
import {archTable} from '../arches.js'
import {MODE} from './lex-line.js'
import {ABIS, type Sys} from './tally.js'
import type {Abi} from './observation.js'

/** argument text kept for a pending call; beyond this its inspected arguments become unknown */
const MAX_ARGS_TEXT = 64 << 10

/** What `[ Process PID=N runs in X mode. ]` means on each native ABI: [64 bit, 32 bit, x32]; else [native]. */
const X86: [Abi, Abi, Abi] = ['x86_64', 'x86', 'x32']
const ARM: [Abi, Abi, undefined] = ['aarch64', 'arm', undefined]
const MODE_ABI: Partial<Record<Abi, [Abi, Abi | undefined, Abi | undefined]>> = {x86_64: X86, x86: X86, x32: X86, aarch64: ARM, arm: ARM}

/** The observation ABI of a `uname -m` machine name (profiles/arches.json), x86_64 when unknown. */
export function abiOfMachine(m: string): Abi {
  const abi = archTable().find((a) => a.uname.includes(m))?.abi as Abi | undefined
  return abi ?? (m.startsWith('arm') ? 'arm' : 'x86_64')
}

/** Per pid: its ABI and its pending (unfinished) call, if any. */
export interface PidState {
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

/** What happens to a pending call that will never get its return: count it (args as far as printed). */
export type CloseCall = (sys: Sys, abi: number, args: Buffer | null, len: number) => void

export class Processes {
  /** the ABI index of the last call line (what a new pid inherits) */
  lastAbi: number
  private readonly states = new Map<number, PidState>()
  private cur: PidState | null = null
  /** child pid -> the ABI of the fork that returned it */
  private readonly childAbi = new Map<number, number>()
  private readonly pids = new Set<number>()
  private readonly modeAbi: [Abi, Abi | undefined, Abi | undefined]

  constructor(native: Abi, private readonly close: CloseCall) {
    this.lastAbi = ABIS.indexOf(native)
    this.modeAbi = MODE_ABI[native] ?? [native, undefined, undefined]
  }

  /** How many distinct pids were seen. */
  get count(): number {
    return this.pids.size
  }

  /** The state of a pid, created on first sight (its ABI inherited, see the header). */
  state(pid: number): PidState {
    const c = this.cur
    if (c !== null && c.pid === pid) return c
    let ps = this.states.get(pid)
    if (ps === undefined) {
      const abi = this.childAbi.get(pid) ?? this.lastAbi
      this.childAbi.delete(pid)
      ps = {pid, abi, psys: null, pabi: 0, pbuf: null, plen: -1, pline: 0}
      this.states.set(pid, ps)
      this.pids.add(pid)
    }
    this.cur = ps
    return ps
  }

  /**
   * The pid of an unprefixed line (a single-process log, an -ff file, or a stderr log while
   * only one process was traced): the only live pid when exactly one is known, else 0.
   */
  soloPid(): number {
    const n = this.states.size
    if (n === 1) {
      if (this.cur !== null && this.states.has(this.cur.pid)) return this.cur.pid
      for (const p of this.states.keys()) return p
    }
    if (n === 2) {
      // an idle unprefixed state (pid 0) and one live pid: they are the same process
      const z = this.states.get(0)
      if (z !== undefined && z.psys === null) {
        this.forget(0)
        for (const p of this.states.keys()) return p
      }
    }
    return 0
  }

  /**
   * stderr logs: a call started while its process was the only one (no prefix, pid 0 here)
   * resumes as `[pid N] <... NAME resumed>` once there are several: pid 0 was N.
   */
  adoptUnprefixed(ps: PidState, named: Sys): void {
    const z = this.states.get(0)
    if (z === undefined || z.psys === null || (z.psys !== named && named.name !== '???')) return
    this.movePending(z, ps)
    ps.abi = z.abi
    this.forget(0)
  }

  private forget(pid: number): void {
    this.states.delete(pid)
    this.pids.delete(pid)
    this.cur = null
  }

  /**
   * Move pid `from`'s pending call and ABI to pid `to`: `+++ superseded by execve in pid N +++`
   * and `<pid changed to N ...>` (execve in a non-leader thread; `to` is the leader).
   */
  rekey(from: number, to: number): void {
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

  /** `+++ exited … +++` / `+++ killed by … +++`: its pending call is counted, the pid forgotten. */
  exited(pid: number): void {
    this.closePending(this.state(pid))
    this.states.delete(pid)
    this.childAbi.delete(pid)
    this.cur = null
  }

  /** A mode line for pid; false when the mode has no ABI on this machine. */
  modeSwitch(pid: number, mode: number): boolean {
    const abi = this.modeAbi[mode === MODE.BITS64 ? 0 : mode === MODE.BITS32 ? 1 : 2]
    if (abi === undefined) return false
    const idx = ABIS.indexOf(abi)
    this.state(pid).abi = idx
    this.lastAbi = idx
    return true
  }

  /** A fork returned child's pid in the ABI abi: the child starts there. */
  forked(child: number, abi: number): void {
    if (child > 0 && !this.states.has(child)) this.childAbi.set(child, abi)
  }

  /** Start a pending call; keeps src[s, e) as its argument bytes when the syscall needs them. */
  setPending(ps: PidState, sys: Sys, abi: number, src: Buffer | null, s: number, e: number, line: number): void {
    ps.psys = sys
    ps.pabi = abi
    ps.pline = line
    ps.plen = -1
    if (src !== null && sys.keepArgs) this.appendPending(ps, src, s, e, true)
  }

  /** Append src[s, e) to ps's argument bytes (reusing its buffer); over MAX_ARGS_TEXT they are dropped. */
  appendPending(ps: PidState, src: Buffer, s: number, e: number, fresh: boolean): void {
    const at = fresh ? 0 : ps.plen
    if (at < 0) return
    const len = at + (e - s)
    if (len > MAX_ARGS_TEXT) { ps.plen = -1; return }
    if (ps.pbuf === null || ps.pbuf.length < len) {
      const bigger = Buffer.allocUnsafe(Math.max(256, len * 2))
      if (at > 0) ps.pbuf!.copy(bigger, 0, 0, at)
      ps.pbuf = bigger
    }
    const d = ps.pbuf
    if (e - s > 64) src.copy(d, at, s, e)
    else for (let k = s; k < e; k++) d[at + k - s] = src[k]! // a short text: cheaper than Buffer.copy's call
    ps.plen = len
  }

  /** Move the pending call of `from` to `to` (which has none). */
  private movePending(from: PidState, to: PidState): void {
    if (from.psys === null) return
    to.psys = from.psys
    to.pabi = from.pabi
    to.pline = from.pline
    to.plen = from.plen
    const spare = to.pbuf // the buffers change hands, none is copied
    to.pbuf = from.pbuf
    from.pbuf = spare
    this.takePending(from)
  }

  /** Drop ps's pending call without counting it. */
  takePending(ps: PidState): void {
    ps.psys = null
    ps.plen = -1
  }

  /** A pending call that will never get its return: counted, its arguments as far as printed. */
  closePending(ps: PidState): void {
    const sys = ps.psys
    if (sys === null) return
    const len = ps.plen
    this.takePending(ps)
    this.close(sys, ps.pabi, len >= 0 ? ps.pbuf : null, len)
  }

  /** The pids with a call pending, in the order their calls started. */
  pending(): PidState[] {
    return [...this.states.values()].filter((ps) => ps.psys !== null).sort((a, b) => a.pline - b.pline)
  }
}
