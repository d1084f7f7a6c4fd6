/**
 * build --widen imports end to end, through the built CLI on real programs: `tar` recorded
 * creating an archive, then run under `apply` extracting it over files that already exist (an
 * error path: tar unlinks and retries, makes directories, sets owners and times, none of which
 * the creation did). The recorded profile denies the extraction; the widened one lets it
 * through, and still denies a risky probe (unshare(2), imported by nothing tar loads but never
 * added even when imported). A static binary widens nothing and the summary says so.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {realPython} from '../helpers/apply-profiles.js'
import {cliError, runCli} from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'seccomp-gen-widen-e2e-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const haveStrace = spawnSync('strace', ['-V']).status === 0
const haveBinutils = spawnSync('nm', ['--version']).status === 0
const haveUnshare = spawnSync('unshare', ['--version']).status === 0
const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p) && spawnSync('file', ['-L', p], {encoding: 'utf8'}).stdout.includes('statically linked'))
if (!haveStrace) console.warn('widen e2e tests skipped: strace is not installed (.ci/run installs it)')
if (!haveBinutils) console.warn('widen e2e tests skipped: binutils is not installed (.ci/run installs it)')
if (!haveUnshare) console.warn('widen risky-probe check skipped: unshare (util-linux) not found')
if (!busybox) console.warn('widen static-binary e2e skipped: busybox-static is not installed')
// a python3 whose own ELF imports socketpair (Debian's: _socket built in; a pyenv build loads it with dlopen, which is not read)
const python = [realPython(), '/usr/bin/python3'].find((p) => p && haveBinutils && spawnSync('nm', ['-D', '--undefined-only', p], {encoding: 'utf8'}).stdout.includes(' socketpair'))
if (!python) console.warn('widen socketpair e2e skipped: no python3 here imports socketpair from its own ELF file')

function tree(root: string): void {
  for (const [rel, text] of Object.entries({'a.txt': 'alpha\n', 'd/b.txt': 'beta\n', 'd/e/c.txt': 'gamma\n'})) {
    mkdirSync(join(root, rel, '..'), {recursive: true})
    writeFileSync(join(root, rel), text)
  }
}

describe.runIf(haveStrace && haveBinutils && process.arch === 'x64')('build --widen imports on real programs', () => {
  it('tar: recorded creating, applied extracting over existing files: denied without widening, passes with it; unshare stays denied', async () => {
    tree(join(dir, 'src'))
    const obs = join(dir, 'tar.obs.json')
    const rec = await runCli(['record', '-q', '-o', obs, '--', 'tar', 'cf', join(dir, 'a.tar'), '-C', dir, 'src'], {timeoutMs: 120_000})
    expect(rec.status, rec.stderr).toBe(0)
    const plain = join(dir, 'plain.json')
    const wide = join(dir, 'wide.json')
    const b1 = await runCli(['build', '-o', plain, obs])
    expect(b1.status, b1.stderr).toBe(0)
    expect(b1.stderr).not.toContain('widened')
    const b2 = await runCli(['build', '--widen', 'imports', '-o', wide, obs])
    expect(b2.status, b2.stderr).toBe(0)
    const summary = b2.stderrLines.at(-1)!
    expect(summary).toMatch(/widened by imports: \+\d+ names from \/\S*tar \(\d+\)/)

    // each widened name is in a rule whose comment names the program and the import
    const profile = JSON.parse(readFileSync(wide, 'utf8')) as {syscalls: Array<{names: string[]; action: string; comment: string}>}
    const widened = profile.syscalls.filter((r) => r.comment.startsWith('widened'))
    expect(widened.length).toBeGreaterThan(0)
    expect(widened.map((r) => r.comment).join(' ')).toMatch(/unlinkat \(\/\S*tar imports unlinkat\)/)
    const allowed = new Set(profile.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names))
    for (const n of ['unshare', 'mount', 'setns', 'ptrace', 'bpf', 'keyctl', 'clone3']) expect(allowed.has(n), n).toBe(false)

    // the second input: extract over the tree that is already there
    const out = join(dir, 'out')
    tree(join(out, 'src'))
    const args = ['tar', 'xf', join(dir, 'a.tar'), '-C', out]
    const denied = await runCli(['apply', plain, '--', ...args], {timeoutMs: 120_000})
    expect(denied.status, 'the recorded profile lets the extraction through').not.toBe(0)
    expect(denied.stderr).toMatch(/Operation not permitted/)
    const passed = await runCli(['apply', wide, '--', ...args], {timeoutMs: 120_000})
    expect(passed.status, passed.stderr).toBe(0)
    expect(readFileSync(join(out, 'src', 'd', 'e', 'c.txt'), 'utf8')).toBe('gamma\n')

    // a risky probe under the widened profile: the unshare(2) call itself is refused
    if (haveUnshare) {
      const probe = await runCli(['apply', wide, '--', 'unshare', '--user', '--map-root-user', 'true'], {timeoutMs: 60_000})
      expect(probe.status).not.toBe(0)
      expect(probe.stderr).toMatch(/unshare failed: Operation not permitted/)
    }
  }, 300_000)

  it('--json carries what widening added and from which program', async () => {
    const obs = join(dir, 'tar.obs.json')
    if (!existsSync(obs)) {
      tree(join(dir, 'src'))
      const rec = await runCli(['record', '-q', '-o', obs, '--', 'tar', 'cf', join(dir, 'a.tar'), '-C', dir, 'src'], {timeoutMs: 120_000})
      expect(rec.status, rec.stderr).toBe(0)
    }
    const r = await runCli(['build', '--json', '--widen', 'imports', obs])
    expect(r.status, r.stderr).toBe(0)
    const j = JSON.parse(r.stdout) as {widen: {mode: string; added: number; programs: Array<{program: string; status: string; added: number}>; names: Array<{name: string; program: string; import: string}>}; stats: {allowed: number}}
    expect(j.widen.mode).toBe('imports')
    expect(j.widen.added).toBe(j.widen.names.length)
    expect(j.widen.programs).toEqual([expect.objectContaining({program: expect.stringMatching(/tar$/), status: 'dynamic', added: j.widen.added})])
    expect(j.widen.names).toContainEqual({name: 'unlinkat', program: expect.stringMatching(/tar$/), import: 'unlinkat'})
    const plain = await runCli(['build', '--json', obs])
    expect((JSON.parse(plain.stdout) as {widen?: unknown}).widen).toBeUndefined()
  }, 300_000)

  it.runIf(!!busybox)('a static binary imports nothing: the summary says so and nothing is added', async () => {
    const obs = join(dir, 'bb.obs.json')
    const rec = await runCli(['record', '-q', '-o', obs, '--', busybox!, 'true'], {timeoutMs: 120_000})
    expect(rec.status, rec.stderr).toBe(0)
    const plain = await runCli(['build', obs])
    const wide = await runCli(['build', '--widen', 'imports', obs])
    expect(wide.status, wide.stderr).toBe(0)
    expect(wide.stdout).toBe(plain.stdout)
    expect(wide.stderrLines.at(-1)).toContain(`widened by imports: +0 names; static, imports nothing: ${busybox}`)
  }, 300_000)

  it.runIf(!!python)('--widen all on python3: socketpair(AF_UNIX) is widened and works under apply; socketpair(AF_NETLINK) and socket(AF_NETLINK) stay denied', async () => {
    const obs = join(dir, 'py.obs.json')
    const rec = await runCli(['record', '-q', '-o', obs, '--', python!, '-c', 'print(1)'], {timeoutMs: 120_000})
    expect(rec.status, rec.stderr).toBe(0)
    const wide = join(dir, 'py-all.json')
    const b = await runCli(['build', '--widen', 'all', '-o', wide, obs])
    expect(b.status, b.stderr).toBe(0)
    const rule = (JSON.parse(readFileSync(wide, 'utf8')) as {syscalls: Array<{names: string[]; comment: string}>}).syscalls.find((r) => r.names.includes('socketpair'))
    expect(rule?.comment).toMatch(/socketpair \(\S*python\S* (via \S+ )?imports \w+\), domain \(address family\) AF_UNIX only/)
    const script = [
      'import socket',
      'a, b = socket.socketpair(socket.AF_UNIX); a.send(b"x"); print("unix", b.recv(1).decode())',
      'for f in (lambda: socket.socketpair(socket.AF_NETLINK, socket.SOCK_DGRAM), lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)):',
      '    try: f(); print("allowed")',
      '    except OSError as e: print("denied", e.errno)',
    ].join('\n')
    const run = await runCli(['apply', wide, '--', python!, '-c', script], {timeoutMs: 120_000})
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout.trim().split('\n')).toEqual(['unix x', 'denied 1', 'denied 1'])
  }, 300_000)

  it('an unknown --widen mode is one usage error, and nothing is written', async () => {
    const out = join(dir, 'never.json')
    const r = await runCli(['build', '--widen', 'everything', '-o', out, join(dir, 'missing.obs.json')])
    expect(r.status).toBe(2)
    expect(cliError(r)?.message).toMatch(/--widen|everything/)
    expect(existsSync(out)).toBe(false)
  })
})
