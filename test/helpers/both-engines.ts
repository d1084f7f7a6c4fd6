/**
 * Both recording engines on the very same processes, so their counts can be compared exactly
 * (two separate runs of a program differ wherever timing matters: signals, pipes, locks).
 *
 * strace runs `sh -c 'read _ && exec "$@"' sh CMD…` with record's own flags (straceRunArgs) and
 * its own log; sh waits on a pipe. The bpf recorder is loaded in this process, as record loads
 * it, and marks sh to join the tree at its next exec, which is CMD's; then the line is written
 * and sh execs CMD. strace's log is parsed from that execve line on (the lines before are sh's
 * own, one process), with the strace engine's parser.
 */
import {spawn} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {BpfRecorder} from '../../src/trace/bpf/recorder.js'
import {hostFacts} from '../../src/trace/host.js'
import type {Observation} from '../../src/trace/observation.js'
import {Observer, type Diagnostic} from '../../src/trace/observe.js'
import {straceRunArgs} from '../../src/trace/strace-args.js'
import {waitFor} from './cli.js'

/** sh waits for a line, then becomes CMD; at end-of-file (the test gave up) it exits instead */
const GATE = ['/bin/sh', '-c', 'read _ && exec "$@"', 'sh']

export interface BothEngines {
  bpf: Observation
  strace: Observation
  /** the strace parser's complaints about the log (none expected) */
  diagnostics: Diagnostic[]
  /** strace's exit status (CMD's) */
  exit: number | null
  /** sh's pid, which became CMD's */
  pid: number
  /** the strace log from CMD's execve line on */
  log: string
}

/** The pids whose parent is ppid. */
function childrenOf(ppid: number): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      // the fields after the command name, which is in parentheses and may hold anything
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid ? [Number(d)] : []
    } catch {
      return [] // gone meanwhile
    }
  })
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1)
  } catch {
    return []
  }
}

/** Record cmd (run in cwd, stdout discarded, stdin at end-of-file) with strace and the bpf recorder at once. */
export async function recordWithBoth(cmd: string[], cwd: string, logPath: string): Promise<BothEngines> {
  const recorder = BpfRecorder.open()
  try {
    const strace = spawn('strace', straceRunArgs(logPath, [...GATE, ...cmd]), {cwd, stdio: ['pipe', 'ignore', 'pipe']})
    let stderr = ''
    strace.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    let ended = false
    const closed = new Promise<number | null>((resolve, reject) => {
      strace.on('error', reject)
      strace.on('close', (code) => {
        ended = true
        resolve(code)
      })
    })
    // strace's child, once it has exec'd sh (before that it is a copy of strace)
    let pid = 0
    try {
      await waitFor(() => {
        if (ended) throw new Error(`strace ended before starting sh: ${stderr.trim()}`)
        pid = childrenOf(strace.pid!).find((p) => cmdline(p).slice(0, GATE.length).join('\0') === GATE.join('\0')) ?? 0
        return pid > 0
      }, 20_000, 'sh under strace')
    } catch (err) {
      strace.kill('SIGKILL')
      strace.stdin!.destroy() // sh, if it started, reads end-of-file and exits
      throw err
    }
    recorder.watchExec(pid)
    strace.stdin!.end('go\n')
    const exit = await closed
    // strace has seen every process of the tree exit: so has the recorder, which counts at exit
    await waitFor(() => recorder.live() === 0, 20_000, 'the bpf recorder to see the tree end')
    const facts = recorder.facts()

    const whole = readFileSync(logPath, 'latin1')
    // the first successful execve of pid is strace starting sh; the second is sh's exec of CMD
    // (strace pads pids below 5 digits: "915   execve(")
    const at = [...whole.matchAll(new RegExp(`^${pid} +execve\\(.*\\) = 0$`, 'gm'))][1]
    if (!at) throw new Error(`no successful execve of ${pid} in ${logPath} (strace: ${stderr.trim()})`)
    const log = whole.slice(at.index)
    const host = hostFacts()
    const observer = new Observer({command: cmd, host})
    observer.push(Buffer.from(log, 'latin1'))
    const bpf: Observation = {
      schema: 'seccomp-gen/observation',
      version: 1,
      command: cmd,
      host,
      abis: facts.abis,
      execs: facts.execs,
      stats: {processes: facts.tasks, lines: 0, unparsed: 0},
    }
    return {bpf, strace: observer.end(), diagnostics: observer.diagnostics, exit, pid, log}
  } finally {
    recorder.close()
  }
}
