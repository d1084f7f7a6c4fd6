/**
 * podman 4.3.1 (runtime runc, no_new_privileges false as podman runs by default): a Moby-format
 * profile built from host recordings goes in through `--security-opt seccomp=`. podman resolves
 * includes.caps itself, so the rule built for the recorded `unshare -n` opens only with
 * `--cap-add SYS_ADMIN`.
 */
import {mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {makePodman, unavailable, type Podman} from '../../helpers/bundle.js'
import {build, FORBIDDEN, pipelineMissing, record, WORKLOAD} from '../../helpers/runtime-profile.js'

const UNSHARE = 'unshare -n true; echo "unshare=$?"'

const why = unavailable('podman') ?? pipelineMissing()
if (why && !unavailable('podman')) console.warn(`[skip] podman runtime tests: ${why}`)

describe.skipIf(why !== undefined)('podman: built Moby profile through --security-opt seccomp=', () => {
  let dir: string
  let podman: Podman
  let profile: string
  let gatedElsewhere: string
  beforeAll(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'sg-rt-podman-')))
    const obs = [record(dir, 'workload', WORKLOAD), record(dir, 'unshare', UNSHARE)]
    profile = build(dir, 'podman', obs, {runtime: 'runc'})
    // The same profile with unshare's rule gated on a capability the container will not get:
    // if --cap-add SYS_ADMIN still cannot unshare, the opening above was podman honouring includes.caps.
    const p = JSON.parse(readFileSync(profile, 'utf8')) as {syscalls: Array<{names: string[]; includes?: {caps?: string[]}}>}
    const gated = p.syscalls.filter((r) => r.names.includes('unshare'))
    expect(gated.length).toBeGreaterThan(0)
    for (const r of gated) expect(r.includes?.caps).toContain('CAP_SYS_ADMIN')
    for (const r of gated) r.includes = {...r.includes, caps: ['CAP_SYS_BOOT']}
    gatedElsewhere = join(dir, 'gated-elsewhere.json')
    writeFileSync(gatedElsewhere, JSON.stringify(p, null, 2))
    podman = await makePodman()
  }, 120_000)
  afterAll(async () => {
    await podman?.cleanup()
    if (dir) rmSync(dir, {recursive: true, force: true})
  }, 60_000)

  it('runs the recorded workload', async () => {
    const r = await podman.run(['sh', '-c', WORKLOAD], ['--security-opt', `seccomp=${profile}`])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^hi\n/)
    expect(r.stdout.split('\n')).toEqual(expect.arrayContaining(['bin', 'proc', 'tmp']))
  })

  it('denies a forbidden op with EPERM, and the op does not happen', async () => {
    const r = await podman.run(['sh', '-c', FORBIDDEN], ['--security-opt', `seccomp=${profile}`])
    expect(r.stderr).toMatch(/mkdir: can't create directory '\/tmp\/d': Operation not permitted/)
    expect(r.stdout).toMatch(/mkdir=1/)
    expect(r.stdout.split('\n')).not.toContain('d')
  })

  it("control: the op succeeds under podman's default profile", async () => {
    const r = await podman.run(['sh', '-c', FORBIDDEN])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/mkdir=0/)
    expect(r.stdout.split('\n')).toContain('d')
  })

  it('keeps the capability-gated syscall closed without the capability', async () => {
    const r = await podman.run(['sh', '-c', UNSHARE], ['--security-opt', `seccomp=${profile}`])
    expect(r.stdout).toMatch(/unshare=1/)
    expect(r.stderr).toMatch(/Operation not permitted/)
  })

  it('opens it with --cap-add SYS_ADMIN (includes.caps honoured)', async () => {
    const r = await podman.run(['sh', '-c', UNSHARE], ['--cap-add', 'SYS_ADMIN', '--security-opt', `seccomp=${profile}`])
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/unshare=0/)
  })

  it('control: with the rule gated on another capability, --cap-add SYS_ADMIN does not open it', async () => {
    const r = await podman.run(['sh', '-c', UNSHARE], ['--cap-add', 'SYS_ADMIN', '--security-opt', `seccomp=${gatedElsewhere}`])
    expect(r.stdout).toMatch(/unshare=1/)
    expect(r.stderr).toMatch(/Operation not permitted/)
  })
})
