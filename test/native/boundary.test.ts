/**
 * The FFI boundary: native/ is the only place that imports koffi (the layout rule in the
 * developers' brief). Walks every source directory of the repo and fails naming the file.
 */
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'
import {expect, it} from 'vitest'

const root = join(__dirname, '..', '..')
const DIRS = ['src', 'test', 'bench', 'scripts', 'bin']
const IMPORT = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]koffi(?:\/[^'"]*)?['"]/

function* files(dir: string): Generator<string> {
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return
  }
  for (const e of entries) {
    const p = join(dir, e)
    if (e === 'node_modules' || e.startsWith('.')) continue
    if (statSync(p).isDirectory()) yield* files(p)
    else if (/\.(ts|js|mjs|cjs)$/.test(e)) yield p
  }
}

it('nothing outside native/ imports koffi', () => {
  const offenders = DIRS.flatMap((d) => [...files(join(root, d))]).filter((f) => IMPORT.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f))
  expect(offenders).toEqual([])
  // and the check itself sees native/'s imports
  const native = [...files(join(root, 'native'))].filter((f) => IMPORT.test(readFileSync(f, 'utf8')))
  expect(native.length).toBeGreaterThan(0)
})
