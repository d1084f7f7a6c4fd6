/**
 * What a POSIX shell does around running a command, done once for `record` and `apply`:
 * find it in PATH (exit 127 when there is none, 126 when it cannot be executed: no permission,
 * a directory, or a file execve would refuse with ENOEXEC), report how it
 * ended as `$?` does (its code, or 128 + the signal), and know whether a Ctrl-C typed on the
 * terminal has already reached it (it shares our foreground process group).
 */
import {accessSync, constants, readFileSync, statSync} from 'node:fs'
import {constants as osConstants} from 'node:os'
import {delimiter, join} from 'node:path'
import {readHead} from './fsutil.js'

export type CommandLookup = {path: string} | {error: string; exit: 126 | 127}

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin'

function fileKind(p: string): 'executable' | 'not-executable' | 'directory' | 'missing' {
  let st
  try {
    st = statSync(p)
  } catch {
    return 'missing'
  }
  if (st.isDirectory()) return 'directory'
  try {
    accessSync(p, constants.X_OK)
    return 'executable'
  } catch {
    return 'not-executable'
  }
}

/**
 * Find `cmd` as a shell does: a name with a slash is used as is; otherwise each PATH entry in
 * turn (an empty entry is the current directory) and the first executable file wins. Not found:
 * 127; found but not executable, or a directory: 126, with the shell's words; an executable file
 * that is neither ELF nor `#!`: 126 too (a shell would run it as a script; execve, and so strace
 * and apply, cannot: ENOEXEC).
 */
export function findCommand(cmd: string, pathVar = process.env.PATH ?? DEFAULT_PATH): CommandLookup {
  const found = searchCommand(cmd, pathVar)
  if ('path' in found && !execFormatOk(found.path)) {
    return {error: `${cmd}: cannot execute: not an ELF binary or a #! script (exec format error)`, exit: 126}
  }
  return found
}

function searchCommand(cmd: string, pathVar: string): CommandLookup {
  if (cmd === '') return {error: 'empty command name', exit: 127}
  if (cmd.includes('/')) {
    const kind = fileKind(cmd)
    if (kind === 'executable') return {path: cmd}
    if (kind === 'missing') return {error: `${cmd}: No such file or directory`, exit: 127}
    return {error: `${cmd}: ${kind === 'directory' ? 'Is a directory' : 'Permission denied'}`, exit: 126}
  }
  let denied: string | undefined
  for (const dir of pathVar.split(delimiter)) {
    const p = join(dir === '' ? '.' : dir, cmd)
    const kind = fileKind(p)
    if (kind === 'executable') return {path: p}
    if (kind === 'not-executable' && denied === undefined) denied = p
  }
  if (denied) return {error: `${denied}: Permission denied`, exit: 126}
  return {error: `${cmd}: command not found`, exit: 127}
}

/**
 * Would execve(2) take this file: an ELF binary or a `#!` script? (Anything else fails with
 * ENOEXEC, which a shell would answer by running it as a script; strace and execv do not.)
 * An unreadable but executable file (mode --x) is left for execve to decide.
 */
function execFormatOk(path: string): boolean {
  let head: Buffer
  try {
    head = readHead(path, 4, 'command')
  } catch {
    return true
  }
  const n = head.length
  const elf = n === 4 && head[0] === 0x7f && head.toString('latin1', 1, 4) === 'ELF'
  const script = n >= 2 && head[0] === 0x23 && head[1] === 0x21
  return elf || script
}

/** Exit status as a shell reports it: the code, or 128 + the signal number. */
export function shellStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal) return 128 + (osConstants.signals[signal] ?? 0)
  return code ?? 1
}

/**
 * Is this process in the foreground process group of its controlling terminal? Then a signal
 * typed on that terminal (Ctrl-C: SIGINT, Ctrl-\: SIGQUIT) has reached every process of the
 * group already, a child in the same group included, and must not be sent to it again.
 */
export function inTerminalForeground(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    // the fields after the name (which may hold spaces and ')'): state ppid pgrp session tty_nr tpgid
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const pgrp = Number(f[2])
    const ttyNr = Number(f[4])
    const tpgid = Number(f[5])
    return ttyNr !== 0 && tpgid === pgrp
  } catch {
    return false
  }
}
