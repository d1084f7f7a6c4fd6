/**
 * A unix stream socket that can receive file descriptors (SCM_RIGHTS), through koffi: what
 * `seccomp-gen agent` listens on for the container runtimes' seccomp notify fds. Node's net
 * module cannot receive fds (it reads with read(2) and the kernel drops what came along).
 *
 * Every socket is non-blocking and close-on-exec, so accept4 and recvmsg never block; waiting
 * is one poll(2) over all the fds the caller watches, run on libuv's thread pool (koffi's async
 * calls), with a pipe that wakes it. One Poller is one pool thread however many fds it watches.
 */
import koffi from 'koffi'
import {closeSync, readSync} from 'node:fs'
import {SeccompGenError} from '../src/errors.js'
import {errnoLabel} from '../src/errno.js'
import {openLibrary} from './dl.js'

// <sys/socket.h>, <poll.h>, <fcntl.h> (Linux; the same on every arch we run on)
const AF_UNIX = 1
const SOCK_STREAM = 1
const SOCK_NONBLOCK = 0o4000
const SOCK_CLOEXEC = 0o2000000
const O_CLOEXEC = 0o2000000
const O_NONBLOCK = 0o4000
const SOL_SOCKET = 1
const SCM_RIGHTS = 1
const MSG_DONTWAIT = 0x40
const MSG_CMSG_CLOEXEC = 0x40000000
const EAGAIN = 11
const EINTR = 4
export const POLLIN = 0x1
export const POLLERR = 0x8
export const POLLHUP = 0x10
export const POLLNVAL = 0x20
/** sizeof(struct sockaddr_un): sa_family_t + 108 bytes of path */
const SUN_PATH_MAX = 108
/** room for this many fds in one message's control data (the runtimes send one) */
const MAX_FDS = 16
/** CMSG_SPACE(4 * MAX_FDS) on LP64: a 16-byte cmsghdr and the data rounded up to 8 */
const CONTROL_BYTES = 16 + Math.ceil((4 * MAX_FDS) / 8) * 8

interface Libc {
  socket: (domain: number, type: number, protocol: number) => number
  bind: (fd: number, addr: Buffer, len: number) => number
  listen: (fd: number, backlog: number) => number
  accept4: (fd: number, addr: null, len: null, flags: number) => number
  recvmsg: (fd: number, msg: Record<string, unknown>, flags: number) => number | bigint
  poll: ((fds: Buffer, n: number, timeout: number) => number) & {async: (fds: Buffer, n: number, timeout: number, cb: (err: unknown, rc: number) => void) => void}
  pipe2: (fds: Int32Array, flags: number) => number
  write: (fd: number, buf: Buffer, len: number) => number | bigint
}

let libc: Libc | undefined

function load(): Libc {
  if (libc) return libc
  const h = openLibrary('libc.so.6', 'SECCOMP_ERROR')
  const iovec = koffi.struct('sg_iovec', {base: 'void *', len: 'size_t'})
  koffi.struct('sg_msghdr', {
    name: 'void *', namelen: 'uint32_t', iov: koffi.pointer(iovec), iovlen: 'size_t',
    control: 'void *', controllen: 'size_t', flags: 'int',
  })
  libc = {
    socket: h.func('int socket(int domain, int type, int protocol)'),
    bind: h.func('int bind(int fd, const void *addr, uint32_t len)'),
    listen: h.func('int listen(int fd, int backlog)'),
    accept4: h.func('int accept4(int fd, void *addr, void *len, int flags)'),
    recvmsg: h.func('long recvmsg(int fd, _Inout_ sg_msghdr *msg, int flags)'),
    poll: h.func('int poll(void *fds, unsigned long nfds, int timeout)'),
    pipe2: h.func('int pipe2(_Out_ int *fds, int flags)'),
    write: h.func('long write(int fd, const void *buf, size_t count)'),
  } as unknown as Libc
  return libc
}

function fail(call: string, what: string): never {
  throw new SeccompGenError('SECCOMP_ERROR', `${call} (${what}) failed: ${errnoLabel(koffi.errno())}`)
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch { /* closed already */ }
}

/**
 * socket + bind + listen on `path` (which must not exist: the caller decides what to do with an
 * old one). Returns the listening fd (non-blocking, close-on-exec).
 */
export function listenUnix(path: string, backlog = 64): number {
  const l = load()
  const bytes = Buffer.from(path)
  if (bytes.length >= SUN_PATH_MAX) throw new SeccompGenError('USAGE', `socket path ${path} is ${bytes.length} bytes long; a unix socket path has at most ${SUN_PATH_MAX - 1}`)
  const addr = Buffer.alloc(2 + SUN_PATH_MAX)
  addr.writeUInt16LE(AF_UNIX, 0)
  bytes.copy(addr, 2)
  const fd = l.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
  if (fd < 0) fail('socket', 'AF_UNIX')
  if (l.bind(fd, addr, 2 + bytes.length + 1) < 0) {
    const e = koffi.errno()
    closeQuietly(fd)
    throw new SeccompGenError('IO', `cannot listen on ${path}: bind failed: ${errnoLabel(e)}`)
  }
  if (l.listen(fd, backlog) < 0) {
    const e = koffi.errno()
    closeQuietly(fd)
    throw new SeccompGenError('IO', `cannot listen on ${path}: listen failed: ${errnoLabel(e)}`)
  }
  return fd
}

/** accept4 one waiting connection (non-blocking, close-on-exec); undefined when none waits. */
export function acceptUnix(fd: number): number | undefined {
  const c = load().accept4(fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC)
  if (c >= 0) return c
  const e = koffi.errno()
  // EAGAIN: nobody waiting; ECONNABORTED and friends: that client gave up, the next may not
  if (e === EAGAIN || e === EINTR || e === 103 /* ECONNABORTED */ || e === 71 /* EPROTO */) return undefined
  // out of fds: errnoLabel would need a file opened to name it
  if (e === 24 || e === 23) throw new SeccompGenError('IO', `accept4 (fd ${fd}) failed: ${e === 24 ? 'EMFILE' : 'ENFILE'} (too many open files)`)
  fail('accept4', `fd ${fd}`)
}

export interface Received {
  data: Buffer
  /** fds that came with the data (SCM_RIGHTS), close-on-exec; the caller owns them */
  fds: number[]
  /** the peer closed its end (a read of 0 bytes) */
  eof: boolean
}

/**
 * One recvmsg(2) of up to `max` bytes and the fds sent with them, without waiting; undefined
 * when nothing is there yet. A connection reset counts as end of file.
 */
export function receiveUnix(fd: number, max = 65536): Received | undefined {
  const data = Buffer.alloc(max)
  const control = Buffer.alloc(CONTROL_BYTES)
  const msg = {name: null, namelen: 0, iov: {base: data, len: max}, iovlen: 1, control, controllen: CONTROL_BYTES, flags: 0}
  const n = Number(load().recvmsg(fd, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC))
  if (n < 0) {
    const e = koffi.errno()
    if (e === EAGAIN || e === EINTR) return undefined
    if (e === 104 /* ECONNRESET */) return {data: Buffer.alloc(0), fds: [], eof: true}
    fail('recvmsg', `fd ${fd}`)
  }
  const fds: number[] = []
  // walk the cmsghdrs: {size_t len; int level; int type; data…}, each aligned to 8
  const used = Number(msg.controllen)
  for (let off = 0; off + 16 <= used;) {
    const len = Number(control.readBigUInt64LE(off))
    if (len < 16) break
    if (control.readInt32LE(off + 8) === SOL_SOCKET && control.readInt32LE(off + 12) === SCM_RIGHTS) {
      for (let p = off + 16; p + 4 <= off + len; p += 4) fds.push(control.readInt32LE(p))
    }
    off += Math.ceil(len / 8) * 8
  }
  // more fds than MAX_FDS (MSG_CTRUNC): the kernel closed the rest; the runtimes send one
  return {data: data.subarray(0, n), fds, eof: n === 0}
}

/**
 * poll(2) over a set of fds on the thread pool, woken early by wake(). wait() resolves with the
 * revents of each fd that has any (empty when woken or timed out). One wait() at a time.
 */
export class Poller {
  private readonly pipe: [number, number]
  private closed = false

  constructor() {
    const fds = new Int32Array(2)
    if (load().pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) fail('pipe2', 'poller wake-up')
    this.pipe = [fds[0]!, fds[1]!]
  }

  /** `timeoutMs`: resolve (empty) after this long at most; -1 waits until an fd is ready or wake(). */
  wait(fds: readonly number[], timeoutMs = -1): Promise<Map<number, number>> {
    const l = load()
    const all = [...fds, this.pipe[0]]
    const buf = Buffer.alloc(8 * all.length)
    all.forEach((fd, i) => {
      buf.writeInt32LE(fd, 8 * i)
      buf.writeInt16LE(POLLIN, 8 * i + 4)
    })
    return new Promise((resolve, reject) => {
      l.poll.async(buf, all.length, timeoutMs, (err, rc) => {
        if (err) return reject(err as Error)
        const out = new Map<number, number>()
        if (rc <= 0) return resolve(out) // EINTR cannot reach a pool thread; anything else: the caller looks again
        all.forEach((fd, i) => {
          const rev = buf.readInt16LE(8 * i + 6)
          if (rev && i < fds.length) out.set(fd, rev)
        })
        // drain the wake-up pipe (non-blocking) so the next wait blocks again
        if (buf.readInt16LE(8 * fds.length + 6)) while (receivePipe(this.pipe[0])) { /* drain */ }
        resolve(out)
      })
    })
  }

  /** End a wait() in progress (or make the next one return at once). */
  wake(): void {
    if (!this.closed) load().write(this.pipe[1], Buffer.from('.'), 1)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    for (const fd of this.pipe) closeQuietly(fd)
  }
}

/** One non-blocking read of the wake-up pipe: false when it is empty (EAGAIN). */
function receivePipe(fd: number): boolean {
  try {
    return readSync(fd, Buffer.alloc(64), 0, 64, null) > 0
  } catch {
    return false
  }
}

export {closeQuietly as closeFd}
