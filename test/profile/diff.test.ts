/**
 * profile/diff.ts on real profiles: built by the project from the recordings in fixtures/
 * (buildProfile, the pipeline `build` runs) and Docker's default; copies changed in code.
 */
import {beforeAll, describe, expect, it} from 'vitest'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildProfile} from '../../src/build/pipeline.js'
import {defaultCaps} from '../../src/profile/data.js'
import {caseWords, diffProfiles, type ProfileDiff} from '../../src/profile/diff.js'
import {renderK8s} from '../../src/profile/k8s.js'
import {loadAnyProfile, loadProfile} from '../../src/profile/load.js'
import {renderDocker, renderOci} from '../../src/profile/render.js'
import {toOci} from '../../src/profile/resolve.js'
import type {DockerProfile, SyscallRule} from '../../src/profile/types.js'
import {anchor} from '../helpers/anchors.js'
import {repoRoot} from '../helpers/profile.js'

const tmp = mkdtempSync(join(tmpdir(), 'sg-diff-'))
const ctx = {host: 'x86_64', caps: defaultCaps(), kernel: '6.12'}
let http: DockerProfile // from fixtures/http-server.obs.json, --args strict
let tar: DockerProfile // from fixtures/tar-gzip.obs.json, --arch x86

const copy = (p: DockerProfile): DockerProfile => structuredClone(p)
/** Every differing line as "sign name args", over the arch groups (and caps sections when asked). */
const lines = (d: ProfileDiff): string[] => d.arches.flatMap((g) => g.syscalls.flatMap((n) => n.cases.map((c) => `${c.sign} ${n.name}${c.args.length ? ` ${caseWords(c.args)}` : ''}`)))

beforeAll(async () => {
  http = (await buildProfile({inputs: [join(repoRoot, 'fixtures', 'http-server.obs.json')], args: 'strict'})).profile
  tar = (await buildProfile({inputs: [join(repoRoot, 'fixtures', 'tar-gzip.obs.json')], arches: ['x86']})).profile
})

describe('diffProfiles: no difference', () => {
  it('a profile and itself', () => {
    expect(diffProfiles(http, copy(http), ctx).equal).toBe(true)
  })

  it('rules reordered, regrouped (one name per rule, names merged), comments and names order changed', () => {
    const p = copy(http)
    const split: SyscallRule[] = p.syscalls!.flatMap((r) => r.names.map((n) => ({...r, names: [n], comment: `renamed ${n}`})))
    split.reverse()
    // and two unconditional ALLOW rules merged back into one
    const allows = split.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args && !r.includes && !r.excludes)
    const rest = split.filter((r) => !allows.includes(r))
    p.syscalls = [...rest, {names: allows.flatMap((r) => r.names).reverse(), action: 'SCMP_ACT_ALLOW'}]
    expect(p.syscalls.length).not.toBe(http.syscalls!.length)
    const d = diffProfiles(http, p, ctx)
    expect(lines(d)).toEqual([])
    expect(d.equal).toBe(true)
  })

  it('a Docker profile and the OCI profile resolved from it, under the same capability set: only capability gating differs', () => {
    const oci = toOci(http, {caps: ctx.caps, arch: 'x86_64', kernel: ctx.kernel})
    const d = diffProfiles(http, oci as DockerProfile, ctx)
    expect(d.arches).toEqual([])
    expect(d.defaults).toBeUndefined()
    // clone3 is open only with CAP_SYS_ADMIN in the Docker form; the OCI form resolved without it
    expect(d.caps.map((c) => c.cap)).toEqual(['CAP_SYS_ADMIN'])
    expect(d.caps[0].arches[0].syscalls.map((n) => `${n.cases[0].sign} ${n.name}`)).toEqual(['- clone3'])
  })
})

describe('diffProfiles: action names', () => {
  it('SCMP_ACT_KILL and SCMP_ACT_KILL_THREAD are one action (libseccomp\'s old and new name)', () => {
    const p = copy(http)
    const q = copy(http)
    p.defaultAction = 'SCMP_ACT_KILL'
    q.defaultAction = 'SCMP_ACT_KILL_THREAD'
    p.syscalls!.push({names: ['ptrace'], action: 'SCMP_ACT_KILL'})
    q.syscalls!.push({names: ['ptrace'], action: 'SCMP_ACT_KILL_THREAD'})
    expect(diffProfiles(p, q, ctx).equal).toBe(true)
    // and a real change of kill stays one
    q.defaultAction = 'SCMP_ACT_KILL_PROCESS'
    expect(diffProfiles(p, q, ctx).defaults).toEqual({a: {action: 'SCMP_ACT_KILL'}, b: {action: 'SCMP_ACT_KILL_PROCESS'}})
  })
})

describe('diffProfiles: argument rules', () => {
  it('a changed socket family is shown as two concrete argument cases', () => {
    const p = copy(http)
    const rule = p.syscalls!.find((r) => r.names.includes('socket') && r.args?.[0].valueTwo === 2n)!
    rule.args![0].valueTwo = 10n // AF_INET -> AF_INET6
    // (the rule compares the lower 32 bits: the same family with the upper half set differs too)
    expect(lines(diffProfiles(http, p, ctx)).sort()).toEqual(['+ socket arg0=0xa', '+ socket arg0=0xffffffff0000000a', '- socket arg0=0x2', '- socket arg0=0xffffffff00000002'])
  })

  it('an ioctl request dropped from the eq-set: exactly that request, for every ABI', () => {
    const p = copy(http)
    p.syscalls = p.syscalls!.filter((r) => !(r.names.includes('ioctl') && r.args?.[0].valueTwo === 0x5451n))
    const d = diffProfiles(http, p, ctx)
    // the comparison is on the lower 32 bits: the upper half set is the same request
    expect(lines(d)).toEqual(['- ioctl arg1=0x5451', '- ioctl arg1=0xffffffff00005451'])
    expect(d.arches[0].syscalls[0].cases[0]).toMatchObject({a: {action: 'SCMP_ACT_ALLOW'}, b: {action: 'SCMP_ACT_ERRNO', errno: 1}})
  })

  it("a namespace bit taken out of clone's mask: that flag is now allowed", () => {
    const p = copy(http)
    const clone = p.syscalls!.find((r) => r.names.includes('clone') && r.args)!
    clone.args![0].value &= ~0x20000000n // CLONE_NEWCGROUP no longer refused
    const l = lines(diffProfiles(http, p, ctx))
    expect(l[0]).toBe('+ clone arg0=0x20000000')
    // every case found has that bit and no other namespace bit
    for (const x of l) expect(BigInt(x.split('=')[1]) & 0x7e020000n).toBe(0x20000000n)
  })

  it('a 32-bit comparison turned into a 64-bit one (mask 0xffffffff to all ones)', () => {
    const p = copy(http)
    for (const r of p.syscalls!) if (r.names.includes('socket')) r.args![0].value = 0xffffffffffffffffn
    const d = lines(diffProfiles(http, p, ctx))
    // AF_UNIX with the upper half set passed the 32-bit comparison and fails the 64-bit one
    expect(d).toContain('- socket arg0=0xffffffff00000001')
    expect(d.every((l) => l.startsWith('- socket '))).toBe(true)
  })
})

describe('diffProfiles: default, arches, capabilities', () => {
  it('a changed default errno is one line, not one per syscall', () => {
    const p = copy(tar)
    p.defaultErrnoRet = 38
    const d = diffProfiles(tar, p, ctx)
    expect(d.defaults).toEqual({a: {action: 'SCMP_ACT_ERRNO', errno: 1}, b: {action: 'SCMP_ACT_ERRNO', errno: 38}})
    expect(d.arches).toEqual([])
    expect(d.equal).toBe(false)
  })

  it('"~": another errno for a rule (neither side lets the call through)', () => {
    const p = copy(tar)
    const enosys = p.syscalls!.find((r) => r.errnoRet === 38 && r.names.includes('faccessat2'))!
    enosys.errnoRet = 1
    const d = diffProfiles(tar, p, ctx)
    expect(enosys.names.length).toBeGreaterThan(3)
    expect(lines(d)).toEqual([...enosys.names].sort().map((n) => `~ ${n}`))
    expect(d.arches[0].syscalls[0].cases[0]).toMatchObject({a: {action: 'SCMP_ACT_ERRNO', errno: 38}, b: {action: 'SCMP_ACT_ERRNO', errno: 1}})
  })

  it('an architecture only one profile lists', () => {
    const p = copy(tar)
    p.architectures = ['SCMP_ARCH_X86_64']
    const d = diffProfiles(tar, p, ctx)
    expect(d.archesOnlyA).toEqual(['SCMP_ARCH_X86'])
    expect(d.archesOnlyB).toEqual([])
    expect(d.arches).toEqual([])
  })

  it('a syscall allowed on one side, grouped over the arches where it differs', () => {
    const p = copy(tar)
    p.syscalls!.push({names: ['sched_yield'], action: 'SCMP_ACT_ALLOW'})
    const d = diffProfiles(tar, p, ctx)
    expect(d.arches).toHaveLength(1)
    expect(d.arches[0].arches).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'])
    expect(lines(d)).toEqual(['+ sched_yield'])
  })

  it("Docker's default without its CAP_SYS_ADMIN group: same for the default caps, different when CAP_SYS_ADMIN is granted", () => {
    const docker = loadProfile(anchor('docker-default.json'))
    const p = copy(docker)
    const before = p.syscalls!.length
    p.syscalls = p.syscalls!.filter((r) => !(r.includes?.caps?.length === 1 && r.includes.caps[0] === 'CAP_SYS_ADMIN' && r.action === 'SCMP_ACT_ALLOW' && r.names.includes('mount')))
    expect(p.syscalls.length).toBe(before - 1)
    const d = diffProfiles(docker, p, ctx)
    expect(d.arches).toEqual([])
    const admin = d.caps.find((c) => c.cap === 'CAP_SYS_ADMIN')!
    expect(admin.granted).toBe(true)
    const names = admin.arches[0].syscalls.map((n) => `${n.cases[0].sign} ${n.name}`)
    expect(names).toEqual(expect.arrayContaining(['- mount', '- umount2', '- setns', '- unshare']))
    expect(d.caps.map((c) => c.cap)).toEqual(['CAP_SYS_ADMIN'])
  })

  it("podman's default allows mount outright, Docker's only with CAP_SYS_ADMIN: '+' for the base set, '=' once granted", () => {
    const d = diffProfiles(loadProfile(anchor('docker-default.json')), loadProfile(anchor('podman-default.json')), ctx)
    expect(lines(d)).toContain('+ mount')
    const admin = d.caps.find((c) => c.cap === 'CAP_SYS_ADMIN')!
    const mount = admin.arches[0].syscalls.find((n) => n.name === 'mount')!
    expect(mount.cases).toEqual([{sign: '=', args: [], a: {action: 'SCMP_ACT_ALLOW'}, b: {action: 'SCMP_ACT_ALLOW'}}])
    // keyctl: podman allows it, Docker never does: no capability changes that
    expect(admin.arches[0].syscalls.find((n) => n.name === 'keyctl')).toBeUndefined()
    expect(lines(d)).toContain('+ keyctl')
  })

  it("Docker's default against a built profile: what the build leaves closed and what it adds", () => {
    const docker = loadProfile(anchor('docker-default.json'))
    const d = diffProfiles(docker, tar, ctx)
    const l = lines(d)
    expect(l).toContain('- ptrace') // Docker's default allows it (kernel >= 4.8), tar never called it
    expect(l).toContain('- sched_yield')
    expect(l.filter((x) => x.startsWith('+'))).toEqual([]) // the build allows nothing Docker refuses
    expect(l).not.toContain('- read')
  })
})

describe('loadAnyProfile: every format we read', () => {
  it("a bundle's config.json and a Kubernetes SeccompProfile evaluate like the profile they carry", () => {
    const oci = toOci(tar, {caps: ctx.caps, arch: 'x86_64', kernel: ctx.kernel})
    const ociFile = join(tmp, 'tar.oci.json')
    writeFileSync(ociFile, renderOci(oci))
    const cfg = join(tmp, 'config.json')
    writeFileSync(cfg, `{"ociVersion": "1.2.0", "process": {"args": ["tar"]}, "linux": {"seccomp": ${renderOci(oci)}}}`)
    const yaml = join(tmp, 'tar.yaml')
    writeFileSync(yaml, renderK8s(oci, {name: 'tar'}))
    const a = loadAnyProfile(ociFile)
    expect(a.format).toBe('oci')
    for (const [f, format] of [[cfg, 'bundle-config'], [yaml, 'k8s']] as const) {
      const b = loadAnyProfile(f)
      expect(b.format).toBe(format)
      expect(diffProfiles(a.profile, b.profile, ctx).equal).toBe(true)
    }
    const docker = join(tmp, 'tar.docker.json')
    writeFileSync(docker, renderDocker(tar))
    expect(loadAnyProfile(docker).format).toBe('docker')
  })
})
