/**
 * `apply --complain` and `apply --explain` end to end: real filters loaded by the exec child,
 * real seccomp user notifications served by the built CLI. Each test has its control: the same
 * program under plain `apply` (it fails) or under a profile that allows the call (nothing reported).
 */
import {spawn, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {cliPath, repoRoot, runCli, waitFor} from '../helpers/cli.js'
import {realPython, tmp, writeProfile} from '../helpers/apply-profiles.js'
import {notifySupportProblem} from '../../src/enforce/apply.js'
import {kernelAtLeast} from '../../src/profile/resolve.js'
import {release} from 'node:os'

const onX64 = process.arch === 'x64'
const python = realPython()
const haveStrace = spawnSync('strace', ['-V']).status === 0
const haveSetarch = spawnSync('setarch', ['--version']).status === 0
if (!python) console.warn('apply --complain tests: python3 not found, the tests with python programs are skipped')
if (!haveSetarch) console.warn('apply --complain tests: setarch (util-linux) not found, the old-kernel case is skipped')
if (!haveStrace) console.warn('apply --complain tests: strace not found, the record → build loop is skipped')
afterAll(() => rmSync(tmp(), {recursive: true, force: true}))
const apply = (args: string[]) => runCli(['apply', ...args], {timeoutMs: 120_000})
const fixture = (name: string) => join(repoRoot, 'test', 'fixtures', name)
/** stderr lines of the report (not the program's own) */
const reportLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('seccomp-gen: '))
const freshDir = (name: string) => {
  const d = join(tmp(), name)
  rmSync(d, {recursive: true, force: true})
  mkdirSync(d)
  return d
}

describe.runIf(onX64)('apply --complain / --explain', () => {
  it('--complain lets a denied call run and names it once, with the rule that matched; --explain enforces it and names it', async () => {
    const p = writeProfile('complain-mkdir', {allow: ['mmap']})
    const target = join(tmp(), 'complain-dir')
    const c = await apply([p, '--complain', '--', 'mkdir', target])
    expect(c.status, c.stderr).toBe(0)
    expect(existsSync(target)).toBe(true)
    const lines = reportLines(c.stderr)
    expect(lines[0]).toMatch(/^seccomp-gen: x86_64 mkdir by pid \d+ mkdir \(\/[^)]*mkdir\): allowed \(complain\); matched defaultAction SCMP_ACT_ERRNO\(EPERM\)$/)
    expect(lines.filter((l) => / mkdir by pid/.test(l))).toHaveLength(1)
    expect(c.stderr).toMatch(/call\(s\) let through that the profile denies, \d+ distinct:\n\s+count\s+abi\s+call\s+first pid\s+action\s+matched\n/)

    const target2 = join(tmp(), 'explain-dir')
    const e = await apply([p, '--explain', '--', 'mkdir', target2])
    expect(e.status).toBe(1)
    expect(existsSync(target2)).toBe(false)
    expect(e.stderr).toMatch(/mkdir: cannot create directory .*Operation not permitted/)
    expect(e.stderr).toMatch(/^seccomp-gen: x86_64 mkdir by pid \d+ mkdir \(.*\): SCMP_ACT_ERRNO\(EPERM\); matched defaultAction SCMP_ACT_ERRNO\(EPERM\)$/m)
    expect(e.stderr).toMatch(/call\(s\) denied, \d+ distinct/)

    // control: with mkdir allowed no call reaches the supervisor
    const ok = writeProfile('complain-mkdir-ok', {allow: ['mmap', 'mkdir', 'mkdirat']})
    const quiet = await apply([ok, '--complain', '--', 'mkdir', join(tmp(), 'quiet-dir')])
    expect(quiet.status).toBe(0)
    expect(reportLines(quiet.stderr)).toEqual(['seccomp-gen: no call was let through that the profile denies'])
  })

  it('--explain answers a rule with its own errno and names the rule', async () => {
    const p = writeProfile('explain-errno', {allow: ['mmap'], rules: [{names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13}]})
    const r = await apply([p, '--explain', '--', 'mkdir', join(tmp(), 'eacces-dir')])
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/Permission denied/)
    expect(r.stderr).toMatch(/ mkdir by pid \d+ .*: SCMP_ACT_ERRNO\(EACCES\); matched the rule for mkdir, mkdirat: SCMP_ACT_ERRNO\(EACCES\)$/m)
  })

  it('a kill action: --explain kills with SIGSYS as the profile would (159), --complain lets it run', async () => {
    const p = writeProfile('explain-kill', {allow: ['mmap'], rules: [{names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL_PROCESS'}]})
    const plain = await apply([p, '--', 'mkdir', join(tmp(), 'kill-plain')])
    expect(plain.status).toBe(159)
    const e = await apply([p, '--explain', '--', 'mkdir', join(tmp(), 'kill-explain')])
    expect(e.status).toBe(159)
    expect(existsSync(join(tmp(), 'kill-explain'))).toBe(false)
    expect(e.stderr).toMatch(/ mkdir by pid \d+ .*: SCMP_ACT_KILL_PROCESS \(killed with SIGSYS\); matched the rule for mkdir, mkdirat: SCMP_ACT_KILL_PROCESS$/m)
    const c = await apply([p, '--complain', '--', 'mkdir', join(tmp(), 'kill-complain')])
    expect(c.status).toBe(0)
    expect(existsSync(join(tmp(), 'kill-complain'))).toBe(true)
  })

  it('the exec child\'s own read of the gate is not reported, even when the profile denies read', async () => {
    const p = writeProfile('no-read', {allow: ['mmap'], without: ['read']})
    const file = join(tmp(), 'gate.txt')
    writeFileSync(file, 'hello\n')
    const r = await apply([p, '--complain', '--', 'cat', file])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toBe('hello\n')
    const reads = reportLines(r.stderr).filter((l) => / read by pid/.test(l))
    expect(reads).toHaveLength(1)
    expect(reads[0]).toMatch(/ cat \(/) // CMD's read, not node's
    expect(r.stderr).not.toMatch(/node/)
  })

  it.runIf(python)('forks and threads: each call is reported with the pid (thread id) that made it; an ENOSYS answer (clone3) is kept, not reported', async () => {
    const p = writeProfile('forks-threads', {
      allow: ['mmap'],
      without: ['clone3'],
      rules: [{names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38}],
    })
    const d = freshDir('ft-complain')
    const r = await apply([p, '--complain', '--', python!, fixture('forks-threads.py'), d])
    expect(r.status, r.stderr).toBe(0)
    const m = /^main (\d+) thread (\d+) child (\d+) thread:ok child:ok$/m.exec(r.stdout)
    expect(m, r.stdout).not.toBeNull()
    const [, main, thread, child] = m!
    expect(new Set([main, thread, child]).size).toBe(3)
    expect(r.stderr).toMatch(new RegExp(`^seccomp-gen: x86_64 symlink(at)? by pid ${thread} python`, 'm'))
    expect(r.stderr).toMatch(new RegExp(`^seccomp-gen: x86_64 mkdir(at)? by pid ${child} python`, 'm'))
    expect(r.stderr).not.toMatch(/clone3/)
    expect(lstatSync(join(d, 'link')).isSymbolicLink()).toBe(true) // a link to nothing: existsSync would follow it
    expect(existsSync(join(d, 'child'))).toBe(true)

    const d2 = freshDir('ft-explain')
    const e = await apply([p, '--explain', '--', python!, fixture('forks-threads.py'), d2])
    expect(e.status, e.stderr).toBe(0)
    expect(e.stdout).toMatch(/thread:Operation not permitted child:failed/)
    expect(e.stderr).toMatch(/ symlink(at)? by pid \d+ .*: SCMP_ACT_ERRNO\(EPERM\)/)
    expect(e.stderr).toMatch(/ mkdir(at)? by pid \d+ .*: SCMP_ACT_ERRNO\(EPERM\)/)
  })

  it.runIf(python)('calls of an ABI the profile does not list (i386, x32): named for their ABI; --complain lets them run, --explain kills as the bad-arch action does', async (ctx) => {
    const elves = join(tmp(), 'elves')
    mkdirSync(elves, {recursive: true})
    const built = spawnSync(python!, [join(repoRoot, 'fixtures', 'scripts', 'abi-elves.py'), elves], {encoding: 'utf8'})
    expect(built.status, built.stderr).toBe(0)
    const runs = spawnSync(join(elves, 'i386-getpid')).status === 0
    if (!runs) {
      console.warn('apply --complain ABI test skipped: i386-getpid does not run here (no IA32 emulation in the kernel)')
      ctx.skip()
    }
    const p = writeProfile('x86_64-only', {allow: ['mmap']})
    expect((await apply([p, '--', join(elves, 'i386-getpid')])).status).toBe(159) // control: killed
    const c = await apply([p, '--complain', '--', join(elves, 'i386-getpid')])
    expect(c.status, c.stderr).toBe(0)
    expect(c.stdout).toBe('hi\n')
    expect(c.stderr).toMatch(/^seccomp-gen: x86 getpid by pid \d+ i386-getpid \(.*\/i386-getpid\): allowed \(complain\); matched bad arch \(not in architectures\): SCMP_ACT_KILL_THREAD$/m)
    expect(c.stderr).toMatch(/^seccomp-gen: x86 write by pid/m)
    const e = await apply([p, '--explain', '--', join(elves, 'i386-getpid')])
    expect(e.status).toBe(159)
    expect(e.stderr).toMatch(/x86 getpid by pid \d+ .*: SCMP_ACT_KILL_THREAD \(killed with SIGSYS\)/)
    if (spawnSync(join(elves, 'x32-getpid')).status === 0) {
      const x = await apply([p, '--complain', '--json', '--', join(elves, 'x32-getpid')])
      expect(x.status, x.stderr).toBe(0)
      const d = x.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).find((o) => o.type === 'denial')
      expect(d).toMatchObject({abi: 'x32', syscall: 'getpid', nr: 0x40000027})
    } else {
      console.warn('apply --complain ABI test: x32-getpid does not run here (no x32 ABI in the kernel), its part is skipped')
    }
  })

  it.runIf(python)('the argument values the rules look at make distinct lines (socket AF_INET vs AF_INET6), and --json parses', async () => {
    const p = writeProfile('socket-json', {allow: ['mmap'], rules: [{names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 1, op: 'SCMP_CMP_EQ'}]}]})
    const code = 'import socket\nfor f in (socket.AF_INET, socket.AF_INET6, socket.AF_INET, socket.AF_UNIX): socket.socket(f).close()\nprint("ok")'
    const r = await apply([p, '--complain', '--json', '--', python!, '-c', code])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toBe('ok\n')
    const objs = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
    const sockets = objs.filter((o) => o.type === 'denial' && o.syscall === 'socket')
    expect(sockets.map((o) => o.argClass)).toEqual([{0: '0x2'}, {0: '0xa'}])
    expect(sockets[0]).toMatchObject({abi: 'x86_64', nr: 41, action: 'allowed (complain)', rule: 'defaultAction SCMP_ACT_ERRNO(EPERM)', comm: 'python3'})
    expect((sockets[0]!.args as string[])).toHaveLength(6)
    const summary = objs.find((o) => o.type === 'summary') as {rows: Array<{syscall: string; count: number; argClass: unknown}>}
    expect(summary.rows.find((x) => x.syscall === 'socket' && JSON.stringify(x.argClass) === '{"0":"0x2"}')?.count).toBe(2)
    expect(objs.at(-1)!.type).toBe('summary')
  })

  it('a report nobody reads any more (`2>&1 | head -1`: EPIPE on stderr) does not end the supervision: CMD runs on under --complain and its status is apply\'s', async () => {
    const p = writeProfile('epipe', {allow: ['mmap']})
    const d = freshDir('epipe')
    // mkdir a is reported; once we have read that line and closed the pipe, the next lines hit EPIPE
    const child = spawn(cliPath, ['apply', p, '--complain', '--', 'sh', '-c', `mkdir ${d}/a && read x && mkdir ${d}/b && mkdir ${d}/c`], {stdio: ['pipe', 'ignore', 'pipe']})
    await new Promise((resolve) => child.stderr!.once('data', resolve))
    child.stderr!.destroy()
    child.stdin!.end('go\n')
    const status = await new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)))
    expect(status).toBe(0)
    expect(existsSync(join(d, 'b'))).toBe(true)
    expect(existsSync(join(d, 'c'))).toBe(true)
  })

  it('a process CMD leaves running under the filter is named in a warning (its later denied calls get ENOSYS); none without one', async (ctx) => {
    if (!kernelAtLeast(release(), '5.8')) {
      console.warn('apply --complain daemon test skipped: the kernel tells a listener that no task uses its filter only from Linux 5.8')
      ctx.skip()
    }
    const p = writeProfile('daemon', {allow: ['mmap']})
    const d = freshDir('daemon')
    // the daemon waits on stdin (which we hold) past CMD's end, then tries a denied call
    // (fd 3: sh gives a background job /dev/null as stdin; its stderr elsewhere: apply's ends with apply)
    const script = `exec 3<&0; (read x <&3; mkdir ${d}/late; echo $? > ${d}/status) 2>/dev/null & mkdir ${d}/early`
    const child = spawn(cliPath, ['apply', p, '--complain', '--', 'sh', '-c', script], {stdio: ['pipe', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    const ended = new Promise((resolve) => child.stderr!.once('end', resolve))
    const status = await new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)))
    await ended
    expect(status, stderr).toBe(0)
    expect(existsSync(join(d, 'early'))).toBe(true)
    expect(stderr).toMatch(/^seccomp-gen: warning: a process CMD started still holds the filter \(a daemon, or an exited child not yet reaped\), and apply no longer serves it: from now on the calls the profile denies fail there with ENOSYS \(not let through, not reported\)$/m)
    child.stdin!.end('go\n')
    await waitFor(() => existsSync(join(d, 'status')), 20_000, 'the daemon\'s mkdir')
    expect(existsSync(join(d, 'late'))).toBe(false)

    const plain = await apply([p, '--complain', '--', 'sh', '-c', `mkdir ${d}/alone`])
    expect(plain.status, plain.stderr).toBe(0)
    expect(plain.stderr).not.toMatch(/warning/)
  })

  it('--json: every line apply writes on stderr is a JSON object (warnings too), the summary last', async (ctx) => {
    if (!kernelAtLeast(release(), '5.8')) {
      console.warn('apply --complain --json warning test skipped: the left-running warning needs Linux 5.8')
      ctx.skip()
    }
    const base = JSON.parse(readFileSync(writeProfile('json-warn', {allow: ['mmap']}), 'utf8'))
    base.syscalls.push({names: ['mkdir'], action: 'SCMP_ACT_ALLOW', includes: {caps: ['CAP_SYS_ADMIN']}})
    const p = join(tmp(), 'json-warn-caps.json')
    writeFileSync(p, JSON.stringify(base))
    const d = freshDir('json-warn')
    // a background job that outlives CMD (killed below; its output elsewhere, so apply's stderr ends with apply)
    const r = await apply([p, '--complain', '--json', '--', 'sh', '-c', `sleep 600 >/dev/null 2>&1 & echo $! > ${d}/pid; mkdir ${d}/a`])
    process.kill(Number(readFileSync(join(d, 'pid'), 'utf8')), 'SIGKILL')
    expect(r.status, r.stderr).toBe(0)
    const lines = r.stderr.split('\n').filter((l) => l.trim())
    const objs = lines.map((l) => JSON.parse(l) as {type: string; message?: string})
    expect(objs.filter((o) => o.type === 'warning').map((o) => o.message)).toEqual([
      expect.stringMatching(/^denied in this run for want of a capability: mkdir \(CAP_SYS_ADMIN\)/),
      expect.stringMatching(/^a process CMD started still holds the filter/),
    ])
    expect(objs.at(-1)!.type).toBe('summary')
  })

  it('CMD cannot take the listener out of apply (apply is not dumpable): a process of the same user that tries is refused', (ctx) => {
    const py = '/usr/bin/python3'
    if (spawnSync('setpriv', ['--version']).status !== 0 || !existsSync(py)) {
      console.warn('apply --complain listener guard test skipped: it needs setpriv and /usr/bin/python3 (to run as nobody)')
      ctx.skip()
    }
    chmodSync(tmp(), 0o755) // nobody reads the profile and the script from here
    const p = writeProfile('guard', {defaultAction: 'SCMP_ACT_ALLOW', rules: [{names: ['mkdir'], action: 'SCMP_ACT_ERRNO'}]})
    // CMD's parent is apply: look for its listener and try to take it (pidfd_getfd)
    const script = join(tmp(), 'grab.py')
    writeFileSync(script, [
      'import ctypes, os',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'pp = os.getppid()',
      'try:',
      '    fds = [fd for fd in os.listdir(f"/proc/{pp}/fd") if os.readlink(f"/proc/{pp}/fd/{fd}") == "anon_inode:seccomp notify"]',
      'except OSError as e:',
      '    print("refused:", e.strerror); raise SystemExit(0)',
      'got = libc.syscall(438, os.pidfd_open(pp), int(fds[0]), 0)',
      'print("refused:", os.strerror(ctypes.get_errno())) if got < 0 else print("taken")',
    ].join('\n') + '\n')
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', `HOME=${tmp()}`, cliPath, 'apply', p, '--explain', '--', py, script], {encoding: 'utf8', timeout: 120_000})
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^refused: /)
  })

  it.runIf(python && haveStrace)('record → build → apply --complain --observe → build again → apply passes where the first profile failed', async () => {
    const dir = freshDir('loop')
    const input = join(dir, 'in.txt')
    writeFileSync(input, 'a\nb\n')
    const obs1 = join(dir, 'count.obs.json')
    const rec = await runCli(['record', '-q', '--engine', 'strace', '-o', obs1, '--', python!, fixture('two-paths.py'), 'count', input], {timeoutMs: 120_000})
    expect(rec.status, rec.stderr).toBe(0)
    const prof1 = join(dir, 'count.json')
    expect((await runCli(['build', '-o', prof1, obs1])).status).toBe(0)

    const archive = [python!, fixture('two-paths.py'), 'archive', input]
    const plain = await apply([prof1, '--', ...archive])
    expect(plain.status).not.toBe(0) // the archive path is not in the profile
    rmSync(`${input}.d`, {recursive: true, force: true})

    const gap = join(dir, 'gap.obs.json')
    const c = await apply([prof1, '--complain', '--observe', gap, '--', ...archive])
    expect(c.status, c.stderr).toBe(0)
    expect(c.stdout).toBe('2 lines\n')
    expect(c.stderr).toMatch(/ mkdir(at)? by pid \d+ python3/)
    const o = JSON.parse(readFileSync(gap, 'utf8')) as {abis: {x86_64: {syscalls: Record<string, {count: number}>}}}
    expect(Object.keys(o.abis.x86_64.syscalls).some((n) => /^mkdir(at)?$/.test(n))).toBe(true)
    rmSync(`${input}.d`, {recursive: true, force: true})

    const prof2 = join(dir, 'both.json')
    const b = await runCli(['build', '-o', prof2, obs1, gap])
    expect(b.status, b.stderr).toBe(0)
    const again = await apply([prof2, '--', ...archive])
    expect(again.status, again.stderr).toBe(0)
    expect(again.stdout).toBe('2 lines\n')
    expect(existsSync(join(`${input}.d`, 'in.txt'))).toBe(true)
  })
})

describe('apply --complain / --explain: bad input gives one line, runs nothing, writes nothing', () => {
  const p = writeProfile('bad-input', {allow: ['mmap']})
  const marker = join(tmp(), 'never-made')
  it.each([
    [['--observe', join(tmp(), 'x.obs.json')], 2, /--observe needs --complain or --explain/],
    [['--json'], 2, /--json needs --complain or --explain/],
    [['--complain', '--explain'], 2, /--explain/],
    [['--complain', '--observe', '/proc/no-such-dir/x.obs.json'], 1, /no-such-dir/],
  ])('%j', async (flags, status, message) => {
    const r = await apply([p, ...flags, '--', 'mkdir', marker])
    expect(r.status).toBe(status)
    expect(r.stderrLines).toHaveLength(1)
    expect(r.stderr).toMatch(message)
    expect(existsSync(marker)).toBe(false)
    expect(existsSync(join(tmp(), 'x.obs.json'))).toBe(false)
  })

  it('apply --complain/--explain under another one (one listener per filter chain: EBUSY) says why in one line, exit 4', async () => {
    const p = writeProfile('nested', {defaultAction: 'SCMP_ACT_ALLOW', rules: [{names: ['mkdir'], action: 'SCMP_ACT_ERRNO'}]})
    const r = await apply([p, '--complain', '--', cliPath, 'apply', p, '--explain', '--', 'mkdir', marker])
    expect(r.status).toBe(4)
    expect(reportLines(r.stderr)).toEqual(['seccomp-gen: no call was let through that the profile denies'])
    const errors = r.stderrLines.filter((l) => /Error:/.test(l))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/seccomp\(SECCOMP_SET_MODE_FILTER\) failed: device or resource busy \(a filter with a listener is in force here already, and the kernel allows one: is this run under apply --complain\/--explain or a seccomp agent\?\)$/)
    expect(existsSync(marker)).toBe(false)
  })

  it('a kernel without user notification with CONTINUE (or libseccomp without it) is named in one line', () => {
    expect(notifySupportProblem('5.4.0-150-generic', 6)).toBe('this kernel (5.4.0-150-generic) cannot serve --complain/--explain: seccomp user notification with CONTINUE answers and pidfd_getfd need Linux 5.6 or later')
    expect(notifySupportProblem('4.19.0', 3)).toMatch(/^this kernel \(4\.19\.0\)/)
    expect(notifySupportProblem('6.1.0', 4)).toMatch(/API level 4 on this kernel \(6\.1\.0\)/)
    expect(notifySupportProblem('5.6.0', 6)).toBeUndefined()
    expect(notifySupportProblem('6.18.44', 6)).toBeUndefined()
  })

  // setarch's UNAME26 personality makes uname(2) report 2.6.x: the real check on a real "old
  // kernel" answer, through the CLI, with nothing faked in the code under test
  it.runIf(haveSetarch)('on a kernel that reports 2.6 (setarch --uname-2.6): one line naming it, exit 4, CMD never runs', () => {
    const p = writeProfile('old-kernel', {defaultAction: 'SCMP_ACT_ALLOW', rules: [{names: ['mkdir'], action: 'SCMP_ACT_ERRNO'}]})
    const marker = join(tmp(), 'old-kernel-ran')
    for (const mode of ['--complain', '--explain']) {
      const r = spawnSync('setarch', ['x86_64', '--uname-2.6', cliPath, 'apply', p, mode, '--', 'touch', marker], {encoding: 'utf8'})
      expect(r.status, r.stderr).toBe(4)
      const lines = r.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/this kernel \(2\.6\.\d+[^)]*\) cannot serve --complain\/--explain: .*Linux 5\.6 or later$/)
      expect(existsSync(marker)).toBe(false)
    }
  })
})
