/**
 * Logs without strace's ABI lines (issue 10 §1b): strace 6.1 writing with `-o` hides
 * `[ Process PID=N runs in 32 bit mode. ]`, so an i386 program's calls read as x86_64 ones.
 * `build` refuses such a log in one line naming the strace option that keeps the lines — from
 * names only i386 has (waitpid) or from the exec'd file's ELF header — and the same program
 * traced with `--quiet=attach` builds a profile listing SCMP_ARCH_X86 that `apply` runs.
 * Fixtures: fixtures/abi-lines/ (real runs of fixtures/scripts/abi-elves.py's programs).
 */
import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {repoRoot, runCli} from '../helpers/cli.js'

const onX64 = process.arch === 'x64'
if (!onX64) console.warn(`[skip] unannounced-ABI logs: their programs and syscall numbers are x86_64's (this is ${process.arch})`)
const tmp = mkdtempSync(join(tmpdir(), 'sg-abi-lines-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))
const fixture = (n: string) => join(repoRoot, 'fixtures', 'abi-lines', n)
/** the programs the fixtures traced, written where the logs' relative `./NAME` execs find them */
const elves = join(tmp, 'elves')
const empty = join(tmp, 'empty')
execFileSync('mkdir', ['-p', elves, empty])
execFileSync('python3', [join(repoRoot, 'fixtures/scripts/abi-elves.py'), elves])

const ONE_LINE_REFUSAL = /^ › {3}Error: .*but the log has no strace ABI lines .*re-record with strace --quiet=attach \(or -e quiet=none\).*or pass --arch x86$/

describe.runIf(onX64)('a log strace 6.1 wrote with -o and no --quiet= (no ABI lines)', () => {
  it('names only i386 has (waitpid): build refuses in one line, exit 1 (an input problem), nothing written', async () => {
    const out = join(tmp, 'waitpid.json')
    const r = await runCli(['build', '-o', out, fixture('i386-waitpid-plain.strace')], {cwd: empty})
    expect(r.status).toBe(1)
    expect(r.stderrLines).toHaveLength(1)
    expect(r.stderrLines[0]).toMatch(ONE_LINE_REFUSAL)
    expect(r.stderrLines[0]).toContain('waitpid exists only on i386')
    expect(existsSync(out)).toBe(false)
  })

  it('an exec of an ELF32 i386 file found on this host: build refuses in one line, exit 1, nothing written', async () => {
    // i386-getpid makes getpid/write/exit, names x86_64 has too: only the ELF header tells
    const out = join(tmp, 'getpid.json')
    const r = await runCli(['build', '-o', out, fixture('i386-getpid-plain.strace')], {cwd: elves})
    expect(r.status).toBe(1)
    expect(r.stderrLines).toHaveLength(1)
    expect(r.stderrLines[0]).toMatch(ONE_LINE_REFUSAL)
    expect(r.stderrLines[0]).toContain('./i386-getpid is an ELF32 i386 program')
    expect(existsSync(out)).toBe(false)
  })

  it('an exec of a file not on this host: built, with a line saying it could not be checked', async () => {
    const r = await runCli(['build', '-o', join(tmp, 'unchecked.json'), fixture('i386-getpid-plain.strace')], {cwd: empty})
    expect(r.status).toBe(0)
    expect(r.stderr).toContain('no strace ABI lines, and ./i386-getpid cannot be read here to tell a 32-bit program; if one is, re-record with strace --quiet=attach')
  })

  it('a FIFO where the log says a program was exec\'d: not opened for reading (no hang), reported as unreadable', async () => {
    const fifoDir = join(tmp, 'fifo')
    execFileSync('mkdir', ['-p', fifoDir])
    execFileSync('mkfifo', [join(fifoDir, 'i386-getpid')])
    const r = await runCli(['build', '-o', join(tmp, 'fifo.json'), fixture('i386-getpid-plain.strace')], {cwd: fifoDir})
    expect(r.status).toBe(0)
    expect(r.stderr).toContain('no strace ABI lines, and ./i386-getpid cannot be read here to tell a 32-bit program')
  })

  it('check refuses the same log (its calls would be judged as x86_64 ones), exit 2, one line without --arch; says when it cannot tell', async () => {
    const profile = join(tmp, 'x64-only.json')
    writeFileSync(profile, JSON.stringify({defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64']}))
    const r = await runCli(['check', profile, fixture('i386-getpid-plain.strace')], {cwd: elves})
    expect(r.status).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderrLines).toHaveLength(1)
    expect(r.stderrLines[0]).toContain('./i386-getpid is an ELF32 i386 program')
    expect(r.stderrLines[0]).toMatch(/re-record with strace --quiet=attach \(or -e quiet=none\).*\(seccomp-gen record keeps them\)$/)
    // names only i386 has give it away too, wherever the check runs
    const names = await runCli(['check', profile, fixture('i386-waitpid-plain.strace')], {cwd: empty})
    expect(names.status).toBe(2)
    expect(names.stderrLines).toHaveLength(1)
    expect(names.stderrLines[0]).toContain('waitpid exists only on i386')
    // the program not on this host: judged, with the line saying it could not be checked
    const unread = await runCli(['check', profile, fixture('i386-getpid-plain.strace')], {cwd: empty})
    expect(unread.status).toBe(0)
    expect(unread.stderr).toContain('seccomp-gen: ')
    expect(unread.stderr).toContain('./i386-getpid cannot be read here to tell a 32-bit program')
    // and the log with its ABI lines is judged on i386: killed by the bad-arch action
    const kept = await runCli(['check', profile, fixture('i386-getpid-quiet-attach.strace')], {cwd: elves})
    expect(kept.status).toBe(1)
    expect(kept.stdout).toContain('getpid -> SCMP_ACT_KILL_THREAD (architecture not in the filter)')
  })

  it('--arch x86 lifts the refusal: the profile lists SCMP_ARCH_X86 and apply runs the program', async () => {
    const out = join(tmp, 'getpid-arch.json')
    const b = await runCli(['build', '-q', '--arch', 'x86', '-o', out, fixture('i386-getpid-plain.strace')], {cwd: elves})
    expect(b.status, b.stderr).toBe(0)
    const a = await runCli(['apply', out, '--', './i386-getpid'], {cwd: elves})
    expect({status: a.status, stdout: a.stdout}).toEqual({status: 0, stdout: 'hi\n'})
  })
})

describe.runIf(onX64)('the same programs traced with --quiet=attach (ABI lines kept)', () => {
  for (const prog of ['i386-getpid', 'i386-waitpid']) {
    it(`${prog}: the profile lists SCMP_ARCH_X86 and apply runs it without SIGSYS`, async () => {
      const out = join(tmp, `${prog}-q.json`)
      const b = await runCli(['build', '-q', '-o', out, fixture(`${prog}-quiet-attach.strace`)], {cwd: elves})
      expect(b.status, b.stderr).toBe(0)
      expect(JSON.parse(readFileSync(out, 'utf8')).architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'])
      const a = await runCli(['apply', out, '--', `./${prog}`], {cwd: elves})
      expect(a.status, a.stderr).toBe(0)
    })
  }
})
