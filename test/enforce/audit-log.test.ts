/**
 * src/enforce/audit-log.ts and the record -> denial step of src/enforce/explain.ts, on the lines
 * of fixtures/audit/: dmesg.txt is real (captured from this kernel), the other shapes are the
 * same records re-shaped (fixtures/audit/README.md), garbage.txt is made up.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {archOfAudit, archTable} from '../../src/arches.js'
import {parseAuditLine, untrustedString} from '../../src/enforce/audit-log.js'
import {DenialReport} from '../../src/enforce/denials.js'
import {actionOfCode, AuditExplainer, denialOf, type ProgramFilter} from '../../src/enforce/explain.js'
import {decode} from '../../native/audit-netlink.js'
import {actionValue, archToken} from '../../native/libseccomp.js'
import {ACTION_PRECEDENCE} from '../../src/actions.js'

const dir = join(__dirname, '..', '..', 'fixtures', 'audit')
const fixture = (name: string) => readFileSync(join(dir, name), 'utf8').split('\n').filter((l, i, all) => l !== '' || i < all.length - 1)

/** Feed lines to an explainer; the report's text lines and its counts. */
function explain(lines: string[], filter?: ProgramFilter) {
  const out: string[] = []
  const ex = new AuditExplainer(new DenialReport({format: 'text', out: {write: (s: string) => out.push(s)}}), filter)
  for (const l of lines) ex.line(l)
  return {ex, out, rows: [...ex.report.rows.values()]}
}

/** The eight real seccomp records of dmesg.txt, as (abi, syscall, action, pid) */
const REAL = [
  ['x86', 'getpid', 'SCMP_ACT_KILL_THREAD', 31982],
  ['x86_64', 'getpid', 'SCMP_ACT_LOG', 18150],
  ['x86_64', 'getpriority', 'SCMP_ACT_LOG', 19128],
  ['x86_64', 'setpriority', 'SCMP_ACT_ERRNO', 19128],
  ['x86_64', 'sched_get_priority_max', 'SCMP_ACT_KILL_PROCESS', 19128],
  ['x86', 'getpid', 'SCMP_ACT_LOG', 19199],
  ['x32', 'getpid', 'SCMP_ACT_LOG', 19307],
  ['x86_64', 'mkdir', 'SCMP_ACT_KILL_PROCESS', 19512],
  ['x86', 'getpid', 'SCMP_ACT_LOG', 20906],
]

describe('the forms a record reaches a reader in', () => {
  it.each(['dmesg.txt', 'journalctl-k.txt', 'journald-audit.txt', 'audit.log'])('%s: every seccomp record, named for its arch', (file) => {
    const {ex} = explain(fixture(file))
    const denials = fixture(file).map(parseAuditLine).flatMap((p) => (p.kind === 'seccomp' ? [denialOf(p.record)] : []))
    expect(denials.map((d) => ('unreadable' in d ? d : [d.abi, d.syscall, d.action, d.pid]))).toEqual(REAL)
    expect(ex.counts.records).toBe(REAL.length)
    expect(ex.counts.unreadable).toEqual({})
  })

  it('reads a whole real dmesg record: pid, comm, exe, arch, number, action', () => {
    const line = fixture('dmesg.txt').find((l) => l.includes('syscall=146'))!
    const p = parseAuditLine(line)
    expect(p).toEqual({kind: 'seccomp', record: {stamp: '1796444894.454:411', pid: 19128, comm: 'python3', exe: '/root/.pyenv/versions/3.11.7/bin/python3.11', arch: 0xc000003e, syscall: 146, code: 0x80000000}})
  })

  it('x32: the x86_64 audit arch with the x32 bit in the number', () => {
    const line = fixture('dmesg.txt').find((l) => l.includes('x32-getpid'))!
    const p = parseAuditLine(line)
    if (p.kind !== 'seccomp') throw new Error(`not read: ${line}`)
    expect(p.record.syscall).toBe(0x40000000 + 39)
    expect(denialOf(p.record)).toMatchObject({abi: 'x32', syscall: 'getpid', nr: 0x40000027})
  })

  it('a comm or exe the kernel wrote as hex (it has a space) is decoded', () => {
    const line = fixture('dmesg.txt').find((l) => l.includes('comm=6765'))!
    expect(parseAuditLine(line)).toMatchObject({kind: 'seccomp', record: {comm: 'get pid', exe: '/tmp/ex/elves/get pid'}})
    expect(untrustedString('"(null)"')).toBeUndefined()
    expect(untrustedString('"a=b"')).toBe('a=b')
  })

  it("the rate limit's line gives its count; another function's does not count", () => {
    expect(parseAuditLine('[15456.171304] kauditd_printk_skb: 84 callbacks suppressed')).toEqual({kind: 'suppressed', count: 84})
    expect(parseAuditLine('Dec 05 04:28:14 buildhost kernel: kauditd_printk_skb: 7 callbacks suppressed')).toEqual({kind: 'suppressed', count: 7})
    expect(parseAuditLine('[15456.171309] net_ratelimit: 3 callbacks suppressed')).toEqual({kind: 'other'})
    const {ex} = explain(fixture('dmesg.txt'))
    expect(ex.counts.suppressed).toBe(84)
    expect(ex.warnings()).toEqual([expect.stringMatching(/rate limit dropped 84 audit line\(s\).*auditd.*--follow/)])
  })

  it('the counts of the input line add up to the lines read: a rate-limit notice is one of them', () => {
    const lines = fixture('dmesg.txt')
    const notices = lines.filter((l) => l.includes('callbacks suppressed')).length
    expect(notices).toBe(1)
    const {ex} = explain(lines)
    const c = ex.counts
    expect(c).toMatchObject({read: lines.length, records: 9, skipped: 2, rateLimitNotices: 1, suppressed: 84})
    const bad = Object.values(c.unreadable).reduce((a, b) => a + b, 0)
    expect(c.records + c.skipped + c.rateLimitNotices + c.otherPrograms + bad + c.repeated).toBe(c.read)
    expect(ex.inputLine(false)).toBe('read 12 line(s): 9 seccomp record(s), 2 other line(s) skipped, 1 rate-limit notice(s)')
    // two notices: both are counted, their numbers summed
    const twice = explain([...lines, '[15999.000001] kauditd_printk_skb: 16 callbacks suppressed'])
    expect(twice.ex.counts).toMatchObject({read: 13, rateLimitNotices: 2, suppressed: 100})
  })

  it('the same record twice (dmesg saved twice, or with audit.log) counts once', () => {
    const {ex} = explain([...fixture('dmesg.txt'), ...fixture('audit.log')])
    expect(ex.counts.records).toBe(REAL.length)
    expect(ex.counts.repeated).toBe(REAL.length)
  })
})

describe('bad lines', () => {
  it('are skipped and counted, never fatal: other lines apart from unreadable records', () => {
    const {ex, out} = explain(fixture('garbage.txt'))
    expect(out).toEqual([])
    expect(ex.counts).toMatchObject({read: 10, records: 0, skipped: 5, suppressed: 0})
    expect(ex.counts.unreadable).toEqual({'no code': 1, 'arch deadbeef unknown': 1, 'arch SCMP_ARCH_PPC64 not supported': 1, 'no pid': 1, 'no syscall number': 1})
    expect(ex.inputLine(false)).toBe('read 10 line(s): 0 seccomp record(s), 5 other line(s) skipped, 5 unreadable record(s) skipped (1 no code, 1 arch deadbeef unknown, 1 arch SCMP_ARCH_PPC64 not supported, 1 no pid, 1 no syscall number)')
  })

  it('a number no syscall, arch, pid or code can be (more than 32 bits) makes the record unreadable', () => {
    const rec = (f: string) => `audit: type=1326 audit(1.1:2): auid=0 uid=0 gid=0 ses=1 pid=5 comm="x" exe="/x" sig=0 arch=c000003e syscall=39 compat=0 ip=0x1 code=0x7ffc0000 ${f}`
    expect(parseAuditLine(rec('').replace('syscall=39', 'syscall=99999999999999999999'))).toEqual({kind: 'unreadable', reason: 'no syscall number'})
    expect(parseAuditLine(rec('').replace('syscall=39', 'syscall=4294967296'))).toEqual({kind: 'unreadable', reason: 'no syscall number'})
    expect(parseAuditLine(rec('').replace('pid=5', 'pid=99999999999'))).toEqual({kind: 'unreadable', reason: 'no pid'})
    expect(parseAuditLine(rec('').replace('arch=c000003e', 'arch=1c000003e'))).toEqual({kind: 'unreadable', reason: 'no arch'})
    expect(parseAuditLine(rec('').replace('code=0x7ffc0000', 'code=0x17ffc0000'))).toEqual({kind: 'unreadable', reason: 'no code'})
    // control: the largest x32 number still reads
    expect(parseAuditLine(rec('').replace('syscall=39', 'syscall=1073742359'))).toMatchObject({kind: 'seccomp', record: {syscall: 0x40000217}})
  })

  it('among good ones change nothing of the report', () => {
    const good = explain(fixture('dmesg.txt'))
    const mixed = explain([...fixture('garbage.txt'), ...fixture('dmesg.txt')])
    expect(mixed.out).toEqual(good.out)
    expect(mixed.ex.counts.records).toBe(good.ex.counts.records)
  })
})

describe('actions', () => {
  it('every action libseccomp can put in a filter is named back from its return value', () => {
    for (const a of ACTION_PRECEDENCE) {
      if (a === 'SCMP_ACT_KILL') continue // libseccomp's old name of KILL_THREAD: same value
      expect(actionOfCode(actionValue(a, 0))).toBe(a)
    }
    expect(actionOfCode(actionValue('SCMP_ACT_ERRNO', 13))).toBe('SCMP_ACT_ERRNO(EACCES)')
    expect(actionOfCode(actionValue('SCMP_ACT_TRACE', 7))).toBe('SCMP_ACT_TRACE(7)')
    expect(actionOfCode(0x12340000)).toBe('unknown action 0x12340000')
  })
})

describe('arches', () => {
  it("profiles/arches.json's audit values are libseccomp's tokens (but x32, which the kernel reports as x86_64)", () => {
    const checked: string[] = []
    for (const a of archTable()) {
      const short = a.token.slice('SCMP_ARCH_'.length).toLowerCase()
      const tok = archToken(short)
      if (tok === null || a.token === 'SCMP_ARCH_X32') continue // an arch this libseccomp does not know
      expect(Number(a.audit), a.token).toBe(tok)
      checked.push(a.token)
    }
    expect(checked).toEqual(expect.arrayContaining(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_MIPSEL64N32']))
    expect(archOfAudit(0xc000003e, 39)?.abi).toBe('x86_64')
    expect(archOfAudit(0xc000003e, 0x40000027)?.abi).toBe('x32')
    expect(archOfAudit(0x40000003, 20)?.abi).toBe('x86')
    expect(archOfAudit(0xdeadbeef, 1)).toBeUndefined()
  })

  it('a syscall on an ABI without a kernel table here is named by libseccomp', () => {
    expect(denialOf({pid: 1, arch: 0xc00000b7, syscall: 56, code: 0x7ffc0000})).toMatchObject({abi: 'aarch64', syscall: 'openat'})
    expect(denialOf({pid: 1, arch: 0xc000003e, syscall: 999, code: 0x7ffc0000})).toMatchObject({syscall: 'syscall_0x3e7'})
  })
})

describe('netlink messages', () => {
  it('a datagram is split into its messages (struct nlmsghdr, 4-byte aligned), the text without its NUL', () => {
    const msg = (type: number, text: string) => {
      const body = Buffer.from(text + '\0')
      const h = Buffer.alloc(16)
      h.writeUInt32LE(16 + body.length, 0)
      h.writeUInt16LE(type, 4)
      const pad = Buffer.alloc((4 - ((16 + body.length) % 4)) % 4)
      return Buffer.concat([h, body, pad])
    }
    const text = 'audit(1796444894.454:409): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=19128 comm="python3" exe="/usr/bin/python3" sig=0 arch=c000003e syscall=140 compat=0 ip=0x7f code=0x7ffc0000'
    const got = decode(Buffer.concat([msg(1326, text), msg(1300, 'audit(1.0:2): x=1')]))
    expect(got).toEqual([{type: 1326, text}, {type: 1300, text: 'audit(1.0:2): x=1'}])
    const {ex} = explain([])
    for (const m of got) ex.message(m.type, m.text)
    expect(ex.counts).toMatchObject({read: 2, records: 1, skipped: 1})
    expect([...ex.report.rows.values()][0]!.first).toMatchObject({abi: 'x86_64', syscall: 'getpriority', action: 'SCMP_ACT_LOG'})
  })
})

describe("filters: one program's records out of a whole host's log", () => {
  const PYTHON = '/root/.pyenv/versions/3.11.7/bin/python3.11'
  const only = (f: Partial<ProgramFilter>) => ({exe: [], comm: [], pid: [], ...f})
  /** the report's (abi, syscall, action, pid) */
  const reported = (r: ReturnType<typeof explain>) => r.rows.map((x) => [x.first.abi, x.first.syscall, x.first.action, x.first.pid])

  it('--exe keeps the records whose exe= is that path, exactly; the others are counted apart', () => {
    const r = explain(fixture('dmesg.txt'), only({exe: [PYTHON]}))
    expect(reported(r)).toEqual(REAL.filter((x) => x[3] === 19128))
    expect(r.ex.counts).toMatchObject({records: 3, otherPrograms: 6, programs: 1, skipped: 2})
    expect(r.ex.inputLine(false)).toBe('read 12 line(s): 3 seccomp record(s), 2 other line(s) skipped, 1 rate-limit notice(s), 6 record(s) of other programs skipped')
    // no prefix, no basename: exactly the path
    for (const exe of ['/root/.pyenv/versions/3.11.7/bin/python3', '/root/.pyenv/versions/3.11.7/bin/python3.11/']) {
      expect(explain(fixture('dmesg.txt'), only({exe: [exe]})).ex.counts).toMatchObject({records: 0, otherPrograms: 9})
    }
  })

  it('the exe the kernel wrote as hex is matched decoded', () => {
    const r = explain(fixture('dmesg.txt'), only({exe: ['/tmp/ex/elves/get pid']}))
    expect(reported(r)).toEqual([['x86', 'getpid', 'SCMP_ACT_LOG', 20906]])
  })

  it('--comm keeps every exe of that name (two i386-getpid here); --pid one process; several filters keep what matches any', () => {
    const byComm = explain(fixture('dmesg.txt'), only({comm: ['i386-getpid']}))
    expect(byComm.rows.map((x) => x.first.pid).sort()).toEqual([19199, 31982])
    expect(byComm.ex.counts).toMatchObject({records: 2, otherPrograms: 7, programs: 2})
    expect(reported(explain(fixture('dmesg.txt'), only({pid: [18150]})))).toEqual([['x86_64', 'getpid', 'SCMP_ACT_LOG', 18150]])
    const any = explain(fixture('dmesg.txt'), only({exe: [PYTHON], comm: ['mkdir'], pid: [18150]}))
    expect(any.ex.counts).toMatchObject({records: 5, otherPrograms: 4, programs: 3})
  })

  it('the same in every form a reader gives (audit.log: the ENRICHED fields after 0x1d are not matched)', () => {
    for (const file of ['journalctl-k.txt', 'journald-audit.txt', 'audit.log']) {
      const r = explain(fixture(file), only({exe: [PYTHON]}))
      expect(reported(r), file).toEqual(REAL.filter((x) => x[3] === 19128))
      expect(r.ex.counts.otherPrograms, file).toBe(6)
    }
  })

  it('an observation of several programs without a filter is a warning; with a filter, or of one program, none', () => {
    const merged = explain(fixture('dmesg.txt'))
    expect(merged.ex.counts).toMatchObject({programs: 7, otherPrograms: 0})
    const warned = merged.ex.warnings(true).filter((w) => !w.includes('rate limit'))
    expect(warned).toEqual([expect.stringMatching(/^the observation merges the calls of 7 programs .*--exe PATH/)])
    // no observation written: nothing is merged
    expect(merged.ex.warnings(false).filter((w) => w.includes('merges'))).toEqual([])
    expect(explain(fixture('dmesg.txt'), only({comm: ['i386-getpid']})).ex.warnings(true).filter((w) => w.includes('merges'))).toEqual([])
    const onePid = fixture('dmesg.txt').filter((l) => l.includes(' pid=19128 '))
    expect(explain(onePid).ex.warnings(true)).toEqual([])
  })
})
