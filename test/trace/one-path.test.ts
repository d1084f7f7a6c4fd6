// The parser's behaviour on what used to be decided by several lanes: split calls whose halves
// carry inspected arguments, forks and execs (child ABIs, exec paths the exact scan decides),
// lines cut at any byte (the same observation fed whole, in odd chunks and byte by byte,
// including seeded mutations of real lines), observeFile across its 4 MiB reads and through a
// FIFO, and a name table that grows past its first size.
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {Observer, observeFile} from '../../src/trace/observe.js'
import {serializeObservation} from '../../src/trace/observation-io.js'
import {rng} from '../helpers/rng.js'

const host = {kernel: '6.1.0-test', machine: 'x86_64'}
const fx = join(__dirname, '../../fixtures')
const fixtures = readdirSync(fx).filter((n) => n.endsWith('.strace')).sort()

/** Parse text fed in chunks of `chunk` bytes; the canonical output with diagnostics and stats. */
function parse(text: Buffer, chunk = 1 << 20): string {
  const o = new Observer({command: ['t'], host})
  for (let i = 0; i < text.length; i += chunk) o.push(text.subarray(i, Math.min(text.length, i + chunk)))
  const obs = o.end()
  return serializeObservation(obs) + JSON.stringify(o.diagnostics) + JSON.stringify(o.stats)
}

const log = (lines: string[]) => Buffer.from(lines.join('\n') + '\n', 'latin1')

const EDITS: Array<(l: string, r: () => number) => string> = [
  (l) => l.replace(/ = -1 (E[A-Z]+.*)$/, ' = -1 $1 (INJECTED)'),
  (l) => l.replace(/ = (\S+)$/, ' = $1 (INJECTED)'),
  (l) => l.replace(/ = (\S+)/, ' = ? ERESTARTSYS (To be restarted if SA_RESTART is set)'),
  (l) => l.replace(/ = (\S+)$/, ' = $1 <0.000012>'),
  (l) => l.replace(/ = (\S+)/, ' = $1</dev/pts/0<char 136:0>>'),
  (l) => l.replace(/ = (\S+)/, ' = -1 ENOENT'),
  (l) => l.replace(/ = (\S+)/, ' =  -1 EAGAIN (Resource temporarily unavailable)'),
  (l) => l.replace(/ = (\S+)/, ' = 0 (Timeout)'),
  (l) => l.replace(/ = (\S+)/, ' = 1 ([{fd=3, revents=POLLIN}])'),
  (l) => l.replace(/ = (\S+)/, ' = 0x1 (flags FD_CLOEXEC)'),
  (l) => l.replace(/ = (\S+)/, ' = "(" )'),
  (l) => l.replace(/\) = /, ' <unfinished ...>\n'),
  (l) => l.replace(/\) = /, ' <detached ...>\n'),
  (l) => l.replace(/^(\d+) /, '[pid $1] '),
  (l) => l.replace(/^(\d+) /, '$1  1700000000.123456 '),
  (l) => l.replace(/^(\d+) /, '$1 12:00:00 '),
  (l) => l.replace(/^(\d+) /, '99999999 '),
  (l) => l.replace(/^(\d+) /, '4194305 '),
  (l) => l.replace(/^(\d+) /, '  $1 '),
  (l) => l.replace(/^(\d+) /, ''),
  (l) => l.replace(/^(\d+) /, '$1<comm> '),
  (l) => l.replace(/^(\d+) ([a-z])/, '$1 _$2'),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 $2X('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 syscall_0x1b6('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 sched_get_priority_max('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 bbcdefghij_same_tail_twenty_ch('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 $2$2$2$2$2('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 $2?('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 ???('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 rt_sigreturn('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 <... $2 resumed>'),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 <... $2 resumed> '),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 <...  $2 resumed>'),
  (l) => l.replace(/^(\d+) .*$/, '$1 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED} ---'),
  (l) => l.replace(/^(\d+) .*$/, '$1 --- SIGCHLD <0.000100>'),
  (l) => l.replace(/^(\d+) .*$/, '$1 +++ exited with 0 +++'),
  (l) => l.replace(/^(\d+) .*$/, '$1 +++ killed by SIGKILL +++'),
  (l) => l.replace(/^(\d+) .*$/, '$1 +++ exited with 1 +++ <0.1>'),
  (l) => l.replace(/\(NULL, /, '(/* hint */ NULL, '),
  (l) => l.replace(/\(NULL, /, '(addr=NULL, '),
  (l) => l.replace(/\(NULL, /, '("a,b", '),
  (l) => l.replace(/\(NULL, /, '([NULL, 1], '),
  (l) => l.replace(/, (0x[0-9a-f]+|PROT_[A-Z_|]+),/, ', <$1>,'),
  (l) => l.replace(/, (0x[0-9a-f]+|PROT_[A-Z_|]+),/, ', ,'),
  (l) => l.replace(/resumed>\)/, 'resumed>, "x")'),
  (l) => l.replace(/resumed>\)/, 'resumed>|PROT_EXEC)'),
  (l) => l + '\r',
  (l) => l + '   ',
  (l) => l.replace(/\)( = )/, '$1'),
  (l) => l.replace(/ = /, ' =\t'),
  (l, r) => l.slice(0, Math.floor(r() * l.length)),
  (l, r) => { const at = Math.floor(r() * (l.length + 1)); return l.slice(0, at) + ' ' + l.slice(at) },
  (l, r) => { const at = Math.floor(r() * l.length); return l.slice(0, at) + l.slice(at + 1) },
]

describe('one parse path', () => {
  it('forks and execs: a child\'s ABI from its parent\'s clone, exec paths as the exact scan reads them, split calls joined', () => {
    const text = log([
      '[ Process PID=300 runs in 32 bit mode. ]',
      '300 clone(child_stack=NULL, flags=CLONE_VM|SIGCHLD) = 301',
      '301 getpid() = 301',
      '300 clone(child_stack=NULL, flags=CLONE_VM|CLONE_VFORK|SIGCHLD) = 0x12f',
      '303 getpid() = 303',
      '300 vfork( <unfinished ...>',
      '300 <... vfork resumed>) = 304',
      '304 execve("/nope/x", ["x"], 0x7ffc /* 1 var */) = -1 ENOENT (No such file or directory)',
      '304 execve("/nope/y", ["y"], 0x7ffc /* 1 var */ <unfinished ...>',
      '300 clone(child_stack=NULL, flags=CLONE_FILES <unfinished ...>',
      '304 <... execve resumed>) = -1 EACCES (Permission denied)',
      '300 <... clone resumed>|SIGCHLD) = 305',
      '[ Process PID=305 runs in 64 bit mode. ]',
      '305 execve("/bin/z", ["z"], 0x7ffc /* 1 var */ <pid changed to 300 ...>) = -1 ENOENT (No such file or directory)',
      '300 clone(child_stack=NULL, flags=SIGCHLD) = -1 EAGAIN (Resource temporarily unavailable)',
      // resumed texts the exact scan reads otherwise than the ')' found from the end
      '300 clone(child_stack=NULL, flags=CLONE_VM <unfinished ...>',
      '300 <... clone resumed>|SIGCHLD, x) y) = 308',
      '300 clone(child_stack=NULL, flags=CLONE_VM <unfinished ...>',
      '300 <... clone resumed>, tls="a)b") = 310',
      // successful execs: the exact scan of the argument text decides where it ends
      '306 execve("/bin/a", ["a"], 0x7ffc /* 1 var */) x) = 0',
      '306 execve("/bin/b(", ["b)"], 0x7ffc /* ) */) = 0',
      '306 execve("/bin/c\\"", ["c"], 0x7ffc /* 1 var */) = 0',
      '306 execve("/bin/d", ["d"], 0x7ffc /* 1 var */) = ?',
    ])
    const o = new Observer({command: ['t'], host})
    o.push(text)
    const obs = o.end()
    expect(obs.execs).toEqual(['/bin/b(', '/bin/c"'])
    // 301 and 303 (0x12f) were cloned by the 32-bit 300; 305 switched to 64 bit
    expect(obs.abis.x86?.syscalls.getpid?.count).toBe(2)
    expect(obs.abis.x86_64?.syscalls.execve).toEqual({count: 1, errors: {ENOENT: 1}})
    expect(obs.abis.x86?.syscalls.execve).toEqual({count: 5, errors: {EACCES: 1, ENOENT: 1}})
    expect(obs.abis.x86?.syscalls.clone).toEqual({count: 6, errors: {EAGAIN: 1}, args: {'0': {values: ['0x11', '0x100', '0x111', '0x411', '0x4111']}}})
    expect(o.diagnostics.map((d) => [d.code, d.line])).toEqual([['TRACE_UNPARSABLE', 17], ['TRACE_UNPARSABLE', 20]])
  })

  it('a log fed whole, in odd chunks and byte by byte gives the same bytes: fixtures interleaved, and seeded mutations of their lines', () => {
    const texts = fixtures.map((f) => readFileSync(join(fx, f), 'latin1').split('\n'))
    const mixed: string[] = []
    for (let i = 0; texts.some((l) => i < l.length); i++) for (const l of texts) if (i < l.length) mixed.push(l[i]!)
    const whole = parse(log(mixed))
    expect(parse(log(mixed), 97)).toBe(whole)
    expect(parse(log(mixed), 1)).toBe(whole)
    const lines = texts.flat().filter((l) => l !== '')
    const r = rng(20261125)
    for (let round = 0; round < 12; round++) {
      const text = log(lines.map((l) => (r() < 0.15 ? EDITS[Math.floor(r() * EDITS.length)]!(l, r) : l)))
      const one = parse(text)
      expect(JSON.parse(one.slice(one.lastIndexOf('{'))).unparsed).toBeGreaterThan(0)
      expect(parse(text, round < 3 ? 1 : 97)).toBe(one)
    }
  })

  it('observeFile across its 4 MiB reads and through a FIFO gives what one push gives', async () => {
    const one = Buffer.concat(fixtures.map((f) => readFileSync(join(fx, f))))
    const text = Buffer.concat(Array.from({length: Math.ceil((9.3 * (1 << 20)) / one.length)}, () => one))
    const o = new Observer({command: ['t'], host})
    o.push(text)
    const expected = serializeObservation(o.end()) + JSON.stringify(o.diagnostics)
    const canon = (r: Awaited<ReturnType<typeof observeFile>>) => serializeObservation(r.observation) + JSON.stringify(r.diagnostics)
    const dir = mkdtempSync(join(tmpdir(), 'sg-observefile-'))
    try {
      const file = join(dir, 'log.strace')
      writeFileSync(file, text)
      expect(canon(await observeFile(file, {command: ['t'], host}))).toBe(expected)
      const fifo = join(dir, 'log.fifo')
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
      const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', file, fifo], {stdio: 'ignore'})
      const exited = new Promise((r) => writer.once('exit', r))
      const viaFifo = await observeFile(fifo, {command: ['t'], host})
      expect(await exited).toBe(0)
      expect(canon(viaFifo)).toBe(expected)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('thousands of distinct names: each counted as its own syscall (the name table grows)', () => {
    const lines: string[] = []
    for (let n = 0; n < 3000; n++) {
      const name = `call_${n.toString(36)}`
      lines.push(`7 ${name}(1) = 0`, `7 ${name}(2) = -1 EPERM (Operation not permitted)`, `7 ${name}(3 <unfinished ...>`, `8 read(3, "x", 1) = 1`, `7 <... ${name} resumed>) = 0`)
    }
    const o = new Observer({command: ['t'], host})
    o.push(log(lines))
    const calls = o.end().abis.x86_64!.syscalls
    expect(Object.keys(calls)).toHaveLength(3001)
    expect(calls.read).toEqual({count: 3000})
    for (let n = 0; n < 3000; n += 97) expect(calls[`call_${n.toString(36)}`]).toEqual({count: 3, errors: {EPERM: 1}})
  })
})
