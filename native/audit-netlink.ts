/**
 * The kernel's audit records, live: a NETLINK_AUDIT socket subscribed to the audit multicast
 * group (AUDIT_NLGRP_READLOG), which the kernel sends every record to whether or not auditd
 * runs, and before printk's rate limit (which lets about 10 records per 5 s reach dmesg).
 * Subscribing needs CAP_AUDIT_READ.
 *
 * Waiting is a poll(2) with a timeout run on libuv's thread pool (native/poll.ts pollAsync),
 * never on Node's main thread; the datagrams that are then ready are read on the main thread with
 * MSG_DONTWAIT, which never blocks. The timeout lets the caller stop between two waits.
 */
import koffi from 'koffi'
import {SeccompGenError} from '../src/errors.js'
import {errnoLabel, requireErrno} from '../src/errno.js'
import {openLibrary} from './dl.js'
import {pollAsync} from './poll.js'

// <linux/netlink.h>, <linux/audit.h>, <sys/socket.h> (the same on every Linux arch we run on)
const AF_NETLINK = 16
const SOCK_RAW = 3
const SOCK_CLOEXEC = 0o2000000
const NETLINK_AUDIT = 9
const AUDIT_NLGRP_READLOG = 1
const SOL_SOCKET = 1
const SO_RCVBUF = 8
const SO_RCVBUFFORCE = 33
const MSG_DONTWAIT = 0x40
const NLMSG_HDRLEN = 16
const EAGAIN = requireErrno('EAGAIN')
const EINTR = requireErrno('EINTR')
const ENOBUFS = requireErrno('ENOBUFS')
const EPERM = requireErrno('EPERM')

/** A large receive buffer: a burst of records (a dd run under a LOG profile) must not overflow it. */
const RCVBUF_BYTES = 8 << 20
/** The biggest audit record the kernel sends (MAX_AUDIT_MESSAGE_LENGTH) plus the header. */
const DATAGRAM_BYTES = 8970 + NLMSG_HDRLEN

export interface AuditMessage {
  /** the audit record type (1326: AUDIT_SECCOMP) */
  type: number
  /** the record text: `audit(1796444450.474:137): auid=… code=0x7ffc0000` */
  text: string
}

interface Lib {
  socket: (domain: number, type: number, protocol: number) => number
  bind: (fd: number, addr: Buffer, len: number) => number
  setsockopt: (fd: number, level: number, name: number, value: Buffer, len: number) => number
  recv: (fd: number, buf: Buffer, len: number, flags: number) => number | bigint
  close: (fd: number) => number
}

let lib: Lib | undefined

function load(): Lib {
  if (lib) return lib
  const h = openLibrary('libc.so.6', 'IO')
  lib = {
    socket: h.func('int socket(int domain, int type, int protocol)'),
    bind: h.func('int bind(int fd, const void *addr, unsigned int len)'),
    setsockopt: h.func('int setsockopt(int fd, int level, int name, const void *value, unsigned int len)'),
    recv: h.func('long recv(int fd, _Out_ void *buf, size_t len, int flags)'),
    close: h.func('int close(int fd)'),
  } as unknown as Lib
  return lib
}

export class AuditMulticast {
  private closed = false
  /** recv's buffer, reused: each datagram is decoded before the next is read */
  private readonly buf = Buffer.alloc(DATAGRAM_BYTES)

  private constructor(private readonly fd: number) {}

  /** Open the socket and join the multicast group; one line on failure (EPERM: no CAP_AUDIT_READ). */
  static open(): AuditMulticast {
    const l = load()
    const fd = l.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT)
    if (fd < 0) {
      const e = koffi.errno()
      throw new SeccompGenError('IO', `cannot open a NETLINK_AUDIT socket: ${errnoLabel(e)} (a kernel without audit support?)`)
    }
    // struct sockaddr_nl {sa_family_t nl_family; unsigned short nl_pad; u32 nl_pid; u32 nl_groups}
    const addr = Buffer.alloc(12)
    addr.writeUInt16LE(AF_NETLINK, 0)
    addr.writeUInt32LE(AUDIT_NLGRP_READLOG, 8)
    if (l.bind(fd, addr, addr.length) < 0) {
      const e = koffi.errno()
      l.close(fd)
      throw new SeccompGenError('IO', `cannot subscribe to the kernel's audit records: ${errnoLabel(e)}${e === EPERM ? ' (it needs CAP_AUDIT_READ: run as root)' : ''}`)
    }
    // FORCE passes the rmem_max cap as root; the plain option is the fallback, best effort
    const size = Buffer.alloc(4)
    size.writeInt32LE(RCVBUF_BYTES)
    if (l.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, size, 4) < 0) l.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, size, 4)
    return new AuditMulticast(fd)
  }

  /**
   * Wait up to `timeoutMs` (off the main thread) for records, then read every one that is
   * ready. `overflowed` says the socket's buffer overflowed since the last read: the kernel
   * dropped records for this listener.
   */
  async receive(timeoutMs: number): Promise<{messages: AuditMessage[]; overflowed: boolean}> {
    const l = load()
    if (this.closed) return {messages: [], overflowed: false}
    const [ready] = await pollAsync([this.fd], timeoutMs)
    const messages: AuditMessage[] = []
    let overflowed = false
    if (!ready || this.closed) return {messages, overflowed}
    for (;;) {
      const n = Number(l.recv(this.fd, this.buf, this.buf.length, MSG_DONTWAIT))
      if (n < 0) {
        const e = koffi.errno()
        if (e === ENOBUFS) {
          overflowed = true
          continue
        }
        if (e === EAGAIN || e === EINTR) break
        throw new SeccompGenError('IO', `reading the kernel's audit records failed: ${errnoLabel(e)}`)
      }
      messages.push(...decode(this.buf.subarray(0, n)))
    }
    return {messages, overflowed}
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    load().close(this.fd)
  }
}

/** The netlink messages of one datagram: struct nlmsghdr {u32 len; u16 type; u16 flags; u32 seq; u32 pid} + text. */
export function decode(datagram: Buffer): AuditMessage[] {
  const out: AuditMessage[] = []
  let at = 0
  while (at + NLMSG_HDRLEN <= datagram.length) {
    const len = datagram.readUInt32LE(at)
    if (len < NLMSG_HDRLEN || at + len > datagram.length) break
    const type = datagram.readUInt16LE(at + 4)
    // the text may or may not end in NUL
    const text = datagram.subarray(at + NLMSG_HDRLEN, at + len).toString('utf8').replace(/\0+$/, '')
    out.push({type, text})
    at += (len + 3) & ~3 // NLMSG_ALIGN
  }
  return out
}
