/**
 * A unix stream socket that can receive file descriptors (SCM_RIGHTS), through koffi: what
 * `seccomp-gen agent` listens on for the container runtimes' seccomp notify fds. Node's net
 * module cannot receive fds (it reads with read(2) and the kernel drops what came along).
 *
 * Every socket is non-blocking and close-on-exec, so accept4 and recvmsg never block; the
 * caller waits for them with a Poller (native/poll.ts).
 */
import koffi from 'koffi'
import {closeSync} from 'node:fs'
import {SeccompGenError} from '../src/errors.js'
import {errnoLabel, requireErrno} from '../src/errno.js'
import {openLibrary} from './dl.js'

// <sys/socket.h> (Linux; the same on every arch we run on)
const AF_UNIX = 1
const SOCK_STREAM = 1
const SOCK_NONBLOCK = 0o4000
const SOCK_CLOEXEC = 0o2000000
const SOL_SOCKET = 1
const SCM_RIGHTS = 1
const MSG_DONTWAIT = 0x40
const MSG_CMSG_CLOEXEC = 0x40000000
const EAGAIN = requireErrno('EAGAIN')
const EINTR = requireErrno('EINTR')
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
  if (e === EAGAIN || e === EINTR || e === requireErrno('ECONNABORTED') || e === requireErrno('EPROTO')) return undefined
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
    if (e === requireErrno('ECONNRESET')) return {data: Buffer.alloc(0), fds: [], eof: true}
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

export {closeQuietly as closeFd}
