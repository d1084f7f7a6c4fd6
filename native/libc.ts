/**
 * The few libc calls seccomp-gen needs from Node (koffi): what the exec child does between
 * "filter ready" and execve, and memfd_create for exporting filters without temp files.
 * Loaded lazily; every failure becomes a SeccompGenError naming the call and the errno.
 */
import koffi from 'koffi'
import {SeccompGenError} from '../src/errors.js'
import {errnoLabel} from '../src/errno.js'
import {openLibrary} from './dl.js'

// <fcntl.h>, <signal.h>, <sys/prctl.h>, <linux/seccomp.h> (Linux, all arches we run on).
const F_GETFD = 1
const F_SETFD = 2
const F_GETFL = 3
const F_SETFL = 4
export const FD_CLOEXEC = 1
export const O_NONBLOCK = 0o4000
export const SIG_SETMASK = 2
export const PR_SET_NO_NEW_PRIVS = 38
export const PR_SET_PDEATHSIG = 1
/** <sys/resource.h>: RLIMIT_NOFILE on every arch we run on (generic, x86, arm). */
export const RLIMIT_NOFILE = 7
/** <signal.h> handler values */
const SIG_DFL = 0
const SIG_IGN = 1
const SIG_ERR = -1
export const SECCOMP_SET_MODE_FILTER = 1
const MFD_CLOEXEC = 1
/** Kernel sigset_t is 64 bits; glibc's sigset_t is 1024 bits. Zeroed buffer = empty set. */
const GLIBC_SIGSET_BYTES = 128

/** SECCOMP_FILTER_FLAG_* (the kernel load flags a profile's `flags` can name). */
export const SECCOMP_FILTER_FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_NEW_LISTENER: 8,
  SECCOMP_FILTER_FLAG_TSYNC_ESRCH: 16,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
}

/** struct rlimit (rlim_t is 64-bit on the 64-bit arches koffi runs us on; koffi converts) */
interface Rlimit {
  cur: bigint | number
  max: bigint | number
}

interface Libc {
  fcntl: (fd: number, cmd: number, ...rest: unknown[]) => number
  signal: (sig: number, handler: number) => number | bigint
  getrlimit: (resource: number, rlim: Rlimit) => number
  setrlimit: (resource: number, rlim: Rlimit) => number
  getppid: () => number
  strerror: (errnum: number) => string
  sigprocmask: (how: number, set: Buffer, old: null) => number
  prctl: (option: number, ...rest: unknown[]) => number
  syscall: (nr: number, ...rest: unknown[]) => number | bigint
  execv: (path: string, argv: (string | null)[]) => number
  write: (fd: number, buf: Buffer, len: number) => number
  read: (fd: number, buf: Buffer, len: number) => number
  _exit: (code: number) => void
  memfd_create: (name: string, flags: number) => number
}

let libc: Libc | undefined

function load(): Libc {
  if (libc) return libc
  const h = openLibrary('libc.so.6', 'SECCOMP_ERROR')
  koffi.struct('sock_fprog', {len: 'unsigned short', filter: 'void *'})
  koffi.struct('rlimit', {cur: 'unsigned long', max: 'unsigned long'})
  const f = (sig: string) => h.func(sig)
  libc = {
    fcntl: f('int fcntl(int fd, int cmd, ...)'),
    signal: f('intptr_t signal(int signum, intptr_t handler)'),
    getrlimit: f('int getrlimit(int resource, _Out_ rlimit *rlim)'),
    setrlimit: f('int setrlimit(int resource, const rlimit *rlim)'),
    getppid: f('int getppid(void)'),
    strerror: f('const char *strerror(int errnum)'),
    sigprocmask: f('int sigprocmask(int how, const void *set, void *oldset)'),
    prctl: f('int prctl(int option, ...)'),
    syscall: f('long syscall(long number, ...)'),
    execv: f('int execv(const char *path, const char **argv)'),
    write: f('long write(int fd, const void *buf, size_t count)'),
    read: f('long read(int fd, _Out_ void *buf, size_t count)'),
    _exit: f('void _exit(int status)'),
    memfd_create: f('int memfd_create(const char *name, unsigned int flags)'),
  } as unknown as Libc
  return libc
}

/** Load libc and its bindings now, so nothing needs to be resolved later (after the filter). */
export function preloadLibc(): void {
  load()
}

function fail(call: string, what?: string): never {
  const e = koffi.errno()
  throw new SeccompGenError('SECCOMP_ERROR', `${call}${what ? ` (${what})` : ''} failed: ${errnoLabel(e)}`)
}

/**
 * Make fd usable by an exec'd program the way a shell hands it over: FD_CLOEXEC and
 * O_NONBLOCK cleared (Node may set both on its stdio). A closed fd is left alone.
 */
export function resetStdioFd(fd: number): void {
  const l = load()
  const fdFlags = l.fcntl(fd, F_GETFD)
  if (fdFlags < 0) return // not open
  if (fdFlags & FD_CLOEXEC && l.fcntl(fd, F_SETFD, 'int', fdFlags & ~FD_CLOEXEC) < 0) fail('fcntl(F_SETFD)', `fd ${fd}`)
  const flFlags = l.fcntl(fd, F_GETFL)
  if (flFlags >= 0 && flFlags & O_NONBLOCK && l.fcntl(fd, F_SETFL, 'int', flFlags & ~O_NONBLOCK) < 0) fail('fcntl(F_SETFL)', `fd ${fd}`)
}

/** Set the disposition of `signal` to SIG_DFL, or to SIG_IGN when `ignore` (exec keeps SIG_IGN). */
export function setSignalDisposition(signal: number, ignore: boolean): void {
  if (Number(load().signal(signal, ignore ? SIG_IGN : SIG_DFL)) === SIG_ERR) fail('signal', `signal ${signal}`)
}

/** Set the soft RLIMIT_NOFILE (capped at the hard limit, which stays). */
export function setSoftNofileLimit(soft: number): void {
  const l = load()
  const rlim: Rlimit = {cur: 0, max: 0}
  if (l.getrlimit(RLIMIT_NOFILE, rlim) < 0) fail('getrlimit(RLIMIT_NOFILE)')
  const hard = BigInt(rlim.max)
  const want = BigInt(soft)
  if (l.setrlimit(RLIMIT_NOFILE, {cur: want < hard ? want : hard, max: rlim.max}) < 0) fail('setrlimit(RLIMIT_NOFILE)')
}

/**
 * prctl(PR_SET_PDEATHSIG, signal): the kernel sends `signal` to this process when its parent
 * dies; it stays set across execve. Returns false when the parent is already gone (it died
 * before the prctl), so the caller can exit at once.
 */
export function setParentDeathSignal(signal: number, expectedParent: number): boolean {
  const l = load()
  if (l.prctl(PR_SET_PDEATHSIG, 'unsigned long', signal, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0) < 0) fail('prctl(PR_SET_PDEATHSIG)')
  return l.getppid() === expectedParent
}

/** Unblock every signal for the calling thread (exec keeps the mask). */
export function unblockAllSignals(): void {
  if (load().sigprocmask(SIG_SETMASK, Buffer.alloc(GLIBC_SIGSET_BYTES), null) < 0) fail('sigprocmask')
}

/** prctl(PR_SET_NO_NEW_PRIVS, 1): required to load a filter without CAP_SYS_ADMIN. */
export function setNoNewPrivs(): void {
  if (load().prctl(PR_SET_NO_NEW_PRIVS, 'unsigned long', 1, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0) < 0) {
    fail('prctl(PR_SET_NO_NEW_PRIVS)')
  }
}

/**
 * A prepared seccomp(SECCOMP_SET_MODE_FILTER) call: everything (the program copy, the
 * sock_fprog) is built up front so that loading is one foreign call and nothing else.
 */
export interface PreparedLoad {
  load(): number
}

export function prepareSeccompLoad(seccompNr: number, bpf: Buffer, flags: number): PreparedLoad {
  const l = load()
  if (bpf.length === 0 || bpf.length % 8 !== 0) throw new SeccompGenError('SECCOMP_ERROR', `BPF program of ${bpf.length} bytes is not a whole number of instructions`)
  const len = bpf.length / 8
  if (len > 4096) throw new SeccompGenError('SECCOMP_ERROR', `BPF program has ${len} instructions; the kernel accepts at most 4096`)
  const prog = {len, filter: bpf}
  return {
    load() {
      const rc = l.syscall(seccompNr, 'unsigned int', SECCOMP_SET_MODE_FILTER, 'unsigned int', flags, 'sock_fprog *', prog)
      return Number(rc)
    },
  }
}

/** seccomp(2) failed: the message for the current errno. */
/** An errno number in words, as libc says it ("exec format error"). */
export function errnoText(n: number): string {
  const t = load().strerror(n)
  return t.charAt(0).toLowerCase() + t.slice(1)
}

export function lastErrno(): number {
  return koffi.errno()
}

/**
 * A prepared execv (the environment passes unchanged): the argv array is built now, so the
 * call itself allocates nothing. It returns only on failure, with the errno name.
 */
export function prepareExecv(path: string, argv: string[]): () => number {
  const l = load()
  const vec: (string | null)[] = [...argv, null]
  return () => {
    l.execv(path, vec)
    return koffi.errno()
  }
}

/** write(2) of a buffer on a raw fd, best effort (used after the filter is loaded): bytes written or -1. */
export function rawWrite(fd: number, text: string): number {
  const buf = Buffer.from(text)
  return Number(load().write(fd, buf, buf.length))
}

/** Set FD_CLOEXEC on fd (so an exec closes it); false when fd is not open. */
export function setCloexec(fd: number): boolean {
  const l = load()
  const flags = l.fcntl(fd, F_GETFD)
  if (flags < 0) return false
  if (l.fcntl(fd, F_SETFD, 'int', flags | FD_CLOEXEC) < 0) fail('fcntl(F_SETFD)', `fd ${fd}`)
  return true
}

/** Clear O_NONBLOCK on fd (so one read(2) waits), set FD_CLOEXEC (so the exec closes it, no close(2) needed). */
export function setBlockingCloexec(fd: number): void {
  const l = load()
  const fl = l.fcntl(fd, F_GETFL)
  if (fl < 0) fail('fcntl(F_GETFL)', `fd ${fd}`)
  if (fl & O_NONBLOCK && l.fcntl(fd, F_SETFL, 'int', fl & ~O_NONBLOCK) < 0) fail('fcntl(F_SETFL)', `fd ${fd}`)
  setCloexec(fd)
}

/** A prepared one-byte read(2) of fd: one foreign call, nothing allocated; returns read's result. */
export function prepareReadByte(fd: number): () => number {
  const l = load()
  const buf = Buffer.alloc(1)
  return () => Number(l.read(fd, buf, 1))
}

/** _exit(2): leave now, no atexit handlers, no Node shutdown. */
export function rawExit(code: number): never {
  load()._exit(code)
  throw new Error('unreachable')
}

/** An anonymous memory file (close-on-exec); a real fd libseccomp can export into. */
export function memfd(name: string): number {
  const fd = load().memfd_create(name, MFD_CLOEXEC)
  if (fd < 0) fail('memfd_create')
  return fd
}
