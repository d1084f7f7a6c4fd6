/**
 * The profile model shared by build (writes it), validate, enforce/ (compiles it) and the
 * bundle writer. It is the Docker/Moby seccomp JSON shape, a superset of OCI linux.seccomp.
 * Argument values are always bigint in memory (see json64.ts for lossless I/O).
 */
export type {SeccompAction, SeccompOp} from '../actions.js'
import type {SeccompAction, SeccompOp} from '../actions.js'

export interface SeccompArg {
  index: number
  value: bigint
  valueTwo?: bigint
  op: SeccompOp
}

export interface FilterCond {
  caps?: string[]
  arches?: string[]
  minKernel?: string
}

export interface SyscallRule {
  names: string[]
  action: SeccompAction
  errnoRet?: number
  args?: SeccompArg[]
  comment?: string
  includes?: FilterCond
  excludes?: FilterCond
}

export interface ArchMapEntry {
  architecture: string
  subArchitectures?: string[]
}

/** Docker/Moby format (what build writes by default, what podman/docker read). */
export interface DockerProfile {
  defaultAction: SeccompAction
  defaultErrnoRet?: number
  architectures?: string[]
  archMap?: ArchMapEntry[]
  flags?: string[]
  listenerPath?: string
  listenerMetadata?: string
  syscalls?: SyscallRule[]
}

/** Plain runtime-spec linux.seccomp (no includes/excludes/archMap/comment). */
export interface OciSeccomp {
  defaultAction: SeccompAction
  defaultErrnoRet?: number
  architectures?: string[]
  flags?: string[]
  listenerPath?: string
  listenerMetadata?: string
  syscalls?: Array<Omit<SyscallRule, 'includes' | 'excludes' | 'comment'>>
}
