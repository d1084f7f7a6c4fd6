/**
 * `seccomp-gen export` through the built CLI: raw BPF written atomically (its size is the
 * instruction count × 8, and the kernel takes it: a static busybox run under it through
 * bwrap, when installed), PFC on stdout, --json shape, and bad input leaving files untouched.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {libseccompVersion} from '../../native/libseccomp.js'
import {anchor} from '../helpers/anchors.js'
import {runCli} from '../helpers/cli.js'
import {tmp, writeProfile} from '../helpers/apply-profiles.js'

const onX64 = process.arch === 'x64'
afterAll(() => rmSync(tmp(), {recursive: true, force: true}))
const DOCKER_DEFAULT = anchor('docker-default.json')
const haveBwrap = spawnSync('bwrap', ['--version']).status === 0
if (!haveBwrap) console.warn('export test: bwrap not installed (.ci/run installs bubblewrap); the kernel-load check through bwrap is skipped')

describe.runIf(onX64)('export', () => {
  it('--bpf writes the raw program; --json reports its instruction count', async () => {
    const bpf = join(tmp(), 'docker.bpf')
    const r = await runCli(['export', DOCKER_DEFAULT, '--bpf', bpf, '--json'])
    expect(r.status).toBe(0)
    const j = JSON.parse(r.stdout)
    expect(j.file).toBe(bpf)
    expect(j.arches).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'])
    expect(statSync(bpf).size).toBe(j.instructions * 8)
    const v = libseccompVersion()
    if (v.major === 2 && v.minor === 5 && v.micro === 4) {
      // as test/enforce/compile.test.ts: riscv_hwprobe is no x86 syscall, the rest are newer than 2.5.4
      expect(j.unknownNames).toEqual(['riscv_hwprobe'])
      expect(j.newerNames).toEqual(['getxattrat', 'listmount', 'listxattrat', 'mseal', 'removexattrat', 'setxattrat', 'statmount', 'uretprobe'])
      expect(j.warnings).toEqual([`skipped 8 syscall(s) this libseccomp (2.5.4) cannot name: ${j.newerNames.join(' ')}`])
    }
    // the human form says the same on stderr
    const h = await runCli(['export', DOCKER_DEFAULT, '--bpf', bpf])
    expect(h.stderr).toContain(`${j.instructions} BPF instructions`)
    expect(h.stdout).toBe('')
  })

  it('--optimize builds the binary-tree form (a different program)', async () => {
    const a = await runCli(['export', DOCKER_DEFAULT, '--bpf', join(tmp(), 'o1.bpf'), '--json'])
    const b = await runCli(['export', DOCKER_DEFAULT, '--bpf', join(tmp(), 'o2.bpf'), '--json', '--optimize'])
    expect(JSON.parse(a.stdout).instructions).not.toBe(JSON.parse(b.stdout).instructions)
  })

  it('--pfc prints libseccomp pseudo code naming the rules', async () => {
    const p = writeProfile('export-pfc', {allow: ['mmap']})
    const r = await runCli(['export', p, '--pfc'])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^#\n# pseudo filter code start/)
    expect(r.stdout).toMatch(/filter for syscall "getppid"/)
    expect(r.stdout).not.toMatch(/filter for syscall "mkdir"/)
    expect(r.stdout).toMatch(/action ERRNO\(1\);/)
  })

  it('--counts OBS orders the filter by recorded frequency (seccomp_syscall_priority)', async () => {
    const obsPath = join(__dirname, '..', '..', 'fixtures', 'tar-gzip.obs.json')
    const obs = JSON.parse(readFileSync(obsPath, 'utf8'))
    const p = writeProfile('export-counts', {allow: ['mmap']})
    const allowed: string[] = JSON.parse(readFileSync(p, 'utf8')).syscalls[0].names
    const counts = Object.entries(obs.abis.x86_64.syscalls as Record<string, {count: number}>)
      .filter(([n]) => allowed.includes(n))
      .sort((a, b) => b[1].count - a[1].count)
    const order = (out: string) => [...out.matchAll(/filter for syscall "(\w+)"/g)].map((m) => m[1])
    const plain = await runCli(['export', p, '--pfc'])
    const ranked = await runCli(['export', p, '--pfc', '--counts', obsPath])
    expect(ranked.status).toBe(0)
    expect(order(ranked.stdout)[0]).toBe(counts[0]![0])
    expect(order(ranked.stdout)).not.toEqual(order(plain.stdout))
    expect(new Set(order(ranked.stdout))).toEqual(new Set(order(plain.stdout)))
  })

  it('--host-arch resolves the arch map for another host', async () => {
    const r = await runCli(['export', DOCKER_DEFAULT, '--pfc', '--host-arch', 'aarch64', '--json'])
    expect(r.status).toBe(0)
    expect(JSON.parse(r.stdout).arches).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'])
  })

  it('needs exactly one of --bpf and --pfc', async () => {
    const p = writeProfile('export-flags', {allow: ['mmap']})
    expect((await runCli(['export', p])).status).toBe(2)
    expect((await runCli(['export', p, '--pfc', '--bpf', join(tmp(), 'x.bpf')])).status).toBe(2)
  })

  it('bad input leaves an existing output untouched and writes nothing new', async () => {
    const out = join(tmp(), 'keep.bpf')
    writeFileSync(out, 'previous')
    const bad = join(tmp(), 'bad-export.json')
    writeFileSync(bad, '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]}')
    const r = await runCli(['export', bad, '--bpf', out])
    expect(r.status).not.toBe(0)
    expect(readFileSync(out, 'utf8')).toBe('previous')
    const fresh = join(tmp(), 'fresh.bpf')
    expect((await runCli(['export', bad, '--bpf', fresh])).status).not.toBe(0)
    expect(existsSync(fresh)).toBe(false)
    expect((await runCli(['export', join(tmp(), 'missing.json'), '--bpf', fresh])).status).not.toBe(0)
    expect(existsSync(fresh)).toBe(false)
  })

  it.runIf(haveBwrap)('the exported program loads in the kernel: bwrap --seccomp enforces it', async () => {
    const p = writeProfile('export-bwrap', {allow: ['mmap']})
    const bpf = join(tmp(), 'bwrap.bpf')
    expect((await runCli(['export', p, '--bpf', bpf])).status).toBe(0)
    const run = (cmd: string) => spawnSync('bash', ['-c', `bwrap --ro-bind / / --tmpfs /tmp --seccomp 3 3<${JSON.stringify(bpf)} -- ${cmd}`], {encoding: 'utf8'})
    const ok = run('sh -c "echo ok"')
    expect(ok.stdout).toBe('ok\n')
    const denied = run('mkdir /tmp/x')
    expect(denied.status).not.toBe(0)
    expect(denied.stderr).toMatch(/Operation not permitted/)
  })
})
