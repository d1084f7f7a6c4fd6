/**
 * One error vocabulary for the whole tool. Library code throws SeccompGenError with a
 * stable code; commands turn it into one clear line and the exit code from EXIT.
 */
import {constants as osConstants} from 'node:os'
import {getSystemErrorMap} from 'node:util'

export type ErrorCode =
  | 'USAGE'
  | 'IO'
  | 'CMD_NOT_FOUND'
  | 'CMD_NOT_EXECUTABLE'
  | 'STRACE_MISSING'
  | 'PTRACE_DENIED'
  | 'TRACE_UNPARSABLE'
  | 'OBSERVATION_INVALID'
  | 'PROFILE_INVALID'
  | 'PROFILE_UNKNOWN_SYSCALL'
  | 'PROFILE_DENIES_EXEC'
  | 'BUNDLE_INVALID'
  | 'SECCOMP_ERROR'
  | 'BPF_UNAVAILABLE'
  | 'INTERNAL'

export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  INVALID_PROFILE: 3,
  ENFORCE_FAILED: 4,
  CMD_NOT_EXECUTABLE: 126,
  CMD_NOT_FOUND: 127,
} as const

const EXIT_BY_CODE: Record<ErrorCode, number> = {
  USAGE: EXIT.USAGE,
  IO: EXIT.FAILURE,
  CMD_NOT_FOUND: EXIT.CMD_NOT_FOUND,
  CMD_NOT_EXECUTABLE: EXIT.CMD_NOT_EXECUTABLE,
  STRACE_MISSING: EXIT.FAILURE,
  PTRACE_DENIED: EXIT.FAILURE,
  TRACE_UNPARSABLE: EXIT.FAILURE,
  OBSERVATION_INVALID: EXIT.FAILURE,
  PROFILE_INVALID: EXIT.INVALID_PROFILE,
  PROFILE_UNKNOWN_SYSCALL: EXIT.INVALID_PROFILE,
  PROFILE_DENIES_EXEC: EXIT.INVALID_PROFILE,
  BUNDLE_INVALID: EXIT.FAILURE,
  SECCOMP_ERROR: EXIT.ENFORCE_FAILED,
  BPF_UNAVAILABLE: EXIT.ENFORCE_FAILED,
  INTERNAL: EXIT.FAILURE,
}

export class SeccompGenError extends Error {
  readonly code: ErrorCode
  readonly file?: string
  readonly line?: number
  constructor(code: ErrorCode, message: string, where: {file?: string; line?: number} = {}) {
    super(message)
    this.name = 'SeccompGenError'
    this.code = code
    this.file = where.file
    this.line = where.line
  }

  get exit(): number {
    return EXIT_BY_CODE[this.code]
  }
}

/**
 * A system error in words, for messages: "no such file or directory" for ENOENT, from the
 * error itself or its code name (libuv's text, as Node's own messages use). An error without a
 * known errno code gives its message.
 */
export function errnoWords(err: unknown): string {
  const code = typeof err === 'string' ? err : (err as NodeJS.ErrnoException | undefined)?.code
  const errno = code ? (osConstants.errno as Record<string, number>)[code] : undefined
  const words = code === 'EISDIR' ? 'is a directory' : errno === undefined ? undefined : getSystemErrorMap().get(-errno)?.[1]
  if (words) return words
  return typeof err === 'string' ? err : String((err as Error | undefined)?.message ?? err)
}

/** The exit code and one-line message for any thrown value. */
export function describeError(err: unknown): {message: string; exit: number; code: ErrorCode} {
  if (err instanceof SeccompGenError) {
    const where = err.file ? `${err.file}${err.line ? `:${err.line}` : ''}: ` : ''
    return {message: `${where}${err.message}`, exit: err.exit, code: err.code}
  }
  const e = err as NodeJS.ErrnoException
  if (e && typeof e.code === 'string' && e.code in osConstants.errno) {
    return {message: `${e.path ? `${e.path}: ` : ''}${errnoWords(e)}`, exit: EXIT.FAILURE, code: 'IO'}
  }
  return {message: String((err as Error)?.message ?? err), exit: EXIT.FAILURE, code: 'INTERNAL'}
}
