/**
 * Whether record may draw its live status line (redrawn in place with \r and erase-line) on
 * stderr: only when stderr is a terminal that no traced program reads from or writes to. A
 * program using that terminal — a `read -p` prompt, a progress bar, a pager — would have its
 * output erased and the user's typing land after the status text. Terminals are compared by
 * device number (st_rdev), so /dev/pts/3 opened twice is one terminal.
 */
import {fstatSync, statSync} from 'node:fs'
import {isatty} from 'node:tty'

/** The descriptor links of a process's stdin, stdout and stderr (/proc/PID/fd/0..2). */
export function stdioLinks(pid: number): string[] {
  return [0, 1, 2].map((fd) => `/proc/${pid}/fd/${fd}`)
}

/**
 * True when `fd` is a terminal and none of `others` (paths, e.g. /proc/PID/fd/N) is that same
 * terminal. One that cannot be looked at counts as shared: better no status line than a
 * garbled prompt.
 */
export function terminalOfOurOwn(fd: number, others: string[]): boolean {
  if (!isatty(fd)) return false
  const ours = fstatSync(fd).rdev
  return others.every((path) => {
    try {
      const st = statSync(path)
      return !st.isCharacterDevice() || st.rdev !== ours
    } catch {
      return false
    }
  })
}
