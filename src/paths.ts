/**
 * Where the shipped data lives. Source runs from src/ (vitest) and compiled code from dist/src/,
 * so we walk up to the package root instead of counting '..'.
 */
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

let root: string | undefined

export function packageRoot(): string {
  if (root) return root
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pj = join(dir, 'package.json')
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as {name?: string}).name === 'seccomp-gen') return (root = dir)
      } catch { /* keep walking */ }
    }
    const up = dirname(dir)
    if (up === dir) throw new Error('seccomp-gen package root not found')
    dir = up
  }
}

export const profilesDir = (): string => join(packageRoot(), 'profiles')
export const schemasDir = (): string => join(packageRoot(), 'schemas')
