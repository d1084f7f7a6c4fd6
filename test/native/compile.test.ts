/**
 * src/enforce/compile.ts: profiles compiled by the real libseccomp, exported as BPF, and the BPF run
 * through an independent interpreter (bpf-sim.ts) as a table of [arch, syscall, args] → action,
 * the way libseccomp's own *.tests tables check filters.
 */
import {describe, expect, it} from 'vitest'
import {SeccompGenError} from '../../src/errors.js'
import {loadProfile} from '../../src/profile/load.js'
import {toOci} from '../../src/profile/resolve.js'
import type {OciSeccomp} from '../../src/profile/types.js'
import {dockerDefaultCaps} from '../../src/enforce/caps.js'
import {compileBpf, compilePfc, splitRepeatedArgs} from '../../src/enforce/compile.js'
import {archToken, libseccompVersion, lookupSyscall} from '../../native/libseccomp.js'
import {anchor} from '../helpers/anchors.js'
import {RET, decode, describeRet, run} from './bpf-sim.js'

const DOCKER_DEFAULT = anchor('docker-default.json')
const onX64 = process.arch === 'x64'
const X86_64 = onX64 ? archToken('x86_64')! : 0
const X86 = onX64 ? archToken('x86')! : 0
const AARCH64 = archToken('aarch64')!
const U64_MAX = 0xffffffffffffffffn

function dockerDefault(caps = dockerDefaultCaps()): OciSeccomp {
  return toOci(loadProfile(DOCKER_DEFAULT), {caps, arch: 'x86_64'})
}

function sim(p: OciSeccomp, opts: {optimize?: boolean} = {}) {
  const {bpf, instructions} = compileBpf(p, opts)
  const prog = decode(bpf)
  expect(prog.length).toBe(instructions)
  return (arch: number, name: string, args: bigint[] = []) => {
    const archName = arch === X86 ? 'x86' : arch === AARCH64 ? 'aarch64' : 'x86_64'
    const nr = lookupSyscall(name, archName).nr
    if (nr === null || nr < 0) throw new Error(`${name} has no direct number on ${archName}`)
    return describeRet(run(prog, {arch, nr, args}))
  }
}

describe.runIf(onX64)("Docker's default profile (x86_64 host, Docker's default capabilities)", () => {
  it('compiles for x86_64, x86 and x32 and reports the names this libseccomp does not know', () => {
    const r = compileBpf(dockerDefault())
    expect(r.arches).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'])
    expect(r.bpf.length % 8).toBe(0)
    expect(r.instructions).toBe(r.bpf.length / 8)
    expect(r.instructions).toBeGreaterThan(300)
    expect(r.instructions).toBeLessThanOrEqual(4096)
    for (const n of r.unknownNames) expect(lookupSyscall(n, 'x86_64').nr).toBeNull()
    const v = libseccompVersion()
    if (v.major === 2 && v.minor === 5 && v.micro === 4) {
      // measured independently with libseccomp 2.5.4, outside this project: 1001 (optimize 1),
      // 1246 (binary tree)
      expect(r.instructions).toBe(1001)
      expect(compileBpf(dockerDefault(), {optimize: true}).instructions).toBe(1246)
      // riscv_hwprobe is no x86 syscall; the others are x86 syscalls newer than libseccomp 2.5.4
      expect(r.unknownNames).toEqual(['riscv_hwprobe'])
      expect(r.newerNames).toEqual(['getxattrat', 'listmount', 'listxattrat', 'mseal', 'removexattrat', 'setxattrat', 'statmount', 'uretprobe'])
    }
  })

  it('is smaller for x86_64 alone than for three arches', () => {
    const all = compileBpf(dockerDefault()).instructions
    const one = compileBpf({...dockerDefault(), architectures: ['SCMP_ARCH_X86_64']}).instructions
    expect(one).toBeLessThan(all / 2)
  })

  const rows: Array<[string, number, string, bigint[], string]> = [
    ['allowed plain', X86_64, 'getppid', [], 'ALLOW'],
    ['allowed on x86', X86, 'getppid', [], 'ALLOW'],
    ['cap-gated, no CAP_SYS_ADMIN', X86_64, 'mount', [], 'ERRNO(1)'],
    ['clone3 answered ENOSYS', X86_64, 'clone3', [], 'ERRNO(38)'],
    ['personality(0) allowed', X86_64, 'personality', [0n], 'ALLOW'],
    ['personality(0xffffffff) allowed', X86_64, 'personality', [0xffffffffn], 'ALLOW'],
    ['personality(1) denied', X86_64, 'personality', [1n], 'ERRNO(1)'],
    ['socket AF_INET allowed', X86_64, 'socket', [2n], 'ALLOW'],
    ['socket AF_VSOCK denied', X86_64, 'socket', [40n], 'ERRNO(1)'],
    ['clone without namespace flags', X86_64, 'clone', [0x11n], 'ALLOW'],
    ['clone with CLONE_NEWNET', X86_64, 'clone', [0x40000000n], 'ERRNO(1)'],
    ['other arch', AARCH64, 'read', [], 'KILL_THREAD'],
  ]
  for (const optimize of [false, true]) {
    it.each(rows)(`%s (optimize ${optimize})`, (_what, arch, name, args, expected) => {
      expect(sim(dockerDefault(), {optimize})(arch, name, args)).toBe(expected)
    })
  }

  it('opens cap-gated rules for the capabilities given', () => {
    const s = sim(dockerDefault([...dockerDefaultCaps(), 'CAP_SYS_ADMIN']))
    expect(s(X86_64, 'mount')).toBe('ALLOW')
    expect(s(X86_64, 'clone', [0x40000000n])).toBe('ALLOW')
  })
})

describe.runIf(onX64)('compile rules', () => {
  const base = (syscalls: OciSeccomp['syscalls']): OciSeccomp => ({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64'],
    syscalls,
  })

  it('splits several comparisons on one argument into one rule per comparison (OR), as runc does', () => {
    expect(splitRepeatedArgs([{index: 0, op: 'SCMP_CMP_EQ', value: 1n}, {index: 1, op: 'SCMP_CMP_EQ', value: 2n}])).toHaveLength(1)
    expect(splitRepeatedArgs([{index: 0, op: 'SCMP_CMP_EQ', value: 1n}, {index: 0, op: 'SCMP_CMP_EQ', value: 8n}])).toHaveLength(2)
    const p = base([{names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, op: 'SCMP_CMP_EQ', value: 0n}, {index: 0, op: 'SCMP_CMP_EQ', value: 8n}]}])
    const r = compileBpf(p)
    expect(r.notes.map((n) => n.kind)).toContain('split-args')
    const s = sim(p)
    expect(s(X86_64, 'personality', [0n])).toBe('ALLOW')
    expect(s(X86_64, 'personality', [8n])).toBe('ALLOW')
    expect(s(X86_64, 'personality', [1n])).toBe('ERRNO(1)')
  })

  it('keeps different arguments of one rule together (AND)', () => {
    const s = sim(base([{names: ['kill'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, op: 'SCMP_CMP_EQ', value: 0n}, {index: 1, op: 'SCMP_CMP_EQ', value: 0n}]}]))
    expect(s(X86_64, 'kill', [0n, 0n])).toBe('ALLOW')
    expect(s(X86_64, 'kill', [0n, 9n])).toBe('ERRNO(1)')
    expect(s(X86_64, 'kill', [5n, 0n])).toBe('ERRNO(1)')
  })

  it('takes exact unsigned 64-bit values, including 0xffffffffffffffff and high masks', () => {
    const p = base([
      {names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{index: 1, op: 'SCMP_CMP_EQ', value: U64_MAX}]},
      {names: ['lseek'], action: 'SCMP_ACT_ALLOW', args: [{index: 1, op: 'SCMP_CMP_MASKED_EQ', value: 0xffff000000000000n, valueTwo: 0x8000000000000000n}]},
    ])
    const s = sim(p)
    expect(s(X86_64, 'ioctl', [0n, U64_MAX])).toBe('ALLOW')
    expect(s(X86_64, 'ioctl', [0n, 0xffffffffn])).toBe('ERRNO(1)')
    expect(s(X86_64, 'ioctl', [0n, 0xffffffff00000000n])).toBe('ERRNO(1)')
    expect(s(X86_64, 'lseek', [0n, 0x8000000000001234n])).toBe('ALLOW')
    expect(s(X86_64, 'lseek', [0n, 0x8001000000000000n])).toBe('ERRNO(1)')
    expect(compilePfc(p).pfc).toMatch(/4294967295/)
  })

  it('skips rules whose action equals the default instead of failing (libseccomp: EACCES)', () => {
    const p = base([
      {names: ['read'], action: 'SCMP_ACT_ALLOW'},
      {names: ['mkdir'], action: 'SCMP_ACT_ERRNO'}, // errnoRet absent = EPERM = the default
      {names: ['rmdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 38},
    ])
    const r = compileBpf(p)
    expect(r.notes.find((n) => n.kind === 'same-as-default')?.message).toMatch(/^1 rule/)
    const s = sim(p)
    expect(s(X86_64, 'read')).toBe('ALLOW')
    expect(s(X86_64, 'mkdir')).toBe('ERRNO(1)')
    expect(s(X86_64, 'rmdir')).toBe('ERRNO(38)')
  })

  it('reports names that exist on none of the arches and compiles the rest', () => {
    const r = compileBpf(base([{names: ['read', 'no_such_call', 'mmap2'], action: 'SCMP_ACT_ALLOW'}]))
    expect(r.unknownNames).toEqual(['mmap2', 'no_such_call'])
    // mmap2 exists on x86: listed there, it is no longer unknown
    const r2 = compileBpf({...base([{names: ['read', 'mmap2'], action: 'SCMP_ACT_ALLOW'}]), architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']})
    expect(r2.unknownNames).toEqual([])
  })

  it('reports names given two different unconditional actions (libseccomp silently keeps one)', () => {
    const r = compileBpf(base([
      {names: ['clone3', 'read'], action: 'SCMP_ACT_ALLOW'},
      {names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38},
      {names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, op: 'SCMP_CMP_EQ', value: 0n}]},
    ]))
    expect(r.conflicts).toEqual([{name: 'clone3', actions: ['SCMP_ACT_ALLOW (syscalls[0])', 'SCMP_ACT_ERRNO(38) (syscalls[1])']}])
    expect(r.notes.map((n) => n.kind)).toContain('conflict')
  })

  it('says when argument checks cannot apply through socketcall on x86', () => {
    const p: OciSeccomp = {...base([{names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, op: 'SCMP_CMP_EQ', value: 1n}]}]), architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']}
    expect(compileBpf(p).notes.find((n) => n.kind === 'multiplexed-args')?.message).toMatch(/socket .*x86/)
    expect(compileBpf({...p, architectures: ['SCMP_ARCH_X86_64']}).notes.map((n) => n.kind)).not.toContain('multiplexed-args')
  })

  it('drops the native arch when the profile does not list it', () => {
    const s = sim({...base([{names: ['read'], action: 'SCMP_ACT_ALLOW'}]), architectures: ['SCMP_ARCH_X86']})
    expect(s(X86, 'read')).toBe('ALLOW')
    expect(s(X86_64, 'read')).toBe('KILL_THREAD')
  })

  it('turns flags into load flags and rejects unknown flags', () => {
    expect(compileBpf({...base([]), flags: ['SECCOMP_FILTER_FLAG_LOG']}).loadFlags).toBe(2)
    expect(() => compileBpf({...base([]), flags: ['SECCOMP_FILTER_FLAG_BOGUS']})).toThrow(SeccompGenError)
  })

  it('rejects an unknown architecture with PROFILE_INVALID', () => {
    try {
      compileBpf({...base([]), architectures: ['SCMP_ARCH_VAX']})
      expect.unreachable()
    } catch (e) {
      expect((e as SeccompGenError).code).toBe('PROFILE_INVALID')
    }
  })

  it('orders frequent syscalls first when counts are given (same behaviour)', () => {
    const p = base([{names: ['read', 'write', 'close', 'getppid'], action: 'SCMP_ACT_ALLOW'}])
    const order = (counts?: Record<string, number>) => {
      const prog = decode(compileBpf(p, {counts}).bpf)
      const idx = (name: string) => prog.findIndex((i) => i.code === 0x15 && i.k === lookupSyscall(name, 'x86_64').nr)
      expect(run(prog, {arch: X86_64, nr: lookupSyscall('getppid', 'x86_64').nr!})).toBe(RET.ALLOW)
      return idx('getppid') < idx('read') ? 'getppid first' : 'read first'
    }
    expect(order({getppid: 1_000_000, read: 1})).toBe('getppid first')
    expect(order({getppid: 1, read: 1_000_000})).toBe('read first')
  })
})
