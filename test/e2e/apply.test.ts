/**
 * `seccomp-gen apply` end to end: the built CLI runs real programs under filters loaded into the
 * real kernel. Each denial test has a control run (same profile with the call allowed, or the
 * program run without a filter) so a profile that simply breaks the program cannot pass.
 */
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {repoRoot, runCli, waitFor} from '../helpers/cli.js'
import {realPython, tmp, writeProfile} from '../helpers/apply-profiles.js'

const onX64 = process.arch === 'x64'
afterAll(() => rmSync(tmp(), {recursive: true, force: true}))
const python = realPython()
const busybox = ['/usr/bin/busybox', '/bin/busybox'].find((p) => existsSync(p)) ?? null
if (!python) console.warn('apply tests: python3 not found, the socket and W^X tests are skipped')
if (!busybox) console.warn('apply tests: busybox not found (.ci/run installs busybox-static), the exact-allowlist test is skipped')
const apply = (args: string[], opts: Parameters<typeof runCli>[1] = {}) => runCli(['apply', ...args], opts)

beforeAll(() => {
  if (!existsSync(join(repoRoot, 'dist', 'native', 'exec-child.js'))) {
    spawnSync('npx', ['tsc', '-p', '.'], {cwd: repoRoot, stdio: 'ignore'})
  }
})

describe.runIf(onX64)('apply: denials', () => {
  it('a denied syscall returns EPERM (mkdir without mkdir/mkdirat)', async () => {
    const p = writeProfile('no-mkdir', {allow: ['mmap']})
    const target = join(tmp(), 'denied-dir')
    const r = await apply([p, '--', 'mkdir', target])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/Operation not permitted/)
    expect(existsSync(target)).toBe(false)

    const control = writeProfile('with-mkdir', {allow: ['mmap', 'mkdir', 'mkdirat']})
    const ok = await apply([control, '--', 'mkdir', target])
    expect(ok.stderr).not.toMatch(/mkdir/)
    expect(ok.status).toBe(0)
    expect(existsSync(target)).toBe(true)
  })

  it('--optimize (binary tree) enforces the same profile', async () => {
    const p = writeProfile('no-mkdir-o2', {allow: ['mmap']})
    const r = await apply([p, '--optimize', '--', 'mkdir', join(tmp(), 'denied-o2')])
    expect(r.stderr).toMatch(/Operation not permitted/)
    expect((await apply([p, '--optimize', '--', 'sh', '-c', 'echo ok'])).stdout).toBe('ok\n')
  })

  it('a kill-process default kills with SIGSYS (exit 159)', async () => {
    const p = writeProfile('kill-default', {defaultAction: 'SCMP_ACT_KILL_PROCESS', allow: ['mmap']})
    const r = await apply([p, '--', 'mkdir', join(tmp(), 'killed-dir')])
    expect(r.status).toBe(159)
    expect(existsSync(join(tmp(), 'killed-dir'))).toBe(false)
    const ok = await apply([p, '--', 'true'])
    expect(ok.status).toBe(0)
  })

  it.runIf(python)('an argument rule is enforced: socket(AF_UNIX) allowed, socket(AF_INET) EPERM', async () => {
    const p = writeProfile('unix-only', {
      allow: ['mmap'],
      rules: [{names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 1, op: 'SCMP_CMP_EQ'}]}],
    })
    const script = [
      'import socket, errno',
      'def t(fam):',
      '    try:',
      '        socket.socket(fam).close(); return "ok"',
      '    except OSError as e:',
      '        return errno.errorcode[e.errno]',
      'print(t(socket.AF_UNIX), t(socket.AF_INET), t(socket.AF_INET6))',
    ].join('\n')
    const r = await apply([p, '--', python!, '-c', script])
    expect(r.stderr).not.toMatch(/Traceback/)
    expect(r.stdout.trim()).toBe('ok EPERM EPERM')
  })

  it.runIf(python)('W^X: a writable+executable mmap is denied while W-only and X-only succeed', async () => {
    // prot & (PROT_WRITE|PROT_EXEC) must be 0, PROT_WRITE or PROT_EXEC: three comparisons on
    // argument 2, which apply must split into three rules (libseccomp rejects them in one).
    const mask = 6
    const p = writeProfile('wx', {
      rules: [{
        names: ['mmap'],
        action: 'SCMP_ACT_ALLOW',
        args: [0, 2, 4].map((v) => ({index: 2, value: mask, valueTwo: v, op: 'SCMP_CMP_MASKED_EQ'})),
      }],
    })
    const script = [
      'import mmap, errno',
      'def t(prot):',
      '    try:',
      '        mmap.mmap(-1, 4096, prot=prot).close(); return "ok"',
      '    except OSError as e:',
      '        return errno.errorcode[e.errno]',
      'R, W, X = mmap.PROT_READ, mmap.PROT_WRITE, mmap.PROT_EXEC',
      'print(t(R|W), t(R|X), t(W|X), t(R|W|X), t(R))',
    ].join('\n')
    const r = await apply([p, '--', python!, '-c', script])
    expect(r.stderr).not.toMatch(/Traceback/)
    expect(r.stdout.trim()).toBe('ok ok EPERM EPERM ok')
    // control: without the filter the kernel grants the W+X mapping
    const bare = spawnSync(python!, ['-c', script], {encoding: 'utf8'})
    expect(bare.stdout.trim()).toBe('ok ok ok ok ok')
  })
})

describe.runIf(onX64)('apply: the process CMD gets', () => {
  const loose = () => writeProfile('loose', {allow: ['mmap', 'mkdir', 'mkdirat', 'socket']})

  it('passes stdout through a pipe intact (large output)', async () => {
    const r = await apply([loose(), '--', 'seq', '1', '300000'])
    const direct = spawnSync('seq', ['1', '300000'], {encoding: 'utf8', maxBuffer: 64 << 20})
    expect(r.status).toBe(0)
    expect(r.stdout.length).toBe(direct.stdout.length)
    expect(r.stdout).toBe(direct.stdout)
  })

  it('passes stderr and stdin through intact', async () => {
    const input = Array.from({length: 20000}, (_, i) => `line ${i}`).join('\n') + '\n'
    const r = await apply([loose(), '--', 'sh', '-c', 'cat >&2; echo done'], {input})
    expect(r.status).toBe(0)
    expect(r.stdout).toBe('done\n')
    expect(r.stderr.endsWith(input)).toBe(true)
  })

  it('`| head -1`: CMD dies of SIGPIPE at once (SIGPIPE back at SIG_DFL), status 141', async () => {
    const sh = `node ${JSON.stringify(join(repoRoot, 'bin', 'run.js'))} apply ${JSON.stringify(loose())} -- seq 1 1000000000 | head -1; echo "status=\${PIPESTATUS[0]}"`
    // 141 = 128 + SIGPIPE: seq died of the signal at its first write after head left; with
    // SIGPIPE ignored it would get EPIPE and exit 1 (the timeout only guards against a hang)
    const r = spawnSync('bash', ['-c', sh], {encoding: 'utf8', timeout: 30_000})
    expect(r.stdout).toBe('1\nstatus=141\n')
  })

  it('hands over a clean signal state, blocking stdio fds, no_new_privs and the filter', async () => {
    const r = await apply([loose(), '--', 'sh', '-c', 'grep -E "^(Sig(Ign|Blk)|NoNewPrivs|Seccomp):" /proc/self/status; for fd in 0 1 2; do grep ^flags /proc/self/fdinfo/$fd; done'])
    expect(r.status).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines).toContain('NoNewPrivs:\t1')
    expect(lines).toContain('Seccomp:\t2')
    expect(lines.find((l) => l.startsWith('SigIgn'))).toMatch(/^SigIgn:\s+0+$/)
    expect(lines.find((l) => l.startsWith('SigBlk'))).toMatch(/^SigBlk:\s+0+$/)
    const flags = lines.filter((l) => l.startsWith('flags')).map((l) => parseInt(l.split(/\s+/)[1]!, 8))
    expect(flags).toHaveLength(3)
    for (const f of flags) expect(f & 0o4000).toBe(0) // O_NONBLOCK
  })

  it('passes the environment unchanged', async () => {
    const env = {SECCOMP_GEN_TEST: 'a b=c', LANG: 'C'}
    const r = await apply([loose(), '--', 'env'], {env})
    const direct = spawnSync('env', {encoding: 'utf8', env: {...process.env, ...env}})
    expect(r.status).toBe(0)
    const sorted = (s: string) => s.trim().split('\n').filter((l) => !l.startsWith('_=')).sort()
    expect(sorted(r.stdout)).toEqual(sorted(direct.stdout))
    expect(r.stdout).toContain('SECCOMP_GEN_TEST=a b=c')
  })

  it.runIf(busybox)('runs nothing but execve under the filter before CMD (kill-process default, exact allowlist)', async () => {
    const exact = ['arch_prctl', 'brk', 'execve', 'exit_group', 'getrandom', 'getuid', 'mprotect', 'prctl', 'prlimit64', 'readlink', 'rseq', 'set_robust_list', 'set_tid_address', 'write']
    const profile = (names: string[]) => {
      const p = join(tmp(), `exact-${names.length}.json`)
      writeFileSync(p, JSON.stringify({defaultAction: 'SCMP_ACT_KILL_PROCESS', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{names, action: 'SCMP_ACT_ALLOW'}]}))
      return p
    }
    const r = await apply([profile(exact), '--', busybox!, 'echo', 'hi'])
    expect(r.status).toBe(0)
    expect(r.stdout).toBe('hi\n')
    // control: the same without write is killed, so the kill default is in force
    const killed = await apply([profile(exact.filter((n) => n !== 'write')), '--', busybox!, 'echo', 'hi'])
    expect(killed.status).toBe(159)
  })

  it("does not take CMD's options for its own", async () => {
    const r = await apply([loose(), 'ls', '-d', '-1', '/'])
    expect(r.status).toBe(0)
    expect(r.stdout).toBe('/\n')
  })
})

describe.runIf(onX64)('apply: exit status', () => {
  const loose = () => writeProfile('loose', {allow: ['mmap']})

  it.each([
    ['exit 0', 0],
    ['exit 7', 7],
    ['exit 255', 255],
    ['kill -USR1 $$', 138],
    ['kill -KILL $$', 137],
  ])('propagates `%s` as %i', async (script, status) => {
    const r = await apply([loose(), '--', 'sh', '-c', script])
    expect(r.status).toBe(status)
  })

  it('forwards SIGTERM to CMD and reports its death (143)', async () => {
    let out = ''
    let child: import('node:child_process').ChildProcess | undefined
    const done = apply([loose(), '--', 'sh', '-c', 'echo ready; exec sleep 30'], {
      onSpawn: (c) => {
        child = c
        c.stdout!.on('data', (d: Buffer) => (out += d.toString()))
      },
    })
    await waitFor(() => out.includes('ready'), 20_000, 'CMD to start')
    child!.kill('SIGTERM')
    const r = await done
    expect(r.status).toBe(143) // 128 + SIGTERM: sleep died of it, it did not run its 30 s out
  })

  const counter = () => {
    const f = join(tmp(), 'count-sigint.py')
    writeFileSync(f, [
      'import signal, time',
      'n = 0',
      'def h(*a):',
      '    global n',
      '    n += 1',
      'signal.signal(signal.SIGINT, h)',
      'print("ready", flush=True)',
      'end = time.time() + 1.5',
      'while time.time() < end:',
      '    time.sleep(0.05)',
      'print("sigint", n, flush=True)',
    ].join('\n'))
    return f
  }

  it.runIf(python)('forwards SIGINT sent to apply (no terminal): CMD gets it once', async () => {
    let out = ''
    let child: import('node:child_process').ChildProcess | undefined
    const done = apply([loose(), '--', python!, counter()], {
      onSpawn: (c) => {
        child = c
        c.stdout!.on('data', (d: Buffer) => (out += d.toString()))
      },
    })
    await waitFor(() => out.includes('ready'), 20_000, 'CMD to start')
    child!.kill('SIGINT')
    const r = await done
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/sigint 1\n$/)
  })

  it.runIf(python)('Ctrl-C on a terminal reaches CMD once, not twice (no forwarding of what the terminal sent)', () => {
    // a pseudo-terminal: apply and CMD in its foreground group, ^C typed once CMD is ready
    const harness = join(tmp(), 'pty-ctrl-c.py')
    writeFileSync(harness, [
      'import os, pty, select, sys, time',
      'pid, fd = pty.fork()',
      'if pid == 0:',
      '    os.execvp(sys.argv[1], sys.argv[1:])',
      'buf, sent = b"", False',
      'while True:',
      '    r, _, _ = select.select([fd], [], [], 20)',
      '    if not r:',
      '        break',
      '    try:',
      '        d = os.read(fd, 4096)',
      '    except OSError:',
      '        break',
      '    if not d:',
      '        break',
      '    buf += d',
      '    if b"ready" in buf and not sent:',
      '        time.sleep(0.2)',
      '        os.write(fd, b"\\x03")',
      '        sent = True',
      '_, st = os.waitpid(pid, 0)',
      'sys.stdout.write(buf.decode(errors="replace"))',
      'print("status", os.waitstatus_to_exitcode(st))',
    ].join('\n'))
    const r = spawnSync(python!, [harness, process.execPath, join(repoRoot, 'bin', 'run.js'), 'apply', loose(), '--', python!, counter()], {encoding: 'utf8', timeout: 60_000})
    expect(r.stdout).toMatch(/sigint 1\r?\n/)
    expect(r.stdout).toMatch(/status 0/)
  })

  it('CMD not found → 127; not executable → 126; nothing ran', async () => {
    const nf = await apply([loose(), '--', 'no-such-command-seccomp-gen'])
    expect(nf.status).toBe(127)
    expect(nf.stderr).toMatch(/no-such-command-seccomp-gen: command not found/)
    const script = join(tmp(), 'not-exec.sh')
    writeFileSync(script, '#!/bin/sh\necho ran\n')
    chmodSync(script, 0o644)
    const ne = await apply([loose(), '--', script])
    expect(ne.status).toBe(126)
    expect(ne.stdout).toBe('')
    const dir = await apply([loose(), '--', tmp()])
    expect(dir.status).toBe(126)
  })

  it('an executable file that is neither ELF nor #!: 126 with the words record uses, nothing ran', async () => {
    writeFileSync(join(tmp(), 'notelf'), 'touch ran\n')
    chmodSync(join(tmp(), 'notelf'), 0o755)
    const r = await apply([loose(), '--', './notelf'], {cwd: tmp()})
    expect(r.status).toBe(126)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr.trim()).toMatch(/: \.\/notelf: cannot execute: not an ELF binary or a #! script \(exec format error\)$/)
    expect(existsSync(join(tmp(), 'ran'))).toBe(false)
  })

  it('an execve failing under the filter is one line and 126 (the exec child exits by itself)', async () => {
    const junk = join(tmp(), 'junk-binary')
    writeFileSync(junk, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3, 4, 5, 6, 7, 8]))
    chmodSync(junk, 0o755)
    const r = await apply([loose(), '--', junk])
    expect(r.status).toBe(126)
    expect(r.stderr).toMatch(new RegExp(`cannot execute ${junk}: exec format error`))
    expect(r.stderr.trim().split('\n')).toHaveLength(1) // one error line, no code/stack lines
  })

  it("CMD's own 126/127/4 are its status, not taken for apply's failures", async () => {
    for (const code of [4, 126, 127]) {
      const r = await apply([loose(), '--', 'sh', '-c', `exit ${code}`])
      expect(r.status).toBe(code)
      expect(r.stderr).not.toMatch(/Error|EXEC_FAILED|SECCOMP_ERROR/)
    }
  })

  it('the error pipe does not leak into CMD (fd 3 is closed at exec)', async () => {
    const r = await apply([loose(), '--', 'sh', '-c', 'test -e /proc/self/fd/3 && readlink /proc/self/fd/3 || echo closed'])
    expect(r.stdout).toBe('closed\n')
  })
})

describe.runIf(onX64)('apply: pre-flight', () => {
  it('a profile that denies execve is an error before anything runs', async () => {
    const p = writeProfile('no-execve', {allow: ['mmap'], without: ['execve']})
    const marker = join(tmp(), 'should-not-exist')
    const r = await apply([p, '--', 'touch', marker])
    expect(r.status).toBe(3)
    expect(r.stderr).toMatch(/execve/)
    expect(r.stderr.trim().split('\n')).toHaveLength(1) // one error line, no code/stack lines
    expect(existsSync(marker)).toBe(false)
  })

  it('a default-allow profile with an execve kill rule is also caught', async () => {
    const p = join(tmp(), 'allow-but-no-execve.json')
    writeFileSync(p, JSON.stringify({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['execve'], action: 'SCMP_ACT_KILL'}]}))
    const r = await apply([p, '--', 'true'])
    expect(r.status).toBe(3)
  })

  it('unknown names for the arch are an error listing them; --allow-unknown skips them', async () => {
    const p = writeProfile('unknown-names', {allow: ['mmap', 'no_such_call', 'mmap2']})
    const r = await apply([p, '--', 'true'])
    expect(r.status).toBe(3)
    expect(r.stderr.trim().split('\n')).toHaveLength(1) // one error line, no code/stack lines
    expect(r.stderr).toMatch(/mmap2 no_such_call/)
    const ok = await apply([p, '--allow-unknown', '--', 'true'])
    expect(ok.status).toBe(0)
  })

  it('a filter the kernel refuses is SECCOMP_ERROR (exit 4) and CMD never runs; load flags reach seccomp(2)', async () => {
    const flagged = (flags: string[]) => {
      const p = join(tmp(), `flags-${flags.join('-')}.json`)
      writeFileSync(p, JSON.stringify({defaultAction: 'SCMP_ACT_ALLOW', flags, syscalls: [{names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO'}]}))
      return p
    }
    const marker = join(tmp(), 'refused-marker')
    // WAIT_KILLABLE_RECV without a listener: the kernel says EINVAL at load time
    const r = await apply([flagged(['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']), '--', 'touch', marker])
    expect(r.status).toBe(4)
    expect(r.stderr).toMatch(/seccomp\(SECCOMP_SET_MODE_FILTER\) failed: invalid argument/)
    expect(r.stderr.trim().split('\n')).toHaveLength(1) // one error line, no code/stack lines
    expect(existsSync(marker)).toBe(false)
    // LOG and SPEC_ALLOW are accepted and the filter is in force
    const ok = await apply([flagged(['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW']), '--', 'mkdir', join(tmp(), 'flagged-dir')])
    expect(ok.stderr).toMatch(/Operation not permitted/)
  })

  it('SCMP_ACT_NOTIFY (needs a listener apply does not have) is refused before anything runs', async () => {
    for (const [name, profile] of [
      ['notify-rule', {defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_NOTIFY'}]}],
      ['notify-default', {defaultAction: 'SCMP_ACT_NOTIFY', syscalls: [{names: ['execve'], action: 'SCMP_ACT_ALLOW'}]}],
    ] as const) {
      const p = join(tmp(), `${name}.json`)
      writeFileSync(p, JSON.stringify(profile))
      const r = await apply([p, '--', 'true'])
      expect(r.status, name).toBe(3)
      expect(r.stderr).toMatch(/listener/)
    }
  })

  it('an invalid profile is an error (exit 3), a missing one exit 1', async () => {
    const bad = join(tmp(), 'bad.json')
    writeFileSync(bad, JSON.stringify({defaultAction: 'SCMP_ACT_SOMETIMES', syscalls: []}))
    expect((await apply([bad, '--', 'true'])).status).toBe(3)
    expect((await apply([join(tmp(), 'missing.json'), '--', 'true'])).status).toBe(1)
  })

  it('CMD and --bundle exclude each other; one of them is required', async () => {
    const p = writeProfile('loose', {allow: ['mmap']})
    expect((await apply([p, '--bundle', tmp(), '--', 'true'])).status).toBe(2)
    expect((await apply([p])).status).toBe(2)
  })

  it('--caps opens capability-gated rules (includes.caps)', async () => {
    const p = join(tmp(), 'caps.json')
    const base = JSON.parse(readFileSync(writeProfile('caps-base', {allow: ['mmap']}), 'utf8'))
    base.syscalls.push({names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ALLOW', includes: {caps: ['CAP_SYS_ADMIN']}})
    writeFileSync(p, JSON.stringify(base))
    const target = join(tmp(), 'caps-dir')
    const denied = await apply([p, '--', 'mkdir', target])
    expect(denied.status).not.toBe(0)
    expect(existsSync(target)).toBe(false)
    const allowed = await apply([p, '--caps', 'CAP_SYS_ADMIN', '--', 'mkdir', target])
    expect(allowed.status).toBe(0)
    expect(existsSync(target)).toBe(true)
  })
})
