/** errno names <-> numbers (generic Linux ABI), from profiles/errno.json. */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {profilesDir} from './paths.js'

let byName: Map<string, number> | undefined
let byNumber: Map<number, string> | undefined

function load(): void {
  if (byName) return
  const data = JSON.parse(readFileSync(join(profilesDir(), 'errno.json'), 'utf8')) as {errno: Record<string, number>}
  byName = new Map(Object.entries(data.errno))
  byNumber = new Map()
  for (const [k, v] of byName) if (!byNumber.has(v)) byNumber.set(v, k)
}

/** errno number for a name (EPERM) or a decimal string ("1"); undefined when unknown. */
export function errnoNumber(name: string): number | undefined {
  load()
  if (/^[0-9]+$/.test(name)) return Number(name)
  return byName!.get(name.toUpperCase())
}

export function errnoName(n: number): string | undefined {
  load()
  return byNumber!.get(n)
}
