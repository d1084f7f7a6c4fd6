/**
 * bubblewrap 0.8: the built profile compiled to raw BPF by `seccomp-gen export --bpf` and handed
 * over as `bwrap --seccomp 3 3<FILE`. bwrap loads it right before exec, so no runtime layer.
 */
import {mkdirSync, mkdtempSync, realpathSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {makeRootfs, runBwrap, unavailable} from '../../helpers/bundle.js'
import {build, exportBpf, FORBIDDEN, pipelineMissing, record, WORKLOAD} from '../../helpers/runtime-profile.js'

const why = unavailable('bwrap') ?? pipelineMissing()
if (why && !unavailable('bwrap')) console.warn(`[skip] bwrap runtime tests: ${why}`)

describe.skipIf(why !== undefined)('bwrap: built profile as exported BPF through --seccomp FD', () => {
  let dir: string
  let rootfs: string
  let bpf: string
  beforeAll(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'sg-rt-bwrap-')))
    const profile = build(dir, 'bwrap', [record(dir, 'workload', WORKLOAD)], {runtime: 'none'})
    bpf = join(dir, 'filter.bpf')
    exportBpf(profile, bpf)
    rootfs = join(dir, 'rootfs')
    mkdirSync(rootfs)
    makeRootfs(rootfs)
  })
  afterAll(() => { if (dir) rmSync(dir, {recursive: true, force: true}) })

  it('runs the recorded workload', async () => {
    const r = await runBwrap(rootfs, bpf, ['sh', '-c', WORKLOAD])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^hi\n/)
    expect(r.stdout.split('\n')).toEqual(expect.arrayContaining(['bin', 'proc', 'tmp']))
  })

  it('denies a forbidden op with EPERM, and the op does not happen', async () => {
    const r = await runBwrap(rootfs, bpf, ['sh', '-c', FORBIDDEN])
    expect(r.stderr).toMatch(/mkdir: can't create directory '\/tmp\/d': Operation not permitted/)
    expect(r.stdout).toMatch(/mkdir=1/)
    expect(r.stdout.split('\n')).not.toContain('d')
  })

  it('control: the op succeeds without the filter', async () => {
    const r = await runBwrap(rootfs, undefined, ['sh', '-c', FORBIDDEN])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/mkdir=0/)
    expect(r.stdout.split('\n')).toContain('d')
  })
})
