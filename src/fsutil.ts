import {randomBytes} from 'node:crypto'
import {closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, accessSync, constants, statSync} from 'node:fs'
import {dirname, basename, join} from 'node:path'
import {SeccompGenError} from './errors.js'

/**
 * Write a file atomically: a temp file in the same directory, fsync, rename over the target.
 * On any failure the target is untouched and the temp file removed.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  let fd = -1
  try {
    fd = openSync(tmp, 'wx', mode)
    const buf = typeof data === 'string' ? Buffer.from(data) : data
    let off = 0
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off)
    fsyncSync(fd)
    closeSync(fd)
    fd = -1
    renameSync(tmp, path)
  } catch (err) {
    if (fd >= 0) try { closeSync(fd) } catch { /* already failing */ }
    try { unlinkSync(tmp) } catch { /* not created */ }
    const e = err as NodeJS.ErrnoException
    throw new SeccompGenError('IO', `cannot write ${path}: ${e.code ?? ''} ${e.message}`.trim())
  }
}

/** Fail early (before running anything) if `path` could not be written atomically. */
export function assertWritable(path: string): void {
  const dir = dirname(path)
  try {
    accessSync(dir, constants.W_OK)
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new SeccompGenError('IO', `cannot write ${path}: directory ${dir} is not writable (${e.code})`)
  }
  try {
    if (statSync(path).isDirectory()) throw new SeccompGenError('IO', `cannot write ${path}: it is a directory`)
  } catch (err) {
    if (err instanceof SeccompGenError) throw err
  }
}

/** Read a UTF-8 file, or throw SeccompGenError('IO') naming `what` and the errno code. */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new SeccompGenError('IO', `cannot read ${what}: ${e.code ?? e.message}`, {file: path})
  }
}
