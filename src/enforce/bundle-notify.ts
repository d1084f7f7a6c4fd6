/**
 * The container side of `apply --bundle DIR --complain|--explain --listener PATH`: the profile's
 * denying answers become SCMP_ACT_NOTIFY, and the runtime hands the container's listener fd to
 * the agent (`seccomp-gen agent`) on PATH (runtime-spec linux.seccomp.listenerPath).
 *
 * What runc 1.1.5 refuses shapes the result (crun 1.8.1 takes either form, so one config fits both):
 * - "SCMP_ACT_NOTIFY cannot be used as default action": a denying default stays as it is, and
 *   every syscall name libseccomp knows for the filter's arches that no rule names gets a rule of
 *   its own with SCMP_ACT_NOTIFY. Two kinds of call still get the plain default, unreported: a
 *   number libseccomp has no name for, and a call of a named syscall whose argument checks all
 *   fail (e.g. socket of a family no rule allows): a rule without argument checks for such a
 *   name would override the profile's own rules for it.
 * - "SCMP_ACT_NOTIFY cannot be used for the write syscall" (runc's init writes to its parent
 *   after loading the filter): write keeps the profile's own answer.
 * Rules that answer rather than deny (ERRNO(ENOSYS) fallbacks) keep their answer (notifyVariant).
 *
 * listenerMetadata carries what the agent needs to answer as the profile would: the mode and the
 * resolved profile itself (not a path: the container's answers cannot drift from what was
 * applied, and the agent needs no access to the profile file). The runtime passes the string on
 * unchanged in the container process state it sends the agent.
 */
import {SeccompGenError} from '../errors.js'
import {parseJson64, stringifyJson64} from '../profile/json64.js'
import type {OciSeccomp, SyscallRule} from '../profile/types.js'
import {archToken, nativeArchToken, syscallName} from '../../native/libseccomp.js'
import {defaultDenies, notifyVariant} from './compile.js'
import type {NotifyMode} from './supervise.js'

/** The tag that marks listenerMetadata as ours. */
const TAG = 'seccomp-gen'
/** Syscall numbers below this are tried on each arch when listing names (x86_64 ends near 470). */
const NR_LIMIT = 1024
const X32_BIT = 0x40000000

export interface ContainerMetadata {
  mode: NotifyMode
  /** the resolved profile before notifyVariant: its answers are the container's answers */
  profile: OciSeccomp
}

/** The names libseccomp can place on the filter's arches (the native one always). */
function placeableNames(seccomp: OciSeccomp): string[] {
  const tokens = new Set<number>([nativeArchToken()])
  for (const a of seccomp.architectures ?? []) {
    const t = archToken(a)
    if (t !== null) tokens.add(t)
  }
  const names = new Set<string>()
  for (const tok of tokens) {
    const bit = tok === archToken('x32') ? X32_BIT : 0
    for (let nr = 0; nr < NR_LIMIT; nr++) {
      const n = syscallName(nr | bit, tok)
      if (n) names.add(n)
    }
  }
  return [...names].sort()
}

/** The notify form of a resolved profile for a container (see the header for runc's limits). */
export function containerNotifyVariant(seccomp: OciSeccomp): OciSeccomp {
  const v = notifyVariant(seccomp)
  const out: OciSeccomp = {...v, defaultAction: seccomp.defaultAction}
  if (seccomp.defaultErrnoRet !== undefined) out.defaultErrnoRet = seccomp.defaultErrnoRet
  // write keeps the profile's answer wherever the variant would notify it
  const rules: SyscallRule[] = []
  ;(v.syscalls ?? []).forEach((r, i) => {
    if (r.action !== 'SCMP_ACT_NOTIFY' || !r.names.includes('write')) return void rules.push(stripUndefined(r))
    const orig = seccomp.syscalls![i]!
    const rest = r.names.filter((n) => n !== 'write')
    if (rest.length) rules.push(stripUndefined({...r, names: rest}))
    rules.push(stripUndefined({...orig, names: ['write']}))
  })
  if (defaultDenies(seccomp.defaultAction)) {
    const named = new Set((seccomp.syscalls ?? []).flatMap((r) => r.names))
    const caught = placeableNames(seccomp).filter((n) => !named.has(n) && n !== 'write')
    if (caught.length) rules.push({names: caught, action: 'SCMP_ACT_NOTIFY'})
  }
  out.syscalls = rules
  return out
}

/** notifyVariant leaves errnoRet: undefined on the rules it changes; keep the JSON free of it. */
function stripUndefined(r: SyscallRule): SyscallRule {
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as unknown as SyscallRule
}

/** listenerMetadata for a container: the mode and the resolved profile, one JSON string. */
export function encodeMetadata(m: ContainerMetadata): string {
  return stringifyJson64({[TAG]: 1, mode: m.mode, profile: m.profile}, 0).trimEnd()
}

/**
 * The metadata a runtime passed along: ours, or undefined for a string some other tool wrote
 * (or none). Ours but broken throws (one line).
 */
export function decodeMetadata(text: unknown): ContainerMetadata | undefined {
  if (typeof text !== 'string' || !new RegExp(`^\\s*\\{\\s*"${TAG}"\\s*:`).test(text)) return undefined
  let v: unknown
  try {
    v = parseJson64(text, 'listenerMetadata')
  } catch (err) {
    throw new SeccompGenError('BUNDLE_INVALID', `listenerMetadata is not readable JSON: ${(err as Error).message}`)
  }
  const o = v as Record<string, unknown>
  const p = o.profile as Record<string, unknown> | undefined
  if ((o.mode !== 'complain' && o.mode !== 'explain') || typeof p !== 'object' || p === null || typeof p.defaultAction !== 'string') {
    throw new SeccompGenError('BUNDLE_INVALID', 'listenerMetadata of seccomp-gen without a mode and a profile')
  }
  return {mode: o.mode, profile: p as unknown as OciSeccomp}
}
