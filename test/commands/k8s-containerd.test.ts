import {beforeAll, describe, expect, it} from 'vitest'
import {existsSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse} from 'yaml'
import {runCli} from '../helpers/cli.js'
import {anchor} from '../helpers/anchors.js'
import {crdValidator} from '../helpers/spo-crd.js'
import {MOBY_ONLY, obs, runtimeSpecSeccomp} from '../helpers/profile.js'
import {serializeObservation} from '../../src/trace/observation-io.js'
import {fromK8s} from '../../src/profile/k8s.js'

const tmp = mkdtempSync(join(tmpdir(), 'sg-k8s-'))
const p = (n: string) => join(tmp, n)
const crd = crdValidator()
let obsFile = ''

/** Every rule of a profile text that names `name`. */
const rulesFor = (prof: {syscalls?: Array<{names: string[]}>}, name: string) => (prof.syscalls ?? []).filter((r) => r.names.includes(name))

beforeAll(() => {
  // mount is allowed only under includes.caps CAP_SYS_ADMIN in the Docker form
  obsFile = p('app.obs.json')
  writeFileSync(obsFile, serializeObservation(obs({x86_64: {read: 3, write: 2, mount: 1, openat: 4, close: 4}})))
  symlinkSync('same2.yaml', p('to-same2.yaml'))
})

describe('build --format k8s', () => {
  it('writes a SeccompProfile the CRD accepts, named after -o FILE, and says how a pod selects it', async () => {
    const r = await runCli(['build', '--format', 'k8s', '-o', p('app.yaml'), obsFile])
    expect(r.status).toBe(0)
    const text = readFileSync(p('app.yaml'), 'utf8')
    const obj = parse(text) as {metadata: Record<string, string>; spec: {syscalls: Array<{names: string[]}>}}
    expect(crd(obj), JSON.stringify(crd.errors)).toBe(true)
    expect(obj.metadata).toEqual({name: 'app'})
    // capabilities resolved for Docker's default set: no CAP_SYS_ADMIN, no mount
    expect(rulesFor(obj.spec, 'mount')).toEqual([])
    expect(rulesFor(obj.spec, 'read')).toHaveLength(1)
    expect(r.stderrLines.at(-1)).toBe('seccomp-gen: pod securityContext.seccompProfile: {type: Localhost, localhostProfile: operator/app.json} with the operator')
  })

  it('--caps resolves for the given capabilities; --name and --namespace name it', async () => {
    const r = await runCli(['build', '-q', '--format', 'k8s', '--caps', 'CAP_SYS_ADMIN', '--name', 'web', '--namespace', 'prod', obsFile])
    expect(r.status).toBe(0)
    const obj = parse(r.stdout) as {metadata: Record<string, string>; spec: {syscalls: Array<{names: string[]}>}}
    expect(crd(obj), JSON.stringify(crd.errors)).toBe(true)
    expect(obj.metadata).toEqual({name: 'web', namespace: 'prod'})
    expect(rulesFor(obj.spec, 'mount')).toHaveLength(1)
    expect(r.stdout).toContain('localhostProfile: operator/prod/web.json')
  })

  it('--node-json: the Moby form (CRI-O resolves includes.caps) or, --for containerd, the resolved plain JSON', async () => {
    expect((await runCli(['build', '-q', '--format', 'k8s', '-o', p('n1.yaml'), '--node-json', p('n1.json'), obsFile])).status).toBe(0)
    const moby = JSON.parse(readFileSync(p('n1.json'), 'utf8')) as {syscalls: Array<{names: string[]; includes?: {caps?: string[]}}>}
    expect(rulesFor(moby, 'mount').map((x) => x.includes?.caps)).toEqual([['CAP_SYS_ADMIN']])
    expect((await runCli(['build', '-q', '--format', 'k8s', '--for', 'containerd', '-o', p('n2.yaml'), '--node-json', p('n2.json'), obsFile])).status).toBe(0)
    const plain = JSON.parse(readFileSync(p('n2.json'), 'utf8')) as {syscalls: Array<Record<string, unknown> & {names: string[]}>}
    expect(rulesFor(plain, 'mount')).toEqual([])
    expect(runtimeSpecSeccomp()(plain), 'runtime-spec schema').toBe(true)
    for (const r of plain.syscalls) for (const f of MOBY_ONLY) expect(r).not.toHaveProperty(f)
    // the YAML object and the node file say the same
    expect(fromK8s(readFileSync(p('n2.yaml'), 'utf8'), 'n2.yaml').syscalls).toEqual(
      (await import('../../src/profile/load.js')).loadProfile(p('n2.json')).syscalls)
  })

  it('--json carries the securityContext for both cases', async () => {
    const r = await runCli(['build', '--json', '--format', 'k8s', '-o', p('j.yaml'), '--node-json', p('j.json'), obsFile])
    expect(r.status).toBe(0)
    const out = JSON.parse(r.stdout) as {format: string; kubernetes: Record<string, unknown>}
    expect(out.format).toBe('k8s')
    expect(out.kubernetes).toEqual({
      name: 'j',
      securityContext: {
        operator: {seccompProfile: {type: 'Localhost', localhostProfile: 'operator/j.json'}},
        node: {seccompProfile: {type: 'Localhost', localhostProfile: 'j.json'}},
      },
      nodePath: '/var/lib/kubelet/seccomp/j.json',
      nodeJson: p('j.json'),
    })
  })

  it.each([
    [['--format', 'k8s'], /--format k8s needs --name/],
    // a device names no object (it would be "stdout" or "null")
    [['--format', 'k8s', '-o', '/dev/stdout'], /--format k8s needs --name/],
    [['--format', 'k8s', '-o', '/dev/null'], /--format k8s needs --name/],
    [['--format', 'k8s', '--name', 'Web'], /--name "Web" is not a Kubernetes object name/],
    [['--format', 'k8s', '--name', 'w', '--namespace', 'a_b'], /--namespace "a_b" is not a Kubernetes namespace name/],
    [['--format', 'k8s', '-o', 'BAD.yaml'], /-o BAD\.yaml: "BAD" is not a Kubernetes object name.*give --name/],
    [['--name', 'w'], /--name only applies to --format k8s/],
    [['--namespace', 'w', '--format', 'oci'], /--namespace only applies to --format k8s/],
    [['--node-json', 'x.json'], /--node-json only applies to --format k8s/],
    [['--format', 'k8s', '-o', 'same.yaml', '--node-json', 'same.yaml'], /--node-json needs a file of its own/],
    // the same file through a (dangling) link: the link is followed, as `>` would
    [['--format', 'k8s', '-o', 'same2.yaml', '--node-json', 'to-same2.yaml'], /--node-json needs a file of its own/],
    [['--for', 'containerd', '--format', 'docker'], /--for containerd contradicts --format docker/],
    [['--for', 'cri-o'], /--for/],
  ])('usage error, one line, nothing written: %j', async (args, msg) => {
    const before = readdirSync(tmp).sort()
    const r = await runCli(['build', ...args, obsFile], {cwd: tmp})
    expect(r.status).toBe(2)
    expect(r.stderrLines).toHaveLength(1)
    expect(r.stderr).toMatch(msg)
    expect(readdirSync(tmp).sort()).toEqual(before)
  })

  it('-o and --node-json may both be /dev/null, as two redirections may', async () => {
    const r = await runCli(['build', '--format', 'k8s', '--name', 'w', '-o', '/dev/null', '--node-json', '/dev/null', obsFile])
    expect(r.status, r.stderr).toBe(0)
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true)
  })

  it('a default errno the CRD cannot say is refused before anything is written', async () => {
    const r = await runCli(['build', '--format', 'k8s', '--errno', 'ENOSYS', '-o', p('e.yaml'), '--node-json', p('e.json'), obsFile])
    expect(r.status).toBe(2)
    expect(r.stderrLines).toEqual([expect.stringMatching(/--errno ENOSYS cannot be said in a SeccompProfile \(the CRD has no defaultErrnoRet/)])
    expect(existsSync(p('e.yaml')) || existsSync(p('e.json'))).toBe(false)
  })
})

describe('build --for containerd', () => {
  it('is --format oci: plain runtime-spec JSON, capabilities resolved (same bytes)', async () => {
    const a = await runCli(['build', '-q', '--for', 'containerd', obsFile])
    const b = await runCli(['build', '-q', '--format', 'oci', obsFile])
    expect(a.status).toBe(0)
    expect(a.stdout).toBe(b.stdout)
    const prof = JSON.parse(a.stdout) as {syscalls: Array<{names: string[]}>}
    expect(rulesFor(prof, 'mount')).toEqual([])
    expect(runtimeSpecSeccomp()(prof)).toBe(true)
    const caps = await runCli(['build', '-q', '--for', 'containerd', '--caps', 'SYS_ADMIN', obsFile])
    expect(rulesFor(JSON.parse(caps.stdout) as {syscalls: Array<{names: string[]}>}, 'mount')).toHaveLength(1)
  })
})

describe('validate --for containerd', () => {
  it("Docker's default: each capability-gated ALLOW rule, every other includes/excludes, archMap and the comments", async () => {
    const r = await runCli(['validate', '--json', '--for', 'containerd', anchor('docker-default.json')])
    expect(r.status).toBe(0)
    const w = (JSON.parse(r.stdout) as {profiles: Array<{warnings: Array<{code: string; pointer: string; message: string}>}>}).profiles[0].warnings
    const docker = JSON.parse(readFileSync(anchor('docker-default.json'), 'utf8')) as {syscalls: Array<{action: string; includes?: {caps?: string[]}; excludes?: object; comment?: string}>}
    const gated = docker.syscalls.flatMap((x, i) => (x.action === 'SCMP_ACT_ALLOW' && x.includes?.caps?.length ? [`/syscalls/${i}/includes`] : []))
    expect(gated.length).toBeGreaterThan(10)
    expect(w.filter((x) => x.code === 'CONTAINERD_OPENS_GATED').map((x) => x.pointer)).toEqual(gated)
    const dropped = w.filter((x) => x.code === 'CONTAINERD_DROPS_FIELD').map((x) => x.pointer)
    expect(dropped[0]).toBe('/archMap')
    const other = docker.syscalls.flatMap((x, i) => [
      ...(x.includes && !(x.action === 'SCMP_ACT_ALLOW' && x.includes.caps?.length) ? [`/syscalls/${i}/includes`] : []),
      ...(x.excludes ? [`/syscalls/${i}/excludes`] : []),
    ])
    const firstComment = docker.syscalls.findIndex((x) => x.comment)
    expect(dropped.slice(1)).toEqual([...other, ...(firstComment >= 0 ? [`/syscalls/${firstComment}/comment`] : [])])
    const plain = await runCli(['validate', '--json', anchor('docker-default.json')])
    expect(plain.stdout).not.toContain('CONTAINERD_')
  })

  it('reads a SeccompProfile YAML through its spec (pointers under /spec); another kind is one error', async () => {
    expect((await runCli(['build', '-q', '--format', 'k8s', '-o', p('v.yaml'), obsFile])).status).toBe(0)
    const ok = await runCli(['validate', '--for', 'containerd', p('v.yaml')])
    expect(ok.status).toBe(0)
    expect(ok.stdout.trim()).toBe(`${p('v.yaml')}: valid k8s profile`)
    writeFileSync(p('bad.yaml'), readFileSync(p('v.yaml'), 'utf8').replace('defaultAction: SCMP_ACT_ERRNO', 'defaultAction: ERRNO'))
    const bad = await runCli(['validate', p('bad.yaml')])
    expect(bad.status).toBe(1)
    expect(bad.stderrLines).toEqual([expect.stringMatching(new RegExp(`^${p('bad.yaml')}: error /spec/defaultAction: must be one of `))])
    writeFileSync(p('pod.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n')
    const pod = await runCli(['validate', p('pod.yaml')])
    expect(pod.status).toBe(1)
    expect(pod.stderrLines).toEqual([`${p('pod.yaml')}: error /: not a SeccompProfile: its YAML holds Pod`])
  })

  it('the JSON form of a SeccompProfile (kubectl get -o json) is the same profile to validate, diff and check', async () => {
    expect((await runCli(['build', '-q', '--format', 'k8s', '-o', p('kj.yaml'), obsFile])).status).toBe(0)
    writeFileSync(p('kj.json'), JSON.stringify(parse(readFileSync(p('kj.yaml'), 'utf8')), null, 2))
    const v = await runCli(['validate', p('kj.json')])
    expect(v.stderr).toBe('')
    expect(v.stdout.trim()).toBe(`${p('kj.json')}: valid k8s profile`)
    const d = await runCli(['diff', p('kj.yaml'), p('kj.json')])
    expect(d.status, d.stderr).toBe(0)
    // mount is recorded and resolved away (no CAP_SYS_ADMIN): the same denial from either form
    const [cy, cj] = [await runCli(['check', p('kj.yaml'), obsFile]), await runCli(['check', p('kj.json'), obsFile])]
    expect([cy.status, cj.status], cj.stderr).toEqual([1, 1])
    expect(cj.stdout).toContain('  mount -> SCMP_ACT_ERRNO(EPERM) by the default action; recorded x1')
    expect(cj.stdout.replaceAll('kj.json', 'kj.yaml')).toBe(cy.stdout)
    // and a JSON object of another kind is named as such by all three
    writeFileSync(p('cm.json'), '{"apiVersion": "v1", "kind": "ConfigMap", "data": {}}')
    for (const args of [['validate', p('cm.json')], ['diff', p('cm.json'), p('kj.yaml')], ['check', p('cm.json'), obsFile]]) {
      const r = await runCli(args)
      expect(r.status, args[0]).not.toBe(0)
      expect(r.stderr, args[0]).toMatch(/not a SeccompProfile: its YAML holds ConfigMap/)
    }
  })

  it('a profile built --for containerd has nothing containerd would drop', async () => {
    const b = await runCli(['build', '-q', '--for', 'containerd', '-o', p('c.json'), obsFile])
    expect(b.status).toBe(0)
    const r = await runCli(['validate', '--for', 'containerd', p('c.json')])
    expect(r.status).toBe(0)
    expect(r.stderr).not.toContain('CONTAINERD_')
    expect(r.stdout.trim()).toMatch(/valid oci profile/)
  })
})
