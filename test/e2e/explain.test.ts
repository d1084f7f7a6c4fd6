/**
 * `seccomp-gen explain` end to end, on records the real kernel writes: filters loaded by
 * `seccomp-gen apply` (SCMP_ACT_LOG, ERRNO with SECCOMP_FILTER_FLAG_LOG, KILL_PROCESS; i386
 * and x32 programs), read back from dmesg in the test, and caught live with --follow on the
 * kernel's audit multicast group.
 *
 * Without auditd the kernel prints audit records through printk's rate limit: 10 lines per 5 s,
 * shared with every other process on the host. The dmesg tests make at most a few records a
 * run and, when the limit ate some of theirs, wait for the next window and run again; the
 * rate-limit test makes more than 10 on purpose and waits for the kernel's "callbacks
 * suppressed" line. --follow is not rate-limited: it must see every record of a run.
 */
import {execFileSync, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {cliError, cliPath, repoRoot, runCli, waitFor} from '../helpers/cli.js'
import {realPython, tmp} from '../helpers/apply-profiles.js'

const onX64 = process.arch === 'x64'
const python = realPython()
afterAll(() => rmSync(tmp(), {recursive: true, force: true}))

/** dmesg's lines, or null when this host does not let us read them (kernel.dmesg_restrict). */
function dmesg(): string[] | null {
  const r = spawnSync('dmesg', [], {encoding: 'utf8', maxBuffer: 64 << 20})
  return r.status === 0 ? r.stdout.split('\n') : null
}
const dmesgReadable = dmesg() !== null
if (!dmesgReadable) console.warn('explain tests: dmesg cannot be read here (not root, or kernel.dmesg_restrict), the dmesg tests are skipped')
if (!python) console.warn('explain tests: python3 not found, the dmesg and --follow tests are skipped')
if (!onX64) console.warn('explain tests: not x86_64, the tests that run real filters are skipped (their programs and numbers are x86_64 ones)')

function writeFile(name: string, text: string): string {
  const p = join(tmp(), name)
  writeFileSync(p, text)
  return p
}

/** A profile that allows everything but the calls named in `rules`. */
function profile(name: string, rules: Array<{names: string[]; action: string; errnoRet?: number}>, flags?: string[]): string {
  return writeFile(`${name}.json`, JSON.stringify({
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    ...(flags ? {flags} : {}),
    syscalls: rules,
  }))
}

/** The JSON lines explain printed. */
const jsonLines = (stdout: string) => stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, any>)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The rate limit's window (kernel.printk_ratelimit, 5 s by default), and a margin. */
const WINDOW_MS = 5_500

/** Run apply; the lines dmesg has for the pid CMD printed first, once `want` of them are there or the kernel is done. */
async function runAndRead(prof: string, cmd: string[], want: number): Promise<{pid: number; lines: string[]; status: number}> {
  const r = await runCli(['apply', prof, '--', ...cmd])
  const pid = Number(r.stdout.split('\n')[0])
  expect(pid, r.stdout + r.stderr).toBeGreaterThan(0)
  const mine = () => (dmesg() ?? []).filter((l) => l.includes('type=1326') && l.includes(` pid=${pid} `))
  // kauditd prints the records a moment after the calls: give it a little while, not a deadline
  await waitFor(() => mine().length >= want, 2_000).catch(() => undefined)
  return {pid, lines: mine(), status: r.status}
}

describe.runIf(onX64 && python && dmesgReadable)('explain: records from dmesg', () => {
  const script = () => writeFile('calls.py', [
    'import os',
    'print(os.getpid(), flush=True)',
    'os.getpriority(os.PRIO_PROCESS, 0)',
    'try:',
    '    os.setpriority(os.PRIO_PROCESS, 0, 0)',
    'except PermissionError:',
    '    print("setpriority: EACCES", flush=True)',
    'os.sched_get_priority_max(0)',
    'print("not reached", flush=True)',
  ].join('\n') + '\n')

  it('LOG, ERRNO (the filter logs with SECCOMP_FILTER_FLAG_LOG) and KILL_PROCESS, each named with pid, comm, exe; --observe goes into build', async () => {
    const prof = profile('three-actions', [
      {names: ['getpriority'], action: 'SCMP_ACT_LOG'},
      {names: ['setpriority'], action: 'SCMP_ACT_ERRNO', errnoRet: 13},
      {names: ['sched_get_priority_max'], action: 'SCMP_ACT_KILL_PROCESS'},
    ], ['SECCOMP_FILTER_FLAG_LOG'])
    let got = await runAndRead(prof, [python!, script()], 3)
    // the rate limit is the host's: other processes may have used this window up
    for (let attempt = 1; got.lines.length < 3 && attempt < 6; attempt++) {
      await sleep(WINDOW_MS)
      got = await runAndRead(prof, [python!, script()], 3)
    }
    expect(got.status).toBe(159) // the kill is real
    expect(got.lines).toHaveLength(3)

    const file = writeFile('three.dmesg', got.lines.join('\n') + '\n')
    const obs = join(tmp(), 'three.obs.json')
    const r = await runCli(['explain', file, '--json', '--observe', obs])
    expect(r.status, r.stderr).toBe(0)
    const out = jsonLines(r.stdout)
    const denials = out.filter((o) => o.type === 'denial')
    const who = {pid: got.pid, comm: basename(python!).slice(0, 15), exe: realpathSync(python!)}
    expect(denials).toEqual([
      {type: 'denial', abi: 'x86_64', syscall: 'getpriority', nr: 140, argClass: null, ...who, action: 'SCMP_ACT_LOG'},
      {type: 'denial', abi: 'x86_64', syscall: 'setpriority', nr: 141, argClass: null, ...who, action: 'SCMP_ACT_ERRNO'},
      {type: 'denial', abi: 'x86_64', syscall: 'sched_get_priority_max', nr: 146, argClass: null, ...who, action: 'SCMP_ACT_KILL_PROCESS'},
    ])
    const summary = out.at(-1)!
    expect(summary).toMatchObject({type: 'summary', total: 3, distinct: 3, input: {read: 3, records: 3, skipped: 0, suppressed: 0}, warnings: []})

    // the observation: what build merges
    const o = JSON.parse(readFileSync(obs, 'utf8'))
    expect(Object.keys(o.abis.x86_64.syscalls).sort()).toEqual(['getpriority', 'sched_get_priority_max', 'setpriority'])
    const built = await runCli(['build', '--default-action', 'log', obs])
    expect(built.status, built.stderr).toBe(0)
    const allowed = JSON.parse(built.stdout).syscalls.flatMap((s: {names: string[]}) => s.names)
    expect(allowed).toEqual(expect.arrayContaining(['getpriority', 'sched_get_priority_max', 'setpriority']))

    // the same lines as text from standard input, among other kernel lines
    const text = await runCli(['explain', '-'], {input: ['[    1.000000] Linux version 6.x', ...got.lines, 'garbage'].join('\n') + '\n'})
    expect(text.status).toBe(0)
    expect(text.stdout).toContain(`seccomp-gen: x86_64 setpriority(arguments unknown) by pid ${got.pid} ${who.comm} (${who.exe}): SCMP_ACT_ERRNO\n`)
    expect(text.stdout).toMatch(/^seccomp-gen: 3 call\(s\) reported by the kernel, 3 distinct:$/m)
    expect(text.stdout).toContain('seccomp-gen: read 5 line(s): 3 seccomp record(s), 2 other line(s) skipped\n')
    expect(text.stderr).toBe('')
  })

  it('i386 and x32 records are named for their ABI (x32: the x86_64 audit arch and the 0x40000000 bit)', async () => {
    const elves = join(tmp(), 'elves')
    mkdirSync(elves, {recursive: true})
    execFileSync('python3', [join(repoRoot, 'fixtures', 'scripts', 'abi-elves.py'), elves])
    const prof = profile('getpid-log', [{names: ['getpid'], action: 'SCMP_ACT_LOG'}])
    // the programs print no pid: read all the records of their exe
    const read = async () => {
      for (const p of ['i386-getpid', 'x32-getpid']) await runCli(['apply', prof, '--', join(elves, p)])
      const lines = () => (dmesg() ?? []).filter((l) => l.includes('type=1326') && l.includes(`exe="${elves}/`))
      await waitFor(() => lines().length >= 2, 2_000).catch(() => undefined)
      return lines()
    }
    let lines = await read()
    for (let attempt = 1; lines.length < 2 && attempt < 6; attempt++) {
      await sleep(WINDOW_MS)
      lines = await read()
    }
    expect(lines.length).toBeGreaterThanOrEqual(2)
    const r = await runCli(['explain', '--json', writeFile('abis.dmesg', lines.join('\n'))])
    const denials = jsonLines(r.stdout).filter((o) => o.type === 'denial')
    // in either order: a retry may have caught one of them in an earlier window
    expect(denials.map((d) => [d.abi, d.syscall, d.nr, d.comm, d.action]).sort()).toEqual([
      ['x32', 'getpid', 0x40000027, 'x32-getpid', 'SCMP_ACT_LOG'],
      ['x86', 'getpid', 20, 'i386-getpid', 'SCMP_ACT_LOG'],
    ])
  })

  it('the rate limit: a run of more records than it lets through, then its "callbacks suppressed" line, said in one warning', async () => {
    const before = dmesg()!
    const last = before.filter((l) => l.trim()).at(-1)
    const since = () => {
      const now = dmesg()!
      const at = last === undefined ? -1 : now.lastIndexOf(last)
      return now.slice(at + 1).filter((l) => l.trim())
    }
    // every call logged: `true` makes some 30 records, more than the 10 a window lets through
    const all = writeFile('log-all.json', JSON.stringify({defaultAction: 'SCMP_ACT_LOG', architectures: ['SCMP_ARCH_X86_64'], syscalls: []}))
    expect((await runCli(['apply', all, '--', 'true'])).status).toBe(0)
    // the kernel says how many it dropped with the first line it prints after the window:
    // make one record a second until that line comes
    const one = profile('exit-log', [{names: ['exit_group'], action: 'SCMP_ACT_LOG'}])
    const suppressed = () => since().filter((l) => /kauditd_printk_skb: \d+ callbacks suppressed/.test(l))
    for (let i = 0; i < 30 && suppressed().length === 0; i++) {
      await runCli(['apply', one, '--', 'true'])
      await sleep(1_000)
    }
    expect(suppressed().length).toBeGreaterThan(0)
    const lines = since()
    const dropped = suppressed().reduce((n, l) => n + Number(/(\d+) callbacks/.exec(l)![1]), 0)

    const r = await runCli(['explain', writeFile('limited.dmesg', lines.join('\n') + '\n')])
    expect(r.status).toBe(0)
    const records = lines.filter((l) => l.includes('type=1326')).length
    const others = lines.length - records - suppressed().length
    expect(r.stdout).toContain(`seccomp-gen: read ${lines.length} line(s): ${records} seccomp record(s)${others ? `, ${others} other line(s) skipped` : ''}, ${suppressed().length} rate-limit notice(s)\n`)
    expect(r.stderrLines).toEqual([
      `seccomp-gen: warning: the kernel's printk rate limit dropped ${dropped} audit line(s) ("callbacks suppressed"; about 10 get through per 5 s without auditd): calls may be missing here; run auditd and read /var/log/audit/audit.log, or catch every record live with \`seccomp-gen explain --follow\``,
    ])
  })
})

describe.runIf(onX64 && python)('explain --follow: the audit multicast group', () => {
  it('catches every record of a run (300 of one call; dmesg would show 10), i386 and x32 ones too, and writes them as an observation', async () => {
    const elves = join(tmp(), 'follow-elves')
    mkdirSync(elves, {recursive: true})
    execFileSync('python3', [join(repoRoot, 'fixtures', 'scripts', 'abi-elves.py'), elves])
    const getpid = profile('follow-getpid', [{names: ['getpid'], action: 'SCMP_ACT_LOG'}])
    const calls = profile('follow-calls', [{names: ['getpriority', 'sched_get_priority_min'], action: 'SCMP_ACT_LOG'}])
    const script = writeFile('loop.py', [
      'import os',
      'print(os.getpid(), flush=True)',
      'for _ in range(300):',
      '    os.getpriority(os.PRIO_PROCESS, 0)',
      // the last record of the run: once explain has it, it has had all before it (the kernel sends in order)
      'os.sched_get_priority_min(0)',
    ].join('\n') + '\n')
    const obs = join(tmp(), 'follow.obs.json')

    let child: ChildProcess | undefined
    let stdout = ''
    const done = runCli(['explain', '--follow', '--json', '--observe', obs], {
      onSpawn: (c) => {
        child = c
        c.stdout!.on('data', (s: Buffer | string) => (stdout += s.toString()))
      },
    })
    await waitFor(() => stdout.includes('{"type":"listening"}'), 20_000, 'explain --follow to subscribe')

    for (const p of ['i386-getpid', 'x32-getpid']) expect((await runCli(['apply', getpid, '--', join(elves, p)])).status).toBe(0)
    const run = await runCli(['apply', calls, '--', python!, script])
    expect(run.status, run.stderr).toBe(0)
    const pid = Number(run.stdout.trim())
    await waitFor(() => stdout.split('\n').some((l) => l.includes('"syscall":"sched_get_priority_min"') && l.includes(`"pid":${pid}`)), 20_000, 'the last record of the run')
    child!.kill('SIGINT')
    const r = await done
    expect(r.status, r.stderr).toBe(0)

    const out = jsonLines(r.stdout)
    const summary = out.at(-1)!
    expect(summary.type).toBe('summary')
    const row = (abi: string, syscall: string) => summary.rows.find((x: any) => x.abi === abi && x.syscall === syscall)
    // nothing else on this host calls getpriority under a LOG rule: the count is the run's own
    expect(row('x86_64', 'getpriority')).toMatchObject({count: 300, processes: 1, pid, action: 'SCMP_ACT_LOG'})
    expect(row('x86', 'getpid')).toMatchObject({nr: 20, comm: 'i386-getpid'})
    expect(row('x32', 'getpid')).toMatchObject({nr: 0x40000027, comm: 'x32-getpid'})
    expect(summary.input.overflows).toBe(0)

    const o = JSON.parse(readFileSync(obs, 'utf8'))
    expect(o.abis.x86_64.syscalls.getpriority.count).toBeGreaterThanOrEqual(300)
    expect(o.abis.x86.syscalls.getpid.count).toBeGreaterThanOrEqual(1)
    expect(o.abis.x32.syscalls.getpid.count).toBeGreaterThanOrEqual(1)
  })

  it("the README's loop on examples/explain/app.py: the LOG profile's records, caught by --follow --exe, make the next build allow what the first denied", async () => {
    const dir = join(tmp(), 'loop')
    mkdirSync(dir, {recursive: true})
    for (const f of ['app.py', 'input.txt']) writeFileSync(join(dir, f), readFileSync(join(repoRoot, 'examples', 'explain', f)))
    const cli = (args: string[]) => runCli(args, {cwd: dir})
    const app = [python!, 'app.py', 'input.txt']
    expect((await cli(['record', '-q', '-o', 'run1.obs.json', '--', ...app])).stdout).toBe('4\n')
    expect((await cli(['build', '-q', '-o', 'app.json', 'run1.obs.json'])).status).toBe(0)
    // -o takes fsync and rename, which the first run never called
    const denied = await cli(['apply', 'app.json', '--', ...app, '-o', 'count.txt'])
    expect(denied.status).toBe(1)
    expect(denied.stderr).toMatch(/os\.fsync\(f\.fileno\(\)\)\nPermissionError: \[Errno 1\] Operation not permitted/)
    expect((await cli(['build', '-q', '--default-action', 'log', '-o', 'app-log.json', 'run1.obs.json'])).status).toBe(0)

    const exe = realpathSync(python!)
    let child: ChildProcess | undefined
    let stdout = ''
    const done = runCli(['explain', '--follow', '--json', '--exe', exe, '--observe', 'missed.obs.json'], {
      cwd: dir,
      onSpawn: (c) => {
        child = c
        c.stdout!.on('data', (s: Buffer | string) => (stdout += s.toString()))
      },
    })
    await waitFor(() => stdout.includes('{"type":"listening"}'), 20_000, 'explain --follow to subscribe')
    const logged = await cli(['apply', 'app-log.json', '--', ...app, '-o', 'count.txt'])
    expect(logged.status, logged.stderr).toBe(0)
    // rename is the run's last logged call
    await waitFor(() => stdout.includes('"syscall":"rename"'), 20_000, 'the rename record')
    child!.kill('SIGINT')
    const r = await done
    expect(r.status, r.stderr).toBe(0)
    // the run's own lines (another test running this python under a LOG filter now would add its own)
    const denials = jsonLines(r.stdout).filter((o) => o.type === 'denial')
    const pid = denials.find((d) => d.syscall === 'rename')!.pid
    expect(denials.filter((d) => d.pid === pid).map((d) => [d.syscall, d.exe, d.action])).toEqual([['fsync', exe, 'SCMP_ACT_LOG'], ['rename', exe, 'SCMP_ACT_LOG']])

    rmSync(join(dir, 'count.txt'))
    expect((await cli(['build', '-q', '-o', 'app.json', 'run1.obs.json', 'missed.obs.json'])).status).toBe(0)
    const ok = await cli(['apply', 'app.json', '--', ...app, '-o', 'count.txt'])
    expect(ok.status, ok.stderr).toBe(0)
    expect(readFileSync(join(dir, 'count.txt'), 'utf8')).toBe('4\n')
  })

  it('without CAP_AUDIT_READ: one line, exit 1', () => {
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', cliPath, 'explain', '--follow'], {encoding: 'utf8'})
    expect(r.status).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/Error: cannot subscribe to the kernel's audit records: EPERM \(it needs CAP_AUDIT_READ: run as root\)$/)])
  })
})

describe("explain --exe, --comm, --pid: one program's records out of a whole host's log", () => {
  // fixtures/audit/dmesg.txt: real lines of this kernel, records of seven programs (exe=)
  const host = join(repoRoot, 'fixtures', 'audit', 'dmesg.txt')
  const PYTHON = '/root/.pyenv/versions/3.11.7/bin/python3.11'
  const rateLimit = expect.stringMatching(/^seccomp-gen: warning: the kernel's printk rate limit dropped 84 /)

  it('--exe: only its calls are reported and observed, the others counted; build allows only them', async () => {
    const obs = join(tmp(), 'python.obs.json')
    const r = await runCli(['explain', host, '--exe', PYTHON, '--observe', obs])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout.split('\n').filter((l) => l.includes('(arguments unknown) by pid'))).toEqual([
      `seccomp-gen: x86_64 getpriority(arguments unknown) by pid 19128 python3 (${PYTHON}): SCMP_ACT_LOG`,
      `seccomp-gen: x86_64 setpriority(arguments unknown) by pid 19128 python3 (${PYTHON}): SCMP_ACT_ERRNO`,
      `seccomp-gen: x86_64 sched_get_priority_max(arguments unknown) by pid 19128 python3 (${PYTHON}): SCMP_ACT_KILL_PROCESS`,
    ])
    expect(r.stdout).toContain(`seccomp-gen: read 12 line(s): 3 seccomp record(s), 2 other line(s) skipped, 1 rate-limit notice(s), 6 record(s) of other programs skipped; observation written to ${obs}\n`)
    // a filter given: no warning about programs merged
    expect(r.stderrLines).toEqual([rateLimit])

    const o = JSON.parse(readFileSync(obs, 'utf8'))
    expect(Object.keys(o.abis)).toEqual(['x86_64'])
    expect(Object.keys(o.abis.x86_64.syscalls).sort()).toEqual(['getpriority', 'sched_get_priority_max', 'setpriority'])
    expect(o.command).toEqual(['seccomp-gen', 'explain', host, '--exe', PYTHON])
    const built = await runCli(['build', '--default-action', 'log', obs])
    expect(built.status, built.stderr).toBe(0)
    const allowed = JSON.parse(built.stdout).syscalls.flatMap((s: {names: string[]}) => s.names)
    expect(allowed).toEqual(expect.arrayContaining(['getpriority', 'sched_get_priority_max', 'setpriority']))
    // the other programs' calls stay out: mkdir (killed under /usr/bin/mkdir)
    expect(allowed).not.toContain('mkdir')
  })

  it('--comm and --pid, repeatable, keep what matches any; --json carries the counts', async () => {
    const r = await runCli(['explain', host, '--comm', 'i386-getpid', '--pid', '18150', '--pid', '19512', '--json'])
    expect(r.status, r.stderr).toBe(0)
    const out = jsonLines(r.stdout)
    expect(out.filter((o) => o.type === 'denial').map((d) => [d.pid, d.comm])).toEqual([[31982, 'i386-getpid'], [18150, 'bash'], [19199, 'i386-getpid'], [19512, 'mkdir']])
    // every line read is counted once: 4 records, 5 of other programs, 2 other lines, 1 rate-limit notice
    expect(out.at(-1)).toMatchObject({type: 'summary', total: 4, input: {read: 12, records: 4, otherPrograms: 5, skipped: 2, rateLimitNotices: 1, suppressed: 84, unreadable: {}, repeated: 0}})
  })

  it('--observe without a filter on records of several programs: one warning line naming how many, suggesting --exe', async () => {
    const obs = join(tmp(), 'merged.obs.json')
    const merged = `seccomp-gen: warning: the observation merges the calls of 7 programs (distinct exe=): a profile built from it would allow each of them the others' calls too; keep one program's records with --exe PATH (the path in parentheses in the report)`
    const r = await runCli(['explain', host, '--observe', obs])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderrLines).toEqual([merged, rateLimit])
    expect(existsSync(obs)).toBe(true)
    const json = await runCli(['explain', host, '--observe', obs, '--json'])
    expect(jsonLines(json.stdout).at(-1)).toMatchObject({input: {records: 9, otherPrograms: 0, programs: 7}, warnings: [merged.replace('seccomp-gen: warning: ', ''), expect.any(String)]})
    // nothing observed: nothing merged, no warning
    expect((await runCli(['explain', host])).stderrLines).toEqual([rateLimit])
  })

  it('a filter no record can match: one line, exit 2, nothing written', async () => {
    const obs = join(tmp(), 'never.obs.json')
    for (const [args, message] of [
      [['--exe', 'python3.11'], "--exe python3.11: give the absolute path a record's exe= names"],
      [['--comm', 'a-name-of-16-ch.'], "--comm a-name-of-16-ch.: a record's comm= is 1 to 15 bytes (the kernel cuts longer names)"],
      [['--pid', 'x'], '--pid: Expected an integer but received: x (see: seccomp-gen explain --help)'],
      [['--pid', '0'], '--pid: Expected an integer greater than or equal to 1 but received: 0 (see: seccomp-gen explain --help)'],
    ] as const) {
      const r = await runCli(['explain', host, ...args, '--observe', obs])
      expect(r.status).toBe(2)
      expect(r.stdout).toBe('')
      expect(cliError(r)).toEqual({message, count: 1})
      expect(r.stderrLines).toHaveLength(1)
      expect(existsSync(obs)).toBe(false)
    }
  })
})

describe('explain: bad input', () => {
  it('garbage lines are skipped and counted, never fatal', async () => {
    const r = await runCli(['explain', join(repoRoot, 'fixtures', 'audit', 'garbage.txt')])
    expect(r.status).toBe(0)
    expect(r.stdout).toBe('seccomp-gen: no call was reported by the kernel\n' +
      'seccomp-gen: read 10 line(s): 0 seccomp record(s), 5 other line(s) skipped, 5 unreadable record(s) skipped (1 no code, 1 arch deadbeef unknown, 1 arch SCMP_ARCH_PPC64 not supported, 1 no pid, 1 no syscall number)\n')
  })

  it('a file that cannot be read: one line, exit 1, nothing reported or written', async () => {
    const obs = join(tmp(), 'bad.obs.json')
    const good = join(repoRoot, 'fixtures', 'audit', 'dmesg.txt')
    for (const [bad, why] of [['/nonexistent/dmesg.txt', 'no such file or directory'], [tmp(), 'is a directory']] as const) {
      const r = await runCli(['explain', good, bad, '--observe', obs])
      expect(r.status).toBe(1)
      expect(r.stdout).toBe('')
      expect(cliError(r)).toEqual({message: `cannot read ${bad}: ${why}`, count: 1})
      expect(r.stderrLines).toHaveLength(1)
      expect(existsSync(obs)).toBe(false)
    }
  })

  it('nothing to read, or files and --follow at once: usage, exit 2', async () => {
    const none = await runCli(['explain'])
    expect(none.status).toBe(2)
    expect(cliError(none)?.message).toBe('say what to read: FILE… (- for standard input) or --follow')
    const both = await runCli(['explain', '--follow', 'x.log'])
    expect(both.status).toBe(2)
    expect(cliError(both)?.message).toMatch(/^--follow reads the kernel, not files/)
  })
})
