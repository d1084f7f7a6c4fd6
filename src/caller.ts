/**
 * The process state CMD must inherit from seccomp-gen's caller, as it would from a shell that
 * ran it directly (POSIX exec semantics): the signals the caller left ignored (`nohup`,
 * `trap '' SIG`, a background job's SIGINT and SIGQUIT) and the soft RLIMIT_NOFILE.
 *
 * Node loses both before any JavaScript runs: it resets every signal disposition to the default
 * (then ignores SIGPIPE and SIGXFSZ itself) and raises the soft open-files limit to the hard one.
 * So the `seccomp-gen` command is a small shell launcher (bin/seccomp-gen) that reads them first
 * and passes them in SECCOMP_GEN_CALLER ("SIGIGN_HEX NOFILE_SOFT"); bin/run.js imports this
 * module before anything else, so the variable is taken out of the environment before any
 * child could see it. Run as `node bin/run.js` (no launcher), nothing is known: no signal is
 * kept ignored and the open-files limit stays Node's.
 */
import {constants} from 'node:os'

export const CALLER_ENV = 'SECCOMP_GEN_CALLER'

export interface CallerState {
  /** signal numbers the caller had set to SIG_IGN (SIGKILL and SIGSTOP cannot be) */
  ignored: number[]
  /** the caller's soft RLIMIT_NOFILE; undefined when not known or unlimited */
  nofileSoft?: number
}

/** Parse the launcher's "SIGIGN_HEX NOFILE_SOFT" (SigIgn as in /proc/PID/status: bit N-1 = signal N). */
export function parseCallerState(text: string | undefined): CallerState {
  const [mask, nofile] = (text ?? '').trim().split(/\s+/)
  const ignored: number[] = []
  if (mask && /^[0-9a-fA-F]{1,16}$/.test(mask)) {
    const bits = BigInt(`0x${mask}`)
    for (let sig = 1; sig <= 64; sig++) if ((bits >> BigInt(sig - 1)) & 1n) ignored.push(sig)
  }
  const n = nofile !== undefined && /^\d+$/.test(nofile) ? Number(nofile) : undefined
  return {ignored, nofileSoft: n}
}

const state: CallerState = parseCallerState(process.env[CALLER_ENV])
delete process.env[CALLER_ENV]

export function callerState(): CallerState {
  return state
}

/** Did the caller ignore this signal? Then seccomp-gen must ignore it too, not forward it to CMD. */
export function callerIgnores(signal: NodeJS.Signals): boolean {
  const n = constants.signals[signal]
  return n !== undefined && state.ignored.includes(n)
}
