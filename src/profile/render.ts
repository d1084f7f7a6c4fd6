/**
 * Rendering: the profile model -> canonical JSON bytes, Docker/Moby or plain OCI. Keys are
 * written in one fixed order and u64 values as exact integers (json64), so the same model
 * always gives the same bytes.
 */
import {stringifyJson64} from './json64.js'
import type {DockerProfile, OciSeccomp, SeccompArg, SyscallRule} from './types.js'

function arg(a: SeccompArg): Record<string, unknown> {
  const o: Record<string, unknown> = {index: a.index, value: a.value}
  if (a.valueTwo !== undefined) o.valueTwo = a.valueTwo
  o.op = a.op
  return o
}

function rule(r: SyscallRule | NonNullable<OciSeccomp['syscalls']>[number], docker: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = {names: [...r.names], action: r.action}
  if (r.errnoRet !== undefined) o.errnoRet = r.errnoRet
  if (r.args?.length) o.args = r.args.map(arg)
  if (docker) {
    const d = r as SyscallRule
    if (d.comment) o.comment = d.comment
    if (d.includes && Object.keys(d.includes).length) o.includes = {...d.includes}
    if (d.excludes && Object.keys(d.excludes).length) o.excludes = {...d.excludes}
  }
  return o
}

function top(p: DockerProfile | OciSeccomp, docker: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = {defaultAction: p.defaultAction}
  if (p.defaultErrnoRet !== undefined) o.defaultErrnoRet = p.defaultErrnoRet
  if (p.architectures?.length) o.architectures = [...p.architectures]
  if (docker && (p as DockerProfile).archMap?.length) o.archMap = (p as DockerProfile).archMap
  if (p.flags?.length) o.flags = [...p.flags]
  if (p.listenerPath !== undefined) o.listenerPath = p.listenerPath
  if (p.listenerMetadata !== undefined) o.listenerMetadata = p.listenerMetadata
  o.syscalls = (p.syscalls ?? []).map((r) => rule(r, docker))
  return o
}

/** Docker/Moby JSON text (indent 2, trailing newline). */
export function renderDocker(p: DockerProfile): string {
  return stringifyJson64(top(p, true))
}

/** Plain runtime-spec linux.seccomp JSON text. */
export function renderOci(p: OciSeccomp): string {
  return stringifyJson64(top(p, false))
}
