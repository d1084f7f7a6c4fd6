/**
 * Recorded call counts for libseccomp's syscall priorities: `--counts OBS…` on apply/export
 * reads observation files (from `record`) and sums each syscall's count for one ABI, so the
 * compiled filter tests the most frequent calls first.
 */
import {readObservation} from '../trace/observation-io.js'
import type {Abi} from '../trace/observation.js'

/** Sum of counts per syscall name over the observations, for `abi` (e.g. "x86_64"). */
export function countsFrom(paths: readonly string[], abi: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const p of paths) {
    const o = readObservation(p)
    const a = o.abis[abi as Abi]
    if (!a) continue
    for (const [name, s] of Object.entries(a.syscalls)) out[name] = (out[name] ?? 0) + s.count
  }
  return out
}
