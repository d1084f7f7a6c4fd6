import {describe, expect, it} from 'vitest'
import {join} from 'node:path'
import {loadProfile} from '../../src/profile/load.js'
import {kernelAtLeast, toOci} from '../../src/profile/resolve.js'
import {evaluate} from '../../src/profile/evaluate.js'
import {defaultCaps} from '../../src/profile/data.js'
import {stringifyJson64} from '../../src/profile/json64.js'
import {anchors} from '../helpers/anchors.js'
import {MOBY_ONLY, runtimeSpecSeccomp} from './helpers.js'

const docker = loadProfile(join(anchors, 'docker-default.json'))
const podman = loadProfile(join(anchors, 'podman-default.json'))

describe('toOci (Docker semantics)', () => {
  it.each([
    ['x64', ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']],
    ['x86_64', ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']],
    ['aarch64', ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']],
    ['arm64', ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']],
    ['riscv64', ['SCMP_ARCH_RISCV64']],
  ])('archMap resolves to host %s', (arch, want) => {
    expect(toOci(docker, {caps: [], arch}).architectures).toEqual(want)
  })

  it('drops every Moby-only field and validates against the runtime-spec schema', () => {
    for (const p of [docker, podman]) {
      for (const caps of [[], defaultCaps(), ['CAP_SYS_ADMIN']]) {
        const oci = toOci(p, {caps, arch: 'x86_64'})
        const json = JSON.parse(stringifyJson64(oci)) as Record<string, unknown> & {syscalls: Array<Record<string, unknown>>}
        const v = runtimeSpecSeccomp()
        expect(v(json), JSON.stringify(v.errors?.[0])).toBe(true)
        for (const k of MOBY_ONLY) {
          expect(json).not.toHaveProperty(k)
          for (const r of json.syscalls) expect(r).not.toHaveProperty(k)
        }
      }
    }
  })

  it.each([
    // caps, syscall, args, expected action, errno
    [[], 'clone3', [], 'SCMP_ACT_ERRNO', 38],
    [['CAP_SYS_ADMIN'], 'clone3', [], 'SCMP_ACT_ALLOW', undefined],
    [[], 'clone', [0x10000000], 'SCMP_ACT_ERRNO', 1],
    [[], 'clone', [0x01200011], 'SCMP_ACT_ALLOW', undefined],
    [['sys_admin'], 'clone', [0x10000000], 'SCMP_ACT_ALLOW', undefined],
    [[], 'mount', [], 'SCMP_ACT_ERRNO', 1],
    [['CAP_SYS_ADMIN'], 'mount', [], 'SCMP_ACT_ALLOW', undefined],
    [[], 'bpf', [], 'SCMP_ACT_ERRNO', 1],
    [['CAP_BPF'], 'bpf', [], 'SCMP_ACT_ALLOW', undefined],
    [[], 'socket', [40], 'SCMP_ACT_ERRNO', 1],
    [[], 'socket', [2], 'SCMP_ACT_ALLOW', undefined],
    [[], 'personality', [8], 'SCMP_ACT_ALLOW', undefined],
    [[], 'personality', [9], 'SCMP_ACT_ERRNO', 1],
    [[], 'arch_prctl', [0x1002], 'SCMP_ACT_ALLOW', undefined],
    [[], 'ptrace', [], 'SCMP_ACT_ALLOW', undefined],
  ])('docker default with caps %j: %s(%j) -> %s', (caps, name, args, action, errno) => {
    const v = evaluate(docker, 'x86_64', name, args, {host: 'x86_64', caps, kernel: '6.1'})
    expect(v.action).toBe(action)
    if (errno !== undefined) expect(v.errno).toBe(errno)
  })

  it('includes.arches uses the host arch: arch_prctl is not opened on arm64', () => {
    const v = evaluate(docker, 'aarch64', 'arch_prctl', [], {host: 'aarch64', caps: []})
    expect(v.action).toBe('SCMP_ACT_ERRNO')
  })

  it('minKernel: ptrace is only unconditional on kernels >= 4.8', () => {
    expect(evaluate(docker, 'x86_64', 'ptrace', [], {host: 'x86_64', caps: [], kernel: '4.4.0'}).action).toBe('SCMP_ACT_ERRNO')
    expect(evaluate(docker, 'x86_64', 'ptrace', [], {host: 'x86_64', caps: [], kernel: '4.8.0-1-amd64'}).action).toBe('SCMP_ACT_ALLOW')
  })

  it('podman: excludes.caps opens ERRNO-gated syscalls with the capability', () => {
    expect(evaluate(podman, 'x86_64', 'setns', [], {host: 'x86_64', caps: []}).action).toBe('SCMP_ACT_ERRNO')
    expect(evaluate(podman, 'x86_64', 'setns', [], {host: 'x86_64', caps: ['CAP_SYS_ADMIN']}).action).toBe('SCMP_ACT_ALLOW')
    // podman's default answers what it does not list with ENOSYS (defaultErrnoRet 38)
    expect(evaluate(podman, 'x86_64', 'lsm_list_modules', [], {host: 'x86_64', caps: []})).toEqual({action: 'SCMP_ACT_ERRNO', errno: 38})
  })

  it('kernelAtLeast compares numerically', () => {
    expect(kernelAtLeast('6.18.0', '4.8')).toBe(true)
    expect(kernelAtLeast('4.10', '4.8')).toBe(true)
    expect(kernelAtLeast('4.7.9', '4.8')).toBe(false)
    expect(kernelAtLeast('4.8', '4.8.0')).toBe(true)
  })
})
