/**
 * The two recording engines, for tests of what `record` must do with either (CMD's exit status,
 * signals, --pid, the caller's process state): each such test runs once per engine, with
 * `--engine` given explicitly. And what the outside world can see of a running recording:
 * strace is the traced process's tracer (TracerPid); the bpf engine holds its attached programs
 * as bpf_link descriptors in record's own process.
 */
import {spawnSync} from 'node:child_process'
import {readdirSync, readFileSync, readlinkSync} from 'node:fs'
import {bpfUnavailable} from '../../src/trace/bpf/engine.js'

export const ENGINES = ['strace', 'bpf'] as const
export type RecordEngine = (typeof ENGINES)[number]

const why: Partial<Record<RecordEngine, string | null>> = {}

/** Why this engine cannot record here (its tests are skipped, saying so), or undefined when it can. */
export function engineMissing(engine: RecordEngine): string | undefined {
  if (why[engine] === undefined) {
    why[engine] = engine === 'strace'
      ? spawnSync('strace', ['-V']).status === 0 ? null : 'strace is not installed (.ci/run installs it)'
      : bpfUnavailable() ?? null
    if (why[engine]) console.warn(`skipped: the ${engine} engine's tests: ${why[engine]}`)
  }
  return why[engine] ?? undefined
}

/** The pid of a process's tracer (0: none), or undefined when the process is gone. */
export function tracerOf(pid: number): number | undefined {
  try {
    return Number(/^TracerPid:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1])
  } catch {
    return undefined
  }
}

/** The ids of the bpf links a process holds open (attached BPF programs), [] when none or gone. */
export function bpfLinksOf(pid: number): number[] {
  let fds: string[]
  try {
    fds = readdirSync(`/proc/${pid}/fd`)
  } catch {
    return []
  }
  return fds.flatMap((fd) => {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:bpf_link') return []
      const id = /^link_id:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1]
      return id ? [Number(id)] : []
    } catch {
      return [] // closed meanwhile
    }
  })
}

/** The processes on this host that hold any of these bpf links open. */
export function holdersOfLinks(ids: number[]): number[] {
  const wanted = new Set(ids)
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => bpfLinksOf(pid).some((id) => wanted.has(id)))
}

/** Does a descriptor of this process refer to a BPF object (map, program, link)? */
export function holdsBpf(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return /^anon_inode:bpf/.test(readlinkSync(`/proc/${pid}/fd/${fd}`))
      } catch {
        return false
      }
    })
  } catch {
    return false
  }
}

/**
 * Is the recording of these processes running? strace: each has a tracer. bpf: record (its
 * process `recordPid`) holds attached programs; it marks the processes right after attaching,
 * in the same step.
 */
export function recording(engine: RecordEngine, recordPid: number, pids: number[]): boolean {
  if (engine === 'strace') return pids.every((p) => (tracerOf(p) ?? 0) > 0)
  return bpfLinksOf(recordPid).length > 0
}
