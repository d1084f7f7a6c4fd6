import {describe, expect, it} from 'vitest'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {runCli} from '../helpers/cli.js'
import {serializeObservation} from '../../src/trace/observation-io.js'
import {validateProfileData, validateProfileFile} from '../../src/profile/validate.js'
import {libseccompSyscalls} from '../../native/libseccomp.js'
import {anchors} from '../helpers/anchors.js'
import {obs} from '../helpers/profile.js'

const tmp = mkdtempSync(join(tmpdir(), 'sg-validate-'))
const write = (name: string, data: unknown) => { const p = join(tmp, name); writeFileSync(p, typeof data === 'string' ? data : JSON.stringify(data)); return p }
const base = (syscalls: unknown[], extra: Record<string, unknown> = {}) => ({defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64'], syscalls, ...extra})
const good = [
  {names: ['exit', 'exit_group', 'read'], action: 'SCMP_ACT_ALLOW'},
  {names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38},
]
const lib = {syscalls: libseccompSyscalls}
const codes = (d: unknown) => validateProfileData(d, 'x.json', lib).warnings.map((w) => w.code)

describe('validate (library)', () => {
  it.each(['docker-default.json', 'podman-default.json'])('accepts %s (valid, no structural warnings)', (f) => {
    const r = validateProfileFile(join(anchors, f), lib)
    expect(r.errors).toEqual([])
    expect(r.valid).toBe(true)
    expect(r.warnings.filter((w) => !['UNKNOWN_SYSCALL', 'NEWER_SYSCALL', 'RISKY_SYSCALL'].includes(w.code))).toEqual([])
  })

  it('RISKY_SYSCALL: podman allows unshare and mount outright; Docker gates them on CAP_SYS_ADMIN', () => {
    const risky = (f: string) => validateProfileFile(join(anchors, f), lib).warnings.filter((w) => w.code === 'RISKY_SYSCALL').map((w) => w.message.split(' ')[0])
    expect(risky('podman-default.json')).toEqual(expect.arrayContaining(['unshare', 'mount']))
    expect(risky('docker-default.json')).not.toContain('mount')
    expect(risky('docker-default.json')).not.toContain('unshare')
  })

  it('Docker default: the names this libseccomp does not know are warned about', () => {
    const names = validateProfileFile(join(anchors, 'docker-default.json'), lib).warnings.map((w) => w.message.split(' ')[0])
    expect(names).toContain('mseal')
    expect(names).not.toContain('read')
  })

  it('a clean profile has no warnings and is also plain OCI', () => {
    const r = validateProfileData(base(good), 'x.json', lib)
    expect(r).toMatchObject({valid: true, format: 'oci', warnings: []})
  })

  it.each([
    ['DEFAULT_ALLOW', base(good, {defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: undefined})],
    ['MISSING_EXIT_GROUP', base([{names: ['read'], action: 'SCMP_ACT_ALLOW'}, good[1]])],
    ['CLONE3_NOT_ENOSYS', base([good[0]])],
    ['RULE_EQUALS_DEFAULT', base([...good, {names: ['mkdir'], action: 'SCMP_ACT_ERRNO'}])],
    ['REPEATED_ARG', base([...good, {names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 1, op: 'SCMP_CMP_EQ'}, {index: 0, value: 2, op: 'SCMP_CMP_EQ'}]}])],
    ['SINGULAR_NAME', base([...good, {name: 'write', action: 'SCMP_ACT_ALLOW'}])],
    ['UNKNOWN_SYSCALL', base([...good, {names: ['pread'], action: 'SCMP_ACT_ALLOW'}])],
    ['RISKY_SYSCALL', base([...good, {names: ['userfaultfd'], action: 'SCMP_ACT_ALLOW'}])],
  ])('warns %s', (code, data) => {
    expect(codes(data)).toContain(code)
  })

  it("checks an OCI bundle's config.json through its linux.seccomp", () => {
    const ok = validateProfileData({ociVersion: '1.0.2', process: {}, linux: {seccomp: base(good)}}, 'config.json', lib)
    expect(ok).toMatchObject({valid: true, format: 'bundle-config', warnings: []})
    const bad = validateProfileData({ociVersion: '1.0.2', linux: {seccomp: base([{names: ['read'], action: 'SCMP_ACT_ALLOW'}])}}, 'config.json', lib)
    expect(bad.warnings.map((w) => [w.code, w.pointer])).toContainEqual(['MISSING_EXIT_GROUP', '/linux/seccomp/syscalls'])
    const none = validateProfileData({ociVersion: '1.0.2', linux: {}}, 'config.json', lib)
    expect(none.valid).toBe(false)
    expect(none.errors[0].pointer).toBe('/linux/seccomp')
  })

  it('ARCH_NOT_RECORDED only with observations', () => {
    const d = base(good, {architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']})
    expect(codes(d)).not.toContain('ARCH_NOT_RECORDED')
    const r = validateProfileData(d, 'x.json', {...lib, observations: [obs({x86_64: {read: 1}})]})
    expect(r.warnings.filter((w) => w.code === 'ARCH_NOT_RECORDED').map((w) => w.pointer)).toEqual(['/architectures/1'])
  })

  it.each([
    [{syscalls: []}, ''],
    [base([{names: ['read'], action: 'SCMP_ACT_ALOW'}]), '/syscalls/0/action'],
    [base([{names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 1}]}]), '/syscalls/0/args/0'],
    [base(good, {architectures: ['x86_64']}), '/architectures/0'],
    [base(good, {syscall: []}), '/syscall'],
    [base(good, {archMap: [{architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86']}]}), '/archMap'],
  ])('errors carry JSON pointers: %j', (data, pointer) => {
    const r = validateProfileData(data, 'x.json', lib)
    expect(r.valid).toBe(false)
    expect(r.errors.map((e) => e.pointer)).toContain(pointer)
  })
})

describe('seccomp-gen validate', () => {
  it('exit 0 on Docker and podman defaults', async () => {
    const r = await runCli(['validate', join(anchors, 'docker-default.json'), join(anchors, 'podman-default.json')])
    expect(r.status).toBe(0)
  })

  it('exit 1 with --json errors (pointer) for an invalid profile among valid ones', async () => {
    const ok = write('ok.json', base(good))
    const bad = write('bad.json', base([{names: ['read'], action: 'SCMP_ACT_NOPE'}]))
    const r = await runCli(['validate', '--json', ok, bad])
    expect(r.status).toBe(1)
    const j = JSON.parse(r.stdout) as {valid: boolean; profiles: Array<{file: string; valid: boolean; errors: Array<{pointer: string}>}>}
    expect(j.valid).toBe(false)
    expect(j.profiles.map((x) => x.valid)).toEqual([true, false])
    expect(j.profiles[1].errors[0].pointer).toBe('/syscalls/0/action')
  })

  it('malformed JSON and missing files are errors, exit 1', async () => {
    for (const f of [write('trunc.json', '{"defaultAction":'), join(tmp, 'missing.json')]) {
      const r = await runCli(['validate', f])
      expect(r.status).toBe(1)
    }
  })

  it('--strict fails on warnings; --observation checks arches', async () => {
    const f = write('two.json', base(good, {architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32']}))
    const o = write('o.obs.json', serializeObservation(obs({x86_64: {read: 1}})))
    expect((await runCli(['validate', f])).status).toBe(0)
    const r = await runCli(['validate', '--json', '--strict', '--observation', o, f])
    expect(r.status).toBe(1)
    const j = JSON.parse(r.stdout) as {profiles: Array<{warnings: Array<{code: string}>}>}
    expect(j.profiles[0].warnings.map((w) => w.code)).toEqual(['ARCH_NOT_RECORDED'])
  })

  it('names the form of each input as diff and check do: docker, oci, k8s (YAML or JSON), bundle-config', async () => {
    const o = write('forms.obs.json', serializeObservation(obs({x86_64: {read: 1, write: 2}})))
    const file = (name: string) => join(tmp, name)
    expect((await runCli(['build', '-q', '--format', 'oci', '-o', file('forms.json'), o])).status).toBe(0)
    expect((await runCli(['build', '-q', '--format', 'k8s', '-o', file('forms.yaml'), o])).status).toBe(0)
    const oci = JSON.parse(readFileSync(file('forms.json'), 'utf8'))
    write('forms-k8s.json', {apiVersion: 'security-profiles-operator.x-k8s.io/v1beta1', kind: 'SeccompProfile', metadata: {name: 'forms'}, spec: oci})
    write('config.json', {ociVersion: '1.0.2', process: {args: ['sh']}, root: {path: 'rootfs'}, linux: {seccomp: oci}})
    const forms = {'forms.json': 'oci', 'forms.yaml': 'k8s', 'forms-k8s.json': 'k8s', 'config.json': 'bundle-config'}
    const files = Object.keys(forms).map(file)
    const r = await runCli(['validate', '--json', ...files])
    expect(r.status, r.stdout).toBe(0)
    const j = JSON.parse(r.stdout) as {profiles: Array<{file: string; format: string}>}
    expect(j.profiles.map((x) => x.format)).toEqual(Object.values(forms))
    // the same names as diff --json gives each file
    const d = await runCli(['diff', '--json', files[0], files[1]])
    const d2 = await runCli(['diff', '--json', files[2], files[3]])
    expect([d, d2].flatMap((x) => { const dj = JSON.parse(x.stdout); return [dj.a.format, dj.b.format] })).toEqual(Object.values(forms))
    const text = await runCli(['validate', ...files])
    expect(text.stdout.trim().split('\n')).toEqual(Object.entries(forms).map(([f, form]) => `${file(f)}: valid ${form} profile`))
    // a Docker-only field still makes the plain JSON docker
    write('moby.json', {...oci, archMap: [{architecture: 'SCMP_ARCH_X86_64', subArchitectures: []}], architectures: undefined})
    expect(JSON.parse((await runCli(['validate', '--json', file('moby.json')])).stdout).profiles[0].format).toBe('docker')
  })

  it('a profile built by build validates without warnings', async () => {
    const o = write('b.obs.json', serializeObservation(obs({x86_64: {read: 1, write: 2, socket: {count: 1, args: {0: ['0x2']}}}})))
    const out = join(tmp, 'built.json')
    expect((await runCli(['build', '-q', '-o', out, o])).status).toBe(0)
    const r = await runCli(['validate', '--json', '--strict', '--observation', o, out])
    expect(r.status).toBe(0)
    expect((JSON.parse(r.stdout) as {profiles: Array<{warnings: unknown[]}>}).profiles[0].warnings).toEqual([])
  })
})
