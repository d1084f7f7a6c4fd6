/**
 * The one strace flag set `record` uses. Every flag is here with the reason for it, so the
 * parser (src/trace/observe.ts), the fixtures (fixtures/scripts/) and the benchmark agree.
 *
 * Measured on `dd if=/dev/zero of=/dev/null bs=1 count=100000` (≈200k syscalls, 2 vCPU VM,
 * strace 6.1, three rounds, seconds; the spread between rounds is large because one ptrace stop
 * costs ≈20 µs or ≈105 µs depending on whether strace and the tracee share a vCPU):
 *
 *   strace -f -qq -o /dev/null  (decoded, the baseline)       5.0 / 7.6 / 22.0
 *   + -X raw -s 0                                            5.0 / 6.0 / 12.4
 *   + -e raw=!execve,execveat -s 0                           4.6 / 4.6 / 6.0
 *   + -X raw -e raw=!execve,execveat -s 0                    4.5 / 4.6 / 6.6
 *   strace -f -o FILE (default decoding, to a file)           6.5 / 7.0 / 14.3
 *
 * `-e raw=` for all but execve wins: strace then fetches nothing from the tracee's memory
 * (no strings, no structs; a pointer is printed as a number) and formats plain hex, and
 * the lines are shorter, so the pipe carries less. What the observation needs survives:
 * the syscall name, the return value and errno name, every argument as a number in kernel
 * order (so inspected values — clone flags, socket domain, ioctl request, mmap prot … — are
 * exact, with no symbolic names to map back), the path of each execve, and strace's
 * messages on ABI switches.
 */

/** Flags common to running a command and attaching to processes. */
export const TRACE_FLAGS: readonly string[] = [
  // Follow every fork, vfork, clone and thread; a profile must cover the whole process tree.
  '-f',
  // Print every argument as a plain number (no decoding of strings, structs, flags) for every
  // syscall except execve/execveat, whose path we keep for the observation's execs list.
  '-e', 'raw=!execve,execveat',
  // Named constants as numbers too, for the two decoded syscalls (execveat's flags) and for
  // signal lines; nothing needs the names, and numbers are cheaper to print and to parse.
  '-X', 'raw',
  // Strings at minimum length: the only strings left are execve's argv entries, which the
  // observation does not keep (paths are never truncated by -s, so the exec path stays whole).
  '-s', '0',
  // No padding of results to column 40: 8% fewer bytes through the pipe on the dd run.
  '-a', '0',
  // Silence attach/detach notes and -P path notes, and nothing else. Not -q/-qq: those also
  // silence "[ Process PID=N runs in 32 bit mode. ]" (personality), which tells the ABI of
  // each process; the "+++ exited with N +++" lines (exit) stay too, one per process.
  // Stating the set matters: with no -q at all, strace 6.1 running a program also hides the
  // personality messages (checked with fixtures/scripts/abi-elves.py's i386 program).
  '--quiet=attach,path-resolution',
]

/**
 * strace arguments for running CMD. `output` is where strace writes the trace (record passes
 * a FIFO in a private directory; strace opens it close-on-exec, so the tracee never holds it).
 */
export function straceRunArgs(output: string, cmd: readonly string[]): string[] {
  // -I never: while running a program, strace blocks fatal signals for itself, so a Ctrl-C
  // on the terminal reaches the program (and lets it shut down, traced) instead of making
  // strace detach early. This is strace's default for `-o FILE PROG`; stated so it stays.
  return [...TRACE_FLAGS, '-I', 'never', '-o', output, '--', ...cmd]
}

/** strace arguments for attaching to running processes (`--pid`); SIGINT to strace detaches. */
export function straceAttachArgs(output: string, pids: readonly number[]): string[] {
  return [...TRACE_FLAGS, '-o', output, ...pids.flatMap((p) => ['-p', String(p)])]
}
