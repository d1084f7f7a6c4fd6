/**
 * Seccomp user notification from Node (koffi): libseccomp's notify API (seccomp_notify_alloc,
 * _receive, _respond, _id_valid, _free) on a listener fd, plus the few libc calls a supervisor
 * needs around it: pidfd_open + pidfd_getfd to take the listener fd out of the exec child, and
 * a Poller (native/poll.ts: poll(2) on libuv's thread pool, woken when we stop), so that waiting
 * for a notification never blocks Node's main thread.
 *
 * Receive and respond run on the main thread, and only after poll said a notification is
 * there: receive then returns at once (a notification whose task died in between gives ENOENT
 * instead of blocking: the kernel's pending count still has it), and respond never blocks.
 */
import koffi from 'koffi'
import {closeSync, readlinkSync} from 'node:fs'
import {SeccompGenError} from '../src/errors.js'
import {errnoLabel, requireErrno} from '../src/errno.js'
import {openLibrary} from './dl.js'
import {Poller, pollNow, POLLHUP, POLLIN} from './poll.js'
import {nativeArchToken, openLibseccomp, rawSyscallNumber} from './libseccomp.js'

/** SECCOMP_USER_NOTIF_FLAG_CONTINUE: let the call run as if the filter had allowed it (kernel ≥ 5.5). */
const NOTIF_FLAG_CONTINUE = 1
/** what readlink says of a listener fd in /proc */
const LISTENER_LINK = 'anon_inode:seccomp notify'

export interface Notification {
  id: bigint
  /** the calling thread's id, in the listener's pid namespace (0 when it is not visible there) */
  pid: number
  nr: number
  /** AUDIT_ARCH_* of the call (a libseccomp arch token) */
  arch: number
  args: bigint[]
}

interface Lib {
  seccomp_notify_alloc: (req: unknown[], resp: unknown[]) => number
  seccomp_notify_free: (req: unknown, resp: unknown) => void
  seccomp_notify_receive: (fd: number, req: unknown) => number
  seccomp_notify_respond: (fd: number, resp: unknown) => number
  seccomp_notify_id_valid: (fd: number, id: bigint) => number
}
interface Libc {
  syscall: (nr: number, ...rest: unknown[]) => number | bigint
  prctl: (option: number, ...rest: unknown[]) => number
}

let lib: Lib | undefined
let libc: Libc | undefined

function load(): {lib: Lib; libc: Libc} {
  if (lib && libc) return {lib, libc}
  const s = openLibseccomp()
  const c = openLibrary('libc.so.6', 'SECCOMP_ERROR')
  lib = {
    seccomp_notify_alloc: s.func('int seccomp_notify_alloc(_Out_ void **req, _Out_ void **resp)'),
    seccomp_notify_free: s.func('void seccomp_notify_free(void *req, void *resp)'),
    seccomp_notify_receive: s.func('int seccomp_notify_receive(int fd, void *req)'),
    seccomp_notify_respond: s.func('int seccomp_notify_respond(int fd, void *resp)'),
    seccomp_notify_id_valid: s.func('int seccomp_notify_id_valid(int fd, uint64_t id)'),
  } as unknown as Lib
  libc = {
    syscall: c.func('long syscall(long number, ...)') as unknown as Libc['syscall'],
    prctl: c.func('int prctl(int option, ...)') as unknown as Libc['prctl'],
  }
  return {lib, libc}
}

function fail(call: string, errno: number): never {
  throw new SeccompGenError('SECCOMP_ERROR', `${call} failed: ${errnoLabel(errno)}`)
}

/**
 * Take fd `targetFd` of process `pid` into this process (pidfd_open + pidfd_getfd, kernel ≥ 5.6;
 * the new fd is close-on-exec). Needs ptrace access to `pid` (our own child: yes).
 */
export function takeFd(pid: number, targetFd: number): number {
  const {libc: c} = load()
  const tok = nativeArchToken()
  const open = rawSyscallNumber('pidfd_open', tok)
  const getfd = rawSyscallNumber('pidfd_getfd', tok)
  if (open < 0 || getfd < 0) throw new SeccompGenError('SECCOMP_ERROR', 'pidfd_open/pidfd_getfd are unknown to libseccomp on this arch')
  const pidfd = Number(c.syscall(open, 'int', pid, 'unsigned int', 0))
  if (pidfd < 0) fail(`pidfd_open(${pid})`, koffi.errno())
  try {
    const fd = Number(c.syscall(getfd, 'int', pidfd, 'int', targetFd, 'unsigned int', 0))
    if (fd < 0) fail(`pidfd_getfd(${pid}, ${targetFd})`, koffi.errno())
    return fd
  } finally {
    closeSync(pidfd)
  }
}

const PR_SET_DUMPABLE = 4

/**
 * Keep the listener ours: without this, CMD (same user, and the profile lets pidfd_getfd or
 * ptrace through: --complain lets everything through) could take the listener out of this
 * process and answer its own notifications, past --explain. A process that is not dumpable
 * can be ptraced, and its fds taken, only with CAP_SYS_PTRACE (ptrace_may_access).
 */
export function guardFds(): void {
  if (load().libc.prctl(PR_SET_DUMPABLE, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0) < 0) fail('prctl(PR_SET_DUMPABLE)', koffi.errno())
}

/** Is `fd` of `pid` ('self' for ours) a seccomp listener? */
export function isListener(pid: number | 'self', fd: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/fd/${fd}`) === LISTENER_LINK
  } catch {
    return false
  }
}

/**
 * One listener fd, served: wait() resolves when a notification is there (or on stop()/hang-up),
 * receive() takes it, respond*() answers it. Close with close().
 */
export class Listener {
  private readonly req: unknown
  private readonly resp: unknown
  private readonly reqView: DataView
  private readonly respView: DataView
  private readonly poller: Poller
  private closed = false

  constructor(readonly fd: number) {
    const {lib: l} = load()
    const req: unknown[] = [null]
    const resp: unknown[] = [null]
    const rc = l.seccomp_notify_alloc(req, resp)
    if (rc < 0) fail('seccomp_notify_alloc', -rc)
    this.req = req[0]
    this.resp = resp[0]
    // struct seccomp_notif is 80 bytes, seccomp_notif_resp 24; libseccomp allocates at least that
    this.reqView = new DataView(koffi.view(this.req, 80))
    this.respView = new DataView(koffi.view(this.resp, 24))
    this.poller = new Poller()
  }

  /**
   * Wait on the thread pool until a notification is pending ('notify'), stop() was called
   * ('stop'), or no task uses the filter any more ('hangup', kernel ≥ 5.8).
   */
  async wait(): Promise<'notify' | 'stop' | 'hangup'> {
    const rev = (await this.poller.wait([this.fd])).get(this.fd) ?? 0
    if (rev & POLLIN) return 'notify'
    // nothing for the listener: woken by stop(), or poll failed (give up)
    return rev & POLLHUP ? 'hangup' : 'stop'
  }

  /** Is a notification pending right now? (poll with no timeout, on the main thread) */
  pending(): boolean {
    return (pollNow([this.fd])[0]! & POLLIN) !== 0
  }

  /**
   * Does a task still use the filter? False once the kernel hung the listener up (every task
   * that had the filter exited and was reaped; kernel ≥ 5.8, which says nothing before).
   */
  inUse(): boolean {
    return (pollNow([this.fd])[0]! & POLLHUP) === 0
  }

  /** Wake a wait() in progress (or make the next one return at once): it resolves 'stop'. */
  stop(): void {
    this.poller.wake()
  }

  /** Take the pending notification; undefined when its task is gone already (ENOENT). */
  receive(): Notification | undefined {
    new Uint8Array(this.reqView.buffer).fill(0)
    const rc = load().lib.seccomp_notify_receive(this.fd, this.req)
    if (rc < 0) {
      if (-rc === requireErrno('ENOENT') || -rc === requireErrno('EINTR')) return undefined
      fail('seccomp_notify_receive', -rc)
    }
    const v = this.reqView
    const args: bigint[] = []
    for (let i = 0; i < 6; i++) args.push(v.getBigUint64(32 + 8 * i, true))
    return {id: v.getBigUint64(0, true), pid: v.getUint32(8, true), nr: v.getInt32(16, true), arch: v.getUint32(20, true), args}
  }

  /** Is notification `id` still pending (its task still waiting)? Check before trusting /proc. */
  valid(id: bigint): boolean {
    return load().lib.seccomp_notify_id_valid(this.fd, id) === 0
  }

  private respond(id: bigint, val: bigint, error: number, flags: number): boolean {
    const v = this.respView
    v.setBigUint64(0, id, true)
    v.setBigInt64(8, val, true)
    v.setInt32(16, error, true)
    v.setUint32(20, flags, true)
    const rc = load().lib.seccomp_notify_respond(this.fd, this.resp)
    // ENOENT: the task died meanwhile; ECANCELED: a signal took it out of the wait (our own kill)
    if (rc < 0 && rc !== -2 && rc !== -125) fail('seccomp_notify_respond', -rc)
    return rc >= 0
  }

  /** Let the call run (SECCOMP_USER_NOTIF_FLAG_CONTINUE). False when the caller is gone. */
  continueCall(id: bigint): boolean {
    return this.respond(id, 0n, 0, NOTIF_FLAG_CONTINUE)
  }

  /** Fail the call with errno `errno` (a positive number; 0 makes it return 0). */
  failCall(id: bigint, errno: number): boolean {
    return this.respond(id, 0n, -errno, 0)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    load().lib.seccomp_notify_free(this.req, this.resp)
    this.poller.close()
    try {
      closeSync(this.fd)
    } catch { /* already closed */ }
  }
}

/**
 * Send `sig` to process `tgid` (the thread group of a notification's caller) without the
 * pid-reuse race of kill(2): a pidfd is opened on it first, and only if `stillCaller()` (the
 * notification still valid, so the caller and its group were alive all along and `tgid` was
 * read from the right /proc entry) is the signal sent, through the pidfd. False, and nothing
 * sent, when the caller is gone (its pid may name another process by now).
 */
export function signalProcess(tgid: number, sig: number, stillCaller: () => boolean): boolean {
  const {libc: c} = load()
  const tok = nativeArchToken()
  const pidfd = Number(c.syscall(rawSyscallNumber('pidfd_open', tok), 'int', tgid, 'unsigned int', 0))
  if (pidfd < 0) return false
  try {
    if (!stillCaller()) return false
    return Number(c.syscall(rawSyscallNumber('pidfd_send_signal', tok), 'int', pidfd, 'int', sig, 'void *', null, 'unsigned int', 0)) === 0
  } finally {
    closeSync(pidfd)
  }
}

/** tgkill(tgid, tid, sig): a signal to one thread. False when it is gone. */
export function signalThread(tgid: number, tid: number, sig: number): boolean {
  const nr = rawSyscallNumber('tgkill', nativeArchToken())
  return Number(load().libc.syscall(nr, 'int', tgid, 'int', tid, 'int', sig)) === 0
}
