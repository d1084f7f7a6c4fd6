// One case per line kind of the grammar in src/trace/lex-line.ts (strace output the parser must accept).
import {describe, expect, it} from 'vitest'
import {lexLine} from '../helpers/lex-line.js'
import {argAt, argEnd, decodeCString} from '../../src/trace/values.js'

/** Every positional argument of an argument text, as argAt() finds each. */
const splitArgs = (text: string): string[] => {
  const b = Buffer.from(text, 'latin1')
  const out: string[] = []
  for (let a = argAt(b, 0, b.length, 0, Buffer.from('\0')); a >= 0; a = argAt(b, 0, b.length, out.length, Buffer.from('\0'))) out.push(b.toString('latin1', a, argEnd))
  return out
}

const call = (line: string) => {
  const l = lexLine(line)
  if (l.kind !== 'call') throw new Error(`expected a call, got ${l.kind}: ${line}`)
  return l
}

describe('prefixes', () => {
  it('bare PID prefix (-f -o)', () => {
    const l = call('5072  getpid()                          = 5072')
    expect(l.pid).toBe(5072)
    expect(l.name).toBe('getpid')
    expect(l.ret).toEqual({kind: 'value', value: 5072})
  })
  it('[pid N] prefix (stderr with several tracees)', () => {
    const l = call('[pid  4242] close(3)                  = 0')
    expect(l.pid).toBe(4242)
    expect(l.name).toBe('close')
  })
  it('no prefix (single process, -ff files)', () => {
    const l = call('brk(NULL)                               = 0x55d08813d000')
    expect(l.pid).toBeUndefined()
    expect(l.ret).toEqual({kind: 'value', value: 0x55d08813d000})
  })
  it('-Y comm after the pid', () => {
    expect(call('123<bash> getpid() = 123').pid).toBe(123)
  })
})

describe('timestamps', () => {
  it.each([
    ['-t', '5378  16:02:05 getppid() = 1'],
    ['-tt', '5378  16:02:05.981298 getppid() = 1'],
    ['-ttt', '5378  1795622521.122018 getppid() = 1'],
    ['-r', '5378       0.000261 getppid() = 1'],
    ['-ttt no pid', '1795622521.122018 getppid() = 1'],
    ['-t no pid', '16:02:05 getppid() = 1'],
    ['-r no pid', '     0.000000 getppid() = 1'],
  ])('%s', (_k, line) => {
    const l = call(line)
    expect(l.name).toBe('getppid')
    expect(l.ret).toEqual({kind: 'value', value: 1})
  })
  it('-T duration at the end', () => {
    const l = call('5150  1795622521.122018 openat(AT_FDCWD</tmp>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache> <0.000011>')
    expect(l.pid).toBe(5150)
    expect(l.name).toBe('openat')
    expect(l.args).toBe('AT_FDCWD</tmp>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC')
    expect(l.ret).toEqual({kind: 'value', value: 3})
  })
})

describe('split calls', () => {
  it('<unfinished ...>', () => {
    const l = lexLine('5072  rt_sigprocmask(SIG_SETMASK, [],  <unfinished ...>')
    expect(l).toMatchObject({kind: 'unfinished', pid: 5072, name: 'rt_sigprocmask', args: 'SIG_SETMASK, [],', detached: false})
  })
  it('<... NAME resumed>', () => {
    const l = lexLine('5072  <... rt_sigprocmask resumed>NULL, 8) = 0')
    expect(l).toMatchObject({kind: 'resumed', pid: 5072, name: 'rt_sigprocmask', args: 'NULL, 8', ret: {kind: 'value', value: 0}})
  })
  it('??? as the resumed name', () => {
    expect(lexLine('77 <... ??? resumed>) = 0')).toMatchObject({kind: 'resumed', name: '???'})
  })
  it('resumed line that ends in <unfinished ...>) = ?', () => {
    const l = lexLine('4988  <... read resumed> <unfinished ...>) = ?')
    expect(l).toMatchObject({kind: 'resumed', name: 'read', ret: {kind: 'question'}, stillPending: false})
  })
  it('<detached ...>', () => {
    expect(lexLine('12 read(0,  <detached ...>')).toMatchObject({kind: 'unfinished', name: 'read', detached: true})
  })
  it('<pid changed to N ...>', () => {
    const l = lexLine('303 execve("/usr/bin/x", ["x"], NULL <pid changed to 300 ...>) = 0')
    expect(l).toMatchObject({kind: 'call', name: 'execve', pidChangedTo: 300, ret: {kind: 'value', value: 0}})
  })
  it('+++ superseded by execve in pid N +++', () => {
    expect(lexLine('300 +++ superseded by execve in pid 302 +++')).toEqual({kind: 'superseded', pid: 300, byPid: 302})
  })
})

describe('non-call lines', () => {
  it('signal delivery', () => {
    expect(lexLine('5072  --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=5073, si_uid=0, si_status=0, si_utime=0, si_stime=0} ---')).toMatchObject({kind: 'signal', pid: 5072})
  })
  it('stopped by a signal', () => {
    expect(lexLine('[pid 9] --- stopped by SIGSTOP ---')).toMatchObject({kind: 'signal', pid: 9})
  })
  it('exited with N', () => {
    expect(lexLine('5073  +++ exited with 3 +++')).toMatchObject({kind: 'exit', pid: 5073, status: 3})
    expect(lexLine('5073  +++ exited with 255 +++')).toMatchObject({kind: 'exit', status: 255})
  })
  it('killed by a signal (core dumped): 128 + its number, as a shell says', () => {
    expect(lexLine('+++ killed by SIGSEGV (core dumped) +++')).toMatchObject({kind: 'exit', status: 139})
    expect(lexLine('7 +++ killed by SIGKILL +++')).toMatchObject({kind: 'exit', pid: 7, status: 137})
    expect(lexLine('7 +++ killed by SIGNOTONE +++')).toMatchObject({kind: 'exit', pid: 7, status: -1})
    expect(lexLine('7 +++ killed by SIGRT_8 +++')).toMatchObject({kind: 'exit', status: 128 + 40}) // kill -40, as strace 6.1 prints it
    expect(lexLine('7 +++ killed by 40 +++')).toMatchObject({kind: 'exit', status: 168})
  })
  it.each([
    ['32 bit', '[ Process PID=100 runs in 32 bit mode. ]'],
    ['x32', '100   [ Process PID=100 runs in x32 mode. ]'],
    ['64 bit', '[ Process PID=100 runs in 64 bit mode. ]'],
  ])('personality switch to %s', (mode, line) => {
    expect(lexLine(line)).toMatchObject({kind: 'mode', processPid: 100, mode})
  })
  it('strace: diagnostics are info', () => {
    expect(lexLine('strace: Process 4242 attached').kind).toBe('info')
    expect(lexLine('strace: [ Process PID=1 runs in 32 bit mode. ]').kind).toBe('info')
  })
  it('blank line', () => {
    expect(lexLine('   ').kind).toBe('blank')
  })
  it('garbage is unknown, never an exception', () => {
    for (const g of ['}{', '12345', '[pid 3', '<...', 'read(3, "abc', 'read(3) =', 'READ(3) = 0', '\u0000\u00ff', '+++ bogus +++x']) {
      expect(['unknown', 'info']).toContain(lexLine(g).kind)
    }
  })
})

describe('syscall names and returns', () => {
  it('unknown syscall syscall_0x…', () => {
    expect(call('[pid 1] syscall_0x1f4(0x1, 0x2, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented)')).toMatchObject({
      name: 'syscall_0x1f4', ret: {kind: 'error', errno: 'ENOSYS'},
    })
  })
  it('restart_syscall(<... resuming interrupted read ...>)', () => {
    const l = call('42 restart_syscall(<... resuming interrupted read ...>) = 0')
    expect(l.name).toBe('restart_syscall')
    expect(l.ret).toEqual({kind: 'value', value: 0})
  })
  it.each([
    ['= 0', {kind: 'value', value: 0}],
    ['= 0x7f4dd874b740', {kind: 'value', value: 0x7f4dd874b740}],
    ['= -1 ENOENT (No such file or directory)', {kind: 'error', errno: 'ENOENT', injected: false}],
    ['= ?', {kind: 'question'}],
    ['= ? ERESTARTSYS (To be restarted if SA_RESTART is set)', {kind: 'question', restart: 'ERESTARTSYS'}],
    ['= ? ERESTART_RESTARTBLOCK (Interrupted by signal)', {kind: 'question', restart: 'ERESTART_RESTARTBLOCK'}],
    ['= -1 ENOENT (No such file or directory) (INJECTED)', {kind: 'error', errno: 'ENOENT', injected: true}],
    ['= 0x8002 (flags O_RDWR|O_LARGEFILE)', {kind: 'value', value: 0x8002}],
    ['= 1 ([{fd=3, revents=POLLIN}])', {kind: 'value', value: 1}],
    ['= 3<socket:[123]>', {kind: 'value', value: 3}],
    ['= 3</dev/null<char 1:3>>', {kind: 'value', value: 3}],
  ])('return %s', (ret, expected) => {
    expect(call(`9 foo(1) ${ret}`).ret).toEqual(expected)
  })
})

describe('argument text', () => {
  it('strings with escapes and with ( ) , { = inside', () => {
    const l = call('1 write(1, "a) = 5, {x(\\"y\\\\\\n\\x41", 12) = 12')
    expect(l.args).toBe('1, "a) = 5, {x(\\"y\\\\\\n\\x41", 12')
    expect(l.ret).toEqual({kind: 'value', value: 12})
    expect(splitArgs(l.args)).toEqual(['1', '"a) = 5, {x(\\"y\\\\\\n\\x41"', '12'])
  })
  it('truncated strings "abc"...', () => {
    const l = call('1 read(3, "\\177ELF\\2\\1\\1\\3\\0\\0\\0"..., 832) = 832')
    expect(splitArgs(l.args)).toHaveLength(3)
    expect(decodeCString('"abc"...')).toBeUndefined()
    expect(decodeCString('"a\\"b\\n\\x41\\303\\251"')).toBe('a"b\nAé')
  })
  it('nested {…} and […]', () => {
    const l = call('1 rt_sigaction(SIGCHLD, {sa_handler=0x55e2485eae40, sa_mask=[INT QUIT], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7f}, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0')
    expect(splitArgs(l.args)).toHaveLength(4)
  })
  it('/* comments */ and -X verbose values', () => {
    const l = call('1 mmap(NULL, 8192, 0x3 /* PROT_READ|PROT_WRITE */, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0) = 0x7fb429134000')
    expect(splitArgs(l.args)[2]).toBe('0x3 /* PROT_READ|PROT_WRITE */')
    const e = call('1 execve("/bin/true", ["true"], 0x7ffcbde2bba8 /* 35 vars */) = 0')
    expect(splitArgs(e.args)).toHaveLength(3)
  })
  it('=> in/out arguments', () => {
    const l = call('1 getsockname(3, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("0.0.0.0")}, [16 => 16]) = 0')
    expect(splitArgs(l.args)).toEqual(['3', '{sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("0.0.0.0")}', '[16 => 16]'])
  })
  it('-yy decorations, nested and with -> and ( inside', () => {
    const l = call('1 read(3</weird (name>, "x", 1) = 1')
    expect(splitArgs(l.args)).toEqual(['3</weird (name>', '"x"', '1'])
    const s = call('1 sendto(4<TCP:[127.0.0.1:45678->127.0.0.1:8000]>, "GET / HTTP/1.0\\r\\n\\r\\n", 18, 0, NULL, 0) = 18')
    expect(splitArgs(s.args)).toHaveLength(6)
    const n = call('1 dup2(3</dev/null<char 1:3>>, 1</dev/pts/0<char 136:0>>) = 1</dev/null<char 1:3>>')
    expect(splitArgs(n.args)).toEqual(['3</dev/null<char 1:3>>', '1</dev/pts/0<char 136:0>>'])
  })
  it('<< shifts do not open a decoration', () => {
    const l = call('1 futex(0x7f, FUTEX_WAKE_OP_PRIVATE, 1, 1, 0x7e, FUTEX_OP_SET<<28|0<<12|FUTEX_OP_CMP_GT<<24|0x1) = 1')
    expect(splitArgs(l.args)).toHaveLength(6)
  })
  it('a ) inside a string does not end the arguments (exact rescan)', () => {
    const l = call('1 openat(AT_FDCWD, "/tmp/a) = 3", O_RDONLY) = -1 ENOENT (No such file or directory)')
    expect(l.ret).toMatchObject({kind: 'error', errno: 'ENOENT'})
    expect(splitArgs(l.args)).toEqual(['AT_FDCWD', '"/tmp/a) = 3"', 'O_RDONLY'])
  })
  it('argAt finds positional and labelled arguments in bytes', () => {
    const b = Buffer.from('child_stack=NULL, flags=CLONE_VM|SIGCHLD, child_tidptr=0x7f')
    const a = argAt(b, 0, b.length, 0, Buffer.from('flags'))
    expect(b.toString('latin1', a, argEnd)).toBe('CLONE_VM|SIGCHLD')
    const m = Buffer.from('NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE, -1, 0')
    const p = argAt(m, 0, m.length, 2, Buffer.from('prot'))
    expect(m.toString('latin1', p, argEnd)).toBe('PROT_READ|PROT_WRITE')
    expect(argAt(m, 0, m.length, 7, Buffer.from('x'))).toBe(-1)
  })
})
