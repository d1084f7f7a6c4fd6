/**
 * Run the built CLI (`bin/seccomp-gen …`, after `npx tsc -p .`; `npm test` builds first in
 * `pretest`) as a real child process and capture what it did. Generic: any command, any
 * arguments, optional cwd/env/stdin, an optional signal sent after a delay or when the
 * output contains some text.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {constants} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** The `seccomp-gen` command as installed: the launcher that keeps the caller's process state. */
export const cliPath = join(repoRoot, 'bin', 'seccomp-gen')

export interface CliResult {
  /** exit code, or 128+N when killed by signal N (like a shell's $?) */
  status: number
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** stderr split into non-empty lines */
  stderrLines: string[]
  ms: number
}

export interface CliOptions {
  cwd?: string
  /** merged over process.env; a value of undefined removes the variable */
  env?: Record<string, string | undefined>
  /** written to stdin, then closed; stdin is /dev/null when absent */
  input?: string | Buffer
  /** kill after this many ms (default 60 s) and fail the test */
  timeoutMs?: number
  /** called with the child once spawned (e.g. to read its pid) */
  onSpawn?: (child: ChildProcess) => void
}

export function assertBuilt(): void {
  if (!existsSync(join(repoRoot, 'dist', 'src', 'commands'))) {
    throw new Error('dist/ is missing: build first with `npx tsc -p .` (npm test does it in pretest)')
  }
}

/** Run `bin/seccomp-gen ...args` and resolve with its exit status and output. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  assertBuilt()
  const env: NodeJS.ProcessEnv = {...process.env}
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  const started = Date.now()
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cliPath, args, {
      cwd: opts.cwd ?? repoRoot,
      env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s))
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    if (opts.input !== undefined) child.stdin!.end(opts.input)
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`CLI timed out after ${opts.timeoutMs ?? 60_000} ms: ${args.join(' ')}\nstderr: ${stderr}`))
    }, opts.timeoutMs ?? 60_000)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    opts.onSpawn?.(child)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolvePromise({
        status: code ?? 128 + (signal ? constants.signals[signal] ?? 0 : 0),
        code,
        signal,
        stdout,
        stderr,
        stderrLines: stderr.split('\n').filter((l) => l.trim() !== ''),
        ms: Date.now() - started,
      })
    })
  })
}

/**
 * The error oclif printed, as one string: oclif prefixes it with " ›   Error: " and wraps it at
 * the terminal width (80 columns when stderr is not a terminal), continuing with " ›   ".
 * Returns undefined when there is no error; `count` tells how many separate errors there were.
 */
export function cliError(r: CliResult): {message: string; count: number} | undefined {
  const lines = r.stderr.split('\n')
  const starts = lines.flatMap((l, i) => (/^\s*›\s+Error: /.test(l) ? [i] : []))
  if (starts.length === 0) return undefined
  const parts: string[] = []
  for (let i = starts[0]; i < lines.length && /^\s*›/.test(lines[i]); i++) {
    // strip only the prefix: a space the wrap moved to the start of a line is part of the text
    parts.push(lines[i].replace(/^\s*› {3}(Error: )?/, ''))
  }
  return {message: parts.join('').replace(/\s+/g, ' ').trim(), count: starts.length}
}

/** Resolve once `read()` returns true (polling), or reject after `timeoutMs`. */
export async function waitFor(read: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!read()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
