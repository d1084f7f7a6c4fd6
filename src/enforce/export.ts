/**
 * `seccomp-gen export`: a profile compiled by libseccomp, as raw BPF (written atomically) or
 * as PFC text, with its instruction count.
 */
import {checkOutput, writeOutput} from '../output.js'
import {loadProfile} from '../profile/load.js'
import {toOci} from '../profile/resolve.js'
import {type CompiledFilter, compileBpf, compilePfc, splitNotes} from './compile.js'
import {dockerDefaultCaps} from './caps.js'

export interface ExportOptions {
  caps?: string[]
  /** host arch the arch map is resolved for (default this machine) */
  arch?: string
  optimize?: boolean
  /** recorded call counts by name (seccomp_syscall_priority) */
  counts?: Record<string, number>
  /** write raw BPF here; without it, PFC text is returned */
  bpfFile?: string
}

export interface ExportResult {
  instructions: number
  arches: string[]
  notes: string[]
  /** notes worth a line even without -v (compile.ts splitNotes): conflicts, skipped newer syscalls */
  warnings: string[]
  unknownNames: string[]
  /** syscalls the kernel defines but this libseccomp cannot name (skipped) */
  newerNames: string[]
  pfc?: string
}

/** What every export reports, from a compile result. */
function summary(r: Omit<CompiledFilter, 'filter'> & {instructions: number}): ExportResult {
  return {
    instructions: r.instructions,
    arches: r.arches,
    ...splitNotes(r.notes),
    unknownNames: r.unknownNames,
    newerNames: r.newerNames,
  }
}

export function exportFilter(profilePath: string, opts: ExportOptions): ExportResult {
  if (opts.bpfFile) checkOutput(opts.bpfFile)
  const profile = toOci(loadProfile(profilePath), {caps: opts.caps ?? dockerDefaultCaps(), arch: opts.arch})
  if (opts.bpfFile) {
    const r = compileBpf(profile, {optimize: opts.optimize, counts: opts.counts})
    writeOutput(opts.bpfFile, r.bpf)
    return summary(r)
  }
  const r = compilePfc(profile, {optimize: opts.optimize, counts: opts.counts})
  return {...summary(r), pfc: r.pfc}
}
