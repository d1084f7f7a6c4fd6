import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {SeccompGenError} from '../../src/errors.js'
import {Observer, observeFile} from '../../src/trace/observe.js'
import {serializeObservation, validateObservation} from '../../src/trace/observation-io.js'
import type {Observation} from '../../src/trace/observation.js'

const host = {kernel: '6.1.0-test', machine: 'x86_64'}
const observe = (text: string, strict = false) => {
  const o = new Observer({command: ['t'], host, strict})
  o.push(Buffer.from(text, 'latin1'))
  const observation = o.end()
  return {observation, o}
}
const sys = (obs: Observation, name: string, abi: keyof Observation['abis'] = 'x86_64') => obs.abis[abi]?.syscalls[name]

describe('Observer: counting, errors, joining', () => {
  it('joins unfinished/resumed across interleaved pids', () => {
    const {observation, o} = observe([
      '5073  set_robust_list(0x7fdc87546a20, 24 <unfinished ...>',
      '5072  rt_sigprocmask(SIG_SETMASK, [],  <unfinished ...>',
      '5073  <... set_robust_list resumed>)    = 0',
      '5072  <... rt_sigprocmask resumed>NULL, 8) = 0',
      '5072  mmap(NULL, 8192,  <unfinished ...>',
      '5073  mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000',
      '5072  <... mmap resumed>PROT_READ|PROT_EXEC, MAP_PRIVATE, 3, 0) = 0x7f0000001000',
      '5072  openat(AT_FDCWD, "/x", O_RDONLY <unfinished ...>',
      '5073  <... openat resumed>) = 3',
      '5072  <... openat resumed>) = -1 ENOENT (No such file or directory)',
    ].join('\n') + '\n')
    expect(sys(observation, 'set_robust_list')?.count).toBe(1)
    expect(sys(observation, 'rt_sigprocmask')?.count).toBe(1)
    expect(sys(observation, 'mmap')).toEqual({count: 2, args: {'2': {values: ['0x1', '0x5']}}})
    // 5073's resumed openat has no start: counted (orphan), diagnosed
    expect(sys(observation, 'openat')).toEqual({count: 2, errors: {ENOENT: 1}})
    expect(o.diagnostics).toEqual([expect.objectContaining({code: 'TRACE_ORPHAN_RESUMED', line: 9})])
    expect(observation.stats).toEqual({processes: 2, lines: 10, unparsed: 0})
  })

  it('ERESTART* and injected errors are not errors; -1 ENAME is', () => {
    const {observation} = observe([
      '1 read(0, 0x7ffd, 4096) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)',
      '1 --- SIGINT {si_signo=SIGINT, si_code=SI_KERNEL} ---',
      '1 read(0, "x", 4096) = 1',
      '1 read(0, 0x7ffd, 4096) = -1 EINTR (Interrupted system call)',
      '1 read(5, 0x7ffd, 4096) = -1 EBADF (Bad file descriptor) (INJECTED)',
      '1 exit_group(0) = ?',
      '1 +++ exited with 0 +++',
    ].join('\n'))
    expect(sys(observation, 'read')).toEqual({count: 4, errors: {EINTR: 1}})
    expect(sys(observation, 'exit_group')).toEqual({count: 1})
  })

  it('a call cut by the exit and a call never resumed are counted; end() reports the latter', () => {
    const o = new Observer({command: ['t'], host})
    o.push(Buffer.from('7 futex(0x1, FUTEX_WAIT, 0, NULL <unfinished ...>\n7 +++ killed by SIGKILL +++\n8 mmap(NULL, 4096 <unfinished ...>\n'))
    const obs = o.end()
    expect(sys(obs, 'futex')?.count).toBe(1)
    // prot was never printed: unknown, so no rule may filter on it
    expect(sys(obs, 'mmap')).toEqual({count: 1, args: {'2': {values: [], unknown: true}}})
    expect(o.diagnostics).toEqual([expect.objectContaining({code: 'TRACE_UNFINISHED', line: 3})])
  })

  it('resumed ending in <unfinished ...>) = ? and <detached ...>', () => {
    const {observation} = observe([
      '4 read(3,  <unfinished ...>',
      '4 <... read resumed> <unfinished ...>) = ?',
      '5 write(1, "x", 1 <detached ...>',
    ].join('\n'))
    expect(sys(observation, 'read')?.count).toBe(1)
    expect(sys(observation, 'write')?.count).toBe(1)
  })

  it('??? names take the pending call\'s name', () => {
    const {observation} = observe('3 nanosleep({tv_sec=1, tv_nsec=0},  <unfinished ...>\n3 <... ??? resumed>0x7ffc) = 0\n')
    expect(Object.keys(observation.abis.x86_64!.syscalls)).toEqual(['nanosleep'])
  })

  it('execs: successful execve/execveat paths only', () => {
    const {observation} = observe([
      '1 execve("/root/.cargo/bin/bash", ["bash"], 0x7ffe /* 35 vars */) = -1 ENOENT (No such file or directory)',
      '1 execve("/usr/bin/bash", ["bash"], 0x7ffe /* 35 vars */) = 0',
      '2 execve("/usr/bin/with \\"quote\\"", ["q"], 0x7ffe /* 35 vars */ <unfinished ...>',
      '2 <... execve resumed>) = 0',
      '3 execveat(AT_FDCWD, "/usr/bin/env", ["env"], NULL, 0) = 0',
    ].join('\n'))
    expect(observation.execs).toEqual(['/usr/bin/bash', '/usr/bin/env', '/usr/bin/with "quote"'])
    expect(sys(observation, 'execve')).toEqual({count: 3, errors: {ENOENT: 1}})
  })

  it('threads-execve: superseded and pid changed rekey the pending state', () => {
    const text = readFileSync(join(__dirname, '../../fixtures/handmade-threads-execve.strace'), 'latin1')
    const {observation, o} = observe(text)
    expect(observation.abis.x86_64!.syscalls).toEqual({
      brk: {count: 1}, execve: {count: 2}, exit_group: {count: 1}, futex: {count: 1}, getpid: {count: 1}, nanosleep: {count: 1},
    })
    expect(observation.execs).toEqual(['/usr/bin/next', '/usr/bin/other'])
    expect(o.diagnostics).toEqual([])
  })

  it('an exec by a thread that strace starts with <pid changed to N ...> (strace 6.1, a real log shape) is pending as the leader', () => {
    const {observation, o} = observe([
      '17023 set_robust_list(0x7f0000001000, 24) = 0',
      '17025 execve("/bin/true", ["true"], 0x7ffd70e9d9d0 /* 82 vars */ <pid changed to 17023 ...>',
      '17023 <... execve resumed>) = 0',
      '17023 exit_group(0)                     = ?',
      '17023 +++ exited with 0 +++',
    ].join('\n'))
    expect(observation.execs).toEqual(['/bin/true'])
    expect(sys(observation, 'execve')).toEqual({count: 1})
    expect(o.diagnostics).toEqual([])
  })

  it('ABI switches: 32-bit and x32 mode lines, children inherit the parent\'s ABI', () => {
    const text = readFileSync(join(__dirname, '../../fixtures/handmade-abi-x86-x32.strace'), 'latin1')
    const {observation} = observe(text)
    expect(Object.keys(observation.abis.x86!.syscalls).sort()).toEqual(['_llseek', 'brk', 'clone', 'execve', 'getpid', 'mmap2', 'socket', 'wait4'])
    expect(sys(observation, 'clone', 'x86')?.args).toEqual({'0': {values: ['0x1200011']}})
    expect(sys(observation, 'mmap2', 'x86')?.args).toEqual({'2': {values: ['0x3']}})
    expect(sys(observation, 'socket', 'x86')?.args).toEqual({'0': {values: ['0x2']}})
    // 101 was cloned by a 32-bit parent: its getpid and its execve are 32-bit calls
    expect(sys(observation, 'execve', 'x86')?.count).toBe(2)
    expect(Object.keys(observation.abis.x86_64!.syscalls).sort()).toEqual(['execve', 'exit_group', 'mmap'])
    expect(sys(observation, 'mmap', 'x86_64')?.args).toEqual({'2': {values: ['0x1']}})
    expect(Object.keys(observation.abis.x32!.syscalls).sort()).toEqual(['exit_group', 'mmap', 'openat'])
    expect(sys(observation, 'openat', 'x32')?.errors).toEqual({ENOENT: 1})
    expect(sys(observation, 'mmap', 'x32')?.args).toEqual({'2': {values: ['0x5']}})
    expect(observation.execs).toEqual(['/opt/i386/prog32', '/opt/x32/progx32', '/usr/bin/prog64'])
    validateObservation(JSON.parse(serializeObservation(observation)), 'test')
  })

  it('a child inherits its parent\'s ABI from the clone return (hex in -e raw= logs), not the last line\'s', () => {
    const {observation} = observe([
      '10 execve("./prog32", [...], 0x7ffd /* 3 vars */) = 0',
      '[ Process PID=10 runs in 32 bit mode. ]',
      '10 clone(0x1200011, 0, 0, 0, 0) = 0xb',
      '[ Process PID=20 runs in 64 bit mode. ]',
      '20 getppid() = 0x1',
      '11 getpid() = 0xb',
      // no announcement for 21: strace decoded it with the personality it last used (x86)
      '21 getuid() = 0',
    ].join('\n'))
    expect(Object.keys(observation.abis.x86!.syscalls).sort()).toEqual(['clone', 'getpid', 'getuid'])
    expect(Object.keys(observation.abis.x86_64!.syscalls).sort()).toEqual(['execve', 'getppid'])
    expect(observation.execs).toEqual(['./prog32'])
  })

  it('resolves symbolic, raw and verbose argument values to the same numbers', () => {
    const {observation} = observe([
      '1 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7fdc87546a10) = 5',
      '1 clone(child_stack=NULL, flags=0x1200000|17, child_tidptr=0x7f43a8bd9a10) = 6',
      '1 clone(0x1200011, 0, 0, 0x7f, 0) = 7',
      '1 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 3',
      '1 socket(0xa /* AF_INET6 */, 0x1 /* SOCK_STREAM */, 0) = 3',
      '1 socketpair(AF_UNIX, SOCK_STREAM, 0, [3, 4]) = 0',
      '1 prctl(PR_SET_NAME, "worker") = 0',
      '1 ioctl(1, TCGETS, {c_iflag=ICRNL|IXON, ...}) = 0',
      '1 ioctl(1, SNDCTL_TMR_TIMEBASE or TCGETS, 0x7ffe) = -1 ENOTTY (Inappropriate ioctl for device)',
      '1 ioctl(3, _IOC(_IOC_READ, 0x54, 0x13, 0x8), 0x7ffe) = 0',
      '1 ioctl(3, FS_IOC_GETFLAGS, 0x7ffe) = 0',
      '1 arch_prctl(ARCH_SET_FS, 0x7fa9cd437740) = 0',
      '1 personality(PER_LINUX) = 0',
      '1 personality(0xffffffff) = 0',
      '1 personality(-1) = 0',
      '1 unshare(CLONE_NEWNS|CLONE_NEWNET) = 0',
      '1 setns(3</proc/1/ns/net>, CLONE_NEWNET) = 0',
      '1 pkey_mprotect(0x7f, 4096, PROT_NONE, 1) = 0',
      '1 mprotect(0x7f, 4096, 0777) = 0',
      '1 clone3({flags=CLONE_VM, exit_signal=SIGCHLD, stack=0x7f, stack_size=0x9000}, 88) = 9',
    ].join('\n'))
    const args = (n: string) => sys(observation, n)?.args
    expect(args('clone')).toEqual({'0': {values: ['0x1200011']}})
    expect(args('socket')).toEqual({'0': {values: ['0x2', '0xa']}})
    expect(args('socketpair')).toEqual({'0': {values: ['0x1']}})
    expect(args('prctl')).toEqual({'0': {values: ['0xf']}})
    expect(args('ioctl')).toEqual({'1': {values: ['0x5401', '0x80085413'], unknown: true}})
    expect(args('arch_prctl')).toEqual({'0': {values: ['0x1002']}})
    expect(args('personality')).toEqual({'0': {values: ['0x0', '0xffffffff', '0xffffffffffffffff']}})
    expect(args('unshare')).toEqual({'0': {values: ['0x40020000']}})
    expect(args('setns')).toEqual({'1': {values: ['0x40000000']}})
    expect(args('pkey_mprotect')).toEqual({'2': {values: ['0x0']}})
    expect(args('mprotect')).toEqual({'2': {values: ['0x1ff']}})
    expect(sys(observation, 'clone3')).toEqual({count: 1})
  })

  it('strict makes any unparsable line an error with its line number', () => {
    const text = '1 getpid() = 1\nthis is not strace\n1 getppid() = 0\n'
    expect(observe(text).observation.stats.unparsed).toBe(1)
    try {
      observe(text, true)
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(SeccompGenError)
      expect((err as SeccompGenError).code).toBe('TRACE_UNPARSABLE')
      expect((err as SeccompGenError).line).toBe(2)
    }
  })

  it('keeps the first 20 diagnostics and counts all', () => {
    const {observation, o} = observe(Array.from({length: 50}, (_, i) => `garbage ${i}`).join('\n'))
    expect(observation.stats.unparsed).toBe(50)
    expect(o.diagnostics).toHaveLength(20)
    expect(o.diagnostics[19]).toMatchObject({code: 'TRACE_UNPARSABLE', line: 20})
  })

  it('stderr-style logs: unprefixed lines belong to the one live process', () => {
    const {observation, o} = observe([
      'execve("/bin/sh", ["sh"], 0x7ffe /* 3 vars */) = 0',
      'clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 124',
      '[pid 124] read(3,  <unfinished ...>',
      '[pid 123] wait4(-1,  <unfinished ...>',
      '[pid 124] <... read resumed>"", 1) = 0',
      '[pid 124] +++ exited with 0 +++',
      '<... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 124',
      'exit_group(0) = ?',
    ].join('\n'))
    expect(observation.abis.x86_64!.syscalls.wait4).toEqual({count: 1})
    expect(o.diagnostics).toEqual([])
  })

  it('diagnostics are one line each (control bytes escaped)', () => {
    const {o} = observe('bad\rline\u0001\n')
    expect(o.diagnostics[0]!.text).toBe('bad\\x0dline\\x01')
  })

  it('stats are live while pushing', () => {
    const o = new Observer({command: ['t'], host})
    o.push(Buffer.from('1 getpid() = 1\n2 getpid() = 2\n2 getppid'))
    expect(o.stats).toMatchObject({calls: 2, distinct: 1, processes: 2, lines: 2})
    o.push(Buffer.from('() = 1\n'))
    expect(o.stats).toMatchObject({calls: 3, distinct: 2, lines: 3})
  })

  it("firstProcessExit: the trace's first process's status, from its own exit line only", () => {
    const o = new Observer({command: ['t'], host})
    o.push(Buffer.from('100 execve("/bin/sh", ["sh"], 0x7ffc /* 1 var */) = 0\n101 getpid() = 101\n101 +++ exited with 9 +++\n'))
    expect(o.firstProcessExit).toBeUndefined()
    o.push(Buffer.from('100 +++ exited with 3 +++\n'))
    expect(o.firstProcessExit).toBe(3)
    const k = new Observer({command: ['t'], host})
    k.push(Buffer.from('7 getpid() = 7\n7 +++ killed by SIGTERM +++\n'))
    expect(k.firstProcessExit).toBe(143)
  })
})

// Real strace output, recorded now, in the formats users have: the observation must not
// depend on the options the log was written with.
const strace = spawnSync('strace', ['-V'], {encoding: 'utf8'})
const haveStrace = strace.status === 0
if (!haveStrace) console.warn('strace is not installed: real-log tests skipped (.ci/run installs it)')
const dir = mkdtempSync(join(tmpdir(), 'sg-observe-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe.skipIf(!haveStrace)('real strace logs', () => {
  const script = 'cat /etc/hostname >/dev/null; ls /nonexistent-sg 2>/dev/null; (echo x | cat >/dev/null); exit 0'
  const record = (name: string, flags: string[]) => {
    const out = join(dir, name)
    const r = spawnSync('strace', ['-f', ...flags, '-o', out, '/bin/sh', '-c', script], {encoding: 'utf8'})
    expect(r.status).toBe(0)
    return out
  }
  it('symbolic, -X raw and -yy -ttt -T logs of one program give the same syscalls and argument values', async () => {
    const logs = [record('sym.log', []), record('raw.log', ['-X', 'raw']), record('yy.log', ['-yy', '-ttt', '-T']), record('tt.log', ['-tt', '-X', 'verbose'])]
    const obs = await Promise.all(logs.map((l) => observeFile(l, {command: ['sh'], host})))
    for (const {observation, diagnostics} of obs) {
      expect(observation.stats.unparsed).toBe(0)
      expect(diagnostics.filter((d) => d.code === 'TRACE_UNPARSABLE')).toEqual([])
      validateObservation(JSON.parse(serializeObservation(observation)), 'real')
    }
    // errors depend on timing (wait4 ECHILD, …); names and argument values do not
    const shape = (o: Observation) => Object.fromEntries(Object.entries(o.abis.x86_64!.syscalls).map(([n, s]) => [n, s.args ?? null]))
    for (const {observation} of obs) {
      const enoent = Object.values(observation.abis.x86_64!.syscalls).some((s) => (s.errors?.ENOENT ?? 0) > 0)
      expect(enoent).toBe(true)
      expect(observation.abis.x86_64!.syscalls.rt_sigreturn?.errors).toBeUndefined()
    }
    const first = shape(obs[0]!.observation)
    expect(first.execve).toBeDefined()
    expect(first.clone ?? first.clone3 ?? first.vfork ?? first.fork).toBeDefined()
    for (const o of obs.slice(1)) expect(shape(o.observation)).toEqual(first)
    expect(obs[0]!.observation.stats.processes).toBeGreaterThanOrEqual(3)
    expect(obs[0]!.observation.execs).toContain('/bin/sh')
  })

  it('a log captured from stderr (no -o): prefixes come and go, `strace: Process N attached` cuts lines', async () => {
    const out = join(dir, 'stderr.log')
    const r = spawnSync('sh', ['-c', `strace -f /bin/sh -c '${script}' 2> "$1"`, 'sh', out], {encoding: 'utf8'})
    expect(r.status).toBe(0)
    const text = readFileSync(out, 'latin1')
    expect(text).toMatch(/^\[pid +\d+\] /m)
    expect(text).toMatch(/^[a-z_0-9]+\(/m)
    const {observation, diagnostics} = await observeFile(out, {host})
    expect(diagnostics).toEqual([])
    expect(observation.stats.unparsed).toBe(0)
    const ref = (await observeFile(record('ref.log', []), {host})).observation
    expect(Object.keys(observation.abis.x86_64!.syscalls).sort()).toEqual(Object.keys(ref.abis.x86_64!.syscalls).sort())
    expect(observation.abis.x86_64!.syscalls.clone?.args ?? observation.abis.x86_64!.syscalls.vfork).toEqual(ref.abis.x86_64!.syscalls.clone?.args ?? ref.abis.x86_64!.syscalls.vfork)
  })

  it('1-byte chunks and one chunk give identical observations', () => {
    const log = readFileSync(record('chunks.log', ['-yy']))
    const whole = new Observer({command: ['x'], host})
    whole.push(log)
    const bytes = new Observer({command: ['x'], host})
    for (let i = 0; i < log.length; i++) bytes.push(log.subarray(i, i + 1))
    const odd = new Observer({command: ['x'], host})
    for (let i = 0; i < log.length; i += 7) odd.push(Buffer.from(log.subarray(i, i + 7)))
    const a = serializeObservation(whole.end())
    expect(serializeObservation(bytes.end())).toBe(a)
    expect(serializeObservation(odd.end())).toBe(a)
  })

  it('parses every fixture log without unparsable lines', async () => {
    const fx = join(__dirname, '../../fixtures')
    const files = readdirSync(fx).filter((f) => f.endsWith('.strace'))
    expect(files.length).toBeGreaterThan(0)
    for (const f of files) {
      const {observation} = await observeFile(join(fx, f), {host})
      expect({f, unparsed: observation.stats.unparsed}).toEqual({f, unparsed: 0})
    }
  })
})

describe('observeFile', () => {
  it('reads a file with no trailing newline and reports IO errors with a code', async () => {
    const p = join(dir, 'nonl.log')
    writeFileSync(p, '1 getpid() = 1\n1 getppid() = 0')
    const {observation} = await observeFile(p, {host})
    expect(observation.command).toEqual([p])
    expect(Object.keys(observation.abis.x86_64!.syscalls)).toEqual(['getpid', 'getppid'])
    await expect(observeFile(join(dir, 'missing.log'))).rejects.toMatchObject({code: 'IO'})
  })
  it('strict errors carry the file and line', async () => {
    const p = join(dir, 'bad.log')
    writeFileSync(p, '1 getpid() = 1\n%%%\n')
    await expect(observeFile(p, {host, strict: true})).rejects.toMatchObject({code: 'TRACE_UNPARSABLE', file: p, line: 2})
  })
})
