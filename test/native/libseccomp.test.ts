/**
 * native/libseccomp.ts against the real libseccomp.so.2. The kernel's own syscall table
 * (asm/unistd_64.h, when the headers are installed) is the independent oracle for numbers.
 */
import {closeSync, existsSync, mkdtempSync, openSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {SeccompGenError} from '../../src/errors.js'
import {
  SeccompFilter,
  actionValue,
  archToken,
  libseccompVersion,
  lookupSyscall,
  nativeArch,
  nativeArchToken,
  syscallName,
} from '../../native/libseccomp.js'
import {archProfileName, archShortName} from '../../src/arches.js'
import type {SeccompAction} from '../../src/actions.js'

const UNISTD_64 = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h'
const onX64 = process.arch === 'x64'
if (!onX64 || !existsSync(UNISTD_64)) console.warn(`[skip] libseccomp's x86_64 numbers against the kernel header: ${onX64 ? `${UNISTD_64} is not installed (linux-libc-dev)` : `not x86_64 (${process.arch})`}`)

describe('arch names and tokens', () => {
  it('accepts the profile spelling, the short spelling and common aliases alike', () => {
    expect(archToken('SCMP_ARCH_X86_64')).toBe(archToken('x86_64'))
    expect(archToken('amd64')).toBe(archToken('x86_64'))
    expect(archToken('SCMP_ARCH_AARCH64')).toBe(archToken('arm64'))
    expect(archToken('i686')).toBe(archToken('SCMP_ARCH_X86'))
    expect(archToken('SCMP_ARCH_X86')).not.toBe(archToken('SCMP_ARCH_X86_64'))
    expect(archShortName('SCMP_ARCH_MIPSEL64N32')).toBe('mipsel64n32')
    expect(archProfileName('x32')).toBe('SCMP_ARCH_X32')
  })

  it('gives null for arches libseccomp does not know, and lookupSyscall throws for them', () => {
    expect(archToken('SCMP_ARCH_VAX')).toBeNull()
    expect(archToken('x86 64')).toBeNull()
    expect(() => lookupSyscall('read', 'SCMP_ARCH_VAX').nr).toThrow(SeccompGenError)
  })

  it('knows the native arch and names it in profile spelling', () => {
    const expected: Record<string, string> = {x64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64', ia32: 'SCMP_ARCH_X86'}
    if (expected[process.arch]) expect(nativeArch()).toBe(expected[process.arch])
    expect(archToken(nativeArch())).toBe(nativeArchToken())
  })

  it('reports the library version', () => {
    const v = libseccompVersion()
    expect(v.major).toBe(2)
    expect(v.minor).toBeGreaterThanOrEqual(4)
  })
})

describe('lookupSyscall(...).nr', () => {
  it.runIf(onX64 && existsSync(UNISTD_64))('agrees with the kernel header on every x86_64 syscall libseccomp knows', () => {
    const header = readFileSync(UNISTD_64, 'utf8')
    const table = [...header.matchAll(/^#define __NR_(\w+) (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])] as const)
    expect(table.length).toBeGreaterThan(300)
    let checked = 0
    for (const [name, nr] of table) {
      const got = lookupSyscall(name, 'SCMP_ARCH_X86_64').nr
      if (got === null) continue // newer than this libseccomp
      expect(got, name).toBe(nr)
      expect(syscallName(nr, 'x86_64'), String(nr)).toBe(name)
      checked++
    }
    expect(checked).toBeGreaterThan(300)
  })

  it('resolves per arch: the same name has different numbers on x86_64, x86, x32 and aarch64', () => {
    const x64 = lookupSyscall('read', 'x86_64').nr
    const x86 = lookupSyscall('read', 'SCMP_ARCH_X86').nr
    const x32 = lookupSyscall('read', 'x32').nr
    const a64 = lookupSyscall('read', 'aarch64').nr
    expect(new Set([x64, x86, x32, a64]).size).toBe(4)
    expect(x32! & 0x40000000).toBe(0x40000000) // __X32_SYSCALL_BIT
  })

  it('returns null for names that do not exist (unknown, or absent on that arch)', () => {
    expect(lookupSyscall('no_such_syscall', 'x86_64').nr).toBeNull()
    expect(lookupSyscall('no_such_syscall', 'x86_64').kind).toBe('unknown')
    expect(lookupSyscall('open', 'aarch64').nr).toBeNull() // aarch64 has only openat
    expect(lookupSyscall('open', 'aarch64').kind).toBe('absent')
    expect(lookupSyscall('arch_prctl', 'aarch64').nr).toBeNull()
    expect(lookupSyscall('pread', 'x86_64').nr).toBeNull() // the libc name, not the syscall (pread64)
    expect(lookupSyscall('READ', 'x86_64').nr).toBeNull()
  })

  it('returns the negative pseudo number for socketcall/ipc-multiplexed names on x86', () => {
    const socket = lookupSyscall('socket', 'x86')
    expect(socket.kind).toBe('multiplexed')
    expect(socket.nr).toBeLessThan(0)
    expect(lookupSyscall('socket', 'x86').nr).toBe(socket.nr)
    expect(lookupSyscall('shmget', 'x86').kind).toBe('multiplexed')
    expect(lookupSyscall('socketcall', 'x86').kind).toBe('direct')
    expect(lookupSyscall('socketcall', 'x86_64').kind).toBe('absent')
  })
})

describe('SeccompFilter', () => {
  it('turns a negative return into SECCOMP_ERROR naming the call and the errno', () => {
    const f = new SeccompFilter(actionValue('SCMP_ACT_ERRNO', 1))
    try {
      const nr = lookupSyscall('socket', nativeArch()).nr!
      // two comparisons on one argument in one rule: libseccomp says EINVAL
      let err: unknown
      try {
        f.addRule(actionValue('SCMP_ACT_ALLOW'), nr, [
          {index: 0, op: 'SCMP_CMP_EQ', value: 1n},
          {index: 0, op: 'SCMP_CMP_EQ', value: 2n},
        ])
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(SeccompGenError)
      expect((err as SeccompGenError).code).toBe('SECCOMP_ERROR')
      expect((err as SeccompGenError).message).toMatch(/seccomp_rule_add_array.*EINVAL/)
      // a rule whose action is the default: EACCES
      expect(() => f.addRule(actionValue('SCMP_ACT_ERRNO', 1), nr)).toThrow(/EACCES/)
      // the same comparisons as two rules are fine
      f.addRule(actionValue('SCMP_ACT_ALLOW'), nr, [{index: 0, op: 'SCMP_CMP_EQ', value: 1n}])
      f.addRule(actionValue('SCMP_ACT_ALLOW'), nr, [{index: 0, op: 'SCMP_CMP_EQ', value: 2n}])
    } finally {
      f.release()
    }
  })

  it('checks arguments before calling libseccomp', () => {
    const f = new SeccompFilter(actionValue('SCMP_ACT_ALLOW'))
    try {
      const nr = lookupSyscall('read', nativeArch()).nr!
      const deny = actionValue('SCMP_ACT_ERRNO', 1)
      expect(() => f.addRule(deny, nr, [{index: 6, op: 'SCMP_CMP_EQ', value: 0n}])).toThrow(/index 6/)
      expect(() => f.addRule(deny, nr, [{index: 0, op: 'SCMP_CMP_EQ', value: -1n}])).toThrow(/64-bit/)
      expect(() => f.addRule(deny, nr, [{index: 0, op: 'SCMP_CMP_EQ', value: 1n << 64n}])).toThrow(/64-bit/)
      expect(() => actionValue('SCMP_ACT_ERRNO', 70000)).toThrow(/errnoRet/)
    } finally {
      f.release()
    }
    expect(() => f.load()).toThrow(/after release/)
  })

  it('encodes actions as libseccomp does (errno in the low 16 bits, EPERM when absent)', () => {
    expect(actionValue('SCMP_ACT_ERRNO', 38) & 0xffff).toBe(38)
    expect(actionValue('SCMP_ACT_ERRNO')).toBe(actionValue('SCMP_ACT_ERRNO', 1))
    expect(actionValue('SCMP_ACT_KILL')).toBe(actionValue('SCMP_ACT_KILL_THREAD'))
    expect(actionValue('SCMP_ACT_KILL_PROCESS')).not.toBe(actionValue('SCMP_ACT_KILL_THREAD'))
  })
})

describe('action values (profiles/seccomp-ret.json)', () => {
  // libseccomp names the default action in its pseudo code: the table's values are libseccomp's
  it.each([
    ['SCMP_ACT_KILL_PROCESS', 'KILL_PROCESS'], ['SCMP_ACT_KILL_THREAD', 'KILL'], ['SCMP_ACT_KILL', 'KILL'],
    ['SCMP_ACT_TRAP', 'TRAP'], ['SCMP_ACT_ERRNO', 'ERRNO(1)'], ['SCMP_ACT_TRACE', 'TRACE(1)'],
    ['SCMP_ACT_LOG', 'LOG'], ['SCMP_ACT_ALLOW', 'ALLOW'],
    ['SCMP_ACT_NOTIFY', '0x7fc00000'], // libseccomp 2.5's pseudo code has no name for it
  ])('%s is libseccomp\'s %s', (action, pfc) => {
    const file = join(mkdtempSync(join(tmpdir(), 'sg-pfc-')), 'f.pfc')
    const fd = openSync(file, 'w+')
    const f = new SeccompFilter(actionValue(action as SeccompAction))
    try {
      f.exportPfcToFd(fd)
    } finally {
      f.release()
      closeSync(fd)
    }
    expect(readFileSync(file, 'utf8')).toMatch(new RegExp(`# default action\\n\\s*action ${pfc.replace(/[()]/g, '\\$&')};`))
  })
})
