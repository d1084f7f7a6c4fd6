/**
 * CMD gets the process state its caller gave (issue: hardening §3), and record always stops
 * and never leaves a tracer behind (§4). Real commands throughout: `nohup`, `trap`, `ulimit`
 * in a real shell, real signals to the real seccomp-gen command (bin/seccomp-gen), real strace.
 * Each case compares CMD under seccomp-gen with the same CMD run natively by the same shell.
 */
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {cliPath, runCli, waitFor} from '../helpers/cli.js'
import {writeProfile} from '../helpers/apply-profiles.js'

const onX64 = process.arch === 'x64'
const hasStrace = spawnSync('strace', ['-V']).status === 0
const dir = mkdtempSync(join(tmpdir(), 'seccomp-gen-caller-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
/** CMD: prints its ignored-signal mask and its soft open-files limit */
const PROBE = `sh -c ${q(`grep -E '^SigIgn:' /proc/self/status; ulimit -Sn`)}`

let profile: string | undefined
const loose = () => (profile ??= writeProfile('caller-state', {allow: ['mmap', 'socket']}))

/** PROBE natively, under apply or under record, as the shell text `wrap` makes of it. */
function probe(how: 'native' | 'apply' | 'record', wrap: (cmd: string) => string): string {
  const cmd =
    how === 'native' ? PROBE
      : how === 'apply' ? `${q(cliPath)} apply ${q(loose())} -- ${PROBE}`
        : `${q(cliPath)} record -q -o ${q(join(dir, 'probe.obs.json'))} -- ${PROBE}`
  const r = spawnSync('sh', ['-c', wrap(cmd)], {cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000})
  expect(r.status, r.stderr).toBe(0)
  return r.stdout
}

describe.runIf(onX64 && hasStrace)('CMD gets the signal dispositions and limits its caller gave', () => {
  const cases: Array<[string, (cmd: string) => string, RegExp]> = [
    ['nohup (SIGHUP ignored)', (c) => `nohup ${c}`, /^SigIgn:\t0*1\n/],
    ["trap '' INT QUIT TERM", (c) => `trap '' INT QUIT TERM; ${c}`, /^SigIgn:\t0*4006\n/],
    ['a background job of a non-interactive shell (SIGINT, SIGQUIT ignored)', (c) => `${c} & wait $!`, /^SigIgn:\t0*6\n/],
    ['ulimit -Sn 1024', (c) => `ulimit -Sn 1024; ${c}`, /^SigIgn:\t0+\n1024\n$/],
  ]
  for (const [what, wrap, expected] of cases) {
    for (const how of ['apply', 'record'] as const) {
      it(`${what}: under ${how} as natively`, () => {
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

/** The pid of a process's tracer (0: none), or undefined when the process is gone. */
function tracerOf(pid: number): number | undefined {
  try {
    return Number(/^TracerPid:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1])
  } catch {
    return undefined
  }
}

describe.runIf(hasStrace)('record always stops, and never leaves a tracer behind', () => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig} after CMD exited, with a descendant still running: record writes the observation and says what it left`, async () => {
      const pidFile = join(dir, `daemon-${sig}.pid`)
      const out = join(dir, `daemon-${sig}.obs.json`)
      // CMD starts a "daemon" (its stdio away from ours, as daemons do) and exits; strace alone would wait 60 s for it
      const r = runCli(['record', '-o', out, '--', 'sh', '-c', `sleep 60 </dev/null >/dev/null 2>&1 & echo $! > ${q(pidFile)}; exit 3`], {cwd: dir, timeoutMs: 30_000, onSpawn: (c) => {
        void waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'), 20_000, 'the daemon').then(async () => {
          const daemon = Number(readFileSync(pidFile, 'utf8'))
          await waitFor(() => (tracerOf(daemon) ?? 0) > 0, 20_000, 'the daemon to be traced')
          c.kill(sig)
        })
      }})
      const res = await r
      const daemon = Number(readFileSync(pidFile, 'utf8'))
      try {
        // record exits with CMD's status, which the trace tells once strace is stopped
        expect(res.status).toBe(3)
        expect(res.stderrLines.at(-1)).toMatch(/stopped after the command exited with 3: 1 traced process was still running \(sleep \d+\), left running untraced$/)
        expect(res.stderrLines.at(-1)).toContain(`sleep ${daemon}`)
        const obs = JSON.parse(readFileSync(out, 'utf8'))
        expect(obs.execs.some((e: string) => e.endsWith('/sleep'))).toBe(true)
        // the daemon lives on, untraced
        expect(tracerOf(daemon)).toBe(0)
      } finally {
        try { process.kill(daemon, 'SIGKILL') } catch { /* gone */ }
      }
    })
  }

  it('kill -9 of record: strace dies with it and the traced program runs on untraced', async () => {
    const pidFile = join(dir, 'k9.pid')
    const child = spawn(cliPath, ['record', '-q', '-o', join(dir, 'k9.obs.json'), '--', 'sh', '-c', `echo $$ > ${q(pidFile)}; exec sleep 60`], {cwd: dir, stdio: 'ignore'})
    const closed = new Promise((res) => child.on('close', res))
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'), 20_000, 'CMD to start')
    const cmd = Number(readFileSync(pidFile, 'utf8'))
    try {
      await waitFor(() => (tracerOf(cmd) ?? 0) > 0, 20_000, 'CMD to be traced')
      const strace = tracerOf(cmd)!
      expect(readFileSync(`/proc/${strace}/comm`, 'utf8').trim()).toBe('strace')
      child.kill('SIGKILL')
      await closed
      await waitFor(() => tracerOf(strace) === undefined, 10_000, 'strace to die')
      await waitFor(() => tracerOf(cmd) === 0, 10_000, 'CMD to be detached')
    } finally {
      try { process.kill(cmd, 'SIGKILL') } catch { /* gone */ }
    }
  })
})
