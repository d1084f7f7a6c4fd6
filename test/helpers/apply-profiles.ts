/**
 * Hand-written Docker-format profiles for the apply tests (so they do not depend on `build`):
 * an allowlist of what dash, coreutils and python3 need to start and do ordinary work, with
 * mkdir/mkdirat, socket and mmap left out, so each test adds exactly the rule it is about.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export const BASE_NAMES = [
  'access', 'arch_prctl', 'brk', 'chdir', 'clock_getres', 'clock_gettime', 'clock_nanosleep', 'clone', 'clone3', 'close',
  'close_range', 'connect', 'dup', 'dup2', 'dup3', 'epoll_create1', 'epoll_ctl', 'epoll_pwait', 'epoll_wait', 'eventfd2',
  'execve', 'exit', 'exit_group', 'faccessat', 'faccessat2', 'fadvise64', 'fchdir', 'fchmod', 'fcntl', 'fdatasync', 'flock',
  'fstat', 'fstatfs', 'fsync', 'ftruncate', 'futex', 'getcwd', 'getdents64', 'getegid', 'geteuid', 'getgid', 'getgroups',
  'getpeername', 'getpgid', 'getpgrp', 'getpid', 'getppid', 'getrandom', 'getresgid', 'getresuid', 'getrlimit', 'getrusage',
  'getsid', 'getsockname', 'getsockopt', 'gettid', 'gettimeofday', 'getuid', 'ioctl', 'kill', 'lseek', 'lstat', 'madvise',
  'mprotect', 'mremap', 'munmap', 'nanosleep', 'newfstatat', 'open', 'openat', 'pipe', 'pipe2', 'poll', 'ppoll', 'prctl',
  'pread64', 'prlimit64', 'pselect6', 'pwrite64', 'read', 'readlink', 'readlinkat', 'readv', 'recvfrom', 'recvmsg',
  'rename', 'restart_syscall', 'rseq', 'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'rt_sigsuspend', 'sched_getaffinity',
  'sched_yield', 'select', 'sendmsg', 'sendto', 'set_robust_list', 'set_tid_address', 'setpgid', 'setsockopt', 'sigaltstack',
  'stat', 'statfs', 'statx', 'sysinfo', 'tgkill', 'umask', 'uname', 'unlink', 'unlinkat', 'utimensat', 'vfork', 'wait4',
  'waitid', 'write', 'writev',
]

export type Rule = {names: string[]; action: string; errnoRet?: number; args?: Array<{index: number; value: number | string; valueTwo?: number | string; op: string}>}

export interface ProfileSpec {
  defaultAction?: string
  defaultErrnoRet?: number
  /** names allowed without conditions besides BASE_NAMES */
  allow?: string[]
  /** names removed from BASE_NAMES */
  without?: string[]
  rules?: Rule[]
}

let dir: string | undefined

export function tmp(): string {
  if (!dir) dir = mkdtempSync(join(tmpdir(), 'seccomp-gen-apply-'))
  return dir
}

/** Write an allowlist profile (Docker format); returns its path. u64 values may be decimal strings. */
export function writeProfile(name: string, spec: ProfileSpec): string {
  const names = [...BASE_NAMES, ...(spec.allow ?? [])].filter((n) => !(spec.without ?? []).includes(n))
  const profile = {
    defaultAction: spec.defaultAction ?? 'SCMP_ACT_ERRNO',
    ...(spec.defaultAction && spec.defaultAction !== 'SCMP_ACT_ERRNO' ? {} : {defaultErrnoRet: spec.defaultErrnoRet ?? 1}),
    architectures: ['SCMP_ARCH_X86_64'],
    syscalls: [{names: [...new Set(names)].sort(), action: 'SCMP_ACT_ALLOW'}, ...(spec.rules ?? [])],
  }
  // bare JSON numbers for u64 strings, so values above 2^53 stay exact
  const text = JSON.stringify(profile, null, 2).replace(/"u64:(\d+)"/g, '$1')
  const path = join(tmp(), `${name}.json`)
  writeFileSync(path, text)
  return path
}

/** The real python3 binary (not a pyenv/asdf shim script), or null when absent. */
export function realPython(): string | null {
  const r = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], {encoding: 'utf8'})
  return r.status === 0 ? r.stdout.trim() : null
}
