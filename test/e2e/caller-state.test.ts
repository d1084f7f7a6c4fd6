/**
 * CMD gets the process state its caller gave (issue: hardening §3), and record always stops
 * and never leaves a tracer behind (§4), with either recording engine (strace and bpf, each
 * asked for with --engine). Real commands throughout: `nohup`, `trap`, `ulimit` in a real
 * shell, real signals to the real seccomp-gen command (bin/seccomp-gen), real strace, the real
 * bpf engine. Each case compares CMD under seccomp-gen with the same CMD run natively by the
 * same shell.
 */
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {cliPath, runCli, waitFor} from '../helpers/cli.js'
import {writeProfile} from '../helpers/apply-profiles.js'
import {bpfLinksOf, engineMissing, ENGINES, holdersOfLinks, holdsBpf, tracerOf, type RecordEngine} from '../helpers/engines.js'

const onX64 = process.arch === 'x64'
const dir = mkdtempSync(join(tmpdir(), 'seccomp-gen-caller-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
/** CMD: prints its ignored-signal mask and its soft open-files limit */
const PROBE = `sh -c ${q(`grep -E '^SigIgn:' /proc/self/status; ulimit -Sn`)}`

let profile: string | undefined
const loose = () => (profile ??= writeProfile('caller-state', {allow: ['mmap', 'socket']}))

type How = 'native' | 'apply' | `record --engine ${RecordEngine}`

/** PROBE natively, under apply or under record (with an engine), as the shell text `wrap` makes of it. */
function probe(how: How, wrap: (cmd: string) => string): string {
  const cmd =
    how === 'native' ? PROBE
      : how === 'apply' ? `${q(cliPath)} apply ${q(loose())} -- ${PROBE}`
        : `${q(cliPath)} ${how} -q -o ${q(join(dir, 'probe.obs.json'))} -- ${PROBE}`
  const r = spawnSync('sh', ['-c', wrap(cmd)], {cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000})
  expect(r.status, r.stderr).toBe(0)
  return r.stdout
}

describe.runIf(onX64)('CMD gets the signal dispositions and limits its caller gave', () => {
  const cases: Array<[string, (cmd: string) => string, RegExp]> = [
    ['nohup (SIGHUP ignored)', (c) => `nohup ${c}`, /^SigIgn:\t0*1\n/],
    ["trap '' INT QUIT TERM", (c) => `trap '' INT QUIT TERM; ${c}`, /^SigIgn:\t0*4006\n/],
    ['a background job of a non-interactive shell (SIGINT, SIGQUIT ignored)', (c) => `${c} & wait $!`, /^SigIgn:\t0*6\n/],
    ['ulimit -Sn 1024', (c) => `ulimit -Sn 1024; ${c}`, /^SigIgn:\t0+\n1024\n$/],
  ]
  for (const [what, wrap, expected] of cases) {
    for (const how of ['apply', ...ENGINES.map((e) => `record --engine ${e}` as const)] as const) {
      const engine = ENGINES.find((e) => how === `record --engine ${e}`)
      it.skipIf(engine !== undefined && engineMissing(engine) !== undefined)(`${what}: under ${how} as natively`, () => {
        const native = probe('native', wrap)
        expect(native).toMatch(expected)
        expect(probe(how, wrap)).toBe(native)
      })
    }
  }

  it('apply under nohup: a SIGHUP sent to apply does not reach CMD (it ignores it, as CMD does)', async () => {
    const marker = join(dir, 'hup-started')
    const child = spawn('nohup', [cliPath, 'apply', loose(), '--', 'sh', '-c', `touch ${q(marker)}; sleep 1; echo alive`], {cwd: dir, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s))
    const done = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((res) => child.on('close', (code, signal) => res({code, signal})))
    await waitFor(() => existsSync(marker), 20_000, 'CMD to start')
    process.kill(child.pid!, 'SIGHUP')
    const {code, signal} = await done
    expect({code, signal}).toEqual({code: 0, signal: null})
    expect(out).toBe('alive\n')
  })

  it('apply without nohup: SIGHUP is still forwarded to CMD (exit 129)', async () => {
    const marker = join(dir, 'hup2-started')
    const r = runCli(['apply', loose(), '--', 'sh', '-c', `touch ${q(marker)}; exec sleep 5`], {cwd: dir, onSpawn: (c) => {
      void waitFor(() => existsSync(marker), 20_000, 'CMD to start').then(() => c.kill('SIGHUP'))
    }})
    const res = await r
    expect(res.status).toBe(129)
    expect(res.stdout).toBe('')
  })
})

/** A pid written by a shell (`echo $$ > file`) once the line is complete, else undefined. */
function pidIn(file: string): number | undefined {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : ''
  return text.endsWith('\n') ? Number(text) : undefined
}

for (const engine of ENGINES) describe.skipIf(engineMissing(engine) !== undefined)(`record always stops, and never leaves a tracer behind (--engine ${engine})`, () => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig} after CMD exited, with a descendant still running: record writes the observation and says what it left`, async () => {
      const pidFile = join(dir, `daemon-${engine}-${sig}.pid`)
      const cmdFile = join(dir, `daemon-${engine}-${sig}.cmd`)
      const out = join(dir, `daemon-${engine}-${sig}.obs.json`)
      // CMD starts a "daemon" (its stdio away from ours, as daemons do) and exits; record alone would wait 60 s for it
      const script = `echo $$ > ${q(cmdFile)}; sleep 60 </dev/null >/dev/null 2>&1 & echo $! > ${q(pidFile)}; exit 3`
      const r = runCli(['record', '--engine', engine, '-o', out, '--', 'sh', '-c', script], {cwd: dir, timeoutMs: 30_000, onSpawn: (c) => {
        void waitFor(() => pidIn(pidFile) !== undefined, 20_000, 'the daemon').then(async () => {
          const daemon = pidIn(pidFile)!
          // strace follows the daemon once it traces it; the bpf engine records it from its fork on
          if (engine === 'strace') await waitFor(() => (tracerOf(daemon) ?? 0) > 0, 20_000, 'the daemon to be traced')
          // the signal comes after CMD exited and was reaped (its /proc entry gone), not while it runs
          await waitFor(() => tracerOf(pidIn(cmdFile)!) === undefined, 20_000, 'CMD to exit')
          c.kill(sig)
        })
      }})
      const res = await r
      const daemon = Number(readFileSync(pidFile, 'utf8'))
      try {
        // record exits with CMD's status (with strace, the trace tells it once strace is stopped)
        expect(res.status).toBe(3)
        expect(res.stderrLines.at(-1)).toMatch(/stopped after the command exited with 3: 1 traced process was still running \(sleep \d+\), left running untraced$/)
        expect(res.stderrLines.at(-1)).toContain(`sleep ${daemon}`)
        const obs = JSON.parse(readFileSync(out, 'utf8'))
        expect(obs.execs.some((e: string) => e.endsWith('/sleep'))).toBe(true)
        // the daemon lives on, untraced (strace detached it; the bpf engine never traced it)
        expect(tracerOf(daemon)).toBe(0)
      } finally {
        try { process.kill(daemon, 'SIGKILL') } catch { /* gone */ }
      }
    })
  }

  it(`kill -9 of record: ${engine === 'strace' ? 'strace dies with it' : 'its programs detach with it'} and the recorded program runs on, unrecorded`, async () => {
    const pidFile = join(dir, `k9-${engine}.pid`)
    const child = spawn(cliPath, ['record', '--engine', engine, '-q', '-o', join(dir, `k9-${engine}.obs.json`), '--', 'sh', '-c', `echo $$ > ${q(pidFile)}; exec sleep 60`], {cwd: dir, stdio: 'ignore'})
    const closed = new Promise((res) => child.on('close', res))
    await waitFor(() => pidIn(pidFile) !== undefined, 20_000, 'CMD to start')
    const cmd = pidIn(pidFile)!
    try {
      if (engine === 'strace') {
        await waitFor(() => (tracerOf(cmd) ?? 0) > 0, 20_000, 'CMD to be traced')
        const strace = tracerOf(cmd)!
        expect(readFileSync(`/proc/${strace}/comm`, 'utf8').trim()).toBe('strace')
        child.kill('SIGKILL')
        await closed
        await waitFor(() => tracerOf(strace) === undefined, 10_000, 'strace to die')
        await waitFor(() => tracerOf(cmd) === 0, 10_000, 'CMD to be detached')
      } else {
        // CMD runs only once the programs are attached (bin/seccomp-gen execs node: same pid)
        const links = bpfLinksOf(child.pid!)
        expect(links.length, 'record holds its attached programs').toBeGreaterThan(0)
        child.kill('SIGKILL')
        await closed
        // nothing holds the programs any more (CMD inherited none): the kernel detached them
        expect(holdersOfLinks(links)).toEqual([])
        expect(holdsBpf(cmd)).toBe(false)
        expect(tracerOf(cmd)).toBe(0) // alive, and never traced
      }
      // it runs on: its exec of sleep happens, and it is still there
      await waitFor(() => readFileSync(`/proc/${cmd}/comm`, 'utf8').trim() === 'sleep', 10_000, 'CMD to exec sleep')
    } finally {
      try { process.kill(cmd, 'SIGKILL') } catch { /* gone */ }
    }
  })
})
