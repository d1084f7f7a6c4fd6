/**
 * containerd as the consumer of built profiles: a daemon of the test's own (its own config,
 * root, state and socket in a temp dir, no CRI plugin), a busybox image made here as an OCI
 * layout tarball, and `ctr run --seccomp --seccomp-profile`. The workload is recorded on the
 * host with `seccomp-gen record` (the very busybox binary the image holds), built with
 * `--for containerd` and run: it runs, and a profile built without mkdir denies mkdir. A
 * Moby profile with a capability-gated ALLOW rule shows what `validate --for containerd` warns
 * about: containerd drops `includes` and opens the call to a container without the capability.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {runCli} from '../helpers/cli.js'
import {busyboxImageTar, containerdUnavailable, startContainerd, type Containerd} from '../helpers/containerd.js'
import {fromK8s} from '../../src/profile/k8s.js'
import {parseJson64} from '../../src/profile/json64.js'
import {profileFromJson} from '../../src/profile/from-json.js'

const why = containerdUnavailable()
if (why) console.warn(`[skip] containerd tests: ${why}`)

const IMAGE = 'localhost/sg-busybox:latest'
/** The workload: mkdir its argument, then say how it went. */
const SCRIPT = 'if mkdir "$1"; then echo made; else echo refused; fi'

describe.skipIf(why)('containerd (ctr run --seccomp-profile) with built profiles', () => {
  const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'sg-ctrd-test-')))
  const p = (n: string) => join(tmp, n)
  let d: Containerd | undefined

  const run = async (profile: string) => {
    const r = await d!.run(IMAGE, profile, ['sh', '-c', SCRIPT, 'sh', '/tmp/d'])
    return {...r, stdout: r.stdout.trim()}
  }
  const build = async (args: string[]) => {
    const r = await runCli(['build', '-q', ...args])
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  }
  /** A Docker-format profile built without mkdir, plus one extra rule for mkdir. */
  const mobyWith = (file: string, rule: Record<string, unknown>) => {
    const prof = JSON.parse(readFileSync(p('nomkdir.moby.json'), 'utf8')) as {syscalls: unknown[]}
    prof.syscalls.push(rule)
    writeFileSync(p(file), JSON.stringify(prof, null, 2))
  }

  beforeAll(async () => {
    d = await startContainerd()
    const imp = await d.ctr(['image', 'import', busyboxImageTar(p('img'), IMAGE)])
    expect(imp.stderr).toBe('')
    expect(imp.code).toBe(0)
    // the recording, on the host: the same static busybox, a fresh directory to make
    const rec = await runCli(['record', '-q', '--engine', 'strace', '-o', p('wl.obs.json'), '--', '/bin/busybox', 'sh', '-c', SCRIPT, 'sh', p('made')])
    expect(rec.status).toBe(0)
    expect(rec.stdout.trim()).toBe('made')
    // the same recording without its mkdir
    const obs = JSON.parse(readFileSync(p('wl.obs.json'), 'utf8')) as {abis: {x86_64: {syscalls: Record<string, unknown>}}}
    expect(obs.abis.x86_64.syscalls).toHaveProperty('mkdir')
    delete obs.abis.x86_64.syscalls.mkdir
    writeFileSync(p('nomkdir.obs.json'), JSON.stringify(obs))
    await build(['--for', 'containerd', '-o', p('wl.json'), p('wl.obs.json')])
    await build(['--for', 'containerd', '-o', p('nomkdir.json'), p('nomkdir.obs.json')])
    await build(['-o', p('nomkdir.moby.json'), p('nomkdir.obs.json')])
  }, 180_000)

  afterAll(async () => {
    await d?.stop()
    rmSync(tmp, {recursive: true, force: true})
  }, 60_000)

  it('the profile built --for containerd from the recording runs the workload', async () => {
    const r = await run(p('wl.json'))
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe('made')
    expect(r.code).toBe(0)
  })

  it('a profile built without mkdir denies it (EPERM) and lets the rest run', async () => {
    const r = await run(p('nomkdir.json'))
    expect(r.stdout).toBe('refused')
    expect(r.stderr).toContain("mkdir: can't create directory '/tmp/d': Operation not permitted")
    expect(r.code).toBe(0)
  })

  it('a capability-gated Moby ALLOW rule: containerd opens it to a container without the capability; validate --for containerd says so', async () => {
    mobyWith('gated.moby.json', {names: ['mkdir'], action: 'SCMP_ACT_ALLOW', includes: {caps: ['CAP_SYS_ADMIN']}, comment: 'only for CAP_SYS_ADMIN'})
    // ctr's container has the default capabilities (no CAP_SYS_ADMIN), yet mkdir goes through
    const r = await run(p('gated.moby.json'))
    expect(r.stdout).toBe('made')
    const v = await runCli(['validate', '--for', 'containerd', p('gated.moby.json')])
    expect(v.status).toBe(0)
    const pointer = `/syscalls/${(JSON.parse(readFileSync(p('gated.moby.json'), 'utf8')) as {syscalls: unknown[]}).syscalls.length - 1}/includes`
    expect(v.stderrLines.filter((l) => l.includes('CONTAINERD_OPENS_GATED'))).toEqual([
      `${p('gated.moby.json')}: warning CONTAINERD_OPENS_GATED ${pointer}: containerd drops includes: this ALLOW rule opens mkdir to every container, not only those with CAP_SYS_ADMIN; build --for containerd resolves capabilities`,
    ])
    // without --for, nothing about containerd
    const plain = await runCli(['validate', p('gated.moby.json')])
    expect(plain.stderr).not.toContain('CONTAINERD_')
    // resolved for the container's capabilities, the rule is gone and containerd denies mkdir
    await build(['--for', 'containerd', '--base', p('gated.moby.json'), '-o', p('gated.resolved.json'), p('nomkdir.obs.json')])
    expect((await run(p('gated.resolved.json'))).stdout).toBe('refused')
  })

  it('the singular "name" form matches nothing in containerd; validate warns', async () => {
    mobyWith('singular.moby.json', {name: 'mkdir', action: 'SCMP_ACT_ALLOW'})
    expect((await run(p('singular.moby.json'))).stdout).toBe('refused')
    const v = await runCli(['validate', '--for', 'containerd', p('singular.moby.json')])
    expect(v.stderr).toMatch(/warning SINGULAR_NAME \/syscalls\/\d+\/name: /)
  })

  it('build --format k8s --for containerd: the node file runs under containerd and holds the SeccompProfile spec', async () => {
    await build(['--format', 'k8s', '--for', 'containerd', '-o', p('wl.yaml'), '--node-json', p('wl.node.json'), p('wl.obs.json')])
    expect((await run(p('wl.node.json'))).stdout).toBe('made')
    const node = profileFromJson(parseJson64(readFileSync(p('wl.node.json'), 'utf8')), 'node')
    const spec = fromK8s(readFileSync(p('wl.yaml'), 'utf8'), 'wl.yaml')
    expect(spec.defaultAction).toBe(node.defaultAction)
    expect(spec.syscalls).toEqual(node.syscalls)
    expect(spec.architectures).toEqual(node.architectures)
    expect(readFileSync(p('wl.node.json'), 'utf8')).toBe(readFileSync(p('wl.json'), 'utf8'))
  })
})
