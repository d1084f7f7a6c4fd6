/**
 * The seccomp action and comparison vocabulary (libseccomp's SCMP_ACT_* and SCMP_CMP_* names)
 * and the one precedence order among actions. Shared by the profile model, the evaluator, the
 * synthesizer's rule order and the FFI layer, which maps the names to libseccomp's numbers
 * (the action values through returnActions, the table `explain` reads records with).
 */
import {readTable} from './paths.js'

export type SeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY'

export type SeccompOp =
  | 'SCMP_CMP_NE'
  | 'SCMP_CMP_LT'
  | 'SCMP_CMP_LE'
  | 'SCMP_CMP_EQ'
  | 'SCMP_CMP_GE'
  | 'SCMP_CMP_GT'
  | 'SCMP_CMP_MASKED_EQ'

/**
 * Least to most restrictive: the kernel's order for stacked filters (KILL_PROCESS > KILL_THREAD >
 * TRAP > ERRNO > USER_NOTIF > TRACE > LOG > ALLOW); KILL is libseccomp's old name of KILL_THREAD.
 */
export const ACTION_PRECEDENCE: readonly SeccompAction[] = [
  'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE', 'SCMP_ACT_NOTIFY', 'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRAP', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS',
]

/** Rank of an action in ACTION_PRECEDENCE: higher is more restrictive. */
export function restrictiveness(action: SeccompAction): number {
  return ACTION_PRECEDENCE.indexOf(action)
}

/** Actions under which the call itself runs in the kernel (LOG allows and logs). */
const RUNS: ReadonlySet<SeccompAction> = new Set(['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG'])

/**
 * Does the call go on under this action? ALLOW and LOG always; NOTIFY only when a user-space
 * listener (the profile's listenerPath) can answer it. TRACE without a tracer fails the call.
 */
export function callRuns(action: SeccompAction, opts: {listener?: boolean} = {}): boolean {
  return RUNS.has(action) || (action === 'SCMP_ACT_NOTIFY' && opts.listener === true)
}

/** A row of profiles/seccomp-ret.json: one of the kernel's seccomp return actions (SECCOMP_RET_*). */
export interface ReturnAction {
  ret: string
  /** the action's value, the high 16 bits of a filter's return ("0x7ffc0000") */
  value: string
  action: SeccompAction
  /** what the low 16 bits mean */
  data: 'none' | 'errno' | 'trace'
}

let returns: ReturnAction[] | undefined

/** The kernel's seccomp return actions, most restrictive first (profiles/seccomp-ret.json). */
export function returnActions(): readonly ReturnAction[] {
  returns ??= readTable<{actions: ReturnAction[]}>('seccomp-ret.json').actions
  return returns
}
