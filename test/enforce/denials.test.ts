/**
 * src/enforce/denials.ts: one line per distinct (source, ABI, syscall, argument class), the
 * summary's counts, and the observation `build` reads (checked by the observation schema).
 */
import {describe, expect, it} from 'vitest'
import {DenialReport, syscallName, type Denial} from '../../src/enforce/denials.js'
import {validateObservation, serializeObservation} from '../../src/trace/observation-io.js'

function collect(format: 'json' | 'text', ruleArgs?: Map<string, number[]>) {
  const lines: string[] = []
  const report = new DenialReport({format, out: {write: (s: string) => lines.push(s)}, ruleArgs})
  return {report, lines}
}

const socket = (domain: bigint, pid = 10): Denial => ({abi: 'x86_64', syscall: 'socket', nr: 41, args: [domain, 1n, 0n, 0n, 0n, 0n], pid, comm: 'curl', exe: '/usr/bin/curl', action: 'allowed (complain)', rule: 'defaultAction SCMP_ACT_ERRNO(EPERM)'})

describe('DenialReport', () => {
  it('prints one line per distinct argument class and counts the rest', () => {
    const {report, lines} = collect('text')
    expect(report.add(socket(2n))).toBe(true)
    expect(report.add(socket(2n, 11))).toBe(false)
    expect(report.add(socket(10n))).toBe(true)
    // mkdir has no inspected argument: other argument values are the same class
    report.add({abi: 'x86_64', syscall: 'mkdir', nr: 83, args: [1n, 2n, 0n, 0n, 0n, 0n], pid: 12, action: 'SCMP_ACT_ERRNO(EPERM)'})
    report.add({abi: 'x86_64', syscall: 'mkdir', nr: 83, args: [5n, 7n, 0n, 0n, 0n, 0n], pid: 12, action: 'SCMP_ACT_ERRNO(EPERM)'})
    expect(lines).toHaveLength(3)
    expect(lines[0]).toBe('seccomp-gen: x86_64 socket(domain=0x2) by pid 10 curl (/usr/bin/curl): allowed (complain); matched defaultAction SCMP_ACT_ERRNO(EPERM)\n')
    expect(lines[2]).toContain('x86_64 mkdir by pid 12')
    const sum = report.summary()
    expect(sum).toMatch(/^seccomp-gen: 5 call\(s\) denied, 3 distinct:\n/)
    expect(sum).toMatch(/\n\s+2\s+x86_64\s+socket\(domain=0x2\)\s+10\s/)
    expect(sum).toMatch(/\n\s+2\s+x86_64\s+mkdir\s+12\s/)
  })

  it('takes the indexes the rules look at into the class, and keeps sources apart', () => {
    const {report, lines} = collect('json', new Map([['mkdir', [1]]]))
    report.add({abi: 'x86_64', syscall: 'mkdir', nr: 83, args: [1n, 0o755n], pid: 1, action: 'a', source: 'c1'})
    report.add({abi: 'x86_64', syscall: 'mkdir', nr: 83, args: [2n, 0o700n], pid: 1, action: 'a', source: 'c1'})
    report.add({abi: 'x86_64', syscall: 'mkdir', nr: 83, args: [2n, 0o700n], pid: 1, action: 'a', source: 'c2'})
    expect(lines.map((l) => JSON.parse(l).argClass)).toEqual([{1: '0x1ed'}, {1: '0x1c0'}, {1: '0x1c0'}])
    expect(lines.map((l) => JSON.parse(l).source)).toEqual(['c1', 'c1', 'c2'])
    const s = JSON.parse(report.summary())
    expect(s).toMatchObject({type: 'summary', total: 3, distinct: 3})
  })

  it('an audit denial (no arguments) is its own class, and its inspected arguments are unknown in the observation', () => {
    const {report, lines} = collect('text')
    report.add(socket(2n))
    report.add({abi: 'x86_64', syscall: 'socket', nr: 41, pid: 3, action: 'SCMP_ACT_KILL_PROCESS'})
    report.add({abi: 'x86', syscall: syscallName('x86', 999), nr: 999, pid: 3, action: 'SCMP_ACT_KILL_PROCESS'})
    expect(lines[1]).toContain('socket(arguments unknown)')
    expect(lines[2]).toContain('x86 syscall_0x3e7(arguments unknown)')
    const o = validateObservation(JSON.parse(serializeObservation(report.toObservation(['prog']))), 'test')
    expect(o.abis.x86_64!.syscalls.socket).toEqual({count: 2, args: {0: {values: ['0x2'], unknown: true}}})
    expect(o.abis.x86!.syscalls.syscall_0x3e7).toEqual({count: 1})
    expect(o.stats).toEqual({processes: 2, lines: 3, unparsed: 0})
  })

  it('records of one call with different actions (a whole host: several filters) are rows of their own, and each row says its action', () => {
    const {report, lines} = collect('text')
    const getpid = (pid: number, action: string): Denial => ({abi: 'x86', syscall: 'getpid', nr: 20, pid, action})
    report.add(getpid(1, 'SCMP_ACT_KILL_THREAD'))
    report.add(getpid(2, 'SCMP_ACT_LOG'))
    report.add(getpid(3, 'SCMP_ACT_LOG'))
    expect(lines).toHaveLength(2)
    expect(lines[1]).toBe('seccomp-gen: x86 getpid(arguments unknown) by pid 2: SCMP_ACT_LOG\n')
    const sum = report.summary()
    expect(sum).toMatch(/\n\s+2\s+x86\s+getpid\(arguments unknown\)\s+2\s+SCMP_ACT_LOG\n/)
    expect(sum).toMatch(/\n\s+1\s+x86\s+getpid\(arguments unknown\)\s+1\s+SCMP_ACT_KILL_THREAD\n/)
    expect(sum).not.toMatch(/matched/) // no row has a rule: no empty column
    // the observation counts the call once, with both rows' counts
    expect(report.toObservation(['x']).abis.x86!.syscalls.getpid).toEqual({count: 3})
  })

  it('an observation of one source only', () => {
    const {report} = collect('json')
    report.add({...socket(2n), source: 'a'})
    report.add({...socket(10n), source: 'b'})
    const o = report.toObservation(['x'], {source: 'b', runtime: 'runc'})
    expect(o.abis.x86_64!.syscalls.socket!.args).toEqual({0: {values: ['0xa']}})
    expect(o.runtime).toBe('runc')
  })

  it('names syscalls by the kernel table of the ABI', () => {
    expect(syscallName('x86_64', 41)).toBe('socket')
    expect(syscallName('x86', 102)).toBe('socketcall')
  })

  it('names syscalls of an ABI without a kernel table here by libseccomp (aarch64: apply on an arm64 host), so that rules match them by name', () => {
    expect(syscallName('aarch64', 34)).toBe('mkdirat')
    expect(syscallName('x86_64', 0x3e7)).toBe('syscall_0x3e7')
  })
})
