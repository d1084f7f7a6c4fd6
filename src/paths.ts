/**
 * Where the shipped data lives. Source runs from src/ (vitest) and compiled code from dist/src/,
 * so we walk up to the package root instead of counting '..'.
 */
import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

let root: string | undefined

export function packageRoot(): string {
  if (root) return root
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    let text: string | undefined
    try {
      text = readFileSync(join(dir, 'package.json'), 'utf8')
    } catch (err) {
      // only "no such file" means keep walking: EMFILE and the like must say what they are
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err
    }
    if (text !== undefined) {
      try {
        if ((JSON.parse(text) as {name?: string}).name === 'seccomp-gen') return (root = dir)
      } catch { /* not JSON: keep walking */ }
    }
    const up = dirname(dir)
    if (up === dir) throw new Error('seccomp-gen package root not found')
    dir = up
  }
}

export const profilesDir = (): string => join(packageRoot(), 'profiles')

/** A JSON table shipped under profiles/ ('errno.json', 'arches.json', …), parsed. */
export const readTable = <T>(file: string): T => JSON.parse(readFileSync(join(profilesDir(), file), 'utf8')) as T
export const schemasDir = (): string => join(packageRoot(), 'schemas')
