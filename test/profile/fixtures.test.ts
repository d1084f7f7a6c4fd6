/**
 * Every fixture (fixtures/*.strace, fixtures/*.obs.json) built with the defaults: the profile
 * validates, its OCI form passes the runtime-spec schema, every recorded call is allowed, and it
 * is tight. One golden file pins the exact bytes (test/profile/golden/; UPDATE_GOLDEN=1 rewrites).
 */
import {describe, expect, it} from 'vitest'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {buildProfile, readInput} from '../../src/build/pipeline.js'
import {ruleData} from '../../src/profile/data.js'
import {listRuntimeLayers} from '../../src/profile/layers.js'
import {evaluator} from '../../src/profile/evaluate.js'
import {validateProfileData} from '../../src/profile/validate.js'
import {libseccompSyscalls} from '../../native/libseccomp.js'
import {parseJson64} from '../../src/profile/json64.js'
import {findArch} from '../../src/arches.js'
import {allowedNames, repoRoot, runtimeSpecSeccomp} from './helpers.js'

const dir = join(repoRoot, 'fixtures')
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.strace') || f.endsWith('.obs.json')).sort()
const GOLDEN = 'handmade-abi-x86-x32.strace'

describe('fixtures', () => {
  it('there are fixtures to build', () => {
    expect(fixtures.length).toBeGreaterThan(0)
  })

  it.each(fixtures)('%s: valid, runtime-spec clean, allows what was recorded (safe and strict), tight', async (f) => {
    const file = join(dir, f)
    const {observation} = await readInput(file)
    const r = await buildProfile({inputs: [file]})
    const v = validateProfileData(parseJson64(r.text), f, {syscalls: libseccompSyscalls})
    expect(v.errors).toEqual([])
    expect(v.warnings).toEqual([])

    const oci = await buildProfile({inputs: [file], format: 'oci', hostArch: 'x86_64'})
    const spec = runtimeSpecSeccomp()
    expect(spec(JSON.parse(oci.text)), JSON.stringify(spec.errors)).toBe(true)

    // every recorded syscall, on the ABI it was recorded on, with the recorded argument values
    const host = findArch(observation.host.machine)?.token ?? 'SCMP_ARCH_X86_64'
    const caps = ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_CHROOT', 'CAP_SYS_NICE']
    const strict = await buildProfile({inputs: [file], args: 'strict', runtime: 'none'})
    const evs = [evaluator(r.profile, {host, caps}), evaluator(strict.profile, {host, caps})]
    const recorded = new Set<string>()
    for (const [abi, a] of Object.entries(observation.abis)) {
      for (const [name, s] of Object.entries(a!.syscalls)) {
        recorded.add(name)
        if ((s.errors?.ENOSYS ?? 0) >= s.count) continue
        const inspected = Object.entries(s.args ?? {}).filter(([, x]) => !x.unknown)
        const tries: bigint[][] = [[]]
        for (const [k, x] of inspected) for (const val of x.values) { const args: bigint[] = []; args[Number(k)] = BigInt(val); tries.push(args.map((y) => y ?? 0n)) }
        for (const args of inspected.length ? tries.slice(1) : tries) {
          for (const ev of evs) expect(ev(abi, name, args).action, `${abi} ${name}(${args.join(',')})`).toBe('SCMP_ACT_ALLOW')
        }
      }
    }
    // tight: allowed = recorded ∪ always-allowed ∪ default runtime layers (runc, crun; NNP false)
    const documented = new Set([
      ...ruleData().always.map((x) => x.name),
      ...listRuntimeLayers().filter((l) => l.runtime === 'runc' || l.runtime === 'crun').flatMap((l) => l.nnp.false),
    ])
    // (clone is the documented fallback of a recorded clone3 answered ENOSYS)
    if (recorded.has('clone3')) documented.add('clone')
    for (const n of allowedNames(r.profile)) expect(recorded.has(n) || documented.has(n), n).toBe(true)
  })

  it('adding a recording never removes a syscall (every pair of fixtures)', async () => {
    const files = fixtures.map((f) => join(dir, f))
    const alone = new Map<string, string[]>()
    for (const f of files) alone.set(f, allowedNames((await buildProfile({inputs: [f]})).profile))
    let pairs = 0
    for (const a of files) {
      for (const b of files) {
        if (a >= b) continue
        const both = new Set(allowedNames((await buildProfile({inputs: [a, b]})).profile))
        for (const n of [...alone.get(a)!, ...alone.get(b)!]) expect(both.has(n), `${n} from ${a} + ${b}`).toBe(true)
        pairs++
      }
    }
    expect(pairs).toBe((files.length * (files.length - 1)) / 2)
  })

  it(`golden: ${GOLDEN} builds to the pinned bytes`, async () => {
    const file = join(dir, GOLDEN)
    if (!existsSync(file)) throw new Error(`fixture ${GOLDEN} is missing`)
    const golden = join(repoRoot, 'test', 'profile', 'golden', `${GOLDEN}.profile.json`)
    const r = await buildProfile({inputs: [file]})
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, r.text)
    if (!existsSync(golden)) throw new Error(`golden ${golden} is missing: run with UPDATE_GOLDEN=1 and review it`)
    expect(r.text).toBe(readFileSync(golden, 'utf8'))
  })
})
