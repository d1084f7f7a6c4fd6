/**
 * The base class of every seccomp-gen command, and its one error wrapper. Whatever a command
 * throws ends as one line on stderr (one JSON object with --json) and the exit code from
 * src/errors.ts EXIT: a SeccompGenError from the library, a Node system error (said in words),
 * and oclif's own parse errors (missing argument, unknown flag, bad option value), which oclif
 * would print over several lines followed by the whole usage. Commands just throw.
 */
import {Command, Errors, Flags} from '@oclif/core'
import {describeError, EXIT, SeccompGenError} from './errors.js'
import {fileKind, type FileKind, wrongKind} from './file-kind.js'
import {withStdin} from './stdin-input.js'

export abstract class SeccompGenCommand extends Command {
  /** The kinds of file this command reads as a recording (build also takes strace logs). */
  static recordingKinds: FileKind[] = ['observation']

  override async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    // this.exit(N): the status to leave with, nothing to print (not even with --json).
    if (err instanceof Errors.ExitError) throw err
    const one = this.oneLine(err)
    process.exitCode = one.oclif.exit
    // With --json the error is one JSON object on one line of stdout: oclif would print it over
    // several lines, and agent, explain and apply write JSON lines that a reader takes one
    // line at a time, where a pretty-printed error would be a dozen broken objects.
    if (this.jsonEnabled()) {
      process.stdout.write(`${JSON.stringify(this.toErrorJson(one))}\n`)
      return
    }
    // One line as oclif words it, but never wrapped: oclif would break it at the terminal's
    // width (80 columns when stderr is a file or a pipe).
    process.stderr.write(` ${one.bang ?? '›'}   Error: ${one.message}\n`)
    this.exit(one.oclif.exit ?? EXIT.FAILURE)
  }

  /** Any thrown value as an oclif error with a one-line message and our exit code. */
  private oneLine(err: unknown): Errors.CLIError {
    if (isParseError(err)) {
      return new Errors.CLIError(`${parseErrorLine(err)} (see: ${this.config.bin} ${this.id} --help)`, {exit: EXIT.USAGE, ...(this.jsonEnabled() ? {code: 'USAGE'} : {})})
    }
    if (err instanceof Errors.CLIError) return err
    const d = describeError(this.explainKind(err))
    // The error code is part of the JSON answer; on a terminal it would be a second line.
    return new Errors.CLIError(d.message, {exit: d.exit, ...(this.jsonEnabled() ? {code: d.code} : {})})
  }

  /**
   * A profile that failed to load because it is a recording (or the reverse) is said as such:
   * which kind of file was given and which was expected, instead of its schema errors.
   */
  protected explainKind(err: unknown): unknown {
    if (!(err instanceof SeccompGenError) || !err.file) return err
    // The profile reader (profile/load.ts) also takes a bundle's config.json: what it says of
    // one (no linux.seccomp, a schema error in it) stands.
    if (err.code === 'PROFILE_INVALID' && fileKind(err.file) === 'bundle-config') return err
    const expected = err.code === 'PROFILE_INVALID' ? ['profile' as const]
      : err.code === 'OBSERVATION_INVALID' ? (this.constructor as typeof SeccompGenCommand).recordingKinds
      : undefined
    const mismatch = expected && wrongKind(err.file, expected)
    return mismatch ? new SeccompGenError(err.code, `${err.file} ${mismatch}`) : err
  }

  /** withStdin (src/stdin-input.ts) for this command: "-" among `paths` is standard input. */
  protected withStdin<T>(paths: string[], use: (paths: string[], shown: (text: string) => string) => Promise<T> | T): Promise<T> {
    return withStdin(paths, use, (err) => this.explainKind(err))
  }
}

type ParseError = Errors.CLIError & {parse: unknown; args?: Array<{name?: string} | string>}

/** oclif's parse errors; a flag's own parse failure ("Parsing --pid …") carries only the trailer. */
function isParseError(err: unknown): err is ParseError {
  return err instanceof Errors.CLIError && ('parse' in err || err.message.endsWith('\nSee more help with --help'))
}

/**
 * oclif's parse error in one line: "missing PROFILE", "Nonexistent flag: -x",
 * "--pid: Expected an integer but received: x", without its notes and "See more help".
 */
function parseErrorLine(err: ParseError): string {
  if (/^Missing \d+ required arg/.test(err.message) && Array.isArray(err.args)) {
    const names = err.args.map((a) => (typeof a === 'string' ? a : a.name ?? 'argument').toUpperCase())
    return `missing ${names.join(' and ')}`
  }
  const lines = err.message
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && l !== 'See more help with --help' && !/^The following errors? occurred:$/.test(l))
  return lines.join('; ').replace(/^Parsing (--[\w-]+);/, '$1:')
}

/**
 * A command's help text, written as paragraphs wrapped at any width in the source: the lines
 * of a paragraph are joined with spaces, so that oclif alone wraps them at the terminal's
 * width (a hard break kept inside a paragraph leaves a short ragged line behind wherever the
 * terminal is not as wide as the source). Kept as they are: blank lines (between
 * paragraphs), and lines that begin a list item ("- ", "* ", "1. ") or are indented (code),
 * each on a line of its own.
 */
export function prose(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = strings.reduce((out, s, i) => out + s + (i < values.length ? String(values[i]) : ''), '')
  const lines: string[] = []
  let joinable = false
  for (const line of text.split('\n')) {
    const own = line.trim() === '' || /^\s/.test(line) || /^([-*•]|\d+[.)])\s/.test(line)
    if (!own && joinable) lines[lines.length - 1] += ` ${line.trimEnd()}`
    else lines.push(line.trimEnd())
    // prose and list items go on over the lines that follow; blank and indented lines do not
    joinable = line.trim() !== '' && !/^\s/.test(line)
  }
  return lines.join('\n')
}

/**
 * Flags several commands share, defined once so that each means the same everywhere
 * (`overrides` adds a command's own constraints, such as apply's `exclusive: ['bundle']`).
 */
export const sharedFlags = {
  output: (what: string) => Flags.string({char: 'o', summary: `Write ${what} to FILE ("-" for stdout).`, helpValue: 'FILE'}),
  quiet: (what: string) => Flags.boolean({char: 'q', summary: `No ${what} on stderr.`, default: false}),
  caps: (overrides: {exclusive?: string[]; summary?: string} = {}) =>
    Flags.string({summary: "Capabilities the container has, comma-separated (default: Docker's default set).", helpValue: 'CAP,...', ...overrides}),
  counts: (overrides: {exclusive?: string[]} = {}) =>
    Flags.string({summary: 'Observation file from record (repeat for several): test the most frequent syscalls first.', helpValue: 'OBS', multiple: true, ...overrides}),
  optimize: (overrides: {exclusive?: string[]} = {}) =>
    Flags.boolean({summary: "Binary-tree syscall dispatch (libseccomp's SCMP_FLTATR_CTL_OPTIMIZE=2).", default: false, ...overrides}),
}
