/**
 * seccomp-gen check, the CI gate: the real CLI and the library on real recordings (fixtures/
 * observations and strace logs, and a fresh strace recording), with profiles the project
 * builds from them, copies that lack one call, Docker's default and a bundle's config.json.
 */
import {beforeAll, describe, expect, it} from 'vitest'
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {runCli} from '../helpers/cli.js'
import {anchor} from '../helpers/anchors.js'
import {obs, repoRoot} from '../helpers/profile.js'
import {checkRecordings, DOCKER_DEFAULT} from '../../src/build/check.js'
import {serializeObservation} from '../../src/trace/observation-io.js'

const tmp = mkdtempSync(join(tmpdir(), 'sg-check-'))
const p = (n: string) => join(tmp, n)
const fixture = (n: string) => join(repoRoot, 'fixtures', n)
const httpObs = fixture('http-server.obs.json')
const httpLog = fixture('http-server.strace')

/** A built profile (JSON text) changed in code, written to `name`. */
function edited(from: string, name: string, change: (prof: {syscalls: Array<{names: string[]; action: string; args?: Array<{valueTwo?: number}>}>}) => void): string {
  const prof = JSON.parse(readFileSync(from, 'utf8'))
  change(prof)
  writeFileSync(p(name), JSON.stringify(prof, null, 2))
  return p(name)
}

let strict = '' // built from http-server.obs.json with --args strict
let lacking = '' // the same without bind and without ioctl 0x5451

beforeAll(async () => {
  strict = p('http.json')
  const b = await runCli(['build', '-q', '--args', 'strict', '-o', strict, httpObs])
  expect(b.status).toBe(0)
  lacking = edited(strict, 'http-lacking.json', (prof) => {
    prof.syscalls = prof.syscalls.filter((r) => !(r.names.includes('ioctl') && r.args?.[0].valueTwo === 0x5451))
    for (const r of prof.syscalls) r.names = r.names.filter((n) => n !== 'bind')
  })
})

describe('seccomp-gen check', () => {
  it('exit 0 when every recorded call passes: the profile built from the recording, read as observation and as strace log', async () => {
    for (const input of [httpObs, httpLog]) {
      const r = await runCli(['check', strict, input])
      expect(r.stderr).toBe('')
      expect(r.status).toBe(0)
      expect(r.stdout).toContain('x86_64: all 63 recorded syscalls pass')
      expect(r.stdout).toContain(`${strict}: every recorded call passes`)
    }
  })

  it('exit 1 and names each denied call, its argument values and what answers it', async () => {
    const r = await runCli(['check', lacking, httpObs])
    expect(r.status).toBe(1)
    expect(r.stderr).toBe('')
    expect(r.stdout.split('\n')).toEqual(expect.arrayContaining([
      'x86_64: 2 of 63 recorded syscalls not let through',
      '  bind -> SCMP_ACT_ERRNO(EPERM) by the default action; recorded x1',
      '  ioctl arg1=0x5451 -> SCMP_ACT_ERRNO(EPERM) by the default action; recorded x177 (all arguments), failing: ENOTTY x172',
      `${lacking}: 2 recorded syscalls not let through`,
    ]))
    // the other recorded requests still pass
    expect(r.stdout).not.toContain('0x5401')
  })

  it('--json: the same report, machine-readable, exit 1', async () => {
    const r = await runCli(['check', '--json', lacking, httpLog])
    expect(r.status).toBe(1)
    const j = JSON.parse(r.stdout)
    expect(j.passed).toBe(false)
    expect(j.inputs[0]).toMatchObject({file: httpLog, kind: 'strace'})
    const denied = j.abis[0].denied
    expect(denied.map((d: {name: string}) => d.name)).toEqual(['bind', 'ioctl'])
    expect(denied[1]).toMatchObject({args: ['arg1=0x5451'], action: 'SCMP_ACT_ERRNO', errno: 1, by: 'default action'})
  })

  it('names the rule that answers a call: a rule of the profile that kills it', async () => {
    const killing = edited(strict, 'kill-bind.json', (prof) => { prof.syscalls.push({names: ['bind'], action: 'SCMP_ACT_KILL_PROCESS'}) })
    const r = await runCli(['check', '--json', killing, httpObs])
    expect(r.status).toBe(1)
    const d = JSON.parse(r.stdout).abis[0].denied
    expect(d).toHaveLength(1)
    expect(d[0]).toMatchObject({name: 'bind', action: 'SCMP_ACT_KILL_PROCESS'})
    expect(d[0].by.pointer).toMatch(/^\/syscalls\/\d+$/)
  })

  it('per ABI: an i386 recording against a profile without SCMP_ARCH_X86', async () => {
    const r = await runCli(['check', strict, fixture('i386-getpid.obs.json')])
    expect(r.status).toBe(1)
    expect(r.stdout).toContain('x86: 3 of 3 recorded syscalls not let through')
    expect(r.stdout).toContain('  getpid -> SCMP_ACT_KILL_THREAD (architecture not in the filter); recorded x1')
    expect(r.stdout).toContain('x86_64: the one recorded syscall passes')
  })

  it("a fresh recording: a shell's mkdir is what Docker's default lets through and a profile without mkdir does not", async () => {
    const work = p('work')
    mkdirSync(work)
    const log = p('sh.strace')
    execFileSync('strace', ['-f', '-o', log, 'sh', '-c', 'mkdir d; ls d'], {cwd: work})
    const built = p('sh.json')
    expect((await runCli(['build', '-q', '-o', built, log])).status).toBe(0)
    expect((await runCli(['check', built, log])).status).toBe(0)
    expect((await runCli(['check', anchor('docker-default.json'), log])).status).toBe(0)
    const noMkdir = edited(built, 'sh-no-mkdir.json', (prof) => { for (const r of prof.syscalls) r.names = r.names.filter((n) => n !== 'mkdir') })
    const r = await runCli(['check', noMkdir, log])
    expect(r.status).toBe(1)
    expect(r.stdout).toMatch(/^ {2}mkdir -> SCMP_ACT_ERRNO\(EPERM\) by the default action; recorded x1$/m)
  })

  it("the profile inside a bundle's config.json", async () => {
    const cfg = p('config.json')
    writeFileSync(cfg, `{"ociVersion": "1.2.0", "process": {"args": ["sh"]}, "linux": {"seccomp": ${readFileSync(lacking, 'utf8')}}}`)
    const r = await runCli(['check', '--json', cfg, httpObs])
    expect(r.status).toBe(1)
    expect(JSON.parse(r.stdout)).toMatchObject({profile: {format: 'bundle-config'}})
  })

  it("--score: the profile beside Docker's default, names and risky classes", async () => {
    const r = await runCli(['check', '--json', '--score', strict, httpObs])
    expect(r.status).toBe(0)
    const s = JSON.parse(r.stdout).score
    expect(s.arch).toBe('SCMP_ARCH_X86_64')
    // the built profile allows far fewer names; Docker's default ~300 on x86_64
    expect(s.profile.allowed).toBeGreaterThan(40)
    expect(s.profile.allowed).toBeLessThan(120)
    expect(s.reference.allowed).toBeGreaterThan(280)
    expect(s.reference.risky.tracing).toEqual(expect.arrayContaining(['ptrace']))
    expect(s.profile.risky.tracing).toBeUndefined()
    expect(s.onlyProfile).toEqual([])
    const text = await runCli(['check', '--score', strict, httpObs])
    expect(text.stdout).toMatch(/^ {2}names allowed: \d+ \(\d+ only with some arguments\); Docker's default: \d+/m)
    expect(text.stdout).toMatch(/^ {4}tracing: - \| .*ptrace/m)
  })

  it.each([
    ['a recording given as the profile', () => [httpObs, httpObs], /is an observation file \(from seccomp-gen record\), not a seccomp profile/],
    ['a profile given as the recording', () => [strict, strict], /is a seccomp profile, not an observation file/],
    ['an observation of a newer schema version', () => [strict, p('v2.obs.json')], /v2\.obs\.json: observation version 2 is newer than this seccomp-gen reads \(1\); upgrade seccomp-gen$/],
    ['a YAML that is not a SeccompProfile', () => [p('cm.yaml'), httpObs], /cm\.yaml: not a SeccompProfile: its YAML holds ConfigMap/],
    ['a missing file', () => [p('none.json'), httpObs], /none\.json: cannot read profile: no such file or directory/],
    ['no INPUT', () => [strict], /missing INPUT/],
  ])('exit 2 with one line: %s', async (_what, args, message) => {
    writeFileSync(p('v2.obs.json'), readFileSync(httpObs, 'utf8').replace('"version": 1', '"version": 2'))
    writeFileSync(p('cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n')
    const r = await runCli(['check', ...args()])
    expect(r.status).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderrLines).toHaveLength(1)
    expect(r.stderrLines[0]).toMatch(message)
  })
})

describe('checkRecordings (library): calls that fail anyway', () => {
  const write = (name: string, o: ReturnType<typeof obs>) => { writeFileSync(p(name), serializeObservation(o)); return p(name) }

  it('passes, with a note, an ENOSYS probe answered ENOSYS and a call that always failed with the errno the profile answers', async () => {
    const file = write('failing.obs.json', obs({x86_64: {
      read: 3,
      clone3: 2, // succeeded when recorded; Docker's default answers ENOSYS: glibc falls back to clone
      kexec_load: {count: 1, errors: {EPERM: 1}}, // failed with EPERM: Docker's default answers EPERM
      reboot: {count: 2, errors: {EINVAL: 2}}, // failed with EINVAL: EPERM is another answer
    }}))
    const r = await checkRecordings({profile: DOCKER_DEFAULT(), inputs: [file]})
    expect(r.passed).toBe(false)
    const abi = r.abis[0]
    expect(abi.denied.map((d) => d.name)).toEqual(['reboot'])
    expect(abi.denied[0]).toMatchObject({answer: 'SCMP_ACT_ERRNO(EPERM)', recordedErrors: {EINVAL: 2}})
    expect(abi.notes.map((n) => n.name)).toEqual(['clone3', 'kexec_load'])
  })

  it('an argument the profile filters on that the recording did not keep is tried at its boundaries', async () => {
    const prof = p('write-fd.json')
    writeFileSync(prof, JSON.stringify({defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [
      {names: ['read', 'exit_group'], action: 'SCMP_ACT_ALLOW'},
      {names: ['write'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 1, op: 'SCMP_CMP_EQ'}]},
    ]}))
    const r = await checkRecordings({profile: prof, inputs: [write('write.obs.json', obs({x86_64: {read: 1, write: 2, exit_group: 1}}))]})
    expect(r.passed).toBe(false)
    expect(r.abis[0].denied).toEqual([expect.objectContaining({name: 'write', args: [], unrecordedArgs: [0]})])
  })

  it("--caps: the container's capabilities open what the profile gates on them", async () => {
    const plain = await checkRecordings({profile: strict, inputs: [httpObs]})
    expect(plain.abis[0].notes.map((n) => n.name)).toEqual(['clone3']) // answered ENOSYS without CAP_SYS_ADMIN
    const admin = await checkRecordings({profile: strict, inputs: [httpObs], caps: ['CAP_SYS_ADMIN']})
    expect(admin.passed).toBe(true)
    expect(admin.abis[0].notes).toEqual([]) // allowed outright
    expect(admin.context.caps).toEqual(['CAP_SYS_ADMIN'])
  })

  it('a profile that lists no architecture holds only the host\'s: an i386 recording is killed', async () => {
    const prof = p('no-arches.json')
    writeFileSync(prof, JSON.stringify({defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['execve', 'exit', 'getpid', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW'}]}))
    const r = await checkRecordings({profile: prof, inputs: [fixture('i386-getpid.obs.json')]})
    expect(r.abis.map((a) => [a.abi, a.denied.map((d) => d.answer)])).toEqual([
      ['x86', ['SCMP_ACT_KILL_THREAD (architecture not in the filter)', 'SCMP_ACT_KILL_THREAD (architecture not in the filter)', 'SCMP_ACT_KILL_THREAD (architecture not in the filter)']],
      ['x86_64', []],
    ])
  })

  it('the shipped Docker default is the vendored copy, byte for byte', () => {
    expect(readFileSync(DOCKER_DEFAULT(), 'utf8')).toBe(readFileSync(anchor('docker-default.json'), 'utf8'))
  })
})
