/**
 * Running a recording with the bpf engine. CMD is started through the exec child, which is held
 * at a gate; while it boots, the recorder is loaded and attached; then the child's pid is marked
 * and the gate opened, so CMD is recorded from its exec on, and nothing of the exec child before
 * it. With --pid, the running processes are marked once the recorder is attached.
 *
 * The recording ends when the whole tree has exited, as with strace: CMD and every descendant,
 * double-forked daemons included. Signals, as the strace engine handles them: SIGINT and SIGTERM
 * are forwarded to CMD while it runs (a terminal's Ctrl-C already reached it); once CMD has
 * exited, or with --pid, they end the recording at once, and the processes still running keep
 * running, no longer recorded (the result names them). A signal the caller ignored is ignored.
 */
import {callerIgnores} from '../../caller.js'
import {SeccompGenError} from '../../errors.js'
import {inTerminalForeground, shellStatus} from '../../shell.js'
import {spawnAsCaller} from '../../../native/exec.js'
import {hostFacts} from '../host.js'
import type {Observation} from '../observation.js'
import {serializeObservation} from '../observation-io.js'
import type {RecordOptions, RecordResult} from '../record.js'
import {writeOutput} from '../../output.js'
import {BpfRecorder, type BpfFacts} from './recorder.js'
import type {TraceTarget} from '../strace-runner.js'

export interface BpfRunResult {
  /** CMD's status (code, or 128+N); 0 in attach mode */
  exit: number
  signal: NodeJS.Signals | null
  /** signals record received while recording */
  signals: NodeJS.Signals[]
  /** set when a signal ended the recording while processes of the tree still ran */
  detached?: Array<{pid: number; comm: string}>
  facts: BpfFacts
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']
/** how often the tree's live count is read once CMD has exited */
const POLL_MS = 10

export function runBpf(target: TraceTarget, programStdout: 'stdout' | 'stderr' = 'stdout', onStart?: RecordOptions['onStart']): Promise<BpfRunResult> {
  return new Promise<BpfRunResult>((resolve, reject) => {
    let recorder: BpfRecorder | undefined
    const signals: NodeJS.Signals[] = []
    let stopped = false
    let cmdDone = target.kind === 'attach'
    let exit = 0
    let signal: NodeJS.Signals | null = null
    let timer: NodeJS.Timeout | undefined
    let kill: ((sig: NodeJS.Signals) => void) | undefined
    let finished = false

    const onSignal = (sig: NodeJS.Signals) => {
      if (callerIgnores(sig)) return
      signals.push(sig)
      if (cmdDone) {
        stopped = true
        waitTree()
        return
      }
      if (sig === 'SIGINT' && inTerminalForeground()) return
      kill?.(sig)
    }
    for (const s of FORWARDED) process.on(s, onSignal)
    const done = (err?: Error) => {
      if (finished) return
      finished = true
      if (timer) clearTimeout(timer)
      for (const s of FORWARDED) process.off(s, onSignal)
      if (err || !recorder) {
        recorder?.close()
        return reject(err)
      }
      try {
        const left = target.kind === 'run' && recorder.live() > 0 ? recorder.running() : []
        resolve({exit, signal, signals, ...(stopped && left.length > 0 ? {detached: left} : {}), facts: recorder.facts()})
      } catch (e) {
        reject(e)
      } finally {
        recorder.close()
      }
    }
    /** Once CMD is gone: end when its whole tree has (or a signal says stop). */
    function waitTree(): void {
      if (timer) clearTimeout(timer)
      timer = undefined
      if (finished) return
      if (stopped || recorder!.live() <= 0) return done()
      timer = setTimeout(waitTree, POLL_MS)
    }

    if (target.kind === 'attach') {
      try {
        recorder = BpfRecorder.open()
        recorder.watchRunning(target.pids)
      } catch (err) {
        return done(err as Error)
      }
      const r = recorder
      onStart?.(() => (finished ? {calls: 0, distinct: 0, processes: 0, lines: 0, unparsed: 0} : r.counters()))
      return waitTree()
    }

    const out = programStdout === 'stderr' ? 2 : 'inherit'
    const {child, failure, open} = spawnAsCaller(target.path, target.argv, {stdio: ['inherit', out, 'inherit'], gate: true})
    kill = (sig) => child.kill(sig)
    child.on('error', (err) => done(new SeccompGenError('INTERNAL', `cannot start ${target.argv[0]}: ${err.message}`)))
    child.on('close', (code, sig) => {
      cmdDone = true
      exit = shellStatus(code, sig)
      signal = sig
      void failure().then((notStarted) => {
        // killed at the gate (a signal before its exec): nothing of CMD ran, nothing to write
        if (!notStarted && recorder?.isWaiting(child.pid!)) return done(new SeccompGenError('INTERNAL', `${target.argv[0]} never started (${sig ?? `exit ${code}`} before its exec); nothing recorded`))
        if (!notStarted) return waitTree()
        done(new SeccompGenError(notStarted.errno === 'ENOENT' || notStarted.errno === 'ENOTDIR' ? 'CMD_NOT_FOUND' : 'CMD_NOT_EXECUTABLE', notStarted.message))
      }, done)
    })
    if (child.pid === undefined) return
    try {
      recorder = BpfRecorder.open()
      recorder.watchExec(child.pid)
    } catch (err) {
      child.kill('SIGKILL')
      return done(err as Error)
    }
    open()
  })
}

/**
 * record() with the bpf engine: attach, run or watch, read the maps once, write the observation.
 * When the kernel refuses the recorder (nothing has run yet), `fallback` records instead (auto).
 */
export async function recordBpf(
  opts: RecordOptions,
  target: TraceTarget,
  command: string[],
  ourStdout: boolean,
  fallback?: (why: string) => Promise<RecordResult>,
): Promise<RecordResult> {
  let run
  try {
    run = await runBpf(target, ourStdout ? 'stderr' : 'stdout', opts.onStart)
  } catch (err) {
    if (fallback && err instanceof SeccompGenError && err.code === 'BPF_UNAVAILABLE') return fallback(err.message)
    throw err
  }
  return {
    ...writeBpfObservation(opts.output, run.facts, command),
    exit: run.exit,
    signals: run.signals,
    signal: run.detached ? null : run.signal,
    ...(run.detached ? {detached: run.detached} : {}),
  }
}

/** The observation of a bpf recording, written to output ('-': stdout), and its summary counts. */
export function writeBpfObservation(output: string, facts: BpfFacts, command: string[], runtime?: Observation['runtime']): Pick<RecordResult, 'observation' | 'stats' | 'unparsedLines' | 'output' | 'engine'> {
  const observation: Observation = {
    schema: 'seccomp-gen/observation',
    version: 1,
    command,
    host: hostFacts(),
    ...(runtime ? {runtime} : {}),
    abis: facts.abis,
    execs: facts.execs,
    stats: {processes: facts.tasks, lines: 0, unparsed: 0},
  }
  const text = serializeObservation(observation)
  if (output === '-') process.stdout.write(text)
  else writeOutput(output, text)
  const all = Object.values(observation.abis).flatMap((a) => Object.values(a!.syscalls))
  const stats = {calls: all.reduce((n, s) => n + s.count, 0), distinct: all.length, processes: facts.tasks, lines: 0, unparsed: 0}
  return {observation, stats, unparsedLines: [], output, engine: 'bpf'}
}
