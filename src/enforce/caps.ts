/**
 * Capability sets for `build --caps`, `apply` and `export`: reading --caps (names checked against
 * profiles/linux-capabilities.json), Docker's default set when it is not given
 * (profiles/capabilities.json defaultCaps), and the rules of a profile that a set leaves closed
 * for want of a capability, so `apply` can say so instead of denying them silently.
 */
import {SeccompGenError} from '../errors.js'
import {readTable} from '../paths.js'
import {defaultCaps} from '../profile/data.js'
import {normalizeCap, ruleApplies, type ResolveOptions} from '../profile/resolve.js'
import type {DockerProfile} from '../profile/types.js'

export function dockerDefaultCaps(): string[] {
  return defaultCaps().map(normalizeCap)
}

let known: Set<string> | undefined

/** Every Linux capability name (CAP_CHOWN … CAP_CHECKPOINT_RESTORE). */
function knownCaps(): Set<string> {
  known ??= new Set(Object.keys(readTable<{capabilities: Record<string, number>}>('linux-capabilities.json').capabilities))
  return known
}

/**
 * --caps as given: comma-separated names, CAP_ prefix optional, any case ("net_admin"); an
 * empty value is the empty set. Not given: Docker's default set. An unknown name is a usage
 * error, so a typo never leaves a capability silently out.
 */
export function parseCaps(flag: string | undefined): string[] {
  if (flag === undefined) return dockerDefaultCaps()
  const caps = flag.split(',').map((c) => c.trim()).filter(Boolean).map(normalizeCap)
  const unknown = caps.filter((c) => !knownCaps().has(c))
  if (unknown.length) {
    throw new SeccompGenError('USAGE', `--caps: unknown capabilit${unknown.length === 1 ? 'y' : 'ies'} ${unknown.join(', ')} (names as in capabilities(7), e.g. CAP_NET_ADMIN or net_admin)`)
  }
  return [...new Set(caps)]
}

/** A rule left closed by the capability set: its syscalls and the capabilities it lacks. */
export interface ClosedRule {
  names: string[]
  missing: string[]
}

/**
 * The rules of `p` that would change what CMD gets (action other than the default) but do not
 * apply with `opts.caps`, and would apply with their includes.caps added: closed only for want
 * of capabilities (not for arch or kernel). Syscalls another applying rule already answers
 * unconditionally are left out: nothing falls to the default there (clone3 is answered ENOSYS,
 * by design, until CAP_SYS_ADMIN opens it).
 */
export function rulesClosedByCaps(p: DockerProfile, opts: ResolveOptions): ClosedRule[] {
  const rules = p.syscalls ?? []
  // an answer other than the default's: another action, or ERRNO with another errno (clone3's ENOSYS)
  const answers = (r: (typeof rules)[number]) =>
    r.action !== p.defaultAction || (r.action === 'SCMP_ACT_ERRNO' && (r.errnoRet ?? 1) !== (p.defaultErrnoRet ?? 1))
  const open = new Set<string>()
  for (const r of rules) {
    if (answers(r) && !r.args?.length && ruleApplies(r, opts)) for (const n of r.names) open.add(n)
  }
  const have = new Set(opts.caps.map(normalizeCap))
  const closed: ClosedRule[] = []
  for (const r of rules) {
    const gate = (r.includes?.caps ?? []).map(normalizeCap)
    if (!answers(r) || gate.length === 0 || ruleApplies(r, opts)) continue
    if (!ruleApplies(r, {...opts, caps: [...have, ...gate]})) continue
    const names = r.names.filter((n) => !open.has(n))
    if (names.length) closed.push({names, missing: gate.filter((c) => !have.has(c))})
  }
  return closed
}
