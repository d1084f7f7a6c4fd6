// The fast lanes (Observer.lane, lexFast + foldFast) must give exactly what the general path
// (every line through lexInto + line()) gives: same observation bytes, same diagnostics.
// Checked on every fixture, on logs mixed from fixtures (interleaved pids, chunk cuts), and on
// seeded mutations of real lines aimed at the shapes the lanes decide on.
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {Observer, observeFile, type ObserverOptions} from '../../src/trace/observe.js'
import {LaneScanner} from '../../src/trace/lane-wasm.js'
import {serializeObservation} from '../../src/trace/observation-io.js'
import {rng} from '../helpers/rng.js'

const host = {kernel: '6.1.0-test', machine: 'x86_64'}
const fx = join(__dirname, '../../fixtures')
const fixtures = readdirSync(fx).filter((n) => n.endsWith('.strace')).sort()

/** Parse text with the given lanes, fed in chunks of `chunk` bytes; the canonical output. */
function parse(text: Buffer, lanes: ObserverOptions['lanes'], chunk = 1 << 20): string {
  const o = new Observer({command: ['t'], host, lanes})
  for (let i = 0; i < text.length; i += chunk) o.push(text.subarray(i, Math.min(text.length, i + chunk)))
  const obs = o.end()
  return serializeObservation(obs) + JSON.stringify(o.diagnostics) + JSON.stringify(o.stats)
}

function agree(text: Buffer, chunk?: number): void {
  const general = parse(text, 'none', chunk)
  expect(parse(text, 'lexfast', chunk)).toBe(general)
  expect(parse(text, 'js', chunk)).toBe(general)
  expect(parse(text, 'all', chunk)).toBe(general)
}


// edits aimed at what the lanes look at: prefix, timestamp, name, the return part, markers
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
  // the lane's name cache packs names up to 24 bytes exactly; longer ones must not be confused
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 sched_get_priority_max('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 abcdefghijklmnopqrstuvwx('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 abcdefghijklmnopqrstuvwxy_read('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 abcdefghijklmnopqrstuvwxy_mmap('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 abcdefghij_same_tail_twenty_ch('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 bbcdefghij_same_tail_twenty_ch('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 $2$2$2$2$2('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 $2?('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 ???('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 rt_sigreturn('),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 <... $2 resumed>'),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 <... $2 resumed> '),
  (l) => l.replace(/^(\d+) ([a-z_0-9]+)\(/, '$1 <...  $2 resumed>'),
  // what lane.wasm takes besides calls: signals and exits, and the argument texts it reads
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

describe('fast lanes agree with the general path', () => {
  for (const f of fixtures) {
    it(`fixture ${f}`, () => {
      const text = readFileSync(join(fx, f))
      agree(text)
      agree(text, 97) // lines cut across chunks
    })
  }

  it('all fixtures concatenated, and interleaved line by line (pids mixed, calls pending across pids)', () => {
    const texts = fixtures.map((f) => readFileSync(join(fx, f), 'latin1'))
    agree(Buffer.from(texts.join('\n'), 'latin1'))
    const lists = texts.map((t) => t.split('\n'))
    const mixed: string[] = []
    for (let i = 0; lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) mixed.push(l[i]!)
    agree(Buffer.from(mixed.join('\n'), 'latin1'), 4096)
  })

  it('lane.wasm state handed over: split calls with inspected arguments, exits and signals while pending, pids reused', () => {
    // lines lane.wasm takes (after the first of a kind) mixed with ones it must hand to the
    // general path in between: the pending call and its argument text must move over exactly
    const warm = [
      '100 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000',
      '100 mmap(NULL, 8192, PROT_EXEC, MAP_PRIVATE, -1, 0) = 0x7f0000005000',
      '100 mprotect(0x7f0000000000, 4096, PROT_READ) = 0',
      '100 read(3, "x", 1) = 1',
      '100 openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory)',
    ]
    const body = [
      '100 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>',
      '101 read(3, "x", 1) = 1',
      '100 <... mmap resumed>) = 0x7f0000001000',
      '100 mprotect(0x7f0000000000, 4096, PROT_READ <unfinished ...>',
      '100 <... mprotect resumed>) = 0',
      '100 mprotect(0x7f0000000000, 4096, PROT_READ <unfinished ...>',
      '100 <... mprotect resumed>|PROT_WRITE) = 0',
      '100 mmap(NULL, 8192, PROT_EXEC, MAP_PRIVATE, -1, 0 <unfinished ...>',
      '100 <... mmap resumed>) = 0x7f0000002000',
      '100 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>',
      '101 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED} ---',
      '100 <... mmap resumed>) = 0x7f0000003000',
      '100 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>',
      '100 +++ exited with 0 +++',
      '100 read(3, "y", 1) = 1',
      '100 openat(AT_FDCWD, "/nope", O_RDONLY <unfinished ...>',
      '101 openat(AT_FDCWD, "/nope", O_RDONLY) = -1 EACCES (Permission denied)',
      '100 <... openat resumed>) = -1 ENOENT (No such file or directory)',
      '100 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>',
      '100 <... mmap resumed>"odd") = 0x7f0000004000',
      // a comma inside a quoted argument: the third argument is PROT_WRITE, not PROT_EXEC
      '100 mmap("a,b", PROT_EXEC, PROT_WRITE, MAP_PRIVATE, -1, 0) = 0x7f0000006000',
      '100 mmap([1, 2], PROT_EXEC, PROT_NONE, MAP_PRIVATE, -1, 0) = 0x7f0000007000',
      '100 read(3, <unfinished ...>',
      '101 +++ killed by SIGKILL +++',
      '100 <... read resumed>"z", 1) = 1',
      '100 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>',
    ]
    // a call lane.wasm started, copied over, finished, and the same syscall started again and
    // never finished: the line number in the diagnostic is the second one's
    const again = [...warm, ...warm,
      '100 read(3, <unfinished ...>',
      '102 execve("/bin/true", ["true"], 0x7ffc /* 1 var */) = 0',
      '100 <... read resumed>"x", 1) = 1',
      '100 read(3, <unfinished ...>',
    ]
    agree(Buffer.from(again.join('\n') + '\n', 'latin1'))
    // execs and forks lane.wasm lexes and laneProc() takes (or leaves to line()): the
    // inspected flags last, a child whose ABI comes from its parent (a 32-bit one), failed
    // execs, split ones, and `<pid changed to N ...>` where only line() reads it
    const procs = [
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
      '300 clone(child_stack=NULL, flags=CLONE_VM) = 306 <0.000100>',
      '100 read(3, "x", 1) = 1',
      '306 getpid() = 306',
      '[ Process PID=305 runs in 64 bit mode. ]',
      '305 execve("/bin/z", ["z"], 0x7ffc /* 1 var */ <pid changed to 300 ...>) = -1 ENOENT (No such file or directory)',
      '300 getppid() = 1',
      '300 clone(child_stack=NULL, flags=SIGCHLD) = ?',
      '300 clone(child_stack=NULL, flags=SIGCHLD) = -1 EAGAIN (Resource temporarily unavailable)',
      '305 getpid() = 305',
      // resumed texts the exact scan reads otherwise than the ')' found from the end
      '300 clone(child_stack=NULL, flags=CLONE_VM <unfinished ...>',
      '300 <... clone resumed>|SIGCHLD, x) y) = 308',
      '300 clone(child_stack=NULL, flags=CLONE_VM <unfinished ...>',
      '300 <... clone resumed>|(SIGCHLD) = 309',
      '300 clone(child_stack=NULL, flags=CLONE_VM <unfinished ...>',
      '300 <... clone resumed>, tls="a)b") = 310',
      // successful execs: the exact scan of the argument text decides where it ends
      '306 execve("/bin/a", ["a"], 0x7ffc /* 1 var */) x) = 0',
      '306 execve("/bin/b(", ["b)"], 0x7ffc /* ) */) = 0',
      '306 execve("/bin/c\\"", ["c"], 0x7ffc /* 1 var */) = 0',
      '306 execve("/bin/d", ["d"], 0x7ffc /* 1 var */) = ?',
    ]
    const procText = Buffer.from([...warm, ...procs, ...procs.map((l) => l.replace(/\b30(\d)\b/g, '40$1'))].join('\n') + '\n', 'latin1')
    for (const chunk of [1 << 20, 301, 13]) agree(procText, chunk)
    // (a syscall's second finished call lets lane.wasm count it)
    const text = Buffer.from([...warm, ...warm, ...body, ...body, ...warm, ...body].join('\n') + '\n', 'latin1')
    for (const chunk of [1 << 20, 4096, 301, 97, 13]) agree(text, chunk)
    // lane.wasm did take lines of this log
    const w = LaneScanner.shared()!
    const scan = w.scan.bind(w)
    let taken = 0
    w.scan = (from, mayCount) => { const got = scan(from, mayCount); taken += w.status[1]!; return got }
    try { parse(text, 'all') } finally { w.scan = scan }
    expect(taken).toBeGreaterThan(20)
  })

  it('observeFile() reading straight into lane.wasm (files, FIFOs, two at once, another Observer in between) gives what the general path gives', async () => {
    // 9+ MiB: lines cut at the 4 MiB reads, pending calls and argument texts across them,
    // while another Observer uses lane.wasm between the reads
    const texts = fixtures.map((f) => readFileSync(join(fx, f), 'latin1'))
    const lists = texts.map((t) => t.split('\n'))
    const mixed: string[] = []
    for (let i = 0; lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) mixed.push(l[i]!)
    const one = Buffer.from(texts.join('\n') + '\n' + mixed.join('\n') + '\n', 'latin1')
    const text = Buffer.concat(Array.from({length: Math.ceil((9.3 * (1 << 20)) / one.length)}, () => one))
    const alone = (t: Buffer, command: string) => {
      const o = new Observer({command: [command], host, lanes: 'none'})
      o.push(t)
      return serializeObservation(o.end()) + JSON.stringify(o.diagnostics)
    }
    const general = alone(text, 't')
    const dir = mkdtempSync(join(tmpdir(), 'sg-observefile-'))
    try {
      const file = join(dir, 'log.strace')
      writeFileSync(file, text)
      const canon = (r: Awaited<ReturnType<typeof observeFile>>) =>
        serializeObservation(r.observation) + JSON.stringify(r.diagnostics)
      const opts = {command: ['t'], host}
      const other = new Observer({command: ['o'], host})
      const b = readFileSync(join(fx, 'tar-gzip.strace'))
      const [got] = await Promise.all([observeFile(file, opts), (async () => {
        for (let i = 0; i < b.length; i += 4096) {
          other.push(b.subarray(i, i + 4096))
          await new Promise((r) => setImmediate(r))
        }
      })()])
      expect(canon(got)).toBe(general)
      // two at once: one reads into lane.wasm's areas, the other through its own buffers
      const both = await Promise.all([observeFile(file, opts), observeFile(file, opts)])
      expect(both.map(canon)).toEqual([general, general])
      expect(serializeObservation(other.end()) + JSON.stringify(other.diagnostics)).toBe(alone(b, 'o'))
      const fifo = join(dir, 'log.fifo')
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
      const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', file, fifo], {stdio: 'ignore'})
      const exited = new Promise((r) => writer.once('exit', r))
      const viaFifo = await observeFile(fifo, opts)
      expect(await exited).toBe(0)
      expect(canon(viaFifo)).toBe(general)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('Observers that take turns with the one lane.wasm give what each gives alone', () => {
    // lane.wasm is shared by every Observer of the process (record and build may parse several
    // logs at once): each must find its own state whatever the others did in between
    const a = readFileSync(join(fx, 'node-workers.strace'))
    const b = readFileSync(join(fx, 'tar-gzip.strace'))
    const alone = [parse(a, 'none'), parse(b, 'none')]
    const oa = new Observer({command: ['t'], host})
    const ob = new Observer({command: ['t'], host})
    const step = 3001
    for (let i = 0; i < Math.max(a.length, b.length); i += step) {
      if (i < a.length) oa.push(a.subarray(i, Math.min(a.length, i + step)))
      if (i < b.length) ob.push(b.subarray(i, Math.min(b.length, i + step)))
    }
    const out = [oa, ob].map((o) => serializeObservation(o.end()) + JSON.stringify(o.diagnostics) + JSON.stringify(o.stats))
    expect(out).toEqual(alone)
  })

  it('lane.wasm starting its name table afresh (thousands of names) changes nothing', () => {
    const lines: string[] = []
    for (let n = 0; n < 3000; n++) {
      const name = `call_${n.toString(36)}`
      lines.push(`7 ${name}(1) = 0`, `7 read(3, "x", 1) = 1`, `7 ${name}(2) = -1 EPERM (Operation not permitted)`, `7 ${name}(3 <unfinished ...>`, `8 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3, 0) = 0x1000`, `7 <... ${name} resumed>) = 0`)
    }
    const w = LaneScanner.shared()!
    const before = w.generation
    agree(Buffer.from(lines.join('\n') + '\n', 'latin1'), 65536)
    expect(w.generation).toBeGreaterThan(before)
  })

  it('mutated lines (seeded)', () => {
    const lines = fixtures.flatMap((f) => readFileSync(join(fx, f), 'latin1').split('\n')).filter((l) => l !== '')
    const r = rng(20261125)
    for (let round = 0; round < 20; round++) {
      const out: string[] = []
      for (const l of lines) {
        if (r() < 0.15) {
          const edit = EDITS[Math.floor(r() * EDITS.length)]!
          out.push(edit(l, r))
        } else out.push(l)
      }
      agree(Buffer.from(out.join('\n') + '\n', 'latin1'))
    }
  })

  it('the lanes are taken, and a lane that miscounts is caught', () => {
    // the comparisons above can only fail if the lanes really run and their output is compared:
    // count the lines the lane accepts, and break it once (the line is then counted twice)
    const text = readFileSync(join(fx, 'tar-gzip.strace'))
    type Lane = (b: Buffer, s: number, e: number) => boolean
    const o = new Observer({command: ['t'], host, lanes: 'js'})
    const inner = o as unknown as {lane: Lane}
    const lane = inner.lane.bind(o)
    let taken = 0
    let broken = false
    inner.lane = (b, s, e) => {
      const ok = lane(b, s, e)
      if (!ok) return false
      taken++
      if (!broken && b.toString('latin1', s, e).includes(' = -1 ENOENT')) {
        broken = true
        return false // the general path counts the same line again
      }
      return true
    }
    o.push(text)
    const out = serializeObservation(o.end()) + JSON.stringify(o.diagnostics) + JSON.stringify(o.stats)
    expect(taken).toBeGreaterThan(1000)
    expect(broken).toBe(true)
    expect(out).not.toBe(parse(text, 'none'))
  })

  it('lane.wasm is built and takes lines, and a miscount in it is caught', () => {
    const w = LaneScanner.shared()
    expect(w, 'dist/src/trace/lane.wasm missing: run npm run build').not.toBeNull()
    const text = readFileSync(join(fx, 'node-workers.strace'))
    const scan = w!.scan.bind(w)
    let taken = 0
    let broken = false
    w!.scan = (from, mayCount) => {
      const got = scan(from, mayCount)
      taken += w!.status[1]!
      if (!broken && w!.status[4]! > 0) {
        // one more call than lane.wasm saw, in whatever tally it counted into
        const k = w!.counts.findIndex((n) => n > 0)
        w!.counts[k]!++
        broken = true
      }
      return got
    }
    try {
      const o = new Observer({command: ['t'], host})
      o.push(text)
      const out = serializeObservation(o.end()) + JSON.stringify(o.diagnostics) + JSON.stringify(o.stats)
      expect(taken).toBeGreaterThan(1000)
      expect(broken).toBe(true)
      expect(out).not.toBe(parse(text, 'none'))
    } finally {
      w!.scan = scan
    }
  })
})
