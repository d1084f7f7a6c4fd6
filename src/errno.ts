/** errno names <-> numbers (generic Linux ABI), from profiles/errno.json. */
import {SeccompGenError} from './errors.js'
import {readTable} from './paths.js'

let byName: Map<string, number> | undefined
let byNumber: Map<number, string> | undefined
let internalByNumber: Map<number, string> | undefined

function load(): void {
  if (byName) return
  const data = readTable<{errno: Record<string, number>; kernelInternal: Record<string, number | string>}>('errno.json')
  byName = new Map(Object.entries(data.errno))
  byNumber = new Map()
  for (const [k, v] of byName) if (!byNumber.has(v)) byNumber.set(v, k)
  internalByNumber = new Map(Object.entries(data.kernelInternal).flatMap(([k, v]) => (typeof v === 'number' ? [[v, k] as [number, string]] : [])))
}

/** errno number for a name (EPERM) or a decimal string ("1"); undefined when unknown. */
export function errnoNumber(name: string): number | undefined {
  load()
  if (/^[0-9]+$/.test(name)) return Number(name)
  return byName!.get(name.toUpperCase())
}

/** errno number for a name the table must have (ENOSYS); a missing one is a broken install. */
export function requireErrno(name: string): number {
  const n = errnoNumber(name)
  if (n === undefined) throw new SeccompGenError('INTERNAL', `profiles/errno.json has no ${name}`)
  return n
}

/** The name of an errno number ("EINVAL"), or undefined when the table has none. */
export function errnoName(n: number): string | undefined {
  load()
  return byNumber!.get(n)
}

/** The name strace gives the errno of a syscall's return: errnoName(), or a kernel-internal code (ERESTARTSYS). */
export function returnErrnoName(n: number): string | undefined {
  load()
  return byNumber!.get(n) ?? internalByNumber!.get(n)
}

/** An errno number for a message: its name, or "errno N" when it has none. */
export function errnoLabel(n: number): string {
  return errnoName(n) ?? `errno ${n}`
}
