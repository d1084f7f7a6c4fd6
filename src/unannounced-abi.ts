/**
 * A log without strace's ABI lines. strace 6.1 writing with `-o` hides `[ Process PID=N runs
 * in 32 bit mode. ]` unless asked, so a 32-bit program's calls read as x86_64 ones and a
 * profile built from them lists SCMP_ARCH_X86_64 alone, whose bad-arch action kills the program.
 * Two signs give such a log away, both from data: names the kernel's x86_64 table lacks and its
 * i386 table has (`waitpid`, `getuid32`, `socketcall`, `_llseek`; profiles/syscalls), and an
 * exec of a 32-bit ELF (its header's EI_CLASS, read on this host). Callers refuse with
 * unannouncedAbiError(), which names the strace option that keeps the lines.
 */
import {resolve} from 'node:path'
import {SeccompGenError} from './errors.js'
import {readHead} from './fsutil.js'
import {knownSyscall} from './syscall-table.js'

/** The strace options that keep the ABI lines (checked on strace 6.1 with an i386 program). */
export const KEEP_ABI_LINES = '--quiet=attach (or -e quiet=none)'

/** The names recorded under x86_64 that only the i386 table has (sorted). */
export function i386OnlyNames(abi: string, names: Iterable<string>): string[] {
  if (abi !== 'x86_64') return []
  return [...names].filter((n) => !knownSyscall('x86_64', n) && knownSyscall('x86', n)).sort()
}

const EM_386 = 3
const EM_X86_64 = 62

/**
 * The 32-bit x86 ABI of the ELF file at `path` ('x86' for i386, 'x32'), null for anything else
 * (a 64-bit ELF, a script), undefined when it cannot be read here. A relative path is taken
 * from the current directory: the log does not say the traced process's.
 */
export function elf32Abi(path: string): 'x86' | 'x32' | null | undefined {
  let head: Buffer
  try {
    // a regular file only: the path comes from a foreign log, and a FIFO there must not hang us
    head = readHead(resolve(path), 20, 'executable')
  } catch {
    return undefined
  }
  // e_ident: 7f 'E' 'L' 'F', EI_CLASS (1: 32-bit), EI_DATA (1: little-endian); e_machine at 18
  if (head.length < 20 || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 1 || head[5] !== 1) return null
  const machine = head.readUInt16LE(18)
  return machine === EM_386 ? 'x86' : machine === EM_X86_64 ? 'x32' : null
}

/**
 * The one error for a log whose calls betray an ABI strace did not announce: `evidence` says
 * what gave it away ("waitpid, getuid32 exist only on i386", "./prog is an ELF32 i386 program").
 */
export function unannouncedAbiError(evidence: string, abi: 'x86' | 'x32', file?: string, orArch = true): SeccompGenError {
  return new SeccompGenError('OBSERVATION_INVALID',
    `${evidence}, but the log has no strace ABI lines ([ Process PID=N runs in 32 bit mode. ]) and counted its calls as x86_64: ` +
    `a profile listing only SCMP_ARCH_X86_64 would kill it; re-record with strace ${KEEP_ABI_LINES}, which strace 6.1 needs with -o to keep those lines ` +
    `(seccomp-gen record keeps them)${orArch ? `, or pass --arch ${abi}` : ''}`, file ? {file} : {})
}
