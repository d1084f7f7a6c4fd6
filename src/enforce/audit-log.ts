/**
 * One line of kernel log text -> a seccomp audit record (type 1326, AUDIT_SECCOMP), the
 * printk rate limit's "callbacks suppressed" note, or nothing of ours. The record is the same
 * text behind whatever prefix the reader put in front of it:
 *
 *   dmesg            [15012.192188] audit: type=1326 audit(1796444450.474:137): auid=… code=0x7ffc0000
 *   journalctl -k    Dec 05 04:20:50 host kernel: audit: type=1326 audit(1796444450.474:137): auid=…
 *   journald (audit) Dec 05 04:20:50 host audit[31429]: SECCOMP auid=… code=0x7ffc0000
 *   audit.log        type=SECCOMP msg=audit(1796444450.474:137): auid=… code=0x7ffc0000␝AUID="unset" …
 *   netlink          audit(1796444450.474:137): auid=… (the type is in the message header)
 *
 * so a line is found by its record marker (anything before it is the reader's prefix), and its
 * fields are split by hand: key=value, the value "quoted" or a bare token. auditd's ENRICHED
 * format appends interpreted fields after a 0x1d byte; they are dropped (the raw ones say all).
 * Records carry no syscall arguments.
 */

export interface SeccompRecord {
  /** audit(SECONDS.MILLIS:SERIAL): the record's identity, when the line has it */
  stamp?: string
  pid: number
  comm?: string
  exe?: string
  /** AUDIT_ARCH_* value (arch=c000003e) */
  arch: number
  /** the syscall number as the filter saw it (x32 numbers carry 0x40000000) */
  syscall: number
  /** the filter's return value (code=0x7ffc0000): action and datum */
  code: number
}

export type AuditLine =
  | {kind: 'seccomp'; record: SeccompRecord}
  /** the kernel's printk rate limit dropped `count` lines (of audit records) before this one */
  | {kind: 'suppressed'; count: number}
  /** a seccomp record we cannot read: why */
  | {kind: 'unreadable'; reason: string}
  /** anything else: another kernel message, another audit record type, garbage */
  | {kind: 'other'}

/** The record marker; group 1 is the audit(…) stamp when the form has one, group 2 the fields. */
const RECORD = /(?:\btype=(?:1326|SECCOMP)\s+(?:msg=)?audit\(([0-9.:]+)\)\s*:|\baudit\[\d+\]:\s+SECCOMP)\s+(.*)$/

/** kauditd_printk_skb is the kernel function that prints audit records when no auditd takes them. */
const SUPPRESSED = /\bkauditd_printk_skb: (\d+) callbacks suppressed/

/** The fields of a record: `key=value` with value "quoted" or a bare token. */
function splitFields(text: string): Map<string, string> {
  const fields = new Map<string, string>()
  const field = /([A-Za-z_][\w-]*)=("[^"]*"|\S*)/g
  for (const m of text.matchAll(field)) if (!fields.has(m[1]!)) fields.set(m[1]!, m[2]!)
  return fields
}

/**
 * A string field as the kernel logs it (audit_log_untrustedstring): "quoted" when it is plain
 * text, else bare hex of its bytes (a comm with a space, an exe with a quote). "(null)" is none.
 */
export function untrustedString(value: string | undefined): string | undefined {
  if (value === undefined || value === '(null)' || value === '"(null)"') return undefined
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) return value.slice(1, -1)
  if (/^(?:[0-9A-Fa-f]{2})+$/.test(value)) return Buffer.from(value, 'hex').toString('utf8')
  return value
}

/** pid, syscall, arch and code are 32-bit numbers in the kernel: anything longer is garbage */
const DECIMAL = /^\d{1,10}$/
const HEX = /^(?:0x)?[0-9a-fA-F]{1,8}$/
const fits32 = (n: number) => n <= 0xffffffff

/** Parse one line (any of the forms above; a trailing newline is fine). */
export function parseAuditLine(line: string): AuditLine {
  const text = line.split('\x1d')[0]!.trimEnd()
  const m = RECORD.exec(text)
  if (!m) {
    const s = SUPPRESSED.exec(text)
    return s ? {kind: 'suppressed', count: Number(s[1])} : {kind: 'other'}
  }
  const f = splitFields(m[2]!)
  const pid = f.get('pid')
  const arch = f.get('arch')
  const syscall = f.get('syscall')
  const code = f.get('code')
  if (pid === undefined || !DECIMAL.test(pid) || Number(pid) > 0x7fffffff) return {kind: 'unreadable', reason: 'no pid'}
  if (arch === undefined || !HEX.test(arch)) return {kind: 'unreadable', reason: 'no arch'}
  if (syscall === undefined || !DECIMAL.test(syscall) || !fits32(Number(syscall))) return {kind: 'unreadable', reason: 'no syscall number'}
  if (code === undefined || !HEX.test(code) || !code.startsWith('0x')) return {kind: 'unreadable', reason: 'no code'}
  const comm = untrustedString(f.get('comm'))
  const exe = untrustedString(f.get('exe'))
  return {
    kind: 'seccomp',
    record: {
      ...(m[1] !== undefined ? {stamp: m[1]} : {}),
      pid: Number(pid),
      ...(comm !== undefined ? {comm} : {}),
      ...(exe !== undefined ? {exe} : {}),
      arch: parseInt(arch, 16),
      syscall: Number(syscall),
      code: parseInt(code, 16),
    },
  }
}
