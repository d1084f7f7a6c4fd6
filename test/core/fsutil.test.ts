/**
 * readHead (src/fsutil.ts), the one "read the first N bytes" helper, on real files: a regular
 * file gives its head; a FIFO with no writer, a directory, a device and a missing path are each
 * one IO error naming the file, and none of them blocks.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {SeccompGenError} from '../../src/errors.js'
import {readHead} from '../../src/fsutil.js'

const dir = mkdtempSync(join(tmpdir(), 'sg-fsutil-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

function refusal(path: string): {code: string; message: string; file?: string} {
  try {
    readHead(path, 4, 'input')
  } catch (err) {
    expect(err).toBeInstanceOf(SeccompGenError)
    const e = err as SeccompGenError
    return {code: e.code, message: e.message, file: e.file}
  }
  throw new Error(`${path}: read`)
}

describe('readHead', () => {
  it('a regular file: its first n bytes, or all of a shorter one', () => {
    const f = join(dir, 'f')
    writeFileSync(f, 'abcdef')
    expect(readHead(f, 4, 'input').toString()).toBe('abcd')
    expect(readHead(f, 100, 'input').toString()).toBe('abcdef')
  })

  it('a FIFO with no writer, a directory, a device, a missing path: one IO error each, without blocking', () => {
    const fifo = join(dir, 'fifo')
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
    expect(refusal(fifo)).toEqual({code: 'IO', message: 'cannot read input: not a regular file', file: fifo})
    expect(refusal(dir)).toEqual({code: 'IO', message: 'cannot read input: is a directory', file: dir})
    expect(refusal('/dev/zero')).toEqual({code: 'IO', message: 'cannot read input: not a regular file', file: '/dev/zero'})
    expect(refusal(join(dir, 'missing'))).toMatchObject({code: 'IO', message: 'cannot read input: no such file or directory'})
  })
})
