/** Reading input files (writing them is output.ts's job). */
import {readFileSync} from 'node:fs'
import {SeccompGenError} from './errors.js'

/** Read a UTF-8 file, or throw SeccompGenError('IO') naming `what` and the errno code. */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new SeccompGenError('IO', `cannot read ${what}: ${e.code ?? e.message}`, {file: path})
  }
}
