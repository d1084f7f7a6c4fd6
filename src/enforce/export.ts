/**
 * `seccomp-gen export`: a profile compiled by libseccomp, as raw BPF (written atomically) or
 * as PFC text, with its instruction count.
 */
import {assertWritable, writeFileAtomic} from '../fsutil.js'
import {loadProfile} from '../profile/load.js'
import {toOci} from '../profile/resolve.js'
import {compileBpf, compilePfc} from '../../native/compile.js'
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
  unknownNames: string[]
  pfc?: string
}

export function exportFilter(profilePath: string, opts: ExportOptions): ExportResult {
  if (opts.bpfFile) assertWritable(opts.bpfFile)
  const profile = toOci(loadProfile(profilePath), {caps: opts.caps ?? dockerDefaultCaps(), arch: opts.arch})
  if (opts.bpfFile) {
    const r = compileBpf(profile, {optimize: opts.optimize, counts: opts.counts})
    writeFileAtomic(opts.bpfFile, r.bpf)
    return {instructions: r.instructions, arches: r.arches, notes: r.notes.map((n) => n.message), unknownNames: r.unknownNames}
  }
  const r = compilePfc(profile, {optimize: opts.optimize, counts: opts.counts})
  return {instructions: r.instructions, arches: r.arches, notes: r.notes.map((n) => n.message), unknownNames: r.unknownNames, pfc: r.pfc}
}
