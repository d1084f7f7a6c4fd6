/**
 * profiles/inspected-args.json: which arguments of which syscalls seccomp-gen keeps values of
 * (record's tallies, the rules `build` writes, the argument class of a denial report).
 */
import {readTable} from './paths.js'

let inspectedCache: Map<string, Array<[number, string]>> | undefined

/** syscall -> [kernel argument index, argument name], in the table's order */
export function inspectedArgs(): Map<string, Array<[number, string]>> {
  if (inspectedCache) return inspectedCache
  const data = readTable<{syscalls: Record<string, Record<string, string>>}>('inspected-args.json')
  const m = new Map<string, Array<[number, string]>>()
  for (const [name, args] of Object.entries(data.syscalls)) {
    m.set(name, Object.entries(args).filter(([k]) => /^[0-5]$/.test(k)).map(([k, v]) => [Number(k), v] as [number, string]))
  }
  return (inspectedCache = m)
}
