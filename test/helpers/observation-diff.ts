/**
 * How two observations of the same workload differ (one from each recording engine, or two
 * runs), fact by fact: which syscall names each ABI has, and for the names both have, the counts,
 * the errno tallies and the inspected argument values; which paths were exec'd. Each difference
 * is one readable line, so a failing test says exactly what differs.
 */
import type {Observation, SyscallObservation} from '../../src/trace/observation.js'

export interface ObservationDiff {
  /** "x86_64/sched_yield: only in bpf" */
  names: string[]
  /** "x86_64/futex: bpf 3, strace 4" */
  counts: string[]
  /** "x86_64/read: bpf {"EAGAIN":90}, strace {"EAGAIN":20}" */
  errors: string[]
  /** "x86_64/mmap arg 2: bpf {...}, strace {...}" */
  args: string[]
  /** "/bin/true: only in strace" */
  execs: string[]
}

/** JSON with object keys sorted: {"EINPROGRESS":4,"ENOENT":2} whatever order they were counted in. */
const json = (v: unknown): string => JSON.stringify(v ?? {}, (_k, x: unknown) =>
  x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x)

/** Every difference between a and b; a and b name the two sides in the lines (default bpf, strace). */
export function diffObservations(a: Observation, b: Observation, [la, lb] = ['bpf', 'strace']): ObservationDiff {
  const d: ObservationDiff = {names: [], counts: [], errors: [], args: [], execs: []}
  const abis = [...new Set([...Object.keys(a.abis), ...Object.keys(b.abis)])].sort()
  for (const abi of abis) {
    const sa: Record<string, SyscallObservation> = a.abis[abi]?.syscalls ?? {}
    const sb: Record<string, SyscallObservation> = b.abis[abi]?.syscalls ?? {}
    for (const name of [...new Set([...Object.keys(sa), ...Object.keys(sb)])].sort()) {
      const x = sa[name]
      const y = sb[name]
      const at = `${abi}/${name}`
      if (!x || !y) {
        d.names.push(`${at}: only in ${x ? la : lb} (count ${(x ?? y)!.count})`)
        continue
      }
      if (x.count !== y.count) d.counts.push(`${at}: ${la} ${x.count}, ${lb} ${y.count}`)
      if (json(x.errors) !== json(y.errors)) d.errors.push(`${at}: ${la} ${json(x.errors)}, ${lb} ${json(y.errors)}`)
      for (const idx of [...new Set([...Object.keys(x.args ?? {}), ...Object.keys(y.args ?? {})])].sort()) {
        const va = x.args?.[idx]
        const vb = y.args?.[idx]
        if (json(va) !== json(vb)) d.args.push(`${at} arg ${idx}: ${la} ${json(va)}, ${lb} ${json(vb)}`)
      }
    }
  }
  const ea = new Set(a.execs)
  const eb = new Set(b.execs)
  for (const p of [...new Set([...a.execs, ...b.execs])].sort()) {
    if (!ea.has(p) || !eb.has(p)) d.execs.push(`${p}: only in ${ea.has(p) ? la : lb}`)
  }
  return d
}

/** The differences as lines, each prefixed with its kind ("names: x86_64/…"); [] when none. */
export function diffLines(d: ObservationDiff): string[] {
  return (Object.keys(d) as Array<keyof ObservationDiff>).flatMap((k) => d[k].map((line) => `${k}: ${line}`))
}

/** The names of each ABI's syscalls, sorted: {"x86": ["exit", "getpid"], …}. */
export function namesByAbi(o: Observation): Record<string, string[]> {
  return Object.fromEntries(Object.entries(o.abis).map(([abi, a]) => [abi, Object.keys(a!.syscalls).sort()]))
}
