/**
 * Every file the tool writes goes through here (record -o and --raw-log, build -o, export --bpf,
 * apply --bundle's config.json), so that writing behaves the way users know from shell
 * redirection and from `install` or an editor:
 *
 * - a device or FIFO is opened and written in place, never replaced; a socket is neither (a path
 *   cannot open one: ENXIO), so it is refused up front and left as it is;
 * - a link to one of our own descriptors (/dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N)
 *   is written through that descriptor, as `-o -` writes stdout: whatever it is (pipe, socket,
 *   terminal, a file opened by the shell) it gets the bytes where it stands; another process's
 *   /proc/<pid>/fd/N is opened like a device;
 * - a symlink is followed and its target replaced (the link stays); a dangling link creates
 *   the file it points to, as `>` would;
 * - a regular file is replaced atomically (a temp file in the same directory, fsync, rename):
 *   readers see the old content or the new one, never a half; it keeps its mode and owner;
 * - a missing file is created with mode 0666 less the umask.
 *
 * checkOutput() proves, before any work is done, that the write will be possible: for a file to
 * replace it creates a temp file and renames it (so a directory that refuses either, like /proc,
 * fails up front); one of our own descriptors must be open for writing; any other direct target
 * is opened for writing (without blocking) and closed. A FIFO is the exception: it is not opened
 * by the check (opening would block without a reader, and closing the write end would end a
 * waiting reader's input), only its write permission is checked; the real write blocks until a
 * reader comes, as `> fifo` does.
 *
 * Errors are one sentence naming the path as given and the cause in words, never a temp file.
 */
import {randomBytes} from 'node:crypto'
import {
  accessSync, closeSync, constants, fchmodSync, fchownSync, fstatSync, fsyncSync, lstatSync, openSync, readFileSync,
  readlinkSync, realpathSync, renameSync, unlinkSync, writeSync, type Stats,
} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import {errnoWords, SeccompGenError} from './errors.js'

/** Where writing to a path really goes, and how. */
export interface OutputTarget {
  /** the path as the user gave it (what messages name) */
  given: string
  /** the file that is written: absolute, symlinks followed */
  path: string
  /** direct: opened and written in place; replace: temp file renamed over it */
  how: 'direct' | 'replace'
  /** replace: the file being replaced (its mode and owner carry over); absent when it is new */
  existing?: Stats
  /** direct: the path is a FIFO */
  fifo?: boolean
  /** direct: the path names this descriptor of our own process, written as it is */
  fd?: number
}

/** A file being written: write() any number of times, then commit(), or abort() to leave the target as it was. */
export interface OutputWriter {
  write(data: string | Uint8Array): void
  commit(): void
  abort(): void
}

/** As the kernel allows (SYMLOOP_MAX). */
const MAX_LINKS = 40

/** A link that names an open descriptor of a process: /proc/<pid>/fd/N (what /dev/stdout and /dev/fd/N lead to). */
const FD_LINK = /^\/proc\/(self|thread-self|\d+)(?:\/task\/\d+)?\/fd\/(\d+)$/

/** The access-mode bits of open flags (Node does not export the constant). */
const O_ACCMODE = 0o3

/** Direct targets: no create, no truncate (another process's descriptor link to a regular file gets appended to, like the stream it is). */
const DIRECT_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_NOCTTY

/** Follow `given` to the file a write would reach and decide how to write it. */
export function resolveOutput(given: string): OutputTarget {
  if (given === '') throw new SeccompGenError('USAGE', 'an output path is empty')
  if (given.endsWith('/')) fail(given, 'EISDIR')
  let path = resolve(given)
  for (let hop = 0; hop <= MAX_LINKS; hop++) {
    path = join(realDirectory(given, dirname(path)), basename(path))
    const link = FD_LINK.exec(path)
    if (link) return {given, path, how: 'direct', fifo: false, fd: link[1] === String(process.pid) ? Number(link[2]) : undefined}
    const st = lstatIfExists(given, path)
    if (!st) return {given, path, how: 'replace'}
    if (st.isSymbolicLink()) {
      const from = path
      path = resolve(dirname(from), attempt(given, () => readlinkSync(from)))
      continue
    }
    if (st.isDirectory()) fail(given, 'EISDIR')
    if (st.isFile()) return {given, path, how: 'replace', existing: st}
    return {given, path, how: 'direct', fifo: st.isFIFO()}
  }
  fail(given, 'ELOOP')
}

/** Throw now (before any work) if writing `given` would fail later. */
export function checkOutput(given: string): OutputTarget {
  const target = resolveOutput(given)
  if (target.how === 'replace') proveReplace(target)
  else if (target.fd !== undefined) checkDescriptor(target.given, target.fd)
  else if (target.fifo) attempt(given, () => accessSync(target.path, constants.W_OK))
  else closeSync(attempt(given, () => openSync(target.path, DIRECT_FLAGS | constants.O_NONBLOCK)))
  return target
}

/** Start writing `given` (a temp file for a replace, the target itself for a direct write). */
export function openOutput(given: string): OutputWriter {
  const target = resolveOutput(given)
  return target.how === 'replace' ? new ReplaceWriter(target) : new DirectWriter(target)
}

/** Write all of `data` to `given`; on failure the target is as it was (a direct target may hold part of it). */
export function writeOutput(given: string, data: string | Uint8Array): void {
  const out = openOutput(given)
  out.write(data) // a failed write has aborted already
  out.commit()
}

/** What both writers share: write() to their descriptor; a failed write leaves the target as it was. */
abstract class Writer implements OutputWriter {
  protected abstract fd: number
  protected abstract readonly target: OutputTarget

  write(data: string | Uint8Array): void {
    try {
      writeAll(this.fd, data)
    } catch (err) {
      this.abort()
      fail(this.target.given, err)
    }
  }

  abstract commit(): void
  abstract abort(): void
}

/** Writes to a temp file next to the target; commit() gives it the target's mode and owner and renames it over. */
class ReplaceWriter extends Writer {
  protected fd: number
  private readonly tmp: string

  constructor(protected readonly target: OutputTarget) {
    super()
    this.tmp = tempName(target.path)
    // A file that exists keeps its mode, given at commit; until then the temp is private to us.
    // A new one gets 0666 less the umask, applied by the kernel.
    this.fd = attempt(target.given, () => openSync(this.tmp, 'wx', target.existing ? 0o600 : 0o666), dirname(target.path))
  }


  commit(): void {
    try {
      const old = this.target.existing
      if (old) keepOwnerAndMode(this.fd, old)
      fsyncSync(this.fd)
      closeSync(this.fd)
      this.fd = -1
      renameSync(this.tmp, this.target.path)
    } catch (err) {
      this.abort()
      fail(this.target.given, err)
    }
    syncDirectory(dirname(this.target.path))
  }

  abort(): void {
    if (this.fd >= 0) closeQuietly(this.fd)
    this.fd = -1
    try {
      unlinkSync(this.tmp)
    } catch {
      /* renamed already, or never created */
    }
  }
}

/** Writes straight into a device, FIFO or descriptor link (whatever that descriptor is). */
class DirectWriter extends Writer {
  protected fd: number
  /** false for one of our own descriptors: written, never closed */
  private readonly owned: boolean

  constructor(protected readonly target: OutputTarget) {
    super()
    this.owned = target.fd === undefined
    this.fd = target.fd ?? attempt(target.given, () => openSync(target.path, DIRECT_FLAGS))
  }


  commit(): void {
    const fd = this.fd
    this.fd = -1
    if (fd >= 0 && this.owned) attempt(this.target.given, () => closeSync(fd))
  }

  abort(): void {
    if (this.fd >= 0 && this.owned) closeQuietly(this.fd)
    this.fd = -1
  }
}

/** Create a temp file next to the target and rename it: proof that the directory allows both. */
function proveReplace(target: OutputTarget): void {
  const dir = dirname(target.path)
  const first = tempName(target.path)
  const second = tempName(target.path)
  closeSync(attempt(target.given, () => openSync(first, 'wx', 0o600), dir))
  try {
    attempt(target.given, () => renameSync(first, second))
  } finally {
    for (const p of [first, second]) {
      try {
        unlinkSync(p)
      } catch {
        /* only one of them exists */
      }
    }
  }
}

/** One of our own descriptors must be open for writing (its flags in /proc/self/fdinfo/N). */
function checkDescriptor(given: string, fd: number): void {
  const info = attempt(given, () => readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1'))
  const flags = parseInt(/^flags:\s*([0-7]+)/m.exec(info)?.[1] ?? '0', 8)
  if ((flags & O_ACCMODE) === constants.O_RDONLY) {
    throw new SeccompGenError('IO', `cannot write ${given}: descriptor ${fd} is open for reading only`)
  }
}

/** The replaced file's owner (where we may set it), then its mode (after chown, which clears set-id bits). */
function keepOwnerAndMode(fd: number, old: Stats): void {
  const now = fstatSync(fd)
  if (now.uid !== old.uid || now.gid !== old.gid) {
    try {
      fchownSync(fd, old.uid, old.gid)
    } catch {
      /* only root may give a file away: the new content is ours, as with any editor */
    }
  }
  fchmodSync(fd, old.mode & 0o7777)
}

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
}

/**
 * Write every byte. A descriptor we share (stdout) may be non-blocking (Node makes pipes and
 * sockets so): when it is full, wait a moment for the reader, as a blocking write would.
 */
function writeAll(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data) : data
  let off = 0
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
      Atomics.wait(PAUSE, 0, 0, 5)
    }
  }
}

/** Something to sleep on synchronously (Atomics.wait with a timeout). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4))

/** The rename itself survives a crash once the directory is synced (not every file system can: best effort). */
function syncDirectory(dir: string): void {
  let fd = -1
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY)
    fsyncSync(fd)
  } catch {
    /* the content is in place; durability of the name is best effort */
  } finally {
    if (fd >= 0) closeQuietly(fd)
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch {
    /* already failing */
  }
}

/** The directory part of an output path, symlinks resolved; it must exist. */
function realDirectory(given: string, dir: string): string {
  return attempt(given, () => realpathSync.native(dir))
}

function lstatIfExists(given: string, path: string): Stats | undefined {
  try {
    return lstatSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    fail(given, err)
  }
}

/**
 * Run one file-system call; on failure throw the one-line output error. `creatingIn` marks a call
 * that creates a file in that directory: ENOENT there means the file system does not allow it.
 */
function attempt<T>(given: string, call: () => T, creatingIn?: string): T {
  try {
    return call()
  } catch (err) {
    if (creatingIn !== undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SeccompGenError('IO', `cannot write ${given}: ${creatingIn} does not allow creating files`)
    }
    fail(given, err)
  }
}

function fail(given: string, err: unknown): never {
  throw new SeccompGenError('IO', `cannot write ${given}: ${errnoWords(err)}`)
}
