import {beforeAll, describe, expect, it} from 'vitest'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {anchor} from '../helpers/anchors.js'
import {runCli} from '../helpers/cli.js'
import {serializeObservation} from '../../src/trace/observation-io.js'
import {loadProfile} from '../../src/profile/load.js'
import {evaluator} from '../../src/profile/evaluate.js'
import {buildProfile, DEFAULT_RUNTIMES, type BuildOptions} from '../../src/build/pipeline.js'
import {SeccompGenError, type ErrorCode} from '../../src/errors.js'
import {allowedNames, MOBY_ONLY, obs, runtimeSpecSeccomp} from '../helpers/profile.js'

const tmp = mkdtempSync(join(tmpdir(), 'sg-build-'))
const p = (n: string) => join(tmp, n)
let straceLog = ''
let obsFile = ''

beforeAll(() => {
  // A real recording: a shell with a subshell, a pipe and a mkdir, under strace -f.
  const work = p('work')
  mkdirSync(work)
  straceLog = p('sh.strace')
  execFileSync('strace', ['-f', '-o', straceLog, 'sh', '-c', 'ls / | wc -l >/dev/null; mkdir d; (cd d && touch f)'], {cwd: work})
  obsFile = p('net.obs.json')
  writeFileSync(obsFile, serializeObservation(obs({x86_64: {
    socket: {count: 2, args: {0: ['0x2']}}, connect: 2, mount: 1,
    ioctl: {count: 1, args: {1: ['0xffffffff80045430']}},
    personality: {count: 1, args: {0: ['0xffffffff']}},
  }})))
})

describe('seccomp-gen build', () => {
  it('builds a valid Docker profile from a raw strace log, to stdout', async () => {
    const r = await runCli(['build', straceLog])
    expect(r.status).toBe(0)
    const file = p('stdout.json')
    writeFileSync(file, r.stdout)
    const prof = loadProfile(file)
    expect(prof.architectures).toEqual(['SCMP_ARCH_X86_64'])
    const names = allowedNames(prof)
    for (const n of ['execve', 'mkdir', 'exit_group', 'pipe2', 'wait4']) expect(names).toContain(n)
    expect(evaluator(prof, {host: 'x86_64'})('x86_64', 'unshare', [0x40000000]).action).toBe('SCMP_ACT_ERRNO')
  })

  it('is byte-identical across runs and writes -o FILE atomically', async () => {
    const a = await runCli(['build', '-q', '-o', p('a.json'), straceLog, obsFile])
    const b = await runCli(['build', '-q', '-o', p('b.json'), obsFile, straceLog])
    expect(a.status).toBe(0)
    expect(b.status).toBe(0)
    expect(a.stdout).toBe('')
    expect(readFileSync(p('a.json'), 'utf8')).toBe(readFileSync(p('b.json'), 'utf8'))
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('merges an observation and a log: the union of both', async () => {
    const r = await runCli(['build', '-q', straceLog, obsFile])
    writeFileSync(p('u.json'), r.stdout)
    const names = allowedNames(loadProfile(p('u.json')))
    expect(names).toContain('mkdir')
    expect(names).toContain('connect')
  })

  it('keeps u64 values exact from observation to profile', async () => {
    const r = await runCli(['build', '-q', '--args', 'strict', obsFile])
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('"value": 4294967295')
    expect(r.stdout).toContain('"valueTwo": 2147767344') // 0x80045430: low 32 bits of the sign-extended request
  })

  it('--format oci: plain linux.seccomp, valid for the runtime-spec schema, caps resolved', async () => {
    const plain = await runCli(['build', '-q', '--format', 'oci', obsFile])
    const admin = await runCli(['build', '-q', '--format', 'oci', '--caps', 'CAP_SYS_ADMIN', obsFile])
    for (const r of [plain, admin]) {
      expect(r.status).toBe(0)
      const json = JSON.parse(r.stdout) as Record<string, unknown> & {syscalls: Array<Record<string, unknown>>}
      const v = runtimeSpecSeccomp()
      expect(v(json), JSON.stringify(v.errors)).toBe(true)
      for (const k of MOBY_ONLY) {
        expect(json).not.toHaveProperty(k)
        for (const rule of json.syscalls) expect(rule).not.toHaveProperty(k)
      }
    }
    const has = (s: string) => (JSON.parse(s) as {syscalls: Array<{names: string[]; action: string}>}).syscalls.some((x) => x.names.includes('mount') && x.action === 'SCMP_ACT_ALLOW')
    expect(has(plain.stdout)).toBe(false)
    expect(has(admin.stdout)).toBe(true)
  })

  it('--json reports the build for CI', async () => {
    const r = await runCli(['build', '--json', '-o', p('j.json'), obsFile])
    expect(r.status).toBe(0)
    const j = JSON.parse(r.stdout) as {output: string; format: string; stats: {allowed: number; arches: string[]}; inputs: Array<{kind: string}>}
    expect(j.output).toBe(p('j.json'))
    expect(j.format).toBe('docker')
    expect(j.stats.arches).toEqual(['SCMP_ARCH_X86_64'])
    expect(j.inputs[0].kind).toBe('observation')
    expect(j.stats.allowed).toBe(allowedNames(loadProfile(p('j.json'))).length)
  })

  it('--json without -o carries the profile text; --arch before INPUT adds an ABI', async () => {
    const r = await runCli(['build', '--json', '--arch', 'x86', '--arch', 'x32', obsFile])
    expect(r.status).toBe(0)
    const j = JSON.parse(r.stdout) as {output: string; profile: string}
    expect(j.output).toBe('-')
    writeFileSync(p('arch.json'), j.profile)
    expect(loadProfile(p('arch.json')).architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'])
  })

  it('an unparsable strace line is reported with its line number, and the build goes on', async () => {
    writeFileSync(p('mixed.strace'), '100   read(3, "x", 1) = 1\n100   this is not a syscall line\n100   write(1, "x", 1) = 1\n')
    const r = await runCli(['build', '--json', '-o', p('mixed.json'), p('mixed.strace')])
    expect(r.status).toBe(0)
    const j = JSON.parse(r.stdout) as {diagnostics: string[]; inputs: Array<{unparsed: number; calls: number}>}
    expect(j.inputs[0]).toMatchObject({unparsed: 1, calls: 2})
    expect(j.diagnostics.some((d) => d.startsWith(`${p('mixed.strace')}:2:`))).toBe(true)
  })

  it('--runtime none --args none --default-action kill-process', async () => {
    const r = await runCli(['build', '-q', '--runtime', 'none', '--args', 'none', '--default-action', 'kill-process', obsFile])
    expect(r.status).toBe(0)
    writeFileSync(p('k.json'), r.stdout)
    const prof = loadProfile(p('k.json'))
    expect(prof.defaultAction).toBe('SCMP_ACT_KILL_PROCESS')
    expect(allowedNames(prof)).not.toContain('capset')
    expect(prof.syscalls!.every((x) => !x.args)).toBe(true)
  })

  it("adds the layer of the runtime a recording names (record --bundle); an explicit --runtime wins", async () => {
    const write = (name: string, runtime?: 'runc' | 'crun') => {
      const o = obs({x86_64: {read: 1, write: 1, exit_group: 1}})
      if (runtime) o.runtime = runtime
      writeFileSync(p(name), serializeObservation(o))
      return p(name)
    }
    const crun = write('crun.obs.json', 'crun')
    const host = write('host.obs.json')
    const runtimes = async (o: BuildOptions) => (await buildProfile(o)).stats.runtimes
    expect(await runtimes({inputs: [crun]})).toEqual(['runc', 'crun'])
    expect(await runtimes({inputs: [crun], runtime: 'runc'})).toEqual(['runc'])
    expect(await runtimes({inputs: [crun], runtime: 'none'})).toEqual([])
    // crun is among the defaults: with the defaults narrowed to runc, the named layer shows
    const saved = DEFAULT_RUNTIMES.splice(0, DEFAULT_RUNTIMES.length, 'runc')
    try {
      expect(await runtimes({inputs: [host]})).toEqual(['runc'])
      expect(await runtimes({inputs: [crun]})).toEqual(['runc', 'crun'])
      // read from each input: a merge of crun's and a host recording names no runtime
      expect(await runtimes({inputs: [host, crun]})).toEqual(['runc', 'crun'])
    } finally {
      DEFAULT_RUNTIMES.splice(0, DEFAULT_RUNTIMES.length, ...saved)
    }
  })

  describe('bad input: one SeccompGenError with its exit code (direct calls to buildProfile)', () => {
    const cases: Array<[string, () => BuildOptions, ErrorCode]> = [
      ['malformed observation', () => { writeFileSync(p('bad.obs.json'), '{"schema": "seccomp-gen/observation", "version": 1, "abis": 3}'); return {inputs: [p('bad.obs.json')]} }, 'OBSERVATION_INVALID'],
      ['truncated observation JSON', () => { writeFileSync(p('trunc.obs.json'), '{"schema": "seccomp-gen/observation", "version": 1, "abis": {'); return {inputs: [p('trunc.obs.json')]} }, 'OBSERVATION_INVALID'],
      ['empty file', () => { writeFileSync(p('empty'), ''); return {inputs: [p('empty')]} }, 'OBSERVATION_INVALID'],
      ['text that is not a trace', () => { writeFileSync(p('notes.txt'), 'hello\nworld\n'); return {inputs: [p('notes.txt')]} }, 'OBSERVATION_INVALID'],
      ['missing file', () => ({inputs: [p('does-not-exist')]}), 'IO'],
      ['a profile given as input', () => ({inputs: [anchor('docker-default.json')]}), 'OBSERVATION_INVALID'],
      ['binary garbage', () => { writeFileSync(p('garbage.bin'), Buffer.from([0, 1, 2, 255, 254, 10, 0, 0])); return {inputs: [p('garbage.bin')]} }, 'OBSERVATION_INVALID'],
      ['a directory', () => ({inputs: [tmp]}), 'IO'],
      ['--errno with a non-errno default action', () => ({inputs: [obsFile], defaultAction: 'kill-process', errno: 'EPERM'}), 'USAGE'],
      ['unknown errno', () => ({inputs: [obsFile], errno: 'EFOO'}), 'USAGE'],
      ['--caps without --format oci', () => ({inputs: [obsFile], caps: ['CAP_SYS_ADMIN']}), 'USAGE'],
      ['--no-new-privileges with --runtime none', () => ({inputs: [obsFile], runtime: 'none', noNewPrivileges: true}), 'USAGE'],
      ['unknown runtime', () => ({inputs: [obsFile], runtime: 'lxc'}), 'USAGE'],
      ['empty --runtime', () => ({inputs: [obsFile], runtime: ''}), 'USAGE'],
      ['--runtime of separators only', () => ({inputs: [obsFile], runtime: ' , '}), 'USAGE'],
      ['unknown arch', () => ({inputs: [obsFile], arches: ['vax']}), 'USAGE'],
      ['unknown base profile', () => ({inputs: [obsFile], base: p('nope.json')}), 'IO'],
      ['no input', () => ({inputs: []}), 'USAGE'],
    ]
    it.each(cases)('%s', async (_what, make, code) => {
      const err = await buildProfile(make()).then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(SeccompGenError)
      expect((err as SeccompGenError).code).toBe(code)
      expect((err as SeccompGenError).message).not.toContain('\n')
    })

    it('an empty --runtime names the fix (the library says it, not only the command)', async () => {
      const err = await buildProfile({inputs: [obsFile], runtime: ' , '}).then(() => undefined, (e: unknown) => e)
      expect((err as Error).message).toBe('--runtime is empty: name the runtime layers (e.g. runc,crun) or none')
    })

    // Two through the real CLI: the one line on stderr, the exit code, nothing written.
    it.each([
      ['a profile given as input (the file kind named)', () => [anchor('docker-default.json')], 1, /docker-default.json is a seccomp profile, not an observation file .* or an strace log$/],
      ["unknown --format (oclif's own option check)", () => ['--format', 'yaml', obsFile], 2, /--format/],
    ] as Array<[string, () => string[], number, RegExp]>)('CLI: %s', async (_what, make, status, message) => {
      const out = p(`out-${Math.random().toString(36).slice(2)}.json`)
      const r = await runCli(['build', '-o', out, ...make()])
      expect(r.status).toBe(status)
      expect(r.stderrLines, r.stderr).toHaveLength(1)
      expect(r.stderrLines[0]).toMatch(message)
      expect(existsSync(out)).toBe(false)
    })

    it('an unwritable output fails before reading inputs', async () => {
      const r = await runCli(['build', '-o', join(tmp, 'no-such-dir', 'x.json'), obsFile])
      expect(r.status).not.toBe(0)
    })
  })
})
