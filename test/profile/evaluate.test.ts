import {describe, expect, it} from 'vitest'
import {argMatches, evaluate} from '../../src/profile/evaluate.js'
import type {OciSeccomp, SeccompOp} from '../../src/profile/types.js'

const M = 0xffffffffffffffffn

describe('argMatches: unsigned 64-bit comparisons', () => {
  it.each([
    ['SCMP_CMP_EQ', M, undefined, M, true],
    ['SCMP_CMP_EQ', M, undefined, M - 1n, false],
    ['SCMP_CMP_NE', 1n, undefined, 2n, true],
    ['SCMP_CMP_LT', 38n, undefined, 37n, true],
    ['SCMP_CMP_LT', 38n, undefined, M, false],
    ['SCMP_CMP_LE', 38n, undefined, 38n, true],
    ['SCMP_CMP_GT', 40n, undefined, M, true],
    ['SCMP_CMP_GE', 40n, undefined, 39n, false],
    ['SCMP_CMP_MASKED_EQ', 0x7e020000n, 0n, 0x1200011n, true],
    ['SCMP_CMP_MASKED_EQ', 0x7e020000n, 0n, 0x40000011n, false],
    ['SCMP_CMP_MASKED_EQ', 0xffffffffn, 0x80045430n, 0xffffffff80045430n, true],
    ['SCMP_CMP_MASKED_EQ', M, 0x80045430n, 0xffffffff80045430n, false],
  ] as Array<[SeccompOp, bigint, bigint | undefined, bigint, boolean]>)('%s value=%s valueTwo=%s arg=%s -> %s', (op, value, valueTwo, arg, want) => {
    expect(argMatches({index: 0, op, value, ...(valueTwo !== undefined ? {valueTwo} : {})}, [arg])).toBe(want)
  })
})

describe('evaluate', () => {
  const p: OciSeccomp = {
    defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64'],
    syscalls: [
      {names: ['read'], action: 'SCMP_ACT_ALLOW'},
      {names: ['write'], action: 'SCMP_ACT_ALLOW'},
      {names: ['write'], action: 'SCMP_ACT_KILL_PROCESS', args: [{index: 0, value: 99n, op: 'SCMP_CMP_EQ'}]},
      {names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38},
    ],
  }
  it.each([
    ['x86_64', 'read', [], {action: 'SCMP_ACT_ALLOW'}],
    ['x86_64', 'mkdir', [], {action: 'SCMP_ACT_ERRNO', errno: 1}],
    ['x86_64', 'clone3', [], {action: 'SCMP_ACT_ERRNO', errno: 38}],
    ['x86_64', 'write', [1], {action: 'SCMP_ACT_ALLOW'}],
    // the most restrictive matching rule wins
    ['x86_64', 'write', [99], {action: 'SCMP_ACT_KILL_PROCESS'}],
    // an ABI not in the filter gets the bad-arch action
    ['x86', 'read', [], {action: 'SCMP_ACT_KILL_THREAD', badArch: true}],
  ] as const)('%s %s(%j)', (arch, name, args, want) => {
    expect(evaluate(p, arch, name, [...args], {host: 'x86_64'})).toEqual(want)
  })

  it('a profile without architectures holds the native arch alone: another ABI gets the bad-arch action', () => {
    const none: OciSeccomp = {...p, architectures: undefined}
    expect(evaluate(none, 'x86_64', 'read', [], {host: 'x86_64'})).toEqual({action: 'SCMP_ACT_ALLOW'})
    expect(evaluate(none, 'x86', 'read', [], {host: 'x86_64'})).toEqual({action: 'SCMP_ACT_KILL_THREAD', badArch: true})
    expect(evaluate(none, 'x32', 'read', [], {host: 'x86_64'})).toEqual({action: 'SCMP_ACT_KILL_THREAD', badArch: true})
  })
})
