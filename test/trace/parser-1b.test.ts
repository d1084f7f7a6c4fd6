// The line kinds the parser once got wrong (issue 10, 1b), each on a real strace run recorded by
// fixtures/scripts/parser-1b.sh: quotes inside -yy decorations, ERESTART* in raw-format logs,
// the -tt -r / -ttt -r / -i -n prefixes, -k stack lines, and the program's own output cutting a
// call line when strace and the program share stderr, a call killed mid-call by SIGKILL. The
// killed forms no run here produced (`= ? <unavailable>`, `= -1 (errno 18446744073709551603)`)
// are hand-written.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {Observer} from '../../src/trace/observe.js'
import type {Observation} from '../../src/trace/observation.js'
import {lexLine} from '../helpers/lex-line.js'

const host = {kernel: '6.1.0-test', machine: 'x86_64'}
const dir = join(__dirname, '../../fixtures/parser-1b')

function parse(text: Buffer | string, chunk = 1 << 16): {obs: Observation; o: Observer} {
  const b = typeof text === 'string' ? Buffer.from(text, 'latin1') : text
  const o = new Observer({command: ['t'], host})
  for (let i = 0; i < b.length; i += chunk) o.push(b.subarray(i, i + chunk))
  return {obs: o.end(), o}
}
const fixture = (name: string, chunk?: number) => parse(readFileSync(join(dir, `${name}.strace`)), chunk)
const calls = (obs: Observation) => obs.abis.x86_64!.syscalls

describe('issue 10, 1b: line kinds on real runs', () => {
  it('a `\\"` inside an -yy path decoration is part of the path: dup2 and fcntl are counted', () => {
    const {obs, o} = fixture('quotes-yy')
    expect(o.stats.unparsed).toBe(0)
    expect(calls(obs).dup2?.count).toBe(3)
    expect(calls(obs).fcntl?.count).toBeGreaterThan(0)
    // a quoted socket name inside brackets is still a string
    expect(lexLine('7 getsockname(3<UNIX:[254936,"a>b"]>, NULL) = 0')).toMatchObject({kind: 'call', name: 'getsockname'})
  })

  it('raw-format ERESTART* (`= -1 ERESTARTNOHAND (Unknown error 514)`) is a restart, not an error', () => {
    const {obs, o} = fixture('restart-raw')
    expect(o.stats.unparsed).toBe(0)
    expect(readFileSync(join(dir, 'restart-raw.strace'), 'latin1')).toMatch(/= -1 ERESTART\w+ \(Unknown error 51\d\)/)
    const errnos = Object.values(calls(obs)).flatMap((s) => Object.keys(s.errors ?? {}))
    expect(errnos.filter((e) => e.startsWith('ERESTART'))).toEqual([])
    expect(calls(obs).rt_sigsuspend?.count).toBe(1)
    expect(lexLine('1 read(0, 0x7ffd, 4096) = -1 ERESTARTSYS (Unknown error 512)').kind).toBe('call')
  })

  it('-tt -r, -ttt -r and -i -n prefixes: the same calls as the plain log of the same workload', () => {
    const plain = fixture('plain').obs
    for (const name of ['tt-r', 'ttt-r', 'i-n']) {
      const {obs, o} = fixture(name)
      expect(o.stats.unparsed, name).toBe(0)
      expect(obs.abis, name).toEqual(plain.abis)
    }
  })

  it('-k stack lines are a known line kind: no diagnostics, the same calls as the plain log', () => {
    const {obs, o} = fixture('k')
    expect(o.stats.unparsed).toBe(0)
    expect(o.stats.lines).toBeGreaterThan(300)
    expect(obs.abis).toEqual(fixture('plain').obs.abis)
  })

  it('the program\'s output cutting a call line (`write(1, "oops\\n", 5oops` then `)   = 5`) is joined back', () => {
    for (const chunk of [1 << 16, 7, 1]) {
      const {obs, o} = fixture('stderr-output', chunk)
      expect(calls(obs).write?.count).toBe(2)
      // the one line that is only the program's output ("lines" of "two\nlines")
      expect(o.diagnostics).toEqual([expect.objectContaining({code: 'TRACE_UNPARSABLE', text: 'lines'})])
    }
    // a cut call whose `)` line never comes stays unparsable, under its own line number
    const {o} = parse('read(3, "ab", 2ab\n--- SIGCHLD {si_signo=SIGCHLD} ---\n')
    expect(o.diagnostics).toEqual([expect.objectContaining({code: 'TRACE_UNPARSABLE', line: 1})])
  })

  it('a sleep killed by SIGKILL in clock_nanosleep (`<... clock_nanosleep resumed> <unfinished ...>) = ?`) is counted, with no errno', () => {
    for (const name of ['killed', 'killed-raw']) {
      const {obs, o} = fixture(name)
      expect(o.stats.unparsed, name).toBe(0)
      expect(o.diagnostics, name).toEqual([])
      // the 0.2 s sleep that returned and the 5 s one that was killed
      expect(calls(obs).clock_nanosleep, name).toEqual({count: 2})
      // the shell's wait ended by SIGCHLD: a restart, and rt_sigreturn's restored EINTR: no errors
      expect(calls(obs).rt_sigsuspend?.errors, name).toBeUndefined()
      expect(calls(obs).rt_sigreturn?.errors, name).toBeUndefined()
    }
  })

  it('calls killed mid-call are counted, with no errno', () => {
    const {obs, o} = parse([
      '5 openat(AT_FDCWD, "/x", O_RDONLY <unfinished ...>',
      '5 <... openat resumed>) = -1 (errno 18446744073709551603)',
      '6 newfstatat(AT_FDCWD, "/x", <unfinished ...>',
      '6 <... newfstatat resumed>0x7ffd, 0) = ? <unavailable>',
      '7 close(3) = ? <unavailable>',
    ].join('\n') + '\n')
    expect(o.stats.unparsed).toBe(0)
    expect(calls(obs)).toEqual({openat: {count: 1}, newfstatat: {count: 1}, close: {count: 1}})
  })
})
