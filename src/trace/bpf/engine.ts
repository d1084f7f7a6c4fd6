/**
 * Which engine records: strace (ptrace: works wherever ptrace does, slows every syscall) or bpf
 * (in-kernel, near native speed: needs root or CAP_BPF+CAP_PERFMON, a kernel with BTF and
 * libbpf.so.1). auto picks bpf when it can run here, else strace, and says why.
 */
import {existsSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {machine, release} from 'node:os'
import {SeccompGenError} from '../../errors.js'
import {packageRoot} from '../../paths.js'
import {libbpfLoads} from '../../../native/libbpf.js'
import {capable} from '../host.js'

/** The recording engines: strace (ptrace), bpf (in-kernel), auto (bpf where it can run). */
export const ENGINES = ['auto', 'bpf', 'strace'] as const
export type Engine = (typeof ENGINES)[number]

/** The compiled recorder, built by `npm run build` (scripts/build-bpf.js) and shipped; $SECCOMP_GEN_BPF_OBJECT overrides it. */
export function recorderObjectPath(): string {
  return process.env.SECCOMP_GEN_BPF_OBJECT || join(packageRoot(), 'dist', 'native', 'bpf', 'recorder.bpf.o')
}

/** The kernel's BTF, which the recorder is relocated against; $SECCOMP_GEN_BTF names another path to check. */
const btfPath = (): string => process.env.SECCOMP_GEN_BTF || '/sys/kernel/btf/vmlinux'

const CAP_PERFMON = 38n
const CAP_BPF = 39n
const CAP_SYS_ADMIN = 21n

/** The inode of the initial pid namespace (PROC_PID_INIT_INO): the same on every kernel. */
const PID_NS_INIT_INO = 0xeffffffc

function inInitialPidNamespace(): boolean {
  try {
    return statSync('/proc/self/ns/pid').ino === PID_NS_INIT_INO
  } catch {
    return false
  }
}

/** Why the bpf engine cannot run here (the first reason that applies), or undefined when it can. */
export function bpfUnavailable(): string | undefined {
  if (machine() !== 'x86_64') return `the bpf engine reads x86-64 registers; this machine is ${machine()}`
  const has = (c: bigint) => capable(c) === true
  if (!(has(CAP_BPF) && has(CAP_PERFMON)) && !has(CAP_SYS_ADMIN)) return 'loading BPF needs root, or CAP_BPF and CAP_PERFMON'
  if (!inInitialPidNamespace()) return 'the bpf engine needs the host pid namespace (the kernel reports host pids; this process sees others)'
  if (!existsSync(btfPath())) return `the kernel (${release()}) has no BTF (${btfPath()} is missing)`
  if (!existsSync(recorderObjectPath())) return `${recorderObjectPath()} was not built (npm run build needs clang and libbpf-dev)`
  const lib = libbpfLoads()
  if (!lib.ok) return lib.reason
  return undefined
}

/** Which engine records, and why not bpf when auto fell back to strace. Throws when --engine bpf cannot run. */
export function chooseEngine(asked: Engine, rawLog: boolean): {engine: 'bpf' | 'strace'; note?: string} {
  if (asked === 'strace') return {engine: 'strace'}
  if (rawLog) {
    if (asked === 'bpf') throw new SeccompGenError('USAGE', "--raw-log keeps strace's output: the bpf engine has none (use --engine strace)")
    return {engine: 'strace', note: "--raw-log keeps strace's output"}
  }
  const reason = bpfUnavailable()
  if (!reason) return {engine: 'bpf'}
  if (asked === 'bpf') throw new SeccompGenError('BPF_UNAVAILABLE', `the bpf engine cannot run: ${reason}`)
  return {engine: 'strace', note: reason}
}

