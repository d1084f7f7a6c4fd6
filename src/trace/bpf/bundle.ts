/**
 * `record --bundle DIR`: record an OCI bundle's workload as a runtime (runc, crun) runs it, from
 * its entrypoint on, and none of the runtime's own syscalls (its init's mounts, pivot_root,
 * capset… happen before the exec).
 *
 * The container is created with a private state root (a temp dir): the runtime's init then
 * waits inside the container for `start`. Its pid (from `state`) is marked to join the recorded
 * tree at its next exec, which is the entrypoint's; then the container is started, and the
 * recording ends when the whole tree has exited. The init is not our child: its exit status
 * comes from the recorder, and record exits with it. The container is deleted and the state
 * root removed however record ends, but by SIGKILL.
 *
 * Only the bpf engine can do this: strace cannot attach to a process so that it is traced from
 * its next exec on without also tracing the runtime.
 *
 * Standard streams: the container gets record's stdin and stdout (stdout goes to stderr when the
 * observation goes to stdout); its stderr is a pipe that record copies to its own stderr, so that
 * what the runtime says when the container cannot be created is ours to put in one error line.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, join, resolve} from 'node:path'
import type {Readable} from 'node:stream'
import {callerIgnores} from '../../caller.js'
import {SeccompGenError} from '../../errors.js'
import {checkOutput} from '../../output.js'
import {findCommand} from '../../shell.js'
import type {Observation} from '../observation.js'
import type {RecordResult} from '../record.js'
import {chooseEngine, type Engine} from './engine.js'
import {readText} from '../../fsutil.js'
import {BpfRecorder, processAlive, type BpfFacts} from './recorder.js'
import {writeBpfObservation} from './run.js'

/** The runtimes record --bundle drives (the observation's runtime); their command lines are alike. */
export type BundleRuntime = NonNullable<Observation['runtime']>

export interface BundleOptions {
  /** the bundle directory (config.json, rootfs) */
  bundle: string
  /** default runc */
  runtime?: BundleRuntime
  /** default ./<bundle directory's name>.obs.json; '-' for stdout */
  output?: string
  /** auto or bpf (strace cannot record a bundle) */
  engine?: Engine
  /** a command given as well: an error (the bundle's config.json names the command) */
  command?: string[]
}

/** signals that stop the container (then it is deleted as always): Ctrl-C, kill, a closed terminal, Ctrl-\\ */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']
/** how often the recorder is read while the container runs */
const POLL_MS = 10
/** how long the container's stderr may stay open once the tree has exited (it is then closed) */
const DRAIN_MS = 2000

/** The default output: ./<bundle directory's name>.obs.json. */
export function bundleOutput(bundle: string): string {
  return `${basename(resolve(bundle)).replace(/[^\w.+-]/g, '_') || 'bundle'}.obs.json`
}

/** The runtime's own words, one line: logrus's `msg="…"` (runc) or its plain lines (crun). */
function runtimeWords(text: string): string {
  const lines = text.split('\n').map((l) => {
    const msg = /\bmsg=("(?:[^"\\]|\\.)*")/.exec(l)?.[1]
    if (!msg) return l.trim()
    try {
      return String(JSON.parse(msg))
    } catch {
      return msg.slice(1, -1)
    }
  })
  return lines.filter(Boolean).join('; ') || 'no message'
}

/** The bundle's process.args, the observation's command (the bundle's path if it has none). */
function entrypoint(bundle: string): string[] {
  try {
    const args = (JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as {process?: {args?: unknown}}).process?.args
    if (Array.isArray(args) && args.length > 0 && args.every((a) => typeof a === 'string')) return args as string[]
  } catch {
    // the runtime accepted it; whatever it holds, the bundle's path names the recording
  }
  return [bundle]
}

export async function recordBundle(opts: BundleOptions): Promise<RecordResult> {
  const runtime = opts.runtime ?? 'runc'
  // 1. Everything that can fail, before the runtime runs.
  if (opts.command && opts.command.length > 0) throw new SeccompGenError('USAGE', "give either --bundle or a command to run, not both (the bundle's config.json names its command)")
  if (opts.engine === 'strace') throw new SeccompGenError('USAGE', '--bundle records with the bpf engine: strace cannot follow the container from its entrypoint without the runtime (drop --engine strace)')
  chooseEngine('bpf', false) // throws BPF_UNAVAILABLE (exit 4) with the reason
  const bundle = resolve(opts.bundle)
  let isDir = false
  try {
    isDir = statSync(bundle).isDirectory()
  } catch {
    throw new SeccompGenError('BUNDLE_INVALID', `--bundle ${opts.bundle}: no such directory`)
  }
  if (!isDir) throw new SeccompGenError('BUNDLE_INVALID', `--bundle ${opts.bundle}: not a directory`)
  if (readText(join(bundle, 'config.json')) === undefined) throw new SeccompGenError('BUNDLE_INVALID', `--bundle ${opts.bundle}: no readable config.json (an OCI bundle has one: runc spec writes it)`)
  const output = opts.output ?? bundleOutput(bundle)
  const out = output === '-' ? undefined : checkOutput(output)
  const found = findCommand(runtime)
  if ('error' in found) throw new SeccompGenError(found.exit === 126 ? 'CMD_NOT_EXECUTABLE' : 'CMD_NOT_FOUND', `${runtime} (the container runtime) cannot run: ${found.error}`)
  // The observation on our stdout: the container's stdout goes to our stderr.
  const stdout = output === '-' || out?.fd === 1 ? 2 : 'inherit'

  // 2. Run and record.
  const run = await runContainer(runtime, found.path, bundle, stdout)
  return {...writeBpfObservation(output, run.facts, entrypoint(bundle), runtime), exit: run.exit, signals: run.signals, signal: null}
}

interface ContainerRun {
  /** the container's status: its init's exit code, or 128+N */
  exit: number
  signals: NodeJS.Signals[]
  facts: BpfFacts
}

/**
 * Create, mark, start, wait, delete. Signals: while the container runs, a SIGINT or SIGTERM to
 * record sends it SIGTERM (`runtime kill`, as `docker stop` does) and a further one SIGKILL; once
 * its init has exited, a signal ends the recording at once (processes of the tree still running,
 * in a container without its own pid namespace, die with the container's deletion).
 */
async function runContainer(runtime: BundleRuntime, path: string, bundle: string, stdout: 'inherit' | 2): Promise<ContainerRun> {
  const root = mkdtempSync(join(tmpdir(), 'seccomp-gen-runtime-'))
  const id = `seccomp-gen-${process.pid}-${randomBytes(4).toString('hex')}`
  const rt = (args: string[]) => spawnSync(path, ['--root', root, ...args], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
  const fail = (words: string) => new SeccompGenError('BUNDLE_INVALID', `the bundle ${bundle} does not start under ${runtime}: ${words}`)
  const signals: NodeJS.Signals[] = []
  let recorder: BpfRecorder | undefined
  let pid: number | undefined
  let started = false
  let stopped = false
  let create: ChildProcess | undefined
  const onSignal = (sig: NodeJS.Signals) => {
    if (callerIgnores(sig)) return
    signals.push(sig)
    if (!started) return // checked before start: the container is then deleted unstarted
    if (recorder!.exitStatus(pid!) !== undefined) stopped = true
    else rt(['kill', id, signals.length === 1 ? 'SIGTERM' : 'SIGKILL'])
  }
  for (const s of FORWARDED) process.on(s, onSignal)
  try {
    recorder = BpfRecorder.open()
    create = spawn(path, ['--root', root, 'create', '--bundle', bundle, id], {stdio: ['inherit', stdout, 'pipe']})
    const stderr = await created(create, fail)
    const state = rt(['state', id])
    pid = Number((JSON.parse(state.status === 0 ? state.stdout : '{}') as {pid?: unknown}).pid)
    if (!Number.isInteger(pid) || pid <= 0) throw new SeccompGenError('INTERNAL', `${runtime} state gave no pid for the container: ${runtimeWords(state.stderr || state.stdout)}`)
    recorder.watchExec(pid)
    if (signals.length > 0) throw new SeccompGenError('INTERNAL', `${signals[0]} before the container started; nothing recorded`)
    const start = rt(['start', id])
    if (start.status !== 0) throw fail(runtimeWords(start.stderr))
    started = true
    await treeEnd(recorder, pid, () => stopped, fail)
    await drained(stderr)
    // the init has exited by now (the tree ended, or stopped once the init had exited)
    const exit = recorder.exitStatus(pid)
    if (exit === undefined) throw new SeccompGenError('INTERNAL', `the recorder lost the exit status of the container's init (pid ${pid}); nothing written`)
    return {exit, signals, facts: recorder.facts()}
  } finally {
    for (const s of FORWARDED) process.off(s, onSignal)
    recorder?.close()
    if (create) spawnSync(path, ['--root', root, 'delete', '--force', id], {stdio: 'ignore'})
    rmSync(root, {recursive: true, force: true})
  }
}

/**
 * Once `create` has exited: its stderr, which the container's init holds now (copied to ours
 * from here on); or, when it failed, its message in one line.
 */
function created(create: ChildProcess, fail: (words: string) => Error): Promise<Readable> {
  return new Promise((resolvePromise, reject) => {
    const stderr = create.stderr!
    const said: Buffer[] = []
    const keep = (b: Buffer) => said.push(b)
    stderr.on('data', keep)
    create.on('error', (err) => reject(fail(err.message)))
    create.on('exit', (code) => {
      if (code !== 0) return // 'close' follows, with all it said
      stderr.off('data', keep)
      if (said.length > 0) process.stderr.write(Buffer.concat(said)) // its warnings
      stderr.on('data', (b: Buffer) => process.stderr.write(b))
      resolvePromise(stderr)
    })
    create.on('close', (code, sig) => {
      if (code !== 0) reject(fail(runtimeWords(Buffer.concat(said).toString()) + (sig ? ` (killed by ${sig})` : '')))
    })
  })
}

/** Resolve when the init has exec'd and the whole tree has exited, or stop() says so. */
function treeEnd(recorder: BpfRecorder, pid: number, stop: () => boolean, fail: (words: string) => Error): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const tick = () => {
      if (recorder.isWaiting(pid)) {
        // read again once it is seen dead: it may have exec'd (and left WAITING) just before
        if (!processAlive(pid) && recorder.isWaiting(pid)) return reject(fail("the runtime's init exited before it ran the entrypoint"))
      } else if (stop() || recorder.live() <= 0) {
        return resolvePromise()
      }
      setTimeout(tick, POLL_MS)
    }
    tick()
  })
}

/** Wait until the container's stderr is closed (all of it copied), at most DRAIN_MS. */
function drained(stderr: Readable): Promise<void> {
  if (stderr.readableEnded || stderr.destroyed) return Promise.resolve()
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => {
      stderr.destroy()
      resolvePromise()
    }, DRAIN_MS)
    stderr.once('close', () => {
      clearTimeout(timer)
      resolvePromise()
    })
  })
}
