/**
 * Syscalls newer than this host's strace (6.1) and libseccomp (2.5.4), end to end with real
 * programs: lsm_list_modules (x86_64/i386 461), which strace prints as syscall_0x1cd. The kernel's
 * table (profiles/syscalls) names it in the observation, `build` keeps it, `apply` and `export`
 * skip it with one warning line (as runc does), and a number no table knows stays an error.
 */
import {existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {repoRoot, runCli} from '../helpers/cli.js'
import {realPython, tmp as profilesTmp, writeProfile} from '../apply/profiles.js'
import {allowedNames, obs} from '../profile/helpers.js'
import {buildProfile, readInput} from '../../src/build/pipeline.js'
import {loadProfile} from '../../src/profile/load.js'
import {serializeObservation} from '../../src/trace/observation-io.js'
import {Observer} from '../../src/trace/observe.js'
import type {Observation} from '../../src/trace/observation.js'
import {compileBpf} from '../../src/enforce/compile.js'

const onX64 = process.arch === 'x64'
const python = realPython()
const tmp = mkdtempSync(join(tmpdir(), 'sg-newer-'))
afterAll(() => {
  rmSync(tmp, {recursive: true, force: true})
  rmSync(profilesTmp(), {recursive: true, force: true})
})
const p = (n: string) => join(tmp, n)
const fixture = (n: string) => join(repoRoot, 'fixtures', 'newer-syscalls', n)

/** lsm_list_modules(NULL, NULL, 0), then the errno it got: EFAULT (14) unfiltered, EPERM (1) when a filter denies it. */
const LSM_CALL = 'import ctypes; c = ctypes.CDLL(None, use_errno=True); c.syscall(461, 0, 0, 0); print(ctypes.get_errno())'
const SKIP_WARNING = /^seccomp-gen: warning: skipped 1 syscall\(s\) this libseccomp \(\d+\.\d+\.\d+\) cannot name: lsm_list_modules$/

describe.runIf(onX64 && python)('a real recording of lsm_list_modules (python3 through ctypes)', () => {
  const obsFile = p('lsm.obs.json')
  const profile = p('lsm.json')

  it('record names syscall_0x1cd lsm_list_modules; build keeps it; apply runs with one warning line', async () => {
    const rec = await runCli(['record', '--quiet', '-o', obsFile, '--', python!, '-c', LSM_CALL])
    expect(rec.status, rec.stderr).toBe(0)
    expect(rec.stdout.trim()).toBe('14') // EFAULT: the kernel ran it
    const o = JSON.parse(readFileSync(obsFile, 'utf8')) as Observation
    expect(o.abis.x86_64!.syscalls.lsm_list_modules).toEqual({count: 1, errors: {EFAULT: 1}})
    expect(Object.keys(o.abis.x86_64!.syscalls).filter((n) => n.startsWith('syscall_0x'))).toEqual([])

    const b = await runCli(['build', obsFile, '-o', profile])
    expect(b.status, b.stderr).toBe(0)
    expect(allowedNames(loadProfile(profile))).toContain('lsm_list_modules')

    // this libseccomp cannot put lsm_list_modules in the filter: it gets the default action
    const a = await runCli(['apply', profile, '--', python!, '-c', LSM_CALL])
    expect(a.status, a.stderr).toBe(0)
    expect(a.stdout.trim()).toBe('1') // EPERM
    expect(a.stderrLines).toHaveLength(1)
    expect(a.stderrLines[0]).toMatch(SKIP_WARNING)
  })

  it('export --bpf writes the program and says the same one line', async () => {
    const out = p('lsm.bpf')
    const r = await runCli(['export', profile, '--bpf', out])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderrLines.filter((l) => /warning/.test(l))).toHaveLength(1)
    expect(r.stderrLines[0]).toMatch(SKIP_WARNING)
    expect(statSync(out).size % 8).toBe(0)
    expect(statSync(out).size).toBeGreaterThan(0)

    const j = await runCli(['export', profile, '--bpf', out, '--json'])
    const res = JSON.parse(j.stdout) as {newerNames: string[]; unknownNames: string[]; warnings: string[]}
    expect(res).toMatchObject({newerNames: ['lsm_list_modules'], unknownNames: []})
    expect(res.warnings).toHaveLength(1)
  })

  it('validate calls it a newer syscall, not an unknown one', async () => {
    const r = await runCli(['validate', profile, '--json'])
    const v = JSON.parse(r.stdout) as {profiles: Array<{warnings: Array<{code: string; message: string}>}>}
    const w = v.profiles[0]!.warnings
    expect(w.map((x) => x.code)).toContain('NEWER_SYSCALL')
    expect(w.map((x) => x.code)).not.toContain('UNKNOWN_SYSCALL')
    expect(w.find((x) => x.code === 'NEWER_SYSCALL')!.message).toMatch(/^lsm_list_modules is a syscall of Linux 6\.18 \(x86_64 461\)/)
  })
})

describe('the raw strace logs in fixtures/newer-syscalls', () => {
  it('lsm-list-modules.strace: syscall_0x1cd in x86_64 and i386, syscall_0x400001cd in x32, all named', async () => {
    expect(readFileSync(fixture('lsm-list-modules.strace'), 'utf8')).toMatch(/syscall_0x1cd\(.*\n.*32 bit mode[^]*syscall_0x400001cd\(/)
    const {observation} = await readInput(fixture('lsm-list-modules.strace'))
    for (const abi of ['x86_64', 'x86', 'x32'] as const) {
      expect(Object.keys(observation.abis[abi]!.syscalls), abi).toContain('lsm_list_modules')
    }
    expect(observation.abis.x32!.syscalls.lsm_list_modules!.errors).toEqual({ENOSYS: 1})
  })

  it('lsm-list-modules.strace builds (exit 0) into a profile allowing it on the three ABIs', async () => {
    const out = p('fixture.json')
    const r = await runCli(['build', fixture('lsm-list-modules.strace'), '-o', out])
    expect(r.status, r.stderr).toBe(0)
    const prof = loadProfile(out)
    expect(prof.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'])
    expect(allowedNames(prof)).toContain('lsm_list_modules')
  })

  it('syscall-999.strace: a number no table knows fails naming it (exit 3), nothing written', async () => {
    const out = p('999.json')
    const r = await runCli(['build', fixture('syscall-999.strace'), '-o', out])
    expect(r.status).toBe(3)
    expect(r.stderr).toMatch(/syscall numbers neither strace, the kernel's syscall table \(profiles\/syscalls\) nor libseccomp can name: syscall_0x3e7 \(x86_64\)/)
    expect(existsSync(out)).toBe(false)
  })
})

describe('the observation boundary', () => {
  it('one syscall printed by name (a newer strace) and as syscall_0x1cd (strace 6.1) is counted once, merged', () => {
    const o = new Observer({command: ['t'], host: {kernel: 'k', machine: 'x86_64'}})
    o.push(Buffer.from('7 lsm_list_modules(NULL, NULL, 0) = -1 EFAULT (Bad address)\n7 syscall_0x1cd(0, 0, 0, 0, 0, 0) = -1 EINVAL (Invalid argument)\n7 exit_group(0) = ?\n'))
    const s = o.end().abis.x86_64!.syscalls
    expect(Object.keys(s).sort()).toEqual(['exit_group', 'lsm_list_modules'])
    expect(s.lsm_list_modules).toEqual({count: 2, errors: {EFAULT: 1, EINVAL: 1}})
  })
})

describe('observations written before the tables', () => {
  it('a stored syscall_0x1cd is named through the table; syscall_0x3e7 stays an error naming it', async () => {
    const old = p('old.obs.json')
    writeFileSync(old, serializeObservation(obs({x86_64: {read: 1, exit_group: 1, syscall_0x1cd: {count: 2, errors: {EFAULT: 2}}}})))
    const r = await buildProfile({inputs: [old]})
    expect(allowedNames(r.profile)).toContain('lsm_list_modules')
    expect(r.text).not.toMatch(/syscall_0x/)

    const bad = p('bad.obs.json')
    writeFileSync(bad, serializeObservation(obs({x86_64: {read: 1, syscall_0x3e7: 1}})))
    await expect(buildProfile({inputs: [bad]})).rejects.toThrow(/can name: syscall_0x3e7 \(x86_64\)/)
  })
})

describe.runIf(onX64)('apply and export: table-known names versus names nobody knows', () => {
  it('a table-known name is skipped without --allow-unknown; a name neither knows still needs it', async () => {
    const newer = writeProfile('newer', {allow: ['mmap', 'mseal', 'lsm_list_modules']})
    const ok = await runCli(['apply', newer, '--', 'true'])
    expect(ok.status, ok.stderr).toBe(0)
    expect(ok.stderrLines).toEqual([expect.stringMatching(/^seccomp-gen: warning: skipped 2 syscall\(s\) this libseccomp \(\d+\.\d+\.\d+\) cannot name: lsm_list_modules mseal$/)])

    const bogus = writeProfile('bogus', {allow: ['mmap', 'lsm_list_modules', 'not_a_syscall']})
    const no = await runCli(['apply', bogus, '--', 'true'])
    expect(no.status).toBe(3)
    expect(no.stderr).toMatch(/1 syscall name\(s\) do not exist for SCMP_ARCH_X86_64 in libseccomp: not_a_syscall \(--allow-unknown/)
    const yes = await runCli(['apply', bogus, '--allow-unknown', '--', 'true'])
    expect(yes.status, yes.stderr).toBe(0)
  })

  it('compileBpf: x32 map_shadow_stack (libseccomp 2.5.4: absent on x32, Linux 6.18: common) is a newer name', () => {
    const r = compileBpf({defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X32'], syscalls: [{names: ['exit_group', 'map_shadow_stack', 'not_a_syscall'], action: 'SCMP_ACT_ALLOW'}]})
    expect(r.newerNames).toEqual(['map_shadow_stack'])
    expect(r.unknownNames).toEqual(['not_a_syscall'])
    expect(r.notes.filter((n) => n.kind === 'newer-syscall')).toHaveLength(1)
  })
})
