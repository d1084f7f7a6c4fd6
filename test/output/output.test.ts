/**
 * Writing outputs (src/output.ts) on real files, real device nodes, FIFOs and sockets: in the
 * module itself, and through the built CLI for every command that writes a file (record -o and
 * --raw-log, build -o, export --bpf, apply --bundle).
 */
import {spawn, spawnSync} from 'node:child_process'
import {
  chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync,
  statSync, symlinkSync, writeFileSync,
} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {SeccompGenError} from '../../src/errors.js'
import {checkOutput, openOutput, resolveOutput, writeOutput} from '../../src/output.js'
import {cliError, cliPath, repoRoot, runCli, waitFor, type CliResult} from '../helpers/cli.js'

const isRoot = process.getuid?.() === 0
const input = join(repoRoot, 'fixtures', 'busybox-sh.obs.json')

let root: string
let n = 0
/** A fresh directory per test. */
function dir(): string {
  const d = join(root, `t${++n}`)
  mkdirSync(d)
  return d
}

/** The one-line error a call throws (a SeccompGenError('IO')). */
function errorOf(call: () => unknown): string {
  try {
    call()
  } catch (err) {
    expect(err).toBeInstanceOf(SeccompGenError)
    expect((err as SeccompGenError).code).toBe('IO')
    return (err as Error).message
  }
  throw new Error('expected an error')
}

/** Exactly one error line from the CLI, no stack trace; returns its text. */
function oneError(r: CliResult): string {
  const e = cliError(r)
  expect(e, `an error on stderr: ${r.stderr}`).toBeDefined()
  expect(e!.count).toBe(1)
  expect(r.stderr).not.toMatch(/\n\s+at /)
  return e!.message
}

/** A device node like /dev/null (char 1,3) made in `d`, or undefined where mknod is not allowed. */
function nullish(d: string): string | undefined {
  const path = join(d, 'nullish')
  const r = spawnSync('mknod', [path, 'c', '1', '3'])
  if (r.status !== 0) {
    console.warn(`[skip] device node output: mknod not allowed here: ${String(r.stderr).trim()}`)
    return undefined
  }
  return path
}

function mkfifo(path: string): string {
  expect(spawnSync('mkfifo', [path]).status).toBe(0)
  return path
}

/** A reader on a FIFO (cat), and what it received once the writer closed. */
function readFifo(path: string): Promise<string> {
  const cat = spawn('cat', [path], {stdio: ['ignore', 'pipe', 'inherit']})
  let got = ''
  cat.stdout.setEncoding('utf8').on('data', (s: string) => (got += s))
  return new Promise((res, rej) => {
    cat.on('error', rej)
    cat.on('close', () => res(got))
  })
}

/** Names in `d` that look like our temp files. */
const temps = (d: string) => readdirSync(d).filter((f) => f.endsWith('.tmp'))

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sg-output-test-'))
  chmodSync(root, 0o755)
})

afterAll(() => {
  rmSync(root, {recursive: true, force: true})
})

describe('resolveOutput: where a write goes and how', () => {
  it('a regular file or a missing one: replaced; a device, FIFO or descriptor link: written in place', () => {
    const d = dir()
    writeFileSync(join(d, 'file'), 'x')
    expect(resolveOutput(join(d, 'file'))).toMatchObject({how: 'replace', path: join(d, 'file')})
    expect(resolveOutput(join(d, 'file')).existing?.isFile()).toBe(true)
    expect(resolveOutput(join(d, 'missing'))).toMatchObject({how: 'replace', path: join(d, 'missing')})
    expect(resolveOutput(join(d, 'missing')).existing).toBeUndefined()
    mkfifo(join(d, 'fifo'))
    expect(resolveOutput(join(d, 'fifo'))).toMatchObject({how: 'direct', fifo: true})
    expect(resolveOutput('/dev/null')).toMatchObject({how: 'direct', path: '/dev/null', fifo: false})
    for (const [link, fd] of [['/dev/stdout', 1], ['/dev/stderr', 2], ['/dev/fd/1', 1], ['/proc/self/fd/2', 2]] as const) {
      expect(resolveOutput(link), link).toMatchObject({how: 'direct', path: `/proc/${process.pid}/fd/${fd}`, fd})
    }
    // another process's descriptor: opened like a device, not written through ours
    expect(resolveOutput(`/proc/${process.ppid}/fd/1`)).toMatchObject({how: 'direct', path: `/proc/${process.ppid}/fd/1`, fd: undefined})
  })

  it('symlinks are followed (relative, chained, dangling: the file they point to)', () => {
    const d = dir()
    mkdirSync(join(d, 'sub'))
    writeFileSync(join(d, 'sub', 'real'), 'x')
    symlinkSync('sub/real', join(d, 'l1'))
    symlinkSync('l1', join(d, 'l2'))
    symlinkSync('../sub', join(d, 'sub', 'up'))
    expect(resolveOutput(join(d, 'l2'))).toMatchObject({how: 'replace', path: join(d, 'sub', 'real')})
    expect(resolveOutput(join(d, 'sub', 'up', 'real')).path).toBe(join(d, 'sub', 'real'))
    symlinkSync('sub/new', join(d, 'dangling'))
    expect(resolveOutput(join(d, 'dangling'))).toMatchObject({how: 'replace', path: join(d, 'sub', 'new')})
    expect(resolveOutput(join(d, 'dangling')).existing).toBeUndefined()
  })

  it('a directory, a symlink loop, a path under a file: one-line errors', () => {
    const d = dir()
    writeFileSync(join(d, 'file'), 'x')
    symlinkSync('loop', join(d, 'loop'))
    expect(errorOf(() => resolveOutput(d))).toBe(`cannot write ${d}: is a directory`)
    expect(errorOf(() => resolveOutput(join(d, 'new') + '/'))).toBe(`cannot write ${join(d, 'new')}/: is a directory`)
    expect(errorOf(() => resolveOutput(join(d, 'loop')))).toBe(`cannot write ${join(d, 'loop')}: too many symbolic links encountered`)
    expect(errorOf(() => resolveOutput(join(d, 'file', 'x')))).toBe(`cannot write ${join(d, 'file', 'x')}: not a directory`)
    expect(errorOf(() => resolveOutput(join(d, 'no', 'x')))).toBe(`cannot write ${join(d, 'no', 'x')}: no such file or directory`)
  })
})

describe('checkOutput proves the write will work, leaving nothing behind', () => {
  it('/proc accepts no new file: the check says so in one sentence', () => {
    expect(errorOf(() => checkOutput('/proc/x.obs.json'))).toBe('cannot write /proc/x.obs.json: /proc does not allow creating files')
  })

  it('passes for a writable directory and leaves it as it was', () => {
    const d = dir()
    writeFileSync(join(d, 'keep'), 'old')
    expect(checkOutput(join(d, 'keep')).how).toBe('replace')
    expect(checkOutput(join(d, 'new')).how).toBe('replace')
    expect(readdirSync(d)).toEqual(['keep'])
    expect(readFileSync(join(d, 'keep'), 'utf8')).toBe('old')
  })

  it('a directory that refuses new files: refused up front', () => {
    const d = dir()
    if (!isRoot) {
      chmodSync(d, 0o555)
      expect(errorOf(() => checkOutput(join(d, 'o.json')))).toBe(`cannot write ${join(d, 'o.json')}: permission denied`)
      return
    }
    // root ignores directory modes: a read-only tmpfs really refuses
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', d], {encoding: 'utf8'})
    if (m.status !== 0) {
      console.warn(`[skip] read-only output directory: cannot mount a tmpfs here: ${m.stderr.trim()}`)
      return
    }
    try {
      expect(errorOf(() => checkOutput(join(d, 'o.json')))).toBe(`cannot write ${join(d, 'o.json')}: read-only file system`)
    } finally {
      spawnSync('umount', [d])
    }
  })

  it('a FIFO without a reader is not opened (the check returns; the write waits for a reader later)', () => {
    const d = dir()
    const fifo = mkfifo(join(d, 'fifo'))
    expect(checkOutput(fifo)).toMatchObject({how: 'direct', fifo: true})
    expect(lstatSync(fifo).isFIFO()).toBe(true)
  })

  it('a socket cannot be opened: refused up front, and it stays a socket', async () => {
    const d = dir()
    const sock = join(d, 'sock')
    const server: Server = createServer()
    await new Promise<void>((res) => server.listen(sock, res))
    try {
      expect(errorOf(() => checkOutput(sock))).toBe(`cannot write ${sock}: no such device or address`)
      expect(errorOf(() => writeOutput(sock, 'x'))).toBe(`cannot write ${sock}: no such device or address`)
      expect(lstatSync(sock).isSocket()).toBe(true)
    } finally {
      await new Promise((res) => server.close(res))
    }
  })
})

describe('writeOutput and openOutput', () => {
  it('replaces a regular file atomically, keeping its mode (600) and owner', () => {
    const d = dir()
    const f = join(d, 'secret.json')
    writeFileSync(f, 'old')
    chmodSync(f, 0o600)
    if (isRoot) chownSync(f, 65534, 65534)
    writeOutput(f, 'new content')
    const st = statSync(f)
    expect(readFileSync(f, 'utf8')).toBe('new content')
    expect(st.mode & 0o7777).toBe(0o600)
    if (isRoot) expect([st.uid, st.gid]).toEqual([65534, 65534])
    expect(temps(d)).toEqual([])
  })

  it('through a symlink: the target is replaced, the link stays', () => {
    const d = dir()
    writeFileSync(join(d, 'real'), 'old')
    chmodSync(join(d, 'real'), 0o640)
    symlinkSync('real', join(d, 'link'))
    writeOutput(join(d, 'link'), 'new')
    expect(lstatSync(join(d, 'link')).isSymbolicLink()).toBe(true)
    expect(readlinkSync(join(d, 'link'))).toBe('real')
    expect(readFileSync(join(d, 'real'), 'utf8')).toBe('new')
    expect(statSync(join(d, 'real')).mode & 0o7777).toBe(0o640)
  })

  it('a device node is written in place: it stays the same device', () => {
    const d = dir()
    const dev = nullish(d)
    if (!dev) return
    const before = statSync(dev)
    writeOutput(dev, 'gone into the void')
    const after = lstatSync(dev)
    expect(after.isCharacterDevice()).toBe(true)
    expect(after.rdev).toBe(before.rdev)
    expect(after.ino).toBe(before.ino)
    expect(temps(d)).toEqual([])
  })

  it('one of our own non-blocking descriptors (a pipe to a child, as Node makes them): every byte arrives', async () => {
    const wc = spawn('wc', ['-c'], {stdio: ['pipe', 'pipe', 'inherit']})
    let counted = ''
    wc.stdout.setEncoding('utf8').on('data', (s: string) => (counted += s))
    const closed = new Promise((res) => wc.on('close', res))
    // Node's own handle on the pipe (internal, but the only way to name that descriptor)
    const fd = (wc.stdin as unknown as {_handle: {fd: number}})._handle.fd
    expect(resolveOutput(`/dev/fd/${fd}`)).toMatchObject({how: 'direct', fd})
    // 4 MiB: far more than the pipe holds, so the writes meet EAGAIN until wc reads
    writeOutput(`/dev/fd/${fd}`, Buffer.alloc(4 << 20, 'x'))
    wc.stdin.end()
    await closed
    expect(counted.trim()).toBe(String(4 << 20))
  })

  it('streamed in pieces, then aborted: the existing file is untouched and no temp file is left', () => {
    const d = dir()
    const f = join(d, 'log')
    writeFileSync(f, 'previous run')
    const out = openOutput(f)
    out.write('part one, ')
    out.write(Buffer.from('part two'))
    expect(readFileSync(f, 'utf8')).toBe('previous run')
    out.abort()
    expect(readFileSync(f, 'utf8')).toBe('previous run')
    expect(temps(d)).toEqual([])
    const again = openOutput(f)
    again.write('part one, ')
    again.write(Buffer.from('part two'))
    again.commit()
    expect(readFileSync(f, 'utf8')).toBe('part one, part two')
  })

  it('an error names the path given, never a temp file, and the cause once', () => {
    const d = dir()
    const out = join(d, 'gone', 'x.json')
    const msg = errorOf(() => writeOutput(out, 'x'))
    expect(msg).toBe(`cannot write ${out}: no such file or directory`)
    expect(msg).not.toMatch(/\.tmp|ENOENT/)
  })
})

describe('through the CLI', () => {
  it('record -o /proc/x.json: one line, exit 1, and the command never ran', async () => {
    const d = dir()
    const r = await runCli(['record', '-o', '/proc/x.json', '--', 'touch', 'ran'], {cwd: d})
    expect(r.status).toBe(1)
    expect(oneError(r)).toBe('cannot write /proc/x.json: /proc does not allow creating files')
    expect(r.stderrLines).toHaveLength(1)
    expect(existsSync(join(d, 'ran'))).toBe(false)
  })

  it('record --raw-log through a link to the -o file: refused as the same file, before the command runs', async () => {
    const d = dir()
    symlinkSync('o.json', join(d, 'same'))
    const r = await runCli(['record', '-o', 'o.json', '--raw-log', 'same', '--', 'touch', 'ran'], {cwd: d})
    expect(r.status).toBe(2)
    expect(oneError(r)).toBe('--raw-log and -o name the same file')
    expect(readdirSync(d)).toEqual(['same'])
  })

  it('record -o /dev/null as root: /dev/null stays the same character device', async () => {
    const before = statSync('/dev/null')
    const r = await runCli(['record', '-q', '-o', '/dev/null', '--', 'true'], {cwd: dir()})
    expect(r.status, r.stderr).toBe(0)
    const after = lstatSync('/dev/null')
    expect(after.isCharacterDevice()).toBe(true)
    expect(after.rdev).toBe(before.rdev)
    expect(after.ino).toBe(before.ino)
  })

  it('record -o and --raw-log into a device node made with mknod: it stays that device', async () => {
    const d = dir()
    const dev = nullish(d)
    if (!dev) return
    const rdev = statSync(dev).rdev
    const r = await runCli(['record', '-q', '-o', dev, '--raw-log', dev, '--', 'true'], {cwd: d})
    expect(r.status, r.stderr).toBe(0)
    expect(lstatSync(dev).isCharacterDevice()).toBe(true)
    expect(lstatSync(dev).rdev).toBe(rdev)
    expect(readdirSync(d)).toEqual(['nullish'])
  })

  it('record -o FIFO: the reader gets the observation, the FIFO stays; no reader yet does not stop the command', async () => {
    const d = dir()
    const fifo = mkfifo(join(d, 'obs.fifo'))
    const done = runCli(['record', '-q', '-o', fifo, '--', 'touch', 'ran'], {cwd: d})
    // the check does not wait for a reader: the command runs, then the write waits for one
    await waitFor(() => existsSync(join(d, 'ran')), 20_000, 'the command to run')
    const got = await readFifo(fifo)
    const r = await done
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(got).command).toEqual(['touch', 'ran'])
    expect(lstatSync(fifo).isFIFO()).toBe(true)
  })

  it('record --raw-log FIFO with a reader: strace\'s lines stream into it', async () => {
    const d = dir()
    const fifo = mkfifo(join(d, 'raw.fifo'))
    const reading = readFifo(fifo)
    const r = await runCli(['record', '-q', '--raw-log', fifo, '-o', 'o.json', '--', 'true'], {cwd: d})
    expect(r.status, r.stderr).toBe(0)
    expect(await reading).toMatch(/execve\(/)
    expect(lstatSync(fifo).isFIFO()).toBe(true)
  })

  it('record -o /dev/stdout: the observation on stdout, /dev/stdout still a symlink', async () => {
    const r = await runCli(['record', '-q', '-o', '/dev/stdout', '--', 'true'], {cwd: dir()})
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).command).toEqual(['true'])
    expect(lstatSync('/dev/stdout').isSymbolicLink()).toBe(true)
  })

  it('-o /dev/stdout into a file the shell opened: the file gets it; /dev/stdin open for reading: refused', () => {
    const d = dir()
    const sh = (script: string) => spawnSync('sh', ['-c', script, cliPath, input], {cwd: d, encoding: 'utf8'})
    const r = sh('echo "first line" > out.txt; "$0" build -q -o /dev/stdout "$1" >> out.txt')
    expect(r.status, r.stderr).toBe(0)
    const text = readFileSync(join(d, 'out.txt'), 'utf8')
    expect(text.startsWith('first line\n{')).toBe(true)
    expect(JSON.parse(text.slice('first line\n'.length)).defaultAction).toBe('SCMP_ACT_ERRNO')
    writeFileSync(join(d, 'in.txt'), 'keep')
    const r2 = sh('exec "$0" build -o /dev/stdin "$1" < in.txt')
    expect(r2.status).toBe(1)
    expect(r2.stderr).toMatch(/cannot write \/dev\/stdin: descriptor 0 is open for reading only/)
    expect(readFileSync(join(d, 'in.txt'), 'utf8')).toBe('keep')
  })

  it('build -o link: the link stays, its target gets the profile', async () => {
    const d = dir()
    writeFileSync(join(d, 'profile.json'), 'old')
    symlinkSync('profile.json', join(d, 'link'))
    const r = await runCli(['build', '-q', '-o', 'link', input], {cwd: d})
    expect(r.status, r.stderr).toBe(0)
    expect(readlinkSync(join(d, 'link'))).toBe('profile.json')
    expect(JSON.parse(readFileSync(join(d, 'profile.json'), 'utf8')).defaultAction).toBe('SCMP_ACT_ERRNO')
    expect(readdirSync(d).sort()).toEqual(['link', 'profile.json'])
  })

  it('build -o over a 600 file owned by someone else: mode and owner kept', async () => {
    const d = dir()
    const f = join(d, 'p.json')
    writeFileSync(f, 'old')
    chmodSync(f, 0o600)
    if (isRoot) chownSync(f, 65534, 65534)
    const r = await runCli(['build', '-q', '-o', f, input])
    expect(r.status, r.stderr).toBe(0)
    const st = statSync(f)
    expect(st.mode & 0o7777).toBe(0o600)
    if (isRoot) expect([st.uid, st.gid]).toEqual([65534, 65534])
    expect(readFileSync(f, 'utf8')).toMatch(/"defaultAction"/)
  })

  it('build -o a new file under umask 027: mode 640', () => {
    const d = dir()
    const f = join(d, 'new.json')
    const r = spawnSync('sh', ['-c', 'umask 027; exec "$0" "$@"', cliPath, 'build', '-q', '-o', f, input], {encoding: 'utf8'})
    expect(r.status, r.stderr).toBe(0)
    expect(statSync(f).mode & 0o7777).toBe(0o640)
  })

  it('build and export fail on bad input: the existing output is untouched', async () => {
    const d = dir()
    const bad = join(d, 'bad.json')
    writeFileSync(bad, '{"not": "a profile or a recording"')
    const out = join(d, 'out')
    writeFileSync(out, 'precious')
    chmodSync(out, 0o600)
    for (const args of [['build', '-q', '-o', out, bad], ['export', bad, '--bpf', out]]) {
      const r = await runCli(args)
      expect(r.status, args.join(' ')).not.toBe(0)
      oneError(r)
      expect(readFileSync(out, 'utf8')).toBe('precious')
      expect(statSync(out).mode & 0o7777).toBe(0o600)
      expect(temps(d)).toEqual([])
    }
  })

  it('build -o /proc/p.json: refused before the inputs are read', async () => {
    const d = dir()
    // an input that does not exist: had it been read first, the error would name it
    const r = await runCli(['build', '-o', '/proc/p.json', join(d, 'no-such-input')])
    expect(r.status).toBe(1)
    expect(oneError(r)).toBe('cannot write /proc/p.json: /proc does not allow creating files')
  })

  it('export --bpf through a symlink into a device and onto a kept-mode file', async () => {
    const d = dir()
    const prof = join(d, 'p.json')
    expect((await runCli(['build', '-q', '-o', prof, input])).status).toBe(0)
    writeFileSync(join(d, 'f.bpf'), '')
    chmodSync(join(d, 'f.bpf'), 0o604)
    symlinkSync('f.bpf', join(d, 'link.bpf'))
    const r = await runCli(['export', prof, '--bpf', join(d, 'link.bpf')])
    expect(r.status, r.stderr).toBe(0)
    expect(lstatSync(join(d, 'link.bpf')).isSymbolicLink()).toBe(true)
    expect(statSync(join(d, 'f.bpf')).size % 8).toBe(0)
    expect(statSync(join(d, 'f.bpf')).size).toBeGreaterThan(0)
    expect(statSync(join(d, 'f.bpf')).mode & 0o7777).toBe(0o604)
    const r2 = await runCli(['export', prof, '--bpf', '/dev/null'])
    expect(r2.status, r2.stderr).toBe(0)
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true)
  })

  it('apply --bundle keeps config.json\'s mode and owner', async () => {
    const d = dir()
    const bundle = join(d, 'bundle')
    mkdirSync(bundle)
    const cfg = join(bundle, 'config.json')
    writeFileSync(cfg, JSON.stringify({ociVersion: '1.0.2', process: {args: ['sh']}, root: {path: 'rootfs'}, linux: {}}, null, 2))
    chmodSync(cfg, 0o600)
    if (isRoot) chownSync(cfg, 65534, 65534)
    const prof = join(d, 'p.json')
    expect((await runCli(['build', '-q', '-o', prof, input])).status).toBe(0)
    const r = await runCli(['apply', prof, '--bundle', bundle])
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(readFileSync(cfg, 'utf8')).linux.seccomp.defaultAction).toBe('SCMP_ACT_ERRNO')
    const st = statSync(cfg)
    expect(st.mode & 0o7777).toBe(0o600)
    if (isRoot) expect([st.uid, st.gid]).toEqual([65534, 65534])
    expect(readdirSync(bundle)).toEqual(['config.json'])
  })
})
