/**
 * Facts about the host that `record` checks before tracing anything: where strace is and its version, and whether ptrace is allowed — with the cause named when
 * it is not (yama ptrace_scope, a missing CAP_SYS_PTRACE, a seccomp filter on ptrace).
 */
import {spawnSync} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {machine, release} from 'node:os'
import {errnoWords, SeccompGenError} from '../errors.js'
import {readText} from '../fsutil.js'
import {findCommand} from '../shell.js'

/** Resolve strace: $SECCOMP_GEN_STRACE if set, else `strace` in PATH. */
export function resolveStrace(): string {
  const override = process.env.SECCOMP_GEN_STRACE
  const lookup = findCommand(override || 'strace')
  const found = 'path' in lookup ? lookup.path : undefined
  if (!found) {
    throw new SeccompGenError(
      'STRACE_MISSING',
      override
        ? `strace not found at SECCOMP_GEN_STRACE=${override}`
        : 'strace is not installed (not found in PATH); install it, e.g. `apt-get install strace` (Debian/Ubuntu), `dnf install strace` (Fedora), `apk add strace` (Alpine)',
    )
  }
  return found
}

export interface HostFacts {
  kernel: string
  machine: string
  strace?: string
}

export function hostFacts(straceVersion?: string): HostFacts {
  return {kernel: release(), machine: machine(), ...(straceVersion ? {strace: straceVersion} : {})}
}

const CAP_SYS_PTRACE = 19n

/** Whether this process has capability `bit` in effect (/proc/self/status CapEff); undefined when unknown. */
export function capable(bit: bigint): boolean | undefined {
  const cap = /^CapEff:\s*([0-9a-f]+)/m.exec(readText('/proc/self/status') ?? '')?.[1]
  return cap === undefined ? undefined : ((BigInt(`0x${cap}`) >> bit) & 1n) === 1n
}

/** Why ptrace may be refused here, from /proc: the first cause that applies, or undefined. */
export function ptraceDenialCause(forAttach: boolean): string | undefined {
  const scope = readText('/proc/sys/kernel/yama/ptrace_scope')?.trim()
  const status = readText('/proc/self/status') ?? ''
  const hasCap = capable(CAP_SYS_PTRACE)
  const seccomp = /^Seccomp:\s*(\d)/m.exec(status)?.[1]
  if (scope === '3') return 'kernel.yama.ptrace_scope is 3: ptrace is disabled on this host until reboot'
  if (scope === '2' && hasCap === false) {
    return 'kernel.yama.ptrace_scope is 2: ptrace needs CAP_SYS_PTRACE, which this process lacks (run as root, or `sysctl kernel.yama.ptrace_scope=1`)'
  }
  if (forAttach && scope === '1' && hasCap === false) {
    return 'kernel.yama.ptrace_scope is 1: only descendants can be attached to without CAP_SYS_PTRACE (run as root, or `sysctl kernel.yama.ptrace_scope=0`)'
  }
  if (seccomp === '2') {
    return 'this process runs under a seccomp filter that may deny ptrace (e.g. a container\'s default profile: run the container with --cap-add SYS_PTRACE or a profile that allows ptrace)'
  }
  if (hasCap === false && forAttach) return 'attaching to another user\'s process needs CAP_SYS_PTRACE, which this process lacks'
  return undefined
}

export interface StraceProbe {
  version: string
}

/**
 * Check that strace can trace a child here, and read its version, in one short run
 * (`strace -o /dev/null -e trace=none -- strace -V`, a few milliseconds). A refusal
 * becomes PTRACE_DENIED with its cause named, before the user's command ever runs.
 */
export function probeStrace(strace: string): StraceProbe {
  const r = spawnSync(strace, ['-qq', '-e', 'trace=none', '-o', '/dev/null', '--', strace, '-V'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  })
  if (r.error) {
    throw new SeccompGenError('STRACE_MISSING', `cannot run ${strace}: ${errnoWords(r.error)}`)
  }
  const version = (r.stdout ?? '').split('\n')[0].trim()
  if (r.status === 0 && version) return {version}
  const err = (r.stderr ?? '').trim()
  const firstLine = err.split('\n').find((l) => l.trim() !== '') ?? `strace exited with ${r.status ?? r.signal}`
  if (/Operation not permitted|EPERM|Permission denied/.test(err)) {
    const cause = ptraceDenialCause(false)
    throw new SeccompGenError('PTRACE_DENIED', `ptrace is not permitted here${cause ? `: ${cause}` : ''} (strace said: ${firstLine})`)
  }
  throw new SeccompGenError('STRACE_MISSING', `strace does not work here: ${firstLine}`)
}

/** Check --pid targets exist (and, for ptrace, have no tracer yet); ESRCH later is then a race, not a typo. */
export function assertProcessesExist(pids: readonly number[], ptrace: boolean): void {
  for (const pid of pids) {
    if (!Number.isSafeInteger(pid) || pid <= 0) throw new SeccompGenError('USAGE', `--pid ${pid}: not a process id`)
    if (pid === process.pid) throw new SeccompGenError('USAGE', `--pid ${pid}: cannot trace seccomp-gen itself`)
    const status = readText(`/proc/${pid}/status`)
    if (status === undefined) throw new SeccompGenError('USAGE', `--pid ${pid}: no such process`)
    if (/^State:\s*[ZX]/m.test(status)) throw new SeccompGenError('USAGE', `--pid ${pid}: the process has exited (a zombie)`)
    // A process has one tracer at most: name the one already there (a debugger, another strace).
    const tracer = Number(/^TracerPid:\s*(\d+)/m.exec(status)?.[1] ?? 0)
    if (tracer !== 0 && ptrace) {
      const comm = readText(`/proc/${tracer}/comm`)?.trim()
      throw new SeccompGenError('PTRACE_DENIED', `--pid ${pid}: already traced by process ${tracer}${comm ? ` (${comm})` : ''}; a process can have only one tracer`)
    }
  }
}

/** A process's argv from /proc, or [`pid:N`] when it cannot be read. */
export function cmdlineOf(pid: number): string[] {
  const words = readText(`/proc/${pid}/cmdline`)?.split('\0').slice(0, -1) ?? []
  return words.length > 0 ? words : [`pid:${pid}`]
}

/** The pids of every process on the host, from /proc (none when /proc cannot be read). */
export function allPids(): number[] {
  try {
    return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number)
  } catch {
    return []
  }
}

/** Direct children of `ppid`, from /proc (no /proc/PID/task/TID/children on every kernel). */
export function childrenOf(ppid: number): number[] {
  return allPids().filter((pid) => {
    const stat = readText(`/proc/${pid}/stat`)
    // Field 4 is the parent pid; the command name (field 2) may contain spaces and ')'.
    return stat !== undefined && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid
  })
}

/** The processes (thread-group leaders) that `tracer` traces now, with their names, from /proc. */
export function tracedBy(tracer: number): Array<{pid: number; comm: string}> {
  const out: Array<{pid: number; comm: string}> = []
  for (const pid of allPids()) {
    const status = readText(`/proc/${pid}/status`)
    const tracerPid = status && /^TracerPid:\s*(\d+)$/m.exec(status)
    if (tracerPid && Number(tracerPid[1]) === tracer) out.push({pid, comm: /^Name:\s*(.*)$/m.exec(status)?.[1] ?? '?'})
  }
  return out
}
