/** Reading input files (writing them is output.ts's job). */
import {closeSync, constants, fstatSync, openSync, readFileSync, readSync} from 'node:fs'
import {errnoWords, SeccompGenError} from './errors.js'

/** A file's text, or undefined when it cannot be read (for /proc, where a process may be gone). */
export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** Read a UTF-8 file, or throw SeccompGenError('IO') naming `what` and the cause in words. */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new SeccompGenError('IO', `cannot read ${what}: ${errnoWords(err)}`, {file: path})
  }
}

/**
 * The first `n` bytes of the regular file at `path` (fewer when it is shorter). Anything else is
 * refused without blocking: the open does not wait for a FIFO's writer (O_NONBLOCK), and a FIFO,
 * device or directory is closed unread. Throws SeccompGenError('IO') naming `what` and the cause.
 */
export function readHead(path: string, n: number, what: string): Buffer {
  const fail = (cause: string) => new SeccompGenError('IO', `cannot read ${what}: ${cause}`, {file: path})
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    throw fail(errnoWords(err))
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) throw fail(st.isDirectory() ? 'is a directory' : 'not a regular file')
    const buf = Buffer.alloc(n)
    return buf.subarray(0, readSync(fd, buf, 0, n, 0))
  } catch (err) {
    throw err instanceof SeccompGenError ? err : fail(errnoWords(err))
  } finally {
    closeSync(fd)
  }
}
