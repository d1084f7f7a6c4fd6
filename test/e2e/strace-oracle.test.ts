/**
 * strace's own `-C` summary as the oracle of the parser (issue 10 §1b). Real workloads are
 * traced with `strace -f -C -o LOG` under several option sets; strace appends its summary table
 * (calls and errors per syscall, one table per ABI) to LOG after the trace. The trace part goes
 * through the parser (Observer), and its counts must equal the summary's name by name, except
 * for the differences in DIFFERENCES below, which are definitions (README "How the parser
 * counts"), each counted from the log's own lines. A self-test drops one line from a log and
 * checks that the comparison then fails.
 */
import {execFile, execFileSync} from 'node:child_process'
import {availableParallelism, tmpdir} from 'node:os'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {repoRoot} from '../helpers/cli.js'
import {realPython} from '../helpers/apply-profiles.js'
import {Observer} from '../../src/trace/observe.js'
import {TRACE_FLAGS} from '../../src/trace/strace-args.js'

/** The option sets every workload is traced with (besides `-f -C -o LOG`). */
const OPTION_SETS: Record<string, string[]> = {
  'default': [],
  '-yy -ttt -T -v': ['-yy', '-ttt', '-T', '-v'],
  '-X verbose': ['-X', 'verbose'],
  "record's": TRACE_FLAGS.filter((a) => a !== '-f'),
  '-tt -r': ['-tt', '-r'],
  '-i -n': ['-i', '-n'],
  '-k': ['-k'],
}

/**
 * Where the parser and strace's summary count differently, by definition. Each entry counts, on
 * one line of the trace, how much it moves the parser's calls or errors of the line's syscall
 * away from strace's: expected parser count = strace's count + the sum over the log's lines.
 */
const DIFFERENCES: Array<{what: string; reason: string; line: RegExp; calls: number; errors: number}> = [
  {
    what: 'a call that never returned (`= ?`: exit, exit_group, a call cut by its process\'s death)',
    reason: 'the parser counts every call a program made (a profile must allow it); strace -C counts a call when it sees it return',
    line: /= \?(?:\s+<unavailable>)?\s*$/,
    calls: +1,
    errors: 0,
  },
  {
    what: 'an ERESTART* result (`= ? ERESTARTSYS …`, raw format `= -1 ERESTARTNOHAND (Unknown error 514)`)',
    reason: 'kernel-internal: the call is restarted or the program sees EINTR, so the parser counts no error; strace -C counts one',
    line: /= (?:\?|-1) ERESTART\w*/,
    calls: 0,
    errors: -1,
  },
  {
    what: 'an rt_sigreturn/sigreturn "error" (`rt_sigreturn(…) = -1 EINTR`)',
    reason: 'the value is the interrupted code\'s restored register, not a failure of rt_sigreturn; strace -C counts it as an error',
    line: /\b(?:rt_)?sigreturn(?:\(| resumed>).*= -1 E\w+/,
    calls: 0,
    errors: -1,
  },
]

type Counts = {calls: number; errors: number}
/** per ABI, per syscall name */
type Tables = Map<string, Map<string, Counts>>

const ABI_OF_MODE: Record<string, string> = {'64 bit': 'x86_64', '32 bit': 'x86', 'x32': 'x32'}
const SUMMARY_ROW = /^\s*\d+\.\d+\s+\d+\.\d+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\S+)\s*$/

/** Split a `-C -o` log into its trace and strace's summary tables (the first table is 64 bit). */
function splitSummary(log: string): {trace: string; summary: Tables} {
  const lines = log.split('\n')
  const at = lines.findIndex((l) => l.startsWith('% time ') || l.startsWith('System call usage summary for '))
  if (at < 0) throw new Error('no -C summary in the log')
  const summary: Tables = new Map()
  let abi = 'x86_64'
  for (const l of lines.slice(at)) {
    const mode = /^System call usage summary for (.+) mode:$/.exec(l)
    if (mode) { abi = ABI_OF_MODE[mode[1]!] ?? mode[1]!; continue }
    const row = SUMMARY_ROW.exec(l)
    if (!row || row[3] === 'total') continue
    const t = summary.get(abi) ?? new Map<string, Counts>()
    t.set(row[3]!, {calls: Number(row[1]), errors: Number(row[2] ?? 0)})
    summary.set(abi, t)
  }
  return {trace: lines.slice(0, at).join('\n') + '\n', summary}
}

/** The parser's counts of a trace, and how many of its lines it could not read. */
function parse(trace: string): {tables: Tables; unparsed: number} {
  const o = new Observer({command: ['oracle'], host: {kernel: 'test', machine: 'x86_64'}})
  o.push(Buffer.from(trace, 'latin1'))
  const obs = o.end()
  const tables: Tables = new Map()
  for (const [abi, a] of Object.entries(obs.abis)) {
    const t = new Map<string, Counts>()
    for (const [name, s] of Object.entries(a!.syscalls)) t.set(name, {calls: s.count, errors: Object.values(s.errors ?? {}).reduce((n, k) => n + k, 0)})
    tables.set(abi, t)
  }
  return {tables, unparsed: o.stats.unparsed}
}

/** The syscall a trace line is about: `<... NAME resumed>`, else the first `NAME(` after the prefixes. */
const lineName = (l: string): string | undefined => (/<\.\.\. (\w+) resumed>/.exec(l) ?? /(?:^|[\s\]])([a-z_][a-z0-9_]*)\(/.exec(l))?.[1]

/** Per syscall name, summed over ABIs. */
function byName(t: Tables): Map<string, Counts> {
  const out = new Map<string, Counts>()
  for (const table of t.values()) {
    for (const [name, c] of table) {
      const have = out.get(name) ?? {calls: 0, errors: 0}
      out.set(name, {calls: have.calls + c.calls, errors: have.errors + c.errors})
    }
  }
  return out
}

/**
 * The parser's counts against strace's summary: one line per disagreement left after the
 * DIFFERENCES are applied (empty when they agree), and how many lines each difference applied to.
 */
function compareRun(log: string): {mismatches: string[]; applied: number[]} {
  const {trace, summary} = splitSummary(log)
  const {tables, unparsed} = parse(trace)
  const expected = byName(summary)
  const applied = DIFFERENCES.map(() => 0)
  for (const l of trace.split('\n')) {
    for (const [i, d] of DIFFERENCES.entries()) {
      if (!d.line.test(l)) continue
      const name = lineName(l)
      if (name === undefined) continue
      applied[i]!++
      const e = expected.get(name) ?? {calls: 0, errors: 0}
      expected.set(name, {calls: e.calls + d.calls, errors: e.errors + d.errors})
    }
  }
  const got = byName(tables)
  const out: string[] = []
  if (unparsed) out.push(`${unparsed} line(s) the parser could not read`)
  for (const name of [...new Set([...expected.keys(), ...got.keys()])].sort()) {
    const e = expected.get(name) ?? {calls: 0, errors: 0}
    const g = got.get(name) ?? {calls: 0, errors: 0}
    if (e.calls !== g.calls || e.errors !== g.errors) out.push(`${name}: parser ${g.calls} calls ${g.errors} errors, strace -C (with the differences) ${e.calls} calls ${e.errors} errors`)
  }
  // and each name strace put in an ABI's table is there in the parser's too
  for (const [abi, t] of summary) {
    for (const name of t.keys()) if (!tables.get(abi)?.has(name)) out.push(`${name}: in strace's ${abi} table, not in the parser's`)
  }
  return {mismatches: out, applied}
}

const compare = (log: string): string[] => compareRun(log).mismatches

// --- the workloads -------------------------------------------------------------------------------

const tmp = mkdtempSync(join(tmpdir(), 'sg-oracle-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))
const python = realPython()
const git = ['/usr/bin/git', '/bin/git'].find(existsSync)
const elves = join(tmp, 'elves')
mkdirSync(elves)
if (process.arch === 'x64') execFileSync('python3', [join(repoRoot, 'fixtures/scripts/abi-elves.py'), elves])

const PY_THREADS = 'import threading\nt = [threading.Thread(target=sum, args=(range(1000),)) for _ in range(3)]\nfor x in t: x.start()\nfor x in t: x.join()\n'
const NODE_WORKER = "const {Worker} = require('node:worker_threads'); new Worker('require(\"node:worker_threads\").parentPort.postMessage(1)', {eval: true}).once('message', () => {})"

interface Workload {name: string; cmd: string[]; skip?: string; /** options the workload adds to each set */ extra?: (opts: string[]) => string[]}
const WORKLOADS: Workload[] = [
  {name: 'shell pipeline, subshell, background job', cmd: ['sh', '-c', 'ls / | wc -l; (sleep 0.1 &) ; wait']},
  {name: 'tar czf of a small tree', cmd: ['tar', 'czf', join(tmp, 'scripts.tgz'), '-C', repoRoot, 'fixtures/scripts']},
  {name: 'python3 with threads', cmd: [python ?? 'python3', '-c', PY_THREADS], skip: python ? undefined : 'python3 not installed'},
  {name: 'node with a worker thread', cmd: [process.execPath, '-e', NODE_WORKER]},
  // the shell waits in rt_sigsuspend, which the SIGCHLD of the killed sleep ends with ERESTARTNOHAND
  {name: 'a sleep killed mid-call by SIGKILL while the shell waits', cmd: ['sh', '-c', 'sleep 5 & (sleep 0.2; kill -9 $!) & wait']},
  {name: 'git init', cmd: [git ?? 'git', 'init', '-q', join(tmp, 'repo')], skip: git ? undefined : 'git not installed'},
  {
    name: 'an i386 program (abi-elves.py)', cmd: [join(elves, 'i386-getpid')],
    skip: process.arch === 'x64' ? undefined : 'not an x86_64 host',
    // with -o, strace 6.1 hides the ABI switch lines unless a --quiet= set is given
    extra: (opts) => (opts.some((o) => o.startsWith('--quiet=')) ? opts : [...opts, '--quiet=attach']),
  },
]

/** Run `strace -f -C OPTS -o LOG -- CMD`; the log's text. */
function traceRun(opts: string[], cmd: string[], log: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('strace', ['-f', '-C', ...opts, '-o', log, '--', ...cmd], {cwd: tmp, timeout: 60_000}, (err) => {
      if (err && err.killed) return reject(err)
      resolve(readFileSync(log, 'latin1'))
    })
  })
}

/** Run jobs at most `n` at a time. */
async function pool<T>(jobs: Array<() => Promise<T>>, n: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length)
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++
      out[i] = await jobs[i]!()
    }
  }
  await Promise.all(Array.from({length: Math.min(n, jobs.length)}, worker))
  return out
}

const logs = new Map<string, string>()
const key = (w: Workload, set: string) => `${w.name} / ${set}`
const runs = WORKLOADS.filter((w) => !w.skip).flatMap((w) => Object.entries(OPTION_SETS).map(([set, opts]) => ({w, set, opts: w.extra ? w.extra(opts) : opts})))

beforeAll(async () => {
  await pool(runs.map((r, i) => async () => {
    const log = join(tmp, `run-${i}.strace`)
    logs.set(key(r.w, r.set), await traceRun(r.opts, r.w.cmd, log))
  }), Math.max(2, availableParallelism()))
}, 120_000)

describe('the parser against strace -C, name by name', () => {
  for (const w of WORKLOADS) {
    describe.skipIf(!!w.skip)(`${w.name}${w.skip ? ` (skipped: ${w.skip})` : ''}`, () => {
      for (const set of Object.keys(OPTION_SETS)) {
        it(`strace ${set}`, () => {
          const log = logs.get(key(w, set))!
          expect(compare(log)).toEqual([])
        })
      }
    })
  }
})

describe('the oracle can fail', () => {
  it('a log with one finished call line dropped disagrees with its summary, naming the call', () => {
    const log = logs.get(key(WORKLOADS[0]!, 'default'))!
    const lines = log.split('\n')
    const i = lines.findIndex((l) => /^\d+\s+close\(\d+\)\s+= 0$/.test(l))
    expect(i).toBeGreaterThan(0)
    const dropped = [...lines.slice(0, i), ...lines.slice(i + 1)].join('\n')
    expect(compare(dropped)).toEqual([expect.stringMatching(/^close: parser (\d+) calls .*strace -C \(with the differences\) \d+ calls/)])
  })

  it('an error the summary does not have is found too', () => {
    const log = logs.get(key(WORKLOADS[0]!, 'default'))!
    const wrong = log.replace(/^(\d+\s+close\(\d+\)\s+)= 0$/m, '$1= -1 EBADF (Bad file descriptor)')
    expect(compare(wrong)).toEqual([expect.stringMatching(/^close: parser (\d+) calls \d+ errors, strace -C \(with the differences\) \1 calls/)])
  })

  it('every documented difference applied to lines of the real runs (none is dead weight)', () => {
    const total = DIFFERENCES.map(() => 0)
    for (const log of logs.values()) compareRun(log).applied.forEach((n, i) => (total[i]! += n))
    for (const [i, d] of DIFFERENCES.entries()) expect(total[i], d.what).toBeGreaterThan(0)
  })
})
