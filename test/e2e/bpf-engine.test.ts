/**
 * The bpf recording engine against the strace engine, end to end: the built CLI, the real kernel,
 * real strace, real programs (issue #11's tests).
 * - the fixture workloads recorded with each engine give the same syscall names per ABI, the
 *   same inspected argument values and the same execs (counts too, where the program is
 *   deterministic); and both engines on the very same processes give the same observation;
 * - processes outside the recorded tree leave no trace;
 * - every cause that keeps the bpf engine from running is one line, exit 4, nothing written and
 *   CMD never run (and with --engine auto, one line and a recording by strace);
 * - --pid: a running process, its threads and its future descendants.
 */
import {spawn, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {release, tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {bpfUnavailable} from '../../src/trace/bpf/engine.js'
import {readObservation} from '../../src/trace/observation-io.js'
import type {Observation} from '../../src/trace/observation.js'
import {cliError, cliPath, repoRoot, runCli, waitFor, type CliResult} from '../helpers/cli.js'
import {diffLines, diffObservations, namesByAbi} from '../helpers/observation-diff.js'
import {recordWithBoth} from '../helpers/both-engines.js'

const why = process.getuid?.() !== 0
  ? 'these tests run as root (loading BPF needs it)'
  : bpfUnavailable() ?? (spawnSync('strace', ['-V']).status !== 0 ? 'strace is not installed (.ci/run installs it)' : undefined)
if (why) console.warn(`[skip] bpf engine tests: ${why}`)

/** python3 as a program, not pyenv's shell-script shim (whose own processes would be recorded) */
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], {encoding: 'utf8'}).stdout.trim()
const testFixture = (name: string) => join(repoRoot, 'test', 'fixtures', name)

let root: string
let elves: string
let n = 0
function tempDir(): string {
  const d = join(root, `t${++n}`)
  mkdirSync(d)
  return d
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'seccomp-gen-bpf-test-'))
  chmodSync(root, 0o711) // the unprivileged user's tests reach their own directories in it
  elves = join(root, 'elves')
  mkdirSync(elves)
  const r = spawnSync(python, [join(repoRoot, 'fixtures', 'scripts', 'abi-elves.py'), elves], {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`abi-elves.py failed: ${r.stderr}`)
})

afterAll(() => {
  rmSync(root, {recursive: true, force: true})
})

/** Why the ELF program cannot run here (no IA32 emulation in the kernel), or undefined. */
function elfMissing(name: string): string | undefined {
  const r = spawnSync(join(elves, name), {stdio: 'ignore'})
  return r.status === 0 ? undefined : `${name} does not run here (status ${r.status}, ${r.signal ?? 'no signal'}): the kernel lacks IA32 emulation`
}

/** record CMD with this engine into dir; the observation (schema-checked on read). */
async function recordWith(engine: 'bpf' | 'strace', cmd: string[], dir: string, cwd = repoRoot): Promise<Observation> {
  const out = join(dir, `${engine}.obs.json`)
  const r = await runCli(['record', '-q', '--engine', engine, '-o', out, '--', ...cmd], {cwd, timeoutMs: 120_000})
  expect(r.status, `record --engine ${engine} -- ${cmd.join(' ')}: ${r.stderr}`).toBe(0)
  return readObservation(out)
}

interface Workload {
  name: string
  cmd: () => string[]
  /** same counts and errors in every run: compared exactly across two runs */
  deterministic?: boolean
  /** why it cannot run here */
  missing?: () => string | undefined
  /** what the workload must show (so a comparison of two empty observations cannot pass) */
  check: (o: Observation) => void
}

const sc = (o: Observation, abi = 'x86_64') => o.abis[abi]?.syscalls ?? {}
const elf = (name: string, check: Workload['check']): Workload => ({name, cmd: () => [join(elves, name)], deterministic: true, missing: () => elfMissing(name), check})
/** one process, builtins only: the same syscalls in every run */
const BUILTINS_SCRIPT = 'cd /; for f in etc usr; do [ -d $f ] && echo $f; done >/dev/null; read l </etc/hostname; echo "$l" >/dev/null'

const WORKLOADS: Workload[] = [
  {name: 'busybox shell script', cmd: () => ['/bin/busybox', 'sh', 'fixtures/scripts/shell-workload.sh'], check: (o) => {
    expect(o.execs).toEqual(expect.arrayContaining(['/bin/busybox']))
    expect(sc(o).rt_sigreturn?.count, 'the background job').toBeGreaterThanOrEqual(1)
  }},
  {name: 'http.server with requests', cmd: () => [python, 'fixtures/scripts/http-server.py'], check: (o) => {
    expect(sc(o).socket?.args?.['0']?.values).toContain('0x2') // AF_INET
    expect(sc(o).accept4?.count ?? sc(o).accept?.count).toBeGreaterThanOrEqual(4)
  }},
  {name: 'tar + gzip', cmd: () => ['sh', 'fixtures/scripts/tar-gzip.sh'], check: (o) => {
    expect(o.execs.filter((e) => /\/(tar|gzip|diff)$/.test(e))).toHaveLength(3)
  }},
  {name: 'node workers', cmd: () => ['node', 'fixtures/scripts/node-workers.mjs'], check: (o) => {
    expect(sc(o).clone3?.count ?? sc(o).clone?.count).toBeGreaterThanOrEqual(2)
    expect(o.stats.processes, 'threads').toBeGreaterThan(3)
  }},
  elf('i386-getpid', (o) => expect(namesByAbi(o)).toEqual({x86: ['exit', 'getpid', 'write'], x86_64: ['execve']})),
  elf('i386-waitpid', (o) => expect(sc(o, 'x86').waitpid).toEqual({count: 1, errors: {ECHILD: 1}})),
  elf('x32-getpid', (o) => expect(sc(o, 'x32').getpid?.count).toBe(1)),
  elf('lsm-list-modules', (o) => {
    for (const abi of ['x86_64', 'x86', 'x32']) expect(sc(o, abi).lsm_list_modules?.count, abi).toBe(1)
  }),
  elf('syscall-999', (o) => expect(sc(o).syscall_0x3e7).toEqual({count: 1, errors: {ENOSYS: 1}})),
  {name: 'double-forking daemon', cmd: () => [python, testFixture('double-fork.py')], check: (o) => {
    expect(sc(o).getpriority?.count, "the daemon's call, after its parents exited").toBe(1)
    expect(sc(o).setsid?.count).toBe(1)
    expect(o.stats.processes).toBe(3)
  }},
  {name: 'exec from a non-leader thread', cmd: () => [python, testFixture('thread-exec.py')], check: (o) => {
    expect(o.execs).toEqual(expect.arrayContaining(['/bin/true']))
    expect(Object.keys(sc(o))).toContain('exit_group') // true's exit, in the tree after the exec
  }},
  {name: 'single-threaded busybox script', deterministic: true, cmd: () => ['/bin/busybox', 'sh', '-c', BUILTINS_SCRIPT], check: (o) => {
    expect(sc(o).chdir?.count).toBe(1)
    expect(o.stats.processes).toBe(1)
  }},
  {name: 'single-threaded python script', deterministic: true, cmd: () => [python, '-c', "import os; os.getcwd(); open('/etc/hostname').read()"], check: (o) => {
    expect(sc(o).getcwd?.count).toBeGreaterThanOrEqual(1)
    expect(o.stats.processes).toBe(1)
  }},
]

/** Runs of a timing-dependent workload before a difference of names, values or execs fails the test. */
const ATTEMPTS = 3

describe.skipIf(why !== undefined)('the same workloads recorded by each engine', () => {
  for (const w of WORKLOADS) {
    it(`${w.name}: the same names per ABI, argument values and execs${w.deterministic ? ', and the same counts' : ''}`, async (ctx) => {
      const missing = w.missing?.()
      if (missing) {
        console.warn(`[skip] ${w.name}: ${missing}`)
        ctx.skip()
      }
      for (let attempt = 1; ; attempt++) {
        const dir = tempDir()
        const bpf = await recordWith('bpf', w.cmd(), dir)
        const strace = await recordWith('strace', w.cmd(), dir)
        w.check(bpf)
        w.check(strace)
        const d = diffObservations(bpf, strace)
        if (w.deterministic) {
          expect(diffLines(d)).toEqual([])
          expect(bpf.stats.processes).toBe(strace.stats.processes)
          return
        }
        // Two runs of a program that uses signals, pipes, threads or a network differ in counts
        // (and a lock may be contended, sched_yield, in one run and not the other): counts are
        // reported; a difference of names, values or execs that persists over every attempt is
        // the engines' own and fails.
        const same = diffLines({...d, counts: [], errors: []})
        if (d.counts.length + d.errors.length > 0) console.info(`${w.name} (attempt ${attempt}), counts differ between two runs:\n  ${[...d.counts, ...d.errors].join('\n  ')}`)
        if (same.length === 0 && bpf.stats.processes === strace.stats.processes) return
        if (attempt === ATTEMPTS) {
          expect(same, `${w.name}: over ${ATTEMPTS} runs of each engine`).toEqual([])
          expect(bpf.stats.processes).toBe(strace.stats.processes)
        }
        console.info(`${w.name} (attempt ${attempt}): ${[...same, `processes: bpf ${bpf.stats.processes}, strace ${strace.stats.processes}`].join('; ')}; again`)
      }
    }, 600_000)
  }
})

interface Shared {
  name: string
  cmd: () => string[]
  missing?: () => string | undefined
  check: (o: Observation) => void
  /** what strace's log must show, so the case under test really happened */
  log?: RegExp
  /** recordings (default 1): where threads race, each run may take another path */
  runs?: number
}

/** The workloads recorded by both engines at once. */
const SAME_PROCESSES: Shared[] = [
  {name: 'i386-getpid', cmd: () => [join(elves, 'i386-getpid')], missing: () => elfMissing('i386-getpid'), check: (o) => expect(sc(o, 'x86').getpid?.count).toBe(1), log: /runs in 32 bit mode/},
  {name: 'x32-getpid', cmd: () => [join(elves, 'x32-getpid')], check: (o) => expect(sc(o, 'x32').getpid?.count).toBe(1)},
  {name: 'node workers (threads)', cmd: () => ['node', 'fixtures/scripts/node-workers.mjs'], check: (o) => expect(o.stats.processes).toBeGreaterThan(3), runs: 5},
  {name: 'busybox shell script (signals)', cmd: () => ['/bin/busybox', 'sh', 'fixtures/scripts/shell-workload.sh'], check: (o) => expect(sc(o).rt_sigreturn?.count).toBeGreaterThanOrEqual(1), log: /--- SIGCHLD /},
  {name: 'http.server with requests', cmd: () => [python, 'fixtures/scripts/http-server.py'], check: (o) => expect(sc(o).accept4?.count ?? sc(o).accept?.count).toBeGreaterThanOrEqual(4), log: /--- SIGINT /},
  {name: 'tar + gzip', cmd: () => ['sh', 'fixtures/scripts/tar-gzip.sh'], check: (o) => expect(o.execs.length).toBeGreaterThan(5)},
  {name: 'double-forking daemon', cmd: () => [python, testFixture('double-fork.py')], check: (o) => expect(sc(o).getpriority?.count).toBe(1)},
  {name: 'exec from a non-leader thread', cmd: () => [python, testFixture('thread-exec.py')], check: (o) => expect(o.execs).toContain('/bin/true'), log: /\+\+\+ superseded by execve/, runs: 5},
  // the known special case: strace prints `= ?`; both count the call, without an errno
  {name: 'a thread killed in a call', cmd: () => [python, testFixture('thread-killed.py')], check: (o) => expect(sc(o).read?.count).toBeGreaterThanOrEqual(1), log: /^\d+ +(read\(|<\.\.\. read resumed>).*\) = \?$/m},
]

describe.skipIf(why !== undefined)('both engines on the very same processes', () => {
  for (const w of SAME_PROCESSES) {
    it(`${w.name}: the same observation, counts and errors included`, async (ctx) => {
      const m = w.missing?.()
      if (m) {
        console.warn(`[skip] ${w.name}: ${m}`)
        ctx.skip()
      }
      for (let run = 1; run <= (w.runs ?? 1); run++) {
        const log = join(tempDir(), 'both.strace')
        const both = await recordWithBoth(w.cmd(), repoRoot, log)
        const where = `run ${run}, strace log ${log}`
        expect(both.exit, where).toBe(0)
        expect(both.diagnostics, where).toEqual([])
        if (w.log) expect(both.log, where).toMatch(w.log)
        w.check(both.bpf)
        w.check(both.strace)
        expect(diffLines(diffObservations(both.bpf, both.strace)), where).toEqual([])
        expect(both.bpf.stats.processes, where).toBe(both.strace.stats.processes)
      }
    }, 180_000)
  }
})

describe.skipIf(why !== undefined)('processes outside the tree', () => {
  it('a busy loop beside the recording (sched_yield, forking) leaves no trace; processes counts only the tree', async () => {
    const loop = spawn(python, [testFixture('busy-loop.py')], {stdio: ['ignore', 'pipe', 'ignore']})
    try {
      let out = ''
      loop.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s))
      await waitFor(() => out.includes('ready'), 20_000, 'the busy loop to start')
      const dir = tempDir()
      const cmd = ['sh', 'fixtures/scripts/tar-gzip.sh']
      const bpf = await recordWith('bpf', cmd, dir)
      const strace = await recordWith('strace', cmd, dir)
      expect(loop.exitCode, 'the loop ran all along').toBeNull()
      for (const o of [bpf, strace]) {
        for (const [abi, a] of Object.entries(o.abis)) expect(a!.syscalls.sched_yield, `${abi} sched_yield`).toBeUndefined()
        expect(o.execs.some((e) => e.includes('python')), o.execs.join(' ')).toBe(false)
      }
      expect(bpf.stats.processes).toBe(strace.stats.processes)
      expect(namesByAbi(bpf)).toEqual(namesByAbi(strace))
    } finally {
      loop.kill('SIGKILL')
    }
  }, 180_000)
})

/** Run the CLI wrapped (setpriv …) with spawnSync; stdin is /dev/null. */
function runWrapped(wrapper: string[], args: string[], opts: {cwd: string; env?: Record<string, string>}): CliResult {
  const started = Date.now()
  const r = spawnSync(wrapper[0]!, [...wrapper.slice(1), cliPath, ...args], {cwd: opts.cwd, env: {...process.env, ...opts.env}, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe']})
  return {status: r.status ?? 128, code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, stderrLines: r.stderr.split('\n').filter((l) => l.trim() !== ''), ms: Date.now() - started}
}

const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']

interface BadCase {
  name: string
  /** the reason, as both the error (after "the bpf engine cannot run: ") and the auto note say it */
  reason: RegExp
  env?: () => Record<string, string>
  wrapper?: string[]
  /** set up; a reason to skip */
  prepare?: (dir: string) => string | undefined
}

let badObject = ''
const BAD_CASES: BadCase[] = [
  {name: 'not root', wrapper: AS_NOBODY, reason: /^loading BPF needs root, or CAP_BPF and CAP_PERFMON$/},
  {name: 'no BTF', env: () => ({SECCOMP_GEN_BTF: '/nonexistent'}), reason: new RegExp(`^the kernel \\(${release().replace(/\./g, '\\.')}\\) has no BTF \\(/nonexistent is missing\\)$`)},
  {name: 'libbpf missing', env: () => ({SECCOMP_GEN_LIBBPF: 'libbpf-missing.so.1'}), reason: /^cannot load libbpf-missing\.so\.1 \(.*\); install it \(Debian\/Ubuntu: apt-get install libbpf1\)$/},
  {
    name: 'a verifier rejection',
    env: () => ({SECCOMP_GEN_BPF_OBJECT: badObject}),
    // the kernel's version, and the verifier's reason (not its closing statistics line)
    reason: new RegExp(`^the kernel \\(${release().replace(/\./g, '\\.')}\\) refused to load the recorder: EACCES \\(.*invalid access to map value`),
    prepare: (dir) => {
      if (badObject) return undefined
      // compiled as scripts/build-bpf.js compiles the recorder
      const out = join(dir, 'verifier-reject.bpf.o')
      const args = ['-g', '-O2', '-target', 'bpf', '-mcpu=v3', '-D__TARGET_ARCH_x86', '-Wall', '-Werror', `-I${join(repoRoot, 'native', 'bpf')}`, '-c', testFixture('verifier-reject.bpf.c'), '-o', out]
      if (process.env.BPF_INCLUDE) args.unshift(`-I${process.env.BPF_INCLUDE}`)
      const r = spawnSync(process.env.CLANG || 'clang', args, {encoding: 'utf8'})
      if (r.error) return `clang cannot run (${r.error.message}); .ci/run installs it`
      if (r.status !== 0) throw new Error(`clang failed on verifier-reject.bpf.c: ${r.stderr}`)
      badObject = out
      return undefined
    },
  },
]

/** A directory the unprivileged user can write, holding nothing yet. */
function openDir(): string {
  const dir = tempDir()
  chmodSync(dir, 0o777)
  return dir
}

describe.skipIf(why !== undefined)('when the bpf engine cannot run', () => {
  for (const c of BAD_CASES) {
    /** Record `touch DIR/ran` with the engine under the bad case (skipped, saying why, when it cannot be set up). */
    const recordTouch = async (engine: string, ctx: {skip: () => void}) => {
      const skip = c.prepare?.(tempDir())
      if (skip) {
        console.warn(`[skip] ${c.name}: ${skip}`)
        ctx.skip()
      }
      const dir = openDir()
      const marker = join(dir, 'ran')
      const out = join(dir, 'out.obs.json')
      const args = ['record', '--engine', engine, '-o', out, '--', 'touch', marker]
      const r = c.wrapper ? runWrapped(c.wrapper, args, {cwd: dir, env: {HOME: dir, ...c.env?.()}}) : await runCli(args, {cwd: dir, env: c.env?.()})
      return {dir, marker, out, r}
    }

    it(`${c.name}: --engine bpf says why in one line, exit 4, writes nothing, CMD never runs`, async (ctx) => {
      const {dir, r} = await recordTouch('bpf', ctx)
      expect(r.stderrLines, r.stderr).toHaveLength(1)
      expect(r.stderr).toBe(`${r.stderrLines[0]}\n`)
      expect(r.status).toBe(4)
      expect(readdirSync(dir), 'nothing written, CMD never ran').toEqual([])
      expect(r.stdout).toBe('')
      expect(cliError(r)?.message.replace(/^the bpf engine cannot run: /, ''), r.stderr).toMatch(c.reason)
    })

    it(`${c.name}: --engine auto says "recording with strace: …" in one line and records with strace`, async (ctx) => {
      const {marker, out, r} = await recordTouch('auto', ctx)
      expect(r.status, r.stderr).toBe(0)
      const notes = r.stderrLines.filter((l) => l.startsWith('seccomp-gen: recording with '))
      expect(notes, r.stderr).toHaveLength(1)
      expect(notes[0]!.replace(/^seccomp-gen: recording with strace: /, '')).toMatch(c.reason)
      // the note and the summary, nothing else
      expect(r.stderrLines).toEqual([notes[0], expect.stringMatching(/^seccomp-gen: \d+ syscalls, .*; wrote /)])
      expect(existsSync(marker), 'CMD ran').toBe(true)
      const o = readObservation(out)
      expect(o.host.strace, 'recorded by strace').toMatch(/^strace -- version /)
      expect(o.execs.some((e) => e.endsWith('/touch')), o.execs.join(' ')).toBe(true)
    })
  }
})

/** util-linux `script` gives record a terminal of its own, where it draws its status line */
const noScript = spawnSync('script', ['--version']).status !== 0 ? 'util-linux script is not installed' : undefined
if (noScript && !why) console.warn(`[skip] record --engine bpf --pid: ${noScript}`)

describe.skipIf(why !== undefined || noScript !== undefined)('record --engine bpf --pid', () => {
  it('records a running process, its threads and its future descendants until SIGINT', async () => {
    const dir = tempDir()
    const program = join(elves, 'x32-getpid')
    const target = spawn(python, [testFixture('attach-target.py'), program], {stdio: ['pipe', 'pipe', 'ignore']})
    let said = ''
    target.stdout!.setEncoding('utf8').on('data', (s: string) => (said += s))
    try {
      await waitFor(() => said.includes('waiting'), 20_000, 'the target to wait')
      // On a terminal of its own (util-linux script gives one), record draws a live status line,
      // first once the recorder is attached and the process marked: then the target may go on.
      const out = join(dir, 'pid.obs.json')
      const cmd = `exec ${cliPath} record --engine bpf --pid ${target.pid} -o ${out}`
      const sc2 = spawn('script', ['-qec', cmd, '/dev/null'], {cwd: dir, env: {...process.env, HOME: dir}, stdio: ['pipe', 'pipe', 'pipe']})
      let screen = ''
      sc2.stdout!.setEncoding('utf8').on('data', (s: string) => (screen += s))
      const closed = new Promise<number | null>((res) => sc2.on('close', (code) => res(code)))
      await waitFor(() => /\r\x1b\[Kseccomp-gen: \d+ syscalls, \d+ distinct, [1-9]\d* process/.test(screen), 20_000, `record's status line (${screen})`)
      target.stdin!.write('go\n')
      await waitFor(() => said.includes('done'), 20_000, 'the target to fork and reap its child')
      sc2.stdin!.write('\x03') // Ctrl-C on record's terminal: SIGINT ends an attached recording
      expect(await closed, screen).toBe(0)
      expect(target.exitCode, 'the target keeps running').toBeNull()
      const o = readObservation(out)
      expect(sc(o).getpriority?.count, "the thread's call (the thread ran before the attach)").toBe(1)
      expect(sc(o).getsid, 'nothing from before the attach').toBeUndefined()
      expect(o.execs).toContain(program)
      expect(sc(o, 'x32').getpid?.count, "the child's program, in its own ABI").toBe(1)
      expect(sc(o).clone?.count ?? sc(o).clone3?.count, 'the fork').toBeGreaterThanOrEqual(1)
      expect(o.stats.processes).toBeGreaterThanOrEqual(2)
      expect(o.command[0]).toBe(python)
    } finally {
      target.kill('SIGKILL')
    }
  }, 120_000)
})
