/**
 * The denial report: what `apply --complain/--explain` (seccomp user notification), `agent`
 * (containers) and `explain` (kernel audit records) print about calls a profile denies.
 *
 * - add(): one line the first time a distinct (source, ABI, syscall, argument class, answer) is
 *   seen, on the stream as it happens; repeats are only counted. The answer is the rule that
 *   matched (apply, agent: one profile, so the class decides it) or else the action (explain:
 *   a whole host's records come from many filters, and a LOG record must not be counted under
 *   a KILL row). The argument class is the values of
 *   the arguments the rules look at: those of profiles/inspected-args.json (what `record` keeps
 *   and `build` filters on), plus any index the caller names (the profile's own rules). A denial
 *   without arguments (an audit record) has the class "arguments unknown".
 * - summary(): the table at the end, with counts.
 * - toObservation(): the denied calls as an observation that `build` merges with the original
 *   recordings. Inspected arguments carry their values; a denial without arguments marks them
 *   unknown, which tells `build` not to filter on them. No errors are recorded: the errno the
 *   program saw was the profile's answer, not the program's own behaviour.
 *
 * Syscall names are the kernel's for the ABI (src/syscall-table.ts); a number the table does not
 * name is `syscall_0x3e7`, as strace and the observation schema spell it.
 */
import {machine, release} from 'node:os'
import {inspectedArgs} from '../inspected-args.js'
import {findArch} from '../arches.js'
import {syscallNameOf} from '../syscall-table.js'
import {syscallName as libseccompName} from '../../native/libseccomp.js'
import type {Observation, SyscallObservation} from '../trace/observation.js'
import {addSyscall} from '../trace/observation-io.js'

export interface Denial {
  /** the observation ABI name (profiles/arches.json `abi`): x86_64, x86, x32, … */
  abi: string
  /** the syscall's name for that ABI (syscallName()), or syscall_0x… */
  syscall: string
  nr: number
  /** the six raw arguments when known (a notification has them, an audit record does not) */
  args?: bigint[]
  pid: number
  comm?: string
  exe?: string
  /** what happened: 'allowed (complain)', 'SCMP_ACT_ERRNO(EPERM)', 'SCMP_ACT_KILL_PROCESS', … */
  action: string
  /** the rule or default that matched: 'defaultAction SCMP_ACT_ERRNO(EPERM)', 'syscalls[3] …' */
  rule?: string
  /** where it came from when one report serves several (the agent: container id and bundle), for the text form */
  source?: string
  /**
   * the agent's container, for --json (scripts need not parse `source`): its id and bundle, and
   * `run` 2, 3, … for a container of the same id and bundle served again (`#2` in source)
   */
  container?: {id: string; bundle: string; run?: number}
}

export interface DenialReportOptions {
  /** json: one JSON object a line; text: words for people */
  format: 'json' | 'text'
  /** where lines go as they happen, and the summary (stderr for apply) */
  out: {write(s: string): unknown}
  /** argument indexes the rules look at, besides inspected-args.json's: syscall name -> indexes */
  ruleArgs?: ReadonlyMap<string, readonly number[]>
  /** prefix of text lines, default 'seccomp-gen: ' */
  prefix?: string
}

/** One distinct (source, ABI, syscall, argument class, rule or action) and its count. */
export interface DenialRow {
  first: Denial
  /** argument index -> value, the class (empty when the syscall has no inspected argument) */
  argClass: Array<[number, bigint]>
  /** false when the denial carried no arguments (audit records) */
  argsKnown: boolean
  count: number
  pids: Set<number>
}

/**
 * The kernel's name of `nr` on `abi` (its table in profiles/syscalls), else libseccomp's (no
 * table here for aarch64 and others: the supervisor's evaluator matches rules by these names),
 * else syscall_0x…
 */
export function syscallName(abi: string, nr: number): string {
  const known = syscallNameOf(abi, nr)
  if (known) return known
  const token = findArch(abi)?.token
  try {
    const n = token ? libseccompName(nr, token) : null
    if (n) return n
  } catch {
    // no libseccomp here (explain reads logs anywhere): the number is all there is
  }
  return `syscall_0x${nr.toString(16)}`
}

const hex = (v: bigint): string => `0x${(v & 0xffffffffffffffffn).toString(16)}`

export class DenialReport {
  readonly rows = new Map<string, DenialRow>()
  total = 0
  private readonly prefix: string

  constructor(private readonly opts: DenialReportOptions) {
    this.prefix = opts.prefix ?? 'seccomp-gen: '
  }

  /** The argument indexes that make up the class of `syscall`, ascending. */
  classIndexes(syscall: string): number[] {
    const idx = new Set((inspectedArgs().get(syscall) ?? []).map(([i]) => i))
    for (const i of this.opts.ruleArgs?.get(syscall) ?? []) idx.add(i)
    return [...idx].sort((a, b) => a - b)
  }

  private classOf(d: Denial): {key: string; argClass: Array<[number, bigint]>} {
    const argClass: Array<[number, bigint]> = d.args !== undefined ? this.classIndexes(d.syscall).map((i) => [i, d.args![i] ?? 0n]) : []
    const key = [d.source ?? '', d.abi, d.syscall, d.args !== undefined ? argClass.map(([i, v]) => `${i}=${hex(v)}`).join(',') : '?', d.rule ?? d.action].join('\0')
    return {key, argClass}
  }

  /** Has a denial of this kind been added? (A caller may skip gathering details for a repeat.) */
  has(d: Denial): boolean {
    return this.rows.has(this.classOf(d).key)
  }

  /** Count one denial; print its line when its kind is new. Returns true when it was new. */
  add(d: Denial): boolean {
    this.total++
    const argsKnown = d.args !== undefined
    const {key, argClass} = this.classOf(d)
    const row = this.rows.get(key)
    if (row) {
      row.count++
      row.pids.add(d.pid)
      return false
    }
    const fresh: DenialRow = {first: d, argClass, argsKnown, count: 1, pids: new Set([d.pid])}
    this.rows.set(key, fresh)
    this.opts.out.write(this.opts.format === 'json' ? JSON.stringify(this.jsonOf(fresh, 'denial')) + '\n' : this.textOf(fresh) + '\n')
    return true
  }

  /** `socket(domain=0x2)`: the call with its class arguments (named as the table names them); `mkdir` when it has none. */
  callText(row: DenialRow): string {
    const names = new Map(inspectedArgs().get(row.first.syscall) ?? [])
    if (!row.argsKnown) return `${row.first.syscall}(arguments unknown)`
    if (row.argClass.length === 0) return row.first.syscall
    return `${row.first.syscall}(${row.argClass.map(([i, v]) => `${names.get(i) ?? `arg${i}`}=${hex(v)}`).join(', ')})`
  }

  private textOf(row: DenialRow): string {
    const d = row.first
    const who = [d.comm, d.exe ? `(${d.exe})` : undefined].filter(Boolean).join(' ')
    const from = d.source ? `${d.source}: ` : ''
    return `${this.prefix}${from}${d.abi} ${this.callText(row)} by pid ${d.pid}${who ? ` ${who}` : ''}: ${d.action}${d.rule ? `; matched ${d.rule}` : ''}`
  }

  private jsonOf(row: DenialRow, type: 'denial' | 'row'): Record<string, unknown> {
    const d = row.first
    return {
      type,
      ...(d.source !== undefined ? {source: d.source} : {}),
      ...(d.container !== undefined ? {container: d.container} : {}),
      abi: d.abi,
      syscall: d.syscall,
      nr: d.nr,
      ...(type === 'denial' && d.args ? {args: d.args.map(hex)} : {}),
      argClass: row.argsKnown ? Object.fromEntries(row.argClass.map(([i, v]) => [String(i), hex(v)])) : null,
      pid: d.pid,
      ...(d.comm !== undefined ? {comm: d.comm} : {}),
      ...(d.exe !== undefined ? {exe: d.exe} : {}),
      action: d.action,
      ...(d.rule !== undefined ? {rule: d.rule} : {}),
      ...(type === 'row' ? {count: row.count, processes: row.pids.size} : {}),
    }
  }

  /** The end table (text), or one JSON object {type: 'summary', total, rows}. Empty report: one line saying so. */
  summary(what = 'denied'): string {
    const rows = [...this.rows.values()].sort((a, b) => b.count - a.count)
    if (this.opts.format === 'json') return JSON.stringify({type: 'summary', total: this.total, distinct: rows.length, rows: rows.map((r) => this.jsonOf(r, 'row'))}) + '\n'
    if (rows.length === 0) return `${this.prefix}no call was ${what}\n`
    const withSource = rows.some((r) => r.first.source !== undefined)
    const withRule = rows.some((r) => r.first.rule !== undefined)
    const head = ['count', ...(withSource ? ['source'] : []), 'abi', 'call', 'first pid', 'action', ...(withRule ? ['matched'] : [])]
    const body = rows.map((r) => [String(r.count), ...(withSource ? [r.first.source ?? ''] : []), r.first.abi, this.callText(r), String(r.first.pid), r.first.action, ...(withRule ? [r.first.rule ?? ''] : [])])
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
    const line = (cells: string[]) => '  ' + cells.map((c, i) => (i === 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd()
    return `${this.prefix}${this.total} call(s) ${what}, ${rows.length} distinct:\n${[head, ...body].map(line).join('\n')}\n`
  }

  /**
   * The denied calls as an observation (rows of `source` only, when given): counts per ABI and
   * syscall, inspected arguments with the values seen (unknown when a denial had none).
   */
  toObservation(command: string[], opts: {source?: string; runtime?: 'runc' | 'crun'} = {}): Observation {
    const abis: Observation['abis'] = {}
    const pids = new Set<number>()
    let lines = 0
    for (const row of this.rows.values()) {
      if (opts.source !== undefined && row.first.source !== opts.source) continue
      lines += row.count
      for (const p of row.pids) pids.add(p)
      const s: SyscallObservation = {count: row.count}
      const inspected = inspectedArgs().get(row.first.syscall)
      if (inspected?.length) {
        s.args = {}
        for (const [i] of inspected) {
          const v = row.argClass.find(([k]) => k === i)
          s.args[String(i)] = row.argsKnown && v ? {values: [hex(v[1])]} : {values: [], unknown: true}
        }
      }
      addSyscall((abis[row.first.abi] ??= {syscalls: {}}).syscalls, row.first.syscall, s)
    }
    return {
      schema: 'seccomp-gen/observation',
      version: 1,
      command,
      host: {kernel: release(), machine: machine()},
      ...(opts.runtime ? {runtime: opts.runtime} : {}),
      abis,
      execs: [],
      stats: {processes: pids.size, lines, unparsed: 0},
    }
  }
}
