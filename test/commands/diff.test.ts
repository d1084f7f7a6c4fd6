/**
 * seccomp-gen diff: the real CLI on profiles the project builds from fixtures/ recordings, in
 * every format it reads (Docker, OCI, a bundle's config.json, a Kubernetes SeccompProfile),
 * and on Docker's default.
 */
import {beforeAll, describe, expect, it} from 'vitest'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {runCli} from '../helpers/cli.js'
import {anchor} from '../helpers/anchors.js'
import {repoRoot} from '../helpers/profile.js'

const tmp = mkdtempSync(join(tmpdir(), 'sg-diffcli-'))
const p = (n: string) => join(tmp, n)
const httpObs = join(repoRoot, 'fixtures', 'http-server.obs.json')

interface Rule {names: string[]; action: string; comment?: string; args?: Array<{index: number; value: number; valueTwo?: number; op: string}>}
function edited(from: string, name: string, change: (prof: {syscalls: Rule[]}) => void): string {
  const prof = JSON.parse(readFileSync(from, 'utf8'))
  change(prof)
  writeFileSync(p(name), JSON.stringify(prof, null, 2))
  return p(name)
}

let built = ''
beforeAll(async () => {
  built = p('http.json')
  expect((await runCli(['build', '-q', '--args', 'strict', '-o', built, httpObs])).status).toBe(0)
})

describe('seccomp-gen diff', () => {
  it('exit 0 for a reordered, regrouped copy with other comments', async () => {
    const copy = edited(built, 'regrouped.json', (prof) => {
      prof.syscalls = prof.syscalls.flatMap((r) => r.names.map((n) => ({...r, names: [n], comment: 'one name per rule'}))).reverse()
    })
    const r = await runCli(['diff', built, copy])
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(r.stdout).toBe(`${built} and ${copy}: no difference (evaluated for SCMP_ARCH_X86_64)\n`)
  })

  it('exit 1 and the argument cases for a changed argument rule; a removed name; both directions', async () => {
    const changed = edited(built, 'changed.json', (prof) => {
      for (const r of prof.syscalls) {
        if (r.names.includes('socket') && r.args?.[0].valueTwo === 2) r.args[0].valueTwo = 10 // AF_INET -> AF_INET6
        r.names = r.names.filter((n) => n !== 'bind')
      }
    })
    const r = await runCli(['diff', built, changed])
    expect(r.status).toBe(1)
    expect(r.stdout.split('\n')).toEqual([
      `--- ${built}`,
      `+++ ${changed}`,
      'SCMP_ARCH_X86_64:',
      '- bind: SCMP_ACT_ALLOW -> SCMP_ACT_ERRNO(EPERM)',
      '- socket (arg0=0x2, arg0=0xffffffff00000002): SCMP_ACT_ALLOW -> SCMP_ACT_ERRNO(EPERM)',
      '+ socket (arg0=0xa, arg0=0xffffffff0000000a): SCMP_ACT_ERRNO(EPERM) -> SCMP_ACT_ALLOW',
      '',
    ])
    const back = await runCli(['diff', changed, built])
    expect(back.status).toBe(1)
    expect(back.stdout).toContain('+ bind: SCMP_ACT_ERRNO(EPERM) -> SCMP_ACT_ALLOW')
  })

  it('--json: the same difference as data', async () => {
    const changed = edited(built, 'errno.json', (prof) => { (prof as unknown as {defaultErrnoRet: number}).defaultErrnoRet = 38 })
    const r = await runCli(['diff', '--json', built, changed])
    expect(r.status).toBe(1)
    const j = JSON.parse(r.stdout)
    expect(j).toMatchObject({equal: false, a: {file: built, format: 'docker'}, defaults: {a: {action: 'SCMP_ACT_ERRNO', errno: 1}, b: {action: 'SCMP_ACT_ERRNO', errno: 38}}, arches: []})
    // argument cases: exact u64 values as hex strings
    const strictless = p('safe.json')
    expect((await runCli(['build', '-q', '-o', strictless, httpObs])).status).toBe(0)
    const s = await runCli(['diff', '--json', strictless, built])
    expect(s.status).toBe(1)
    const ioctl = JSON.parse(s.stdout).arches[0].syscalls.find((n: {name: string}) => n.name === 'ioctl')
    expect(ioctl.cases).toContainEqual({sign: '-', args: [{index: 1, value: '0xffffffffffffffff'}], a: {action: 'SCMP_ACT_ALLOW'}, b: {action: 'SCMP_ACT_ERRNO', errno: 1}})
    expect(ioctl.cases.map((c: {args: Array<{value: string}>}) => c.args[0].value)).not.toContain('0x5451') // allowed by both
  })

  it('the same profile as Docker JSON, OCI JSON, a bundle config.json and a Kubernetes SeccompProfile: only the capability gating the OCI forms resolved', async () => {
    const oci = p('http.oci.json')
    expect((await runCli(['build', '-q', '--args', 'strict', '--format', 'oci', '-o', oci, httpObs])).status).toBe(0)
    const yaml = p('http.yaml')
    expect((await runCli(['build', '-q', '--args', 'strict', '--format', 'k8s', '--name', 'http', '-o', yaml, httpObs])).status).toBe(0)
    const cfg = p('config.json')
    writeFileSync(cfg, `{"ociVersion": "1.2.0", "process": {"args": ["http"]}, "linux": {"seccomp": ${readFileSync(oci, 'utf8')}}}`)
    for (const other of [cfg, yaml]) {
      const r = await runCli(['diff', oci, other])
      expect(r.stderr).toBe('')
      expect(r.status).toBe(0)
    }
    const r = await runCli(['diff', built, cfg])
    expect(r.status).toBe(1)
    expect(r.stdout.split('\n').slice(2)).toEqual([
      'with CAP_SYS_ADMIN:',
      '  SCMP_ARCH_X86_64:',
      '  - clone3: SCMP_ACT_ALLOW -> SCMP_ACT_ERRNO(ENOSYS)',
      '',
    ])
  })

  it("Docker's default against a built profile: what the build closes, grouped per architecture, and the capability gating", async () => {
    const r = await runCli(['diff', anchor('docker-default.json'), built])
    expect(r.status).toBe(1)
    const lines = r.stdout.split('\n')
    expect(lines).toContain('architectures only in ' + anchor('docker-default.json') + ': SCMP_ARCH_X86 SCMP_ARCH_X32')
    expect(lines).toContain('- ptrace: SCMP_ACT_ALLOW -> SCMP_ACT_ERRNO(EPERM)')
    expect(lines.filter((l) => l.startsWith('+ '))).toEqual([])
    expect(lines).toContain('with CAP_SYS_ADMIN:')
    expect(lines).toContain('  - mount: SCMP_ACT_ALLOW -> SCMP_ACT_ERRNO(EPERM)')
  })

  it.each([
    ['a recording', () => [built, httpObs], /http-server\.obs\.json is an observation file \(from seccomp-gen record\), not a seccomp profile/],
    ['a YAML that is not a SeccompProfile', () => [p('cm.yaml'), built], /cm\.yaml: not a SeccompProfile: its YAML holds ConfigMap/],
    ['a missing file', () => [built, p('none.json')], /none\.json: cannot read profile: no such file or directory/],
    ['an unknown capability', () => ['--caps', 'CAP_FOO', built, built], /--caps: unknown capability CAP_FOO/],
    ['one profile only', () => [built], /missing B/],
  ])('exit 2 with one line (not 1, which means "different"): %s', async (_what, args, message) => {
    writeFileSync(p('cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n')
    const r = await runCli(['diff', ...args()])
    expect(r.status).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderrLines).toHaveLength(1)
    expect(r.stderrLines[0]).toMatch(message)
  })
})
