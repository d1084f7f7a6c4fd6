/**
 * `record`: check everything that can fail before the program runs (output writable, the engine
 * able to run, program in PATH), then record it with the bpf engine (src/trace/bpf/) or under
 * strace, whose output the streaming Observer parses as it arrives (optionally teed to a raw
 * log); write the observation atomically. Returns the program's exit status to pass on.
 */
import {basename} from 'node:path'
import {SeccompGenError} from '../errors.js'
import {checkOutput, openOutput, writeOutput} from '../output.js'
import {findCommand} from '../shell.js'
import type {Observation} from './observation.js'
import {serializeObservation} from './observation-io.js'
import {assertProcessesExist, cmdlineOf, hostFacts, probeStrace, resolveStrace} from './host.js'
import type {TraceTarget} from './strace-runner.js'
import {chooseEngine, type Engine} from './bpf/engine.js'

export interface RecordStats {
  calls: number
  distinct: number
  processes: number
  lines: number
  unparsed: number
}

export interface RecordOptions {
  /** the program and its arguments (run mode) */
  command?: string[]
  /** processes to attach to instead (attach mode) */
  pids?: number[]
  /** where the observation goes; '-' for stdout */
  output: string
  /** also keep strace's raw output here (written atomically once the trace ends) */
  rawLog?: string
  /** unparsable strace lines are an error instead of a count */
  strict?: boolean
  /** called once tracing starts, with a cheap live view of the counters */
  onStart?: (stats: () => RecordStats) => void
  /** default auto; onEngine is told which engine records (and why not bpf) before CMD starts */
  engine?: Engine
  onEngine?: (engine: 'bpf' | 'strace', note?: string) => void
}

export interface RecordResult {
  observation: Observation
  /** the program's exit status (code, or 128+signal); 0 in attach mode */
  exit: number
  stats: RecordStats
  /** line numbers (1-based) of the first unparsable lines */
  unparsedLines: number[]
  output: string
  rawLog?: string
  /** the engine that recorded; strace's version with the strace engine */
  engine: 'bpf' | 'strace'
  strace?: string
  signals: NodeJS.Signals[]
  /** the signal that killed the program, if one did */
  signal: NodeJS.Signals | null
  /** traced processes left running, untraced, when a signal ended the recording after the program exited */
  detached?: Array<{pid: number; comm: string}>
}

/** The default output file name for a recording: `<program>.obs.json`, or `pid-<N>.obs.json`. */
export function defaultOutput(opts: {command?: string[]; pids?: number[]}): string {
  if (opts.pids && opts.pids.length > 0) return `pid-${opts.pids[0]}.obs.json`
  const prog = basename(opts.command?.[0] ?? 'seccomp-gen').replace(/[^\w.+-]/g, '_') || 'seccomp-gen'
  return `${prog}.obs.json`
}

export async function record(opts: RecordOptions): Promise<RecordResult> {
  const attach = (opts.pids?.length ?? 0) > 0
  if (attach && opts.command && opts.command.length > 0) throw new SeccompGenError('USAGE', 'give either --pid or a command to run, not both')
  if (!attach && !opts.command?.length) throw new SeccompGenError('USAGE', 'missing command to record (seccomp-gen record [-o FILE] -- CMD [ARGS...])')
  // 1. Everything that can fail, before the program runs.
  const out = opts.output === '-' ? undefined : checkOutput(opts.output)
  const log = opts.rawLog === undefined ? undefined : checkOutput(opts.rawLog)
  if (log && out?.how === 'replace' && log.path === out.path) throw new SeccompGenError('USAGE', '--raw-log and -o name the same file')
  // The observation or the raw log goes to our stdout (`-`, /dev/stdout, /dev/fd/1): CMD's own
  // stdout then goes to our stderr, so that stream carries only what we write.
  const ourStdout = opts.output === '-' || out?.fd === 1 || log?.fd === 1
  const {engine, note} = chooseEngine(opts.engine ?? 'auto', opts.rawLog !== undefined)
  let target: TraceTarget
  let command: string[]
  if (attach) {
    assertProcessesExist(opts.pids!, engine === 'strace')
    target = {kind: 'attach', pids: opts.pids!}
    command = opts.pids!.length === 1 ? cmdlineOf(opts.pids![0]) : opts.pids!.map((p) => `pid:${p}=${cmdlineOf(p).join(' ')}`)
  } else {
    const argv = opts.command!
    // Checked here so "not found" is ours (exit 127) before anything runs. strace is still given
    // the name as typed: it searches PATH the same way, and the program keeps its argv[0].
    const found = findCommand(argv[0])
    if ('error' in found) throw new SeccompGenError(found.exit === 126 ? 'CMD_NOT_EXECUTABLE' : 'CMD_NOT_FOUND', found.error)
    target = {kind: 'run', argv, path: found.path}
    command = argv
  }
  const viaStrace = (why?: string) => recordStrace(opts, target, command, ourStdout, why)
  if (engine === 'strace') return viaStrace(note)
  opts.onEngine?.('bpf')
  // each engine's modules are loaded only when it records (start-up time is part of its cost);
  // auto falls back to strace when the kernel refuses the recorder (CMD has not started then)
  return (await import('./bpf/run.js')).recordBpf(opts, target, command, ourStdout, opts.engine === 'bpf' ? undefined : viaStrace)
}

async function recordStrace(opts: RecordOptions, target: TraceTarget, command: string[], ourStdout: boolean, note?: string): Promise<RecordResult> {
  opts.onEngine?.('strace', note)
  const attach = target.kind === 'attach'
  const strace = resolveStrace()
  const {version} = probeStrace(strace)
  const [{Observer}, {runStrace}] = await Promise.all([import('./observe.js'), import('./strace-runner.js')])
  // 2. Trace, streaming.
  const observer = new Observer({command, host: hostFacts(version), strict: opts.strict})
  const raw = opts.rawLog ? openOutput(opts.rawLog) : undefined
  opts.onStart?.(() => observer.stats)
  let run
  let lastByte = 0x0a
  try {
    run = await runStrace({
      strace,
      target,
      programStdout: ourStdout ? 'stderr' : 'stdout',
      onChunk: (chunk) => {
        raw?.write(chunk)
        observer.push(chunk)
        lastByte = chunk[chunk.length - 1]!
      },
    })
  } catch (err) {
    raw?.abort()
    throw err
  }
  // The raw log is kept even when --strict fails: it is what one needs to see why.
  raw?.commit()

  // strace, stopped after the program exited, had printed only the start of a call a
  // descendant was still in (a daemon's poll): the call was made and never finished.
  if (run.detached && lastByte !== 0x0a) observer.push(Buffer.from(' <unfinished ...>\n'))

  // 3. The observation (end() throws TRACE_UNPARSABLE under --strict), written atomically.
  const observation = observer.end()
  if (!attach && observation.execs.length === 0 && run.exit !== 0) {
    // strace itself failed to start the program (it said why on stderr): nothing to keep.
    throw new SeccompGenError('INTERNAL', `strace could not start ${command[0]} (exit ${run.exit}); nothing recorded`)
  }
  const finalStats = {...observer.stats}
  const unparsedLines = observer.diagnostics.filter((d) => d.code === 'TRACE_UNPARSABLE').map((d) => d.line).slice(0, 5)
  const text = serializeObservation(observation)
  if (opts.output === '-') process.stdout.write(text)
  else writeOutput(opts.output, text)

  // strace reports the program's status; once it was stopped (detached), the trace tells it.
  const exit = attach ? 0 : run.detached ? observer.firstProcessExit ?? run.exit : run.exit
  return {
    observation,
    exit,
    stats: finalStats,
    unparsedLines,
    output: opts.output,
    rawLog: opts.rawLog,
    engine: 'strace',
    strace: version,
    signals: run.signals,
    signal: attach || run.detached ? null : run.signal,
    ...(run.detached ? {detached: run.detached} : {}),
  }
}
