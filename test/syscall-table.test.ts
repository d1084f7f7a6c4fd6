/**
 * profiles/syscalls/*.json through src/syscall-table.ts. libseccomp (the real libseccomp.so.2)
 * is the independent oracle: for every syscall it can name on an ABI, the table must give the
 * same number, so a typo'd number in the table (or in the generator's hand-kept list) fails here.
 */
import {describe, expect, it} from 'vitest'
import {knownSyscall, nameRawSyscall, rawSyscallNr, syscallNameOf, syscallNumber, tableKernel} from '../src/syscall-table.js'
import {rawSyscallNumber, requireArchToken, syscallName} from '../native/libseccomp.js'

const X32_BIT = 0x40000000
const ABIS = ['x86_64', 'x86', 'x32'] as const

describe.each(ABIS)('the %s table', (abi) => {
  const tok = requireArchToken(abi)
  const base = abi === 'x32' ? X32_BIT : 0

  it('gives every number libseccomp names the same name, and every name libseccomp numbers the same number', () => {
    let agreed = 0
    for (let i = 0; i < 1024; i++) {
      const name = syscallName(base + i, tok)
      if (!name) continue
      expect(syscallNumber(abi, name), `${name} (libseccomp: ${base + i})`).toBe(base + i)
      agreed++
    }
    expect(agreed).toBeGreaterThan(330)
    for (let i = 0; i < 1024; i++) {
      const name = syscallNameOf(abi, base + i)
      if (!name) continue
      const nr = rawSyscallNumber(name, tok)
      // negative: unknown to this libseccomp, or reached through socketcall/ipc on x86
      if (nr >= 0) expect(nr, name).toBe(base + i)
    }
  })

  it('maps names and numbers one to one, in the ABI\'s number range', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 1024; i++) {
      const name = syscallNameOf(abi, base + i)
      if (!name) continue
      expect(seen.has(name)).toBe(false)
      seen.add(name)
      expect(syscallNumber(abi, name)).toBe(base + i)
      expect(knownSyscall(abi, name)).toBe(true)
    }
    expect(seen.size).toBeGreaterThan(360)
    expect(syscallNameOf(abi, base + 999)).toBeUndefined()
    expect(tableKernel(abi)).toBe('6.18')
  })

  it('knows the syscalls newer than strace 6.1 and libseccomp 2.5.4 (lsm_list_modules is 461)', () => {
    expect(syscallNumber(abi, 'lsm_list_modules')).toBe(base + 461)
    expect(syscallNumber(abi, 'open_tree_attr')).toBe(base + 467)
    expect(syscallNumber(abi, 'file_setattr')).toBe(base + 469)
    expect(syscallNumber(abi, 'map_shadow_stack')).toBe(base + 453)
    expect(knownSyscall(abi, 'listns')).toBe(false) // Linux 6.19, not in 6.18
  })
})

describe('ABI differences', () => {
  it('uretprobe and uprobe are 64-bit only; x32 has its own numbers where the ABIs differ', () => {
    expect(syscallNumber('x86_64', 'uretprobe')).toBe(335)
    expect(syscallNumber('x32', 'uprobe')).toBe(X32_BIT + 336)
    expect(knownSyscall('x86', 'uretprobe')).toBe(false)
    expect(syscallNumber('x86_64', 'rt_sigaction')).toBe(13)
    expect(syscallNumber('x32', 'rt_sigaction')).toBe(X32_BIT + 512)
    expect(syscallNumber('x86', 'socketcall')).toBe(102)
    expect(knownSyscall('x86_64', 'socketcall')).toBe(false)
  })

  it('an ABI without a table knows nothing (callers fall back to libseccomp)', () => {
    expect(knownSyscall('aarch64', 'read')).toBe(false)
    expect(syscallNumber('aarch64', 'read')).toBeUndefined()
    expect(syscallNameOf('../x86_64', 0)).toBeUndefined()
    expect(tableKernel('riscv64')).toBeUndefined()
  })
})

describe('strace\'s syscall_0x… names', () => {
  it('are named by the table of their ABI, numbers as strace prints them (x32 with its bit)', () => {
    expect(rawSyscallNr('syscall_0x1cd')).toBe(461)
    expect(rawSyscallNr('lsm_list_modules')).toBeNull()
    expect(nameRawSyscall('x86_64', 'syscall_0x1cd')).toBe('lsm_list_modules')
    expect(nameRawSyscall('x86', 'syscall_0x1cd')).toBe('lsm_list_modules')
    expect(nameRawSyscall('x32', 'syscall_0x400001cd')).toBe('lsm_list_modules')
  })

  it('stay as they are when no table knows the number, and other names pass through', () => {
    expect(nameRawSyscall('x86_64', 'syscall_0x3e7')).toBe('syscall_0x3e7')
    expect(nameRawSyscall('x32', 'syscall_0x1cd')).toBe('syscall_0x1cd')
    expect(nameRawSyscall('aarch64', 'syscall_0x1cd')).toBe('syscall_0x1cd')
    expect(nameRawSyscall('x86_64', 'read')).toBe('read')
  })
})
