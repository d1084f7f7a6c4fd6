/**
 * The observation file: what `record` writes and `build` reads. This module owns its types,
 * its canonical (sorted, deterministic) serialisation and its ajv check on every read.
 *
 * Argument values are unsigned 64-bit integers kept as lowercase hex strings ("0x80000"),
 * so nothing is lost above 2^53. An argument position whose value could not be resolved to a
 * number (a symbolic name we have no table entry for, a decoded struct) is recorded as
 * "unknown": true for that position, which tells `build` not to filter on it.
 */

/**
 * An ABI as strace reports it, named like libseccomp's arch token without SCMP_ARCH_: one of
 * the `abi` names of profiles/arches.json (src/arches.ts abiNames). A plain string, not a
 * union, so the table stays the one list: the observation schema's enum is generated from it
 * at build time (scripts/compile-schemas.js) and checks every observation that is read.
 */
export type Abi = string

export interface ArgObservation {
  /** distinct observed values, hex u64, sorted numerically */
  values: string[]
  /** true when at least one call had a value that could not be resolved to a number */
  unknown?: boolean
}

export interface SyscallObservation {
  count: number
  /** errno name -> how many calls returned it */
  errors?: Record<string, number>
  /** argument index (0-based, kernel order) -> observed values; only inspected arguments */
  args?: Record<string, ArgObservation>
}

export interface AbiObservation {
  syscalls: Record<string, SyscallObservation>
}

export interface Observation {
  schema: 'seccomp-gen/observation'
  version: 1
  /** argv of the recorded command, or the source log's path for a converted log */
  command: string[]
  host: {kernel: string; machine: string; strace?: string}
  /** the OCI runtime that ran the workload (`record --bundle`): `build` adds its layer */
  runtime?: 'runc' | 'crun'
  abis: Partial<Record<Abi, AbiObservation>>
  /** paths passed to execve/execveat that succeeded (sorted, distinct) */
  execs: string[]
  stats: {processes: number; lines: number; unparsed: number}
}
