/**
 * `seccomp-gen record` end to end: the built CLI, real strace, the real bpf engine, real
 * programs, no mocks. What record must do with either engine runs once per engine (--engine
 * given explicitly); what is about strace itself (its raw log, its lines, ptrace) runs with
 * --engine strace. Each test runs in its own temp directory.
 */
import {spawn, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Ajv} from 'ajv'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {Observer} from '../../src/trace/observe.js'
import {mergeObservations, readObservation, serializeObservation} from '../../src/trace/observation-io.js'
import type {Observation} from '../../src/trace/observation.js'
import {cliError, repoRoot, runCli, waitFor, type CliResult} from '../helpers/cli.js'
import {engineMissing, ENGINES, holdsBpf, recording, tracerOf} from '../helpers/engines.js'

const schema = JSON.parse(readFileSync(join(repoRoot, 'schemas', 'observation.schema.json'), 'utf8'))
const validate = new Ajv({allErrors: true, strict: false}).compile(schema)

let root: string
let n = 0
function tempDir(): string {
  const d = join(root, `t${++n}`)
  spawnSync('mkdir', ['-p', d])
  return d
}

function load(path: string): Observation {
  return JSON.parse(readFileSync(path, 'utf8')) as Observation
}

function syscalls(o: Observation): Record<string, {count: number; errors?: Record<string, number>}> {
  const abi = o.abis.x86_64 ?? Object.values(o.abis)[0]
  expect(abi, 'observation has an ABI section').toBeDefined()
  return abi!.syscalls
}

/** Exactly one error, no stack trace, nothing else on stderr; returns its text. */
function oneError(r: CliResult): string {
  const e = cliError(r)
  expect(e, `an error on stderr: ${r.stderr}`).toBeDefined()
  expect(e!.count).toBe(1)
  expect(r.stderr).not.toMatch(/\n\s+at /)
  expect(r.stderrLines.every((l) => /^\s*›/.test(l)), r.stderr).toBe(true)
  return e!.message
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'seccomp-gen-record-test-'))
})

afterAll(() => {
  rmSync(root, {recursive: true, force: true})
})

for (const engine of ENGINES) describe.skipIf(engineMissing(engine) !== undefined)(`record runs a command (--engine ${engine})`, () => {
  /** record's argv with this engine */
  const rec = (...args: string[]) => ['record', '--engine', engine, ...args]

  it('follows children and subshells: sh -c "ls; mkdir d; (cd d && touch f)"', async () => {
    const cwd = tempDir()
    const r = await runCli(rec('-o', 'out.obs.json', '--', 'sh', '-c', 'ls; mkdir d; (cd d && touch f)'), {cwd})
    expect(r.stderr).not.toMatch(/Error|at .*\.js:\d+/)
    expect(r.status).toBe(0)
    expect(existsSync(join(cwd, 'd', 'f')), 'the command really ran').toBe(true)
    const o = load(join(cwd, 'out.obs.json'))
    const sc = syscalls(o)
    // mkdir(1) uses mkdir(2) on x86_64 glibc; touch opens the file and sets its times.
    expect(sc.mkdir?.count ?? sc.mkdirat?.count).toBeGreaterThanOrEqual(1)
    expect(sc.utimensat?.count).toBeGreaterThanOrEqual(1)
    expect(sc.openat?.count).toBeGreaterThan(5)
    expect(sc.getdents64?.count, "ls's directory read").toBeGreaterThanOrEqual(1)
    expect(sc.chdir?.count, 'the subshell').toBeGreaterThanOrEqual(1)
    for (const p of ['/usr/bin/ls', '/usr/bin/mkdir', '/usr/bin/touch']) {
      const base = p.slice(p.lastIndexOf('/'))
      expect(o.execs.some((e) => e.endsWith(base)), `execs has ${p}: ${o.execs.join(' ')}`).toBe(true)
    }
    expect(o.stats.processes).toBeGreaterThanOrEqual(4) // sh, ls, mkdir, (subshell), touch
    expect(o.command).toEqual(['sh', '-c', 'ls; mkdir d; (cd d && touch f)'])
    // the strace engine names its strace; the bpf engine has none to name
    if (engine === 'strace') expect(o.host.strace).toMatch(/^strace -- version \d/)
    else expect(o.host).not.toHaveProperty('strace')
    expect(o.host.kernel).toBe(spawnSync('uname', ['-r'], {encoding: 'utf8'}).stdout.trim())
    expect(o.host.machine).toBe(spawnSync('uname', ['-m'], {encoding: 'utf8'}).stdout.trim())
    // The summary: one line on stderr (stderr is not a TTY here: no status line).
    expect(r.stderrLines.at(-1)).toMatch(/^seccomp-gen: \d+ syscalls, \d+ distinct, \d+ processes; wrote out\.obs\.json$/)
    expect(r.stderr).not.toContain('\r')
  })

  it('follows threads (a syscall made only by a python3 thread is recorded)', async () => {
    const cwd = tempDir()
    const py = 'import os, threading\nt = threading.Thread(target=lambda: os.getpgid(0))\nt.start(); t.join()'
    const r = await runCli(rec('-q', '-o', 'py.obs.json', '--', 'python3', '-c', py), {cwd})
    expect(r.status).toBe(0)
    const sc = syscalls(load(join(cwd, 'py.obs.json')))
    expect(sc.getpgid?.count, 'getpgid came from the thread').toBeGreaterThanOrEqual(1)
    expect(sc.clone3?.count ?? sc.clone?.count).toBeGreaterThanOrEqual(1)
    // Baseline: without the thread, python3 makes no getpgid, so the assertion above can fail.
    const r2 = await runCli(rec('-q', '-o', 'py0.obs.json', '--', 'python3', '-c', 'import os, threading'), {cwd})
    expect(r2.status).toBe(0)
    expect(syscalls(load(join(cwd, 'py0.obs.json'))).getpgid).toBeUndefined()
  })

  it("leaves the command's stdio alone and passes its exit code on (exit 3)", async () => {
    const cwd = tempDir()
    const r = await runCli(rec('-o', 'e.obs.json', '--', 'sh', '-c', 'echo to-stdout "$0"; echo to-stderr >&2; read x; echo "got $x"; exit 3'), {cwd, input: 'typed\n'})
    expect(r.status).toBe(3)
    expect(r.stdout).toBe('to-stdout sh\ngot typed\n') // argv[0] as typed, not the PATH-resolved path
    expect(r.stderrLines[0]).toBe('to-stderr')
    expect(r.stderrLines.at(-1)).toMatch(/; command exited with 3$/)
    expect(syscalls(load(join(cwd, 'e.obs.json'))).exit_group?.count).toBeGreaterThanOrEqual(1)
  })

  it('passes death by signal on as 128+N (SIGTERM -> 143), observation still written', async () => {
    const cwd = tempDir()
    const r = await runCli(rec('-o', 's.obs.json', '--', 'sh', '-c', 'kill -TERM $$'), {cwd})
    expect(r.status).toBe(143)
    expect(r.signal).toBeNull() // record itself exits normally with status 143
    const sc = syscalls(load(join(cwd, 's.obs.json')))
    expect(sc.kill?.count).toBeGreaterThanOrEqual(1)
  })

  it('takes the command without "--" and never reads its flags as ours', async () => {
    const cwd = tempDir()
    const r = await runCli(rec('-q', '-o', 'x.obs.json', 'sh', '-c', 'echo -o not-ours'), {cwd})
    expect(r.status).toBe(0)
    expect(r.stdout).toBe('-o not-ours\n')
    expect(existsSync(join(cwd, 'not-ours'))).toBe(false)
    expect(existsSync(join(cwd, 'x.obs.json'))).toBe(true)
  })

  it('writes to ./<CMD>.obs.json by default and to stdout with -o -', async () => {
    const cwd = tempDir()
    const r = await runCli(rec('-q', '--', 'true'), {cwd})
    expect(r.status).toBe(0)
    expect(r.stderr).toBe('')
    expect(readdirSync(cwd)).toEqual(['true.obs.json'])
    const r2 = await runCli(rec('-q', '-o', '-', '--', 'true'), {cwd})
    expect(r2.status).toBe(0)
    const o = JSON.parse(r2.stdout) as Observation
    expect(o.execs.some((e) => e.endsWith('/true')), o.execs.join(' ')).toBe(true)
    expect(r2.stdout).toBe(readFileSync(join(cwd, 'true.obs.json'), 'utf8'))
  })

  it('writes an observation that validates against schemas/observation.schema.json', async () => {
    const cwd = tempDir()
    const r = await runCli(rec('-q', '-o', 'v.obs.json', '--', 'sh', '-c', 'ls /nonexistent 2>/dev/null; cat /etc/hostname >/dev/null'), {cwd})
    expect(r.status).toBe(0)
    const o = load(join(cwd, 'v.obs.json'))
    const ok = validate(o)
    expect(validate.errors ?? []).toEqual([])
    expect(ok).toBe(true)
    expect(o.schema).toBe('seccomp-gen/observation')
    // errors by errno name: ls's failed stat of /nonexistent
    const errs = Object.values(syscalls(o)).flatMap((s) => Object.keys(s.errors ?? {}))
    expect(errs).toContain('ENOENT')
    // the same through the project's reader (which checks the schema too)
    expect(readObservation(join(cwd, 'v.obs.json'))).toEqual(o)
  })

  it('recording twice and merging sums the counts', async () => {
    const cwd = tempDir()
    const cmd = ['sh', '-c', 'mkdir -p a b; rmdir a b']
    const a = await runCli(rec('-q', '-o', 'a.obs.json', '--', ...cmd), {cwd})
    const b = await runCli(rec('-q', '-o', 'b.obs.json', '--', ...cmd), {cwd})
    expect([a.status, b.status]).toEqual([0, 0])
    const oa = readObservation(join(cwd, 'a.obs.json'))
    const ob = readObservation(join(cwd, 'b.obs.json'))
    const m = mergeObservations([oa, ob])
    const sa = syscalls(oa), sb = syscalls(ob), sm = syscalls(m)
    expect(sm.rmdir.count).toBe(4)
    for (const name of new Set([...Object.keys(sa), ...Object.keys(sb)])) {
      expect(sm[name].count, name).toBe((sa[name]?.count ?? 0) + (sb[name]?.count ?? 0))
    }
    expect(m.execs).toEqual([...new Set([...oa.execs, ...ob.execs])].sort())
  })

  it('leaves nothing in the temp directory, even when killed with SIGKILL', async () => {
    const cwd = tempDir()
    const tmp = join(cwd, 'tmp')
    spawnSync('mkdir', [tmp])
    const r = await runCli(rec('-q', '-o', 'a.obs.json', '--', 'true'), {cwd, env: {TMPDIR: tmp}})
    expect(r.status).toBe(0)
    expect(readdirSync(tmp)).toEqual([])
    let cli: import('node:child_process').ChildProcess | undefined
    const done = runCli(rec('-q', '-o', 'k.obs.json', '--', 'sh', '-c', 'echo > ready; sleep 0.5'), {cwd, env: {TMPDIR: tmp}, onSpawn: (c) => (cli = c)})
    await waitFor(() => existsSync(join(cwd, 'ready')), 20_000, 'the command to start')
    await new Promise((res) => setTimeout(res, 100))
    cli!.kill('SIGKILL')
    await done
    expect(readdirSync(tmp)).toEqual([])
    expect(existsSync(join(cwd, 'k.obs.json'))).toBe(false)
  })

  it("does not leak the trace FIFO or the recorder's BPF objects into the command's descriptors", async () => {
    const cwd = tempDir()
    const r = await runCli(rec('-q', '-o', 'fd.obs.json', '--', 'ls', '-l', '/proc/self/fd/'), {cwd})
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/ 0 -> /)
    // (a CI harness may pass its own descriptors down; the FIFO and the BPF maps, programs and
    // links are what must not be there)
    expect(r.stdout).not.toMatch(/trace\.fifo|seccomp-gen-/)
    expect(r.stdout).not.toMatch(/anon_inode:bpf/)
  })
})

describe('record --engine strace keeps its raw output', () => {
  it('--raw-log keeps a copy of the stream that parses to the same observation', async () => {
    const cwd = tempDir()
    const r = await runCli(['record', '--engine', 'strace', '-q', '--raw-log', 'raw.strace', '-o', 'r.obs.json', '--', 'sh', '-c', 'ls -l / | wc -l'], {cwd})
    expect(r.status).toBe(0)
    const raw = readFileSync(join(cwd, 'raw.strace'))
    expect(raw.toString('latin1')).toMatch(/^\d+ +execve\("\/usr\/bin\/sh"/)
    const written = readFileSync(join(cwd, 'r.obs.json'), 'utf8')
    const o = JSON.parse(written) as Observation
    const again = new Observer({command: o.command, host: o.host})
    // feed it in odd-sized chunks: chunking must not matter
    for (let i = 0; i < raw.length; i += 977) again.push(raw.subarray(i, i + 977))
    expect(serializeObservation(again.end())).toBe(written)
    expect(readdirSync(cwd).sort()).toEqual(['r.obs.json', 'raw.strace']) // no temp files left
  })
})

for (const engine of ENGINES) describe.skipIf(engineMissing(engine) !== undefined)(`record keeps the ABI of each process (--engine ${engine})`, () => {
  it(`an i386 program and an x32 syscall are recorded under x86 and x32${engine === 'strace' ? ' (strace announces the switch)' : ''}`, async (ctx) => {
    const cwd = tempDir()
    const made = spawnSync('python3', [join(repoRoot, 'fixtures', 'scripts', 'abi-elves.py'), cwd], {encoding: 'utf8'})
    expect(made.status, made.stderr).toBe(0)
    if (spawnSync(join(cwd, 'i386-getpid')).status !== 0) {
      console.warn('skipped: this kernel cannot run i386 programs (no CONFIG_IA32_EMULATION)')
      ctx.skip()
    }
    const raw = engine === 'strace' ? ['--raw-log', 'i.strace'] : []
    const r = await runCli(['record', '--engine', engine, '-q', ...raw, '-o', 'i.obs.json', '--', './i386-getpid'], {cwd})
    expect(r.status).toBe(0)
    expect(r.stdout).toBe('hi\n')
    if (engine === 'strace') expect(readFileSync(join(cwd, 'i.strace'), 'latin1')).toMatch(/\[ Process PID=\d+ runs in 32 bit mode\. \]/)
    const i = load(join(cwd, 'i.obs.json'))
    expect(Object.keys(i.abis.x86?.syscalls ?? {}).sort()).toEqual(['exit', 'getpid', 'write'])
    expect(Object.keys(i.abis.x86_64?.syscalls ?? {})).toEqual(['execve'])

    const x = await runCli(['record', '--engine', engine, '-q', '-o', 'x.obs.json', '--', './x32-getpid'], {cwd})
    expect(x.status).toBe(0)
    const o = load(join(cwd, 'x.obs.json'))
    expect(o.abis.x32?.syscalls.getpid?.count).toBe(1)
    expect(o.abis.x86_64?.syscalls.exit_group?.count).toBe(1)
  })
})

describe('record with lines it cannot parse', () => {
  // strace never writes such lines on this machine, so a wrapper runs the real strace and then
  // appends one line that no strace writes to the same -o target (the FIFO).
  function wrapper(dir: string): string {
    const real = spawnSync('sh', ['-c', 'command -v strace'], {encoding: 'utf8'}).stdout.trim()
    const w = join(dir, 'strace-plus-garbage')
    // The trace FIFO's name goes away once record reads from it, so the wrapper opens it first
    // (fd 9, not passed to strace) and writes its line after strace's last one.
    writeFileSync(w, `#!/bin/sh\nout=; prev=\nfor a; do [ "$prev" = -o ] && out=$a; prev=$a; done\n[ -n "$out" ] && exec 9>>"$out"\n${real} "$@" 9>&-; rc=$?\n` +
      `[ -n "$out" ] && printf 'this is not strace output\\n' >&9\nexit $rc\n`)
    chmodSync(w, 0o755)
    return w
  }

  it('counts them and names their line numbers in the summary; the observation is written', async () => {
    const cwd = tempDir()
    // no --engine: auto records with strace when a raw log is asked for, and says so first
    const r = await runCli(['record', '--raw-log', 'g.strace', '-o', 'g.obs.json', '--', 'true'], {cwd, env: {SECCOMP_GEN_STRACE: wrapper(cwd)}})
    expect(r.status).toBe(0)
    expect(r.stderrLines[0]).toBe("seccomp-gen: recording with strace: --raw-log keeps strace's output")
    const raw = readFileSync(join(cwd, 'g.strace'), 'utf8').split('\n').filter((l) => l !== '')
    expect(raw.at(-1)).toBe('this is not strace output')
    expect(r.stderrLines.at(-1)).toMatch(new RegExp(`; 1 unparsed line \\(line ${raw.length}\\)$`))
    expect(load(join(cwd, 'g.obs.json')).stats.unparsed).toBe(1)
  })

  it('--strict makes them an error: nothing written but the raw log', async () => {
    const cwd = tempDir()
    const r = await runCli(['record', '--engine', 'strace', '--strict', '--raw-log', 'g.strace', '-o', 'g.obs.json', '--', 'true'], {cwd, env: {SECCOMP_GEN_STRACE: wrapper(cwd)}})
    expect(r.status).toBe(1)
    expect(oneError(r)).toMatch(/1 strace line\(s\) could not be parsed; first at line \d+: this is not strace output/)
    expect(existsSync(join(cwd, 'g.obs.json'))).toBe(false)
    expect(existsSync(join(cwd, 'g.strace'))).toBe(true)
  })
})

describe('record reports bad input in one line, before running anything', () => {
  it('command not found: exit 127, one line, no output file', async () => {
    const cwd = tempDir()
    const r = await runCli(['record', '-o', 'nf.obs.json', '--', 'no-such-command-xyz', 'arg'], {cwd})
    expect(r.status).toBe(127)
    expect(oneError(r)).toBe('no-such-command-xyz: command not found')
    expect(existsSync(join(cwd, 'nf.obs.json'))).toBe(false)
  })

  it('a command that is not executable: exit 126', async () => {
    const cwd = tempDir()
    writeFileSync(join(cwd, 'script.sh'), 'echo hi\n')
    chmodSync(join(cwd, 'script.sh'), 0o644)
    const r = await runCli(['record', '-o', 'ne.obs.json', '--', './script.sh'], {cwd})
    expect(r.status).toBe(126)
    expect(oneError(r)).toBe('./script.sh: Permission denied')
    // executable, but neither ELF nor #!: execve would fail with ENOEXEC
    chmodSync(join(cwd, 'script.sh'), 0o755)
    const r2 = await runCli(['record', '-o', 'ne.obs.json', '--', './script.sh'], {cwd})
    expect(r2.status).toBe(126)
    expect(oneError(r2)).toMatch(/not an ELF binary or a #! script/)
    expect(existsSync(join(cwd, 'ne.obs.json'))).toBe(false)
  })

  it('output not writable: error, and the command never ran', async () => {
    const cwd = tempDir()
    const marker = join(cwd, 'MARKER')
    spawnSync('mkdir', [join(cwd, 'isdir.obs.json')])
    writeFileSync(join(cwd, 'plainfile'), '')
    const outs = [join(cwd, 'no', 'such', 'dir', 'o.obs.json'), join(cwd, 'isdir.obs.json'), join(cwd, 'plainfile', 'o.obs.json')]
    for (const out of outs) {
      const r = await runCli(['record', '-o', out, '--', 'sh', '-c', `touch ${marker}`], {cwd})
      expect(r.status).not.toBe(0)
      expect(oneError(r)).toMatch(/^cannot write /)
      expect(existsSync(marker), `command ran although -o ${out} is not writable`).toBe(false)
    }
    const r = await runCli(['record', '--raw-log', join(cwd, 'nope', 'raw.strace'), '-o', 'ok.obs.json', '--', 'sh', '-c', `touch ${marker}`], {cwd})
    expect(r.status).not.toBe(0)
    expect(existsSync(marker)).toBe(false)
    expect(existsSync(join(cwd, 'ok.obs.json'))).toBe(false)
  })

  it('strace missing: says so and how to install it', async () => {
    const cwd = tempDir()
    // a PATH with node (the seccomp-gen command runs on it) and nothing else
    const bin = join(cwd, 'node-only')
    mkdirSync(bin)
    symlinkSync(process.execPath, join(bin, 'node'))
    const r = await runCli(['record', '--engine', 'strace', '-o', 'm.obs.json', '--', '/bin/true'], {cwd, env: {PATH: bin}})
    expect(r.status).toBe(1)
    expect(oneError(r)).toMatch(/strace is not installed.*apt-get install strace/)
  })

  it('no command and no --pid: usage error', async () => {
    const r = await runCli(['record', '-o', join(tempDir(), 'u.obs.json')])
    expect(r.status).toBe(2)
    expect(oneError(r)).toMatch(/missing command/)
  })
})

for (const engine of ENGINES) describe.skipIf(engineMissing(engine) !== undefined)(`record --pid attaches to a running process (--engine ${engine})`, () => {
  it('records until SIGINT, writes the observation, and leaves the process running', async () => {
    const cwd = tempDir()
    // A process that keeps making syscalls: a shell loop running sleep.
    const target = spawn('sh', ['-c', 'while :; do sleep 0.05; done'], {stdio: 'ignore'})
    try {
      let cli: import('node:child_process').ChildProcess | undefined
      const done = runCli(['record', '--engine', engine, '--pid', String(target.pid), '-o', 'p.obs.json'], {cwd, onSpawn: (c) => (cli = c)})
      // wait until the recording runs (strace: the target has a tracer; bpf: record holds its attached programs)
      await waitFor(() => recording(engine, cli!.pid!, [target.pid!]), 20_000, `the ${engine} engine to attach`)
      await new Promise((r) => setTimeout(r, 500))
      cli!.kill('SIGINT')
      const r = await done
      expect(r.status).toBe(0)
      expect(r.stderrLines.at(-1)).toMatch(/wrote p\.obs\.json$/)
      const o = load(join(cwd, 'p.obs.json'))
      expect(validate(o)).toBe(true)
      const sc = syscalls(o)
      expect(sc.wait4?.count, 'the shell waits for its sleeps').toBeGreaterThanOrEqual(1)
      expect(o.execs.some((e) => e.endsWith('/sleep')), o.execs.join(' ')).toBe(true)
      expect(o.command).toEqual(['sh', '-c', 'while :; do sleep 0.05; done'])
      // left running (strace detached, not killed; bpf never traced it), and no longer recorded
      expect(target.exitCode).toBeNull()
      expect(tracerOf(target.pid!)).toBe(0)
      expect(holdsBpf(target.pid!)).toBe(false)
    } finally {
      target.kill('SIGKILL')
    }
  })

  it('--pid is repeatable: two processes, one observation', async () => {
    const cwd = tempDir()
    const a = spawn('sh', ['-c', 'while :; do sleep 0.05; done'], {stdio: 'ignore'})
    const b = spawn('python3', ['-c', 'import time, os\nwhile True:\n  os.getppid(); time.sleep(0.02)'], {stdio: 'ignore'})
    try {
      let cli: import('node:child_process').ChildProcess | undefined
      const done = runCli(['record', '--engine', engine, '-q', '--pid', String(a.pid), '--pid', String(b.pid), '-o', 'two.obs.json'], {cwd, onSpawn: (c) => (cli = c)})
      await waitFor(() => recording(engine, cli!.pid!, [a.pid!, b.pid!]), 20_000, `the ${engine} engine to attach to both`)
      await new Promise((res) => setTimeout(res, 400))
      cli!.kill('SIGINT')
      const r = await done
      expect(r.status).toBe(0)
      const o = load(join(cwd, 'two.obs.json'))
      const sc = syscalls(o)
      expect(sc.wait4?.count, 'from the shell').toBeGreaterThanOrEqual(1)
      expect(sc.getppid?.count, 'from python').toBeGreaterThanOrEqual(1)
      expect(o.command).toHaveLength(2)
      expect(o.command[0]).toMatch(new RegExp(`^pid:${a.pid}=sh -c `))
      expect([a.exitCode, b.exitCode]).toEqual([null, null]) // both left running
    } finally {
      a.kill('SIGKILL')
      b.kill('SIGKILL')
    }
  })

  it('draws a live status line on a terminal no traced process uses (--pid), then one summary line', async (ctx) => {
    if (spawnSync('script', ['--version']).status !== 0) ctx.skip() // util-linux `script` gives us a pty
    const cwd = tempDir()
    // The traced process is not on the terminal (its stdio is /dev/null): record may draw there.
    // (With CMD run by record, CMD shares record's stderr: no live line, see test/commands/command-line.)
    const target = spawn('sh', ['-c', 'while :; do ls / >/dev/null; sleep 0.1; done'], {stdio: 'ignore'})
    const cmd = `timeout -s INT 1.5 ${process.execPath} ${join(repoRoot, 'bin', 'run.js')} record --engine ${engine} --pid ${target.pid} -o tty.obs.json`
    const started = Date.now()
    const r = spawnSync('script', ['-qc', cmd, '/dev/null'], {cwd, encoding: 'utf8', env: {...process.env, HOME: cwd}, timeout: 30_000})
    const ms = Date.now() - started
    target.kill('SIGKILL')
    expect(r.status).toBe(0)
    const out = r.stdout
    const drawn = out.split('\r\x1b[K').slice(1)
    expect(drawn.length, out).toBeGreaterThanOrEqual(2)
    // at most one redraw per 200 ms of the run, however long a loaded machine made it take,
    // and only when the line changed
    expect(drawn.length, out).toBeLessThanOrEqual(Math.floor(ms / 200) + 1)
    for (let k = 1; k < drawn.length; k++) expect(drawn[k], out).not.toBe(drawn[k - 1])
    expect(out).toMatch(/\r\x1b\[Kseccomp-gen: \d+ syscalls, \d+ distinct, \d+ process/)
    expect(out).toMatch(/seccomp-gen: \d+ syscalls, \d+ distinct, \d+ processes; wrote tty\.obs\.json\r?\n/)
  })
})

describe('record --pid: bad targets', () => {
  it('--pid and a command together: usage error', async () => {
    const r = await runCli(['record', '--pid', String(process.pid), '-o', join(tempDir(), 'x.obs.json'), '--', 'true'])
    expect(r.status).toBe(2)
    expect(oneError(r)).toMatch(/either --pid or a command/)
  })

  it('--pid of a process already traced names its tracer (--engine strace: ptrace allows one tracer)', async () => {
    const target = spawn('sleep', ['30'], {stdio: 'ignore'})
    const other = spawn('strace', ['-qq', '-o', '/dev/null', '-p', String(target.pid)], {stdio: 'ignore'})
    try {
      await waitFor(() => /^TracerPid:\s*[1-9]/m.test(readFileSync(`/proc/${target.pid}/status`, 'utf8')), 20_000, 'the other strace to attach')
      const r = await runCli(['record', '--engine', 'strace', '--pid', String(target.pid), '-o', join(tempDir(), 'x.obs.json')])
      expect(r.status).toBe(1)
      expect(oneError(r)).toBe(`--pid ${target.pid}: already traced by process ${other.pid} (strace); a process can have only one tracer`)
    } finally {
      other.kill('SIGKILL')
      target.kill('SIGKILL')
    }
  })

  it('--pid of a process that does not exist: one line, exit 2', async () => {
    const r = await runCli(['record', '--pid', '999999999', '-o', join(tempDir(), 'x.obs.json')])
    expect(r.status).toBe(2)
    expect(oneError(r)).toBe('--pid 999999999: no such process')
  })
})

for (const engine of ENGINES) describe.skipIf(engineMissing(engine) !== undefined)(`record forwards signals to the command (--engine ${engine})`, () => {
  it('SIGTERM to record reaches the command (143), and its shutdown is still recorded', async () => {
    const cwd = tempDir()
    let cli: import('node:child_process').ChildProcess | undefined
    // The command traps TERM, makes a syscall it makes nowhere else (mkdir), and exits 7.
    const script = 'trap "mkdir trapped; exit 7" TERM; echo ready > ready; while :; do sleep 0.05; done'
    const done = runCli(['record', '--engine', engine, '-o', 't.obs.json', '--', 'sh', '-c', script], {cwd, onSpawn: (c) => (cli = c)})
    await waitFor(() => existsSync(join(cwd, 'ready')), 20_000, 'the command to start')
    cli!.kill('SIGTERM')
    const r = await done
    expect(r.status).toBe(7)
    expect(existsSync(join(cwd, 'trapped'))).toBe(true)
    const sc = syscalls(load(join(cwd, 't.obs.json')))
    expect(sc.mkdir?.count ?? sc.mkdirat?.count).toBe(1)
    // and a command that does not trap it dies of it: 128+15
    const done2 = runCli(['record', '--engine', engine, '-q', '-o', 't2.obs.json', '--', 'sh', '-c', 'echo ready > ready2; exec sleep 30'], {cwd, onSpawn: (c) => (cli = c)})
    await waitFor(() => existsSync(join(cwd, 'ready2')), 20_000, 'the command to start')
    await new Promise((res) => setTimeout(res, 200))
    cli!.kill('SIGTERM')
    const r2 = await done2
    expect(r2.status).toBe(143) // 128 + SIGTERM: sleep died of it, it did not run its 30 s out
    expect(existsSync(join(cwd, 't2.obs.json'))).toBe(true)
  })

  it('SIGINT sent to record (not from a terminal) reaches the command: 130', async () => {
    const cwd = tempDir()
    let cli: import('node:child_process').ChildProcess | undefined
    // strace's raw log shows the signal as the command got it; the bpf engine has no such log
    const raw = engine === 'strace' ? ['--raw-log', 'i.strace'] : []
    const done = runCli(['record', '--engine', engine, '-q', ...raw, '-o', 'i.obs.json', '--', 'sh', '-c', 'echo ready > ready; exec sleep 30'], {cwd, onSpawn: (c) => (cli = c)})
    await waitFor(() => existsSync(join(cwd, 'ready')), 20_000, 'the command to start')
    await new Promise((res) => setTimeout(res, 200))
    cli!.kill('SIGINT')
    const r = await done
    expect(r.status).toBe(130)
    expect(syscalls(load(join(cwd, 'i.obs.json'))).clock_nanosleep?.count ?? 0).toBeGreaterThanOrEqual(1)
    if (engine !== 'strace') return
    // sent by kill() from record (SI_USER), exactly once, to the command
    const sigints = readFileSync(join(cwd, 'i.strace'), 'latin1').match(/--- SIGINT \{si_signo=2, si_code=0, si_pid=\d+/g) ?? []
    expect(sigints).toHaveLength(1)
  })
})

for (const engine of ENGINES) describe.skipIf(engineMissing(engine) !== undefined)(`record in a terminal (--engine ${engine})`, () => {
  it(`Ctrl-C on the terminal reaches the command${engine === 'strace' ? ' once (record does not send it again)' : ''}: 130`, async (ctx) => {
    if (spawnSync('script', ['--version']).status !== 0) ctx.skip()
    const cwd = tempDir()
    // strace's raw log tells who sent the SIGINT; the bpf engine has no such log
    const raw = engine === 'strace' ? '--raw-log raw.strace ' : ''
    const cmd = `${process.execPath} ${join(repoRoot, 'bin', 'run.js')} record --engine ${engine} ${raw}-o cc.obs.json -- sh -c 'echo ready > ready; sleep 30'`
    const sc = spawn('script', ['-qec', cmd, '/dev/null'], {cwd, env: {...process.env, HOME: cwd}, stdio: ['pipe', 'pipe', 'pipe']})
    let out = ''
    sc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
    const closed = new Promise<number | null>((res) => sc.on('close', (code) => res(code)))
    await waitFor(() => existsSync(join(cwd, 'ready')), 20_000, 'the command to start')
    await new Promise((res) => setTimeout(res, 300))
    sc.stdin!.write('\x03') // the terminal's interrupt character: the tty sends SIGINT to the foreground group
    const code = await closed
    expect(code, out).toBe(130)
    expect(out).toMatch(/command killed by SIGINT \(exit 130\)/)
    expect(existsSync(join(cwd, 'cc.obs.json'))).toBe(true)
    if (engine !== 'strace') return
    const log = readFileSync(join(cwd, 'raw.strace'), 'latin1')
    // from the terminal: si_code SI_KERNEL (0x80); a kill() from record would be SI_USER (0)
    expect(log).toMatch(/--- SIGINT \{si_signo=2, si_code=0x80\} ---/)
    expect(log).not.toMatch(/--- SIGINT \{si_signo=2, si_code=0,/)
  })
})

describe('record --engine strace names the cause when ptrace is not permitted', () => {
  it('under a seccomp filter that denies ptrace (applied with seccomp-gen apply): one line, command never ran', async () => {
    const cwd = tempDir()
    writeFileSync(join(cwd, 'noptrace.json'), JSON.stringify({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['ptrace'], action: 'SCMP_ACT_ERRNO', errnoRet: 1}]}))
    const marker = join(cwd, 'MARKER')
    const r = await runCli(['apply', 'noptrace.json', '--', process.execPath, join(repoRoot, 'bin', 'run.js'), 'record', '--engine', 'strace', '-o', 'x.obs.json', '--', 'sh', '-c', `touch ${marker}`], {cwd})
    expect(r.status).toBe(1)
    const msg = oneError(r)
    expect(msg).toMatch(/^ptrace is not permitted here: .*seccomp filter/)
    expect(msg).toMatch(/PTRACE_TRACEME: Operation not permitted/)
    expect(existsSync(marker)).toBe(false)
    expect(existsSync(join(cwd, 'x.obs.json'))).toBe(false)
  })

  it('attaching to another user\'s process without CAP_SYS_PTRACE: one line naming it', async (ctx) => {
    const cwd = mkdtempSync(join(tmpdir(), 'seccomp-gen-record-nobody-')) // reachable by nobody
    chmodSync(cwd, 0o777)
    ctx.onTestFinished(() => rmSync(cwd, {recursive: true, force: true}))
    const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all']
    const probe = spawnSync('setpriv', [...asNobody, process.execPath, join(repoRoot, 'bin', 'run.js'), '--version'], {env: {...process.env, HOME: cwd}})
    if (process.getuid?.() !== 0 || probe.status !== 0) {
      console.warn('skipped: needs root and setpriv, and the repository readable by nobody')
      ctx.skip()
    }
    const target = spawn('sleep', ['30'], {stdio: 'ignore'})
    try {
      const r = await new Promise<{status: number | null; stderr: string}>((res) => {
        const c = spawn('setpriv', [...asNobody, process.execPath, join(repoRoot, 'bin', 'run.js'), 'record', '--engine', 'strace', '--pid', String(target.pid), '-o', join(cwd, 'n.obs.json')], {cwd, env: {...process.env, HOME: cwd}, stdio: ['ignore', 'ignore', 'pipe']})
        let stderr = ''
        c.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
        c.on('close', (status) => res({status, stderr}))
      })
      expect(r.status).toBe(1)
      const msg = cliError({stderr: r.stderr} as CliResult)
      expect(msg?.count).toBe(1)
      expect(msg!.message).toMatch(new RegExp(`^cannot attach to process ${target.pid}: ptrace not permitted \\(.*CAP_SYS_PTRACE`))
      expect(existsSync(join(cwd, 'n.obs.json'))).toBe(false)
      expect(target.exitCode).toBeNull()
    } finally {
      target.kill('SIGKILL')
    }
  })
})
