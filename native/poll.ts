/**
 * Waiting for fds without blocking Node's main thread: poll(2) run on libuv's thread pool
 * (koffi's async calls), and a Poller, whose wait a pipe can end early (stop the agent, stop
 * serving a listener). One wait is one pool thread however many fds it watches.
 */
import {closeSync, readSync} from 'node:fs'
import koffi from 'koffi'
import {SeccompGenError} from '../src/errors.js'
import {errnoLabel} from '../src/errno.js'
import {openLibrary} from './dl.js'

// <poll.h>, <fcntl.h> (Linux; the same on every arch we run on)
export const POLLIN = 0x1
export const POLLERR = 0x8
export const POLLHUP = 0x10
export const POLLNVAL = 0x20
const O_CLOEXEC = 0o2000000
const O_NONBLOCK = 0o4000

type PollFn = (fds: Buffer, n: number, timeout: number) => number

interface Libc {
  poll: PollFn & {async: (fds: Buffer, n: number, timeout: number, cb: (err: unknown, rc: number) => void) => void}
  pipe2: (fds: Int32Array, flags: number) => number
  write: (fd: number, buf: Buffer, len: number) => number | bigint
}

let libc: Libc | undefined

function load(): Libc {
  if (libc) return libc
  const h = openLibrary('libc.so.6', 'SECCOMP_ERROR')
  libc = {
    poll: h.func('int poll(void *fds, unsigned long nfds, int timeout)'),
    pipe2: h.func('int pipe2(_Out_ int *fds, int flags)'),
    write: h.func('long write(int fd, const void *buf, size_t count)'),
  } as unknown as Libc
  return libc
}

/** struct pollfd {int fd; short events; short revents}[], each asking for POLLIN (hang-ups and errors come anyway). */
function pollfds(fds: readonly number[]): Buffer {
  const buf = Buffer.alloc(8 * fds.length)
  fds.forEach((fd, i) => {
    buf.writeInt32LE(fd, 8 * i)
    buf.writeInt16LE(POLLIN, 8 * i + 4)
  })
  return buf
}

/** The revents of each fd; all 0 when poll returned 0 (timed out) or failed. */
function revents(buf: Buffer, rc: number): number[] {
  const n = buf.length / 8
  return Array.from({length: n}, (_, i) => (rc > 0 ? buf.readInt16LE(8 * i + 6) : 0))
}

/** poll(2) without waiting, on the calling thread: the revents of each fd (0: nothing yet). */
export function pollNow(fds: readonly number[]): number[] {
  const buf = pollfds(fds)
  return revents(buf, load().poll(buf, fds.length, 0))
}

/**
 * poll(2) on the thread pool: resolves with the revents of each fd once one is ready, or all 0
 * after `timeoutMs` (-1: no limit). EINTR cannot reach a pool thread; another failure also
 * resolves all 0, and the caller looks again.
 */
export function pollAsync(fds: readonly number[], timeoutMs: number): Promise<number[]> {
  const buf = pollfds(fds) // the closure keeps it alive while the pool thread writes into it
  return new Promise((resolve, reject) => {
    load().poll.async(buf, fds.length, timeoutMs, (err, rc) => (err ? reject(err as Error) : resolve(revents(buf, rc))))
  })
}

/**
 * pollAsync over a set of fds, woken early by wake(). wait() resolves with the revents of each
 * fd that has any (empty when woken or timed out). One wait() at a time.
 */
export class Poller {
  private readonly pipe: [number, number]
  private closed = false

  constructor() {
    const fds = new Int32Array(2)
    if (load().pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
      throw new SeccompGenError('SECCOMP_ERROR', `pipe2 (poller wake-up) failed: ${errnoLabel(koffi.errno())}`)
    }
    this.pipe = [fds[0]!, fds[1]!]
  }

  /** `timeoutMs`: resolve (empty) after this long at most; -1 waits until an fd is ready or wake(). */
  async wait(fds: readonly number[], timeoutMs = -1): Promise<Map<number, number>> {
    const rev = await pollAsync([...fds, this.pipe[0]], timeoutMs)
    const out = new Map<number, number>()
    fds.forEach((fd, i) => {
      if (rev[i]) out.set(fd, rev[i]!)
    })
    // drain the wake-up pipe (non-blocking) so the next wait blocks again
    if (rev[fds.length]) while (receivePipe(this.pipe[0])) { /* drain */ }
    return out
  }

  /** End a wait() in progress (or make the next one return at once). */
  wake(): void {
    if (!this.closed) load().write(this.pipe[1], Buffer.from('.'), 1)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    for (const fd of this.pipe) {
      try {
        closeSync(fd)
      } catch { /* closed already */ }
    }
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
