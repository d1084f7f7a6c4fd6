/**
 * scripts/derive-layer.js against the installed crun (the fastest runtime here, ~10 s for both
 * settings): the script must find what crun needs after loading the filter (at least execve;
 * with no_new_privileges false also the privilege drop, capset and setresuid), and the shipped
 * layer (profiles/runtimes/crun.json, what `build --runtime crun` adds) must cover it, or built
 * profiles would not start containers.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {anchor} from '../helpers/anchors.js'
import {repoRoot, unavailable} from '../helpers/bundle.js'

const candidates = anchor('docker-default.json')
const why = unavailable('crun') ?? (existsSync(candidates) ? undefined : `no candidate profile at ${candidates}`)
if (why && !unavailable('crun')) console.warn(`[skip] derive-layer test: ${why}`)

describe.skipIf(why !== undefined)('scripts/derive-layer.js --runtime crun', () => {
  it('re-derives a layer that the shipped crun layer covers', () => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'scripts/derive-layer.js'), '--runtime', 'crun', '--stability', '5', '--trace', '3', '--confirm', '3', '--candidates', candidates], {encoding: 'utf8', timeout: 110_000})
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    const measured = JSON.parse(r.stdout) as {runtime: string; nnp: {true: string[]; false: string[]}; measured: {version: string; stability: Record<string, string>}}
    expect(measured.runtime).toBe('crun')
    expect(measured.nnp.true).toContain('execve')
    expect(measured.nnp.false).toEqual(expect.arrayContaining(['execve', 'capset', 'setresuid']))
    for (const k of ['true', 'false']) expect(measured.measured.stability[k]).toMatch(/^5\/5 runs started/)
    const shipped = JSON.parse(readFileSync(join(repoRoot, 'profiles/runtimes/crun.json'), 'utf8')) as {nnp: {true: string[]; false: string[]}}
    // write is in the script's workload minimum, so it never shows up as measured
    expect(measured.nnp.true.filter((n) => !shipped.nnp.true.includes(n))).toEqual([])
    expect(measured.nnp.false.filter((n) => !shipped.nnp.false.includes(n))).toEqual([])
  }, 120_000)

  it('fails clearly on a bad argument', () => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'scripts/derive-layer.js'), '--runtime', 'kata'], {encoding: 'utf8'})
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/--runtime must be runc, crun or runsc/)
    expect(r.stdout).toBe('')
  })
})
