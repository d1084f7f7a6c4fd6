/**
 * The same checks for each OCI bundle runtime (runc, crun, runsc): a profile built from a host
 * recording of the workload, written with `apply --bundle`, runs the workload in the container;
 * a forbidden op is denied (EPERM) and does not happen, while the same op succeeds in the same
 * bundle without linux.seccomp (so the denial is the filter's doing).
 */
import {mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {makeBundle, runBundle, setBundleArgs, setBundleSeccomp, unavailable, type Bundle} from './bundle.js'
import {applyBundle, build, FORBIDDEN, pipelineMissing, record, WORKLOAD} from './runtime-profile.js'

/**
 * @param nnpCases the process.noNewPrivileges settings to test
 * @param startsWithoutLayer per setting: does a profile built with `--runtime none` (recorded
 *   syscalls only) still start the container? Where it does not, the runtime layer is what makes
 *   the built profile work (peers' pain point: generated profiles that cannot start the container).
 */
export function bundleRuntimeSuite(rt: 'runc' | 'crun' | 'runsc', nnpCases: boolean[], startsWithoutLayer: Record<string, boolean>): void {
  const why = unavailable(rt) ?? pipelineMissing()
  if (why && !unavailable(rt)) console.warn(`[skip] ${rt} runtime tests: ${why}`)

  describe.skipIf(why !== undefined)(`${rt}: built profile through apply --bundle`, () => {
    let dir: string
    let obs: string
    beforeAll(() => {
      dir = realpathSync(mkdtempSync(join(tmpdir(), `sg-rt-${rt}-`)))
      obs = record(dir, 'workload', WORKLOAD)
    })
    afterAll(() => { if (dir) rmSync(dir, {recursive: true, force: true}) })

    for (const nnp of nnpCases) {
      describe(`process.noNewPrivileges ${nnp}`, () => {
        let bundle: Bundle
        beforeAll(() => {
          const profile = build(dir, `${rt}-nnp-${nnp}`, [obs], {runtime: rt, nnp})
          bundle = makeBundle({args: ['sh', '-c', WORKLOAD], noNewPrivileges: nnp, parent: dir})
          applyBundle(profile, bundle.dir)
        })

        it('runs the recorded workload', async () => {
          setBundleArgs(bundle.configPath, ['sh', '-c', WORKLOAD])
          const r = await runBundle(rt, bundle.dir)
          expect(r.stderr).toBe('')
          expect(r.code).toBe(0)
          expect(r.stdout).toMatch(/^hi\n/)
          expect(r.stdout.split('\n')).toEqual(expect.arrayContaining(['bin', 'proc', 'tmp']))
        })

        it('denies a forbidden op with EPERM, and the op does not happen', async () => {
          setBundleArgs(bundle.configPath, ['sh', '-c', FORBIDDEN])
          const r = await runBundle(rt, bundle.dir)
          expect(r.stderr).toMatch(/mkdir: can't create directory '\/tmp\/d': Operation not permitted/)
          expect(r.stdout).toMatch(/mkdir=1/)
          expect(r.stdout.split('\n')).not.toContain('d')
        })

        const starts = startsWithoutLayer[String(nnp)]
        it(`without the ${rt} layer (--runtime none) the container ${starts ? 'still starts: the layer adds nothing needed' : 'cannot start'}`, async () => {
          const bare = makeBundle({args: ['sh', '-c', WORKLOAD], noNewPrivileges: nnp, parent: dir})
          try {
            applyBundle(build(dir, `${rt}-none-nnp-${nnp}`, [obs], {runtime: 'none', nnp}), bare.dir)
            const r = await runBundle(rt, bare.dir)
            if (starts) {
              expect(r.code).toBe(0)
              expect(r.stdout).toMatch(/^hi\n/)
            } else {
              expect(r.code).not.toBe(0)
              expect(r.stdout).not.toMatch(/^hi\n/)
            }
          } finally {
            bare.cleanup()
          }
        })

        it('control: the same op succeeds in the same bundle without linux.seccomp', async () => {
          const saved = readFileSync(bundle.configPath)
          try {
            setBundleSeccomp(bundle.configPath, undefined, {args: ['sh', '-c', FORBIDDEN]})
            const r = await runBundle(rt, bundle.dir)
            expect(r.code).toBe(0)
            expect(r.stdout).toMatch(/mkdir=0/)
            expect(r.stdout.split('\n')).toContain('d')
          } finally {
            writeFileSync(bundle.configPath, saved)
          }
        })
      })
    }
  })
}
