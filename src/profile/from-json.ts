/**
 * A profile as parsed data (JSON, or a SeccompProfile's spec), checked against the project's
 * Docker/Moby schema (which also accepts podman's profile and plain OCI linux.seccomp) and
 * converted to the shared model with argument values as bigint. Reading files, in any format,
 * is load.ts's; this file reads nothing, so that both load.ts and k8s.ts can use it.
 */
import {SeccompGenError} from '../errors.js'
import {toU64} from './json64.js'
import {schemaProblems} from './schema.js'
import {errnoNumber} from '../errno.js'
import type {DockerProfile, FilterCond, SeccompAction, SeccompArg, SeccompOp, SyscallRule} from './types.js'

type Json = Record<string, unknown>

/** Validate parsed JSON and convert it to the model (u64 values as bigint). */
export function profileFromJson(data: unknown, source: string): DockerProfile {
  const problems = schemaProblems(data, 'docker')
  if (problems.length) {
    const p = problems[0]
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''
    throw new SeccompGenError('PROFILE_INVALID', `${p.pointer || '/'}: ${p.message}${more}`, {file: source})
  }
  const d = data as Json
  const out: DockerProfile = {defaultAction: d.defaultAction as SeccompAction}
  const defErrno = d.defaultErrnoRet ?? (typeof d.defaultErrno === 'string' ? errnoFromName(d.defaultErrno, source, '/defaultErrno') : undefined)
  if (defErrno !== undefined) out.defaultErrnoRet = Number(defErrno)
  if (Array.isArray(d.architectures)) out.architectures = [...(d.architectures as string[])]
  if (Array.isArray(d.archMap)) {
    out.archMap = (d.archMap as Json[]).map((m) => ({
      architecture: m.architecture as string,
      ...(Array.isArray(m.subArchitectures) ? {subArchitectures: [...(m.subArchitectures as string[])]} : {}),
    }))
  }
  if (Array.isArray(d.flags)) out.flags = [...(d.flags as string[])]
  if (typeof d.listenerPath === 'string') out.listenerPath = d.listenerPath
  if (typeof d.listenerMetadata === 'string') out.listenerMetadata = d.listenerMetadata
  if (Array.isArray(d.syscalls)) out.syscalls = (d.syscalls as Json[]).map((r, i) => ruleFromJson(r, `${source}#/syscalls/${i}`))
  return out
}

function errnoFromName(name: string, source: string, pointer: string): number {
  const n = errnoNumber(name)
  if (n === undefined) throw new SeccompGenError('PROFILE_INVALID', `${pointer}: unknown errno name ${name}`, {file: source})
  return n
}

function cond(c: unknown): FilterCond | undefined {
  if (!c || typeof c !== 'object') return undefined
  const j = c as Json
  const out: FilterCond = {}
  if (Array.isArray(j.caps) && j.caps.length) out.caps = [...(j.caps as string[])]
  if (Array.isArray(j.arches) && j.arches.length) out.arches = [...(j.arches as string[])]
  if (typeof j.minKernel === 'string' && j.minKernel) out.minKernel = j.minKernel
  return Object.keys(out).length ? out : undefined
}

function ruleFromJson(r: Json, where: string): SyscallRule {
  const names = Array.isArray(r.names) ? [...(r.names as string[])] : [r.name as string]
  const rule: SyscallRule = {names, action: r.action as SeccompAction}
  if (r.errnoRet !== undefined) rule.errnoRet = Number(r.errnoRet)
  else if (typeof r.errno === 'string' && r.errno) rule.errnoRet = errnoFromName(r.errno, where.split('#')[0], `/${where.split('#/')[1]}/errno`)
  if (Array.isArray(r.args) && r.args.length) {
    rule.args = (r.args as Json[]).map((a, k): SeccompArg => {
      const arg: SeccompArg = {index: Number(a.index), value: toU64(a.value, `${where}/args/${k}/value`), op: a.op as SeccompOp}
      if (a.valueTwo !== undefined) arg.valueTwo = toU64(a.valueTwo, `${where}/args/${k}/valueTwo`)
      return arg
    })
  }
  if (typeof r.comment === 'string' && r.comment) rule.comment = r.comment
  const inc = cond(r.includes)
  if (inc) rule.includes = inc
  const exc = cond(r.excludes)
  if (exc) rule.excludes = exc
  return rule
}
