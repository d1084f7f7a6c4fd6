/** Reading input files (writing them is output.ts's job). */
import {readFileSync} from 'node:fs'
import {errnoWords, SeccompGenError} from './errors.js'

/** Read a UTF-8 file, or throw SeccompGenError('IO') naming `what` and the cause in words. */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new SeccompGenError('IO', `cannot read ${what}: ${errnoWords(err)}`, {file: path})
  }
}
