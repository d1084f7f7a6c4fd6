/**
 * `explain`: the kernel's seccomp audit records (type 1326) -> the denial report of
 * src/enforce/denials.ts, for filters seccomp-gen did not load itself (Docker, podman,
 * Kubernetes). Records come from log text (dmesg, journalctl -k, audit.log; src/enforce/
 * audit-log.ts reads a line) or live from the kernel's audit multicast group
 * (native/audit-netlink.ts).
 *
 * A record names its arch by AUDIT_ARCH value (profiles/arches.json `audit`), its syscall by
 * number (named by the kernel's table for that ABI, else by libseccomp: denials.ts
 * syscallName) and the filter's answer by its return value (profiles/seccomp-ret.json). It
 * carries no arguments.
 *
 * Lines that are not seccomp records are skipped and counted, never fatal; so are records that
 * cannot be read (a field missing, an arch without an ABI here). A record seen twice (same
 * audit(time:serial) stamp: dmesg saved twice, dmesg and audit.log together) counts once.
 *
 * A whole host's log holds every filter's records: a ProgramFilter keeps one program's (by
 * exe=, comm= or pid=) so that an observation widens only that program's profile.
 */
import {createReadStream, fstatSync, openSync, closeSync} from 'node:fs'
import {createInterface} from 'node:readline'
import type {Readable} from 'node:stream'
import {returnActions} from '../actions.js'
import {archOfAudit} from '../arches.js'
import {errnoName} from '../errno.js'
import {errnoWords, SeccompGenError} from '../errors.js'
import {AuditMulticast} from '../../native/audit-netlink.js'
import {parseAuditLine, type SeccompRecord} from './audit-log.js'
import {syscallName, type Denial, type DenialReport} from './denials.js'

/** AUDIT_SECCOMP, the record type of a seccomp action the kernel logged */
export const AUDIT_SECCOMP = 1326

/**
 * A filter's return value (a record's code=) as the profile action that gives it:
 * 0x7ffc0000 -> SCMP_ACT_LOG, 0x80000000 -> SCMP_ACT_KILL_PROCESS, 0x50000 -> SCMP_ACT_ERRNO.
 * The kernel logs the action without its datum (seccomp_log gets `filter_ret &
 * SECCOMP_RET_ACTION_FULL`), so the errno a call got is not in the record; a datum is named
 * only when a line carries one.
 */
export function actionOfCode(code: number): string {
  const base = (code & 0xffff0000) >>> 0
  const data = code & 0xffff
  const row = returnActions().find((r) => Number(r.value) === base)
  if (!row) return `unknown action 0x${(code >>> 0).toString(16)}`
  if (row.data === 'errno' && data) return `${row.action}(${errnoName(data) ?? data})`
  if (row.data === 'trace' && data) return `${row.action}(${data})`
  return row.action
}

/** A record as a denial, or why it cannot be one. */
export function denialOf(r: SeccompRecord): Denial | {unreadable: string} {
  const arch = archOfAudit(r.arch, r.syscall)
  if (!arch) return {unreadable: `arch ${r.arch.toString(16)} unknown`}
  if (!arch.abi) return {unreadable: `arch ${arch.token} not supported`}
  return {
    abi: arch.abi,
    syscall: syscallName(arch.abi, r.syscall),
    nr: r.syscall,
    pid: r.pid,
    ...(r.comm !== undefined ? {comm: r.comm} : {}),
    ...(r.exe !== undefined ? {exe: r.exe} : {}),
    action: actionOfCode(r.code),
  }
}

/** What the input held besides the report's records. */
export interface InputCounts {
  /** lines read (files) or audit messages received (--follow) */
  read: number
  /** seccomp records reported */
  records: number
  /** lines that are no seccomp record (other kernel messages, other audit types, garbage) */
  skipped: number
  /** seccomp records that could not be read, by reason */
  unreadable: Record<string, number>
  /** records seen a second time (same audit stamp) */
  repeated: number
  /** records the kernel's printk rate limit dropped ("kauditd_printk_skb: N callbacks suppressed") */
  suppressed: number
  /** the lines that said so: each one of the lines read, as records and skipped lines are */
  rateLimitNotices: number
  /** --follow: times the socket's buffer overflowed (the kernel dropped records for us) */
  overflows: number
  /** seccomp records that match none of the --exe/--comm/--pid filters */
  otherPrograms: number
  /** distinct exe= among the records reported */
  programs: number
}

/** The programs to report (--exe, --comm, --pid): a record is kept when it matches any one. */
export interface ProgramFilter {
  exe: string[]
  comm: string[]
  pid: number[]
}

const filterGiven = (f: ProgramFilter | undefined): f is ProgramFilter => f !== undefined && f.exe.length + f.comm.length + f.pid.length > 0

function matches(f: ProgramFilter, r: SeccompRecord): boolean {
  return (r.exe !== undefined && f.exe.includes(r.exe)) || (r.comm !== undefined && f.comm.includes(r.comm)) || f.pid.includes(r.pid)
}

export class AuditExplainer {
  readonly counts: InputCounts = {read: 0, records: 0, skipped: 0, unreadable: {}, repeated: 0, suppressed: 0, rateLimitNotices: 0, overflows: 0, otherPrograms: 0, programs: 0}
  private readonly stamps = new Set<string>()
  private readonly exes = new Set<string>()
  private readonly filter: ProgramFilter | undefined

  constructor(readonly report: DenialReport, filter?: ProgramFilter) {
    if (filterGiven(filter)) this.filter = filter
  }

  /** One line of log text. */
  line(text: string): void {
    this.counts.read++
    const p = parseAuditLine(text)
    if (p.kind === 'other') this.counts.skipped++
    else if (p.kind === 'suppressed') {
      this.counts.rateLimitNotices++
      this.counts.suppressed += p.count
    }
    else if (p.kind === 'unreadable') this.unreadable(p.reason)
    else this.record(p.record)
  }

  /** One message from the audit multicast group: its type is in the netlink header. */
  message(type: number, text: string): void {
    if (type !== AUDIT_SECCOMP) {
      this.counts.read++
      this.counts.skipped++
      return
    }
    this.line(`type=${AUDIT_SECCOMP} ${text}`)
  }

  private unreadable(reason: string): void {
    this.counts.unreadable[reason] = (this.counts.unreadable[reason] ?? 0) + 1
  }

  private record(r: SeccompRecord): void {
    if (r.stamp !== undefined) {
      if (this.stamps.has(r.stamp)) {
        this.counts.repeated++
        return
      }
      this.stamps.add(r.stamp)
    }
    // before denialOf: another program's record is not ours to call unreadable
    if (this.filter && !matches(this.filter, r)) {
      this.counts.otherPrograms++
      return
    }
    const d = denialOf(r)
    if ('unreadable' in d) return this.unreadable(d.unreadable)
    this.counts.records++
    if (r.exe !== undefined) this.exes.add(r.exe)
    this.counts.programs = this.exes.size
    this.report.add(d)
  }

  /**
   * One line on what was read: "read 523 lines: 12 seccomp records, 509 other lines skipped, …".
   * Every line read is in exactly one of the parts, so they add up to it.
   */
  inputLine(follow: boolean): string {
    const c = this.counts
    const bad = Object.values(c.unreadable).reduce((a, b) => a + b, 0)
    const parts = [
      `${c.records} seccomp record(s)`,
      ...(c.skipped ? [`${c.skipped} other ${follow ? 'audit message(s)' : 'line(s)'} skipped`] : []),
      ...(c.rateLimitNotices ? [`${c.rateLimitNotices} rate-limit notice(s)`] : []),
      ...(c.otherPrograms ? [`${c.otherPrograms} record(s) of other programs skipped`] : []),
      ...(bad ? [`${bad} unreadable record(s) skipped (${Object.entries(c.unreadable).map(([r, n]) => `${n} ${r}`).join(', ')})`] : []),
      ...(c.repeated ? [`${c.repeated} repeated record(s) counted once`] : []),
    ]
    return `${follow ? 'received' : 'read'} ${c.read} ${follow ? 'audit message(s)' : 'line(s)'}: ${parts.join(', ')}`
  }

  /**
   * The warnings the input calls for: records the kernel dropped before they reached us; and,
   * when an observation is written (`observing`) without a filter, the calls of several
   * programs merged into it.
   */
  warnings(observing = false): string[] {
    const c = this.counts
    const out: string[] = []
    if (observing && !this.filter && c.programs > 1) {
      out.push(`the observation merges the calls of ${c.programs} programs (distinct exe=): a profile built from it would allow each of them the others' calls too; ` +
        "keep one program's records with --exe PATH (the path in parentheses in the report)")
    }
    if (c.suppressed) {
      out.push(`the kernel's printk rate limit dropped ${c.suppressed} audit line(s) ("callbacks suppressed"; about 10 get through per 5 s without auditd): calls may be missing here; ` +
        'run auditd and read /var/log/audit/audit.log, or catch every record live with `seccomp-gen explain --follow`')
    }
    if (c.overflows) out.push(`the audit socket's buffer overflowed ${c.overflows} time(s): the kernel dropped records for this listener`)
    return out
  }
}

/**
 * Open every file before reading any, so that a bad one is one error line with nothing
 * reported. "-" is standard input (read as it comes: `dmesg -w | seccomp-gen explain -`).
 */
export function openInputs(paths: string[]): Array<{given: string; fd?: number}> {
  if (paths.filter((p) => p === '-').length > 1) throw new SeccompGenError('USAGE', 'standard input (-) can be read only once')
  const opened: Array<{given: string; fd?: number}> = []
  for (const given of paths) {
    if (given === '-') {
      opened.push({given})
      continue
    }
    let fd: number | undefined
    try {
      fd = openSync(given, 'r')
      if (fstatSync(fd).isDirectory()) throw Object.assign(new Error('is a directory'), {code: 'EISDIR'})
      opened.push({given, fd})
    } catch (err) {
      if (fd !== undefined) closeSync(fd)
      for (const o of opened) if (o.fd !== undefined) closeSync(o.fd)
      throw new SeccompGenError('IO', `cannot read ${given}: ${errnoWords(err)}`)
    }
  }
  return opened
}

/** Feed every line of the opened inputs, in order, to `ex`; stops early when `stop` fires. */
export async function readInputs(inputs: Array<{given: string; fd?: number}>, ex: AuditExplainer, stop: AbortSignal): Promise<void> {
  for (const input of inputs) {
    if (stop.aborted) break
    const stream: Readable = input.fd === undefined ? process.stdin : createReadStream('', {fd: input.fd})
    const lines = createInterface({input: stream, crlfDelay: Infinity})
    const onStop = () => lines.close()
    stop.addEventListener('abort', onStop)
    try {
      for await (const line of lines) ex.line(line)
    } catch (err) {
      throw new SeccompGenError('IO', `cannot read ${input.given}: ${errnoWords(err)}`)
    } finally {
      stop.removeEventListener('abort', onStop)
      if (input.fd !== undefined) stream.destroy()
    }
  }
}

/**
 * Subscribe to the kernel's audit multicast group and feed every message to `ex` until `stop`
 * fires. `ready` is called once the subscription stands (records from then on are caught).
 */
export async function followAudit(ex: AuditExplainer, stop: AbortSignal, ready: () => void): Promise<void> {
  const socket = AuditMulticast.open()
  try {
    ready()
    // each wait is short so that a stop is seen soon; no record is lost between waits (the
    // socket queues them)
    while (!stop.aborted) {
      const {messages, overflowed} = await socket.receive(200)
      if (overflowed) ex.counts.overflows++
      for (const m of messages) ex.message(m.type, m.text)
    }
  } finally {
    socket.close()
  }
}
