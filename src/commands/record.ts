import {Flags} from '@oclif/core'
import {prose, SeccompGenCommand, sharedFlags} from '../command.js'
import {splitAtCommand} from '../cli-argv.js'
import {stdioLinks, terminalOfOurOwn} from '../terminal.js'
import {defaultOutput, record, type RecordStats} from '../trace/record.js'
import {ENGINES, type Engine} from '../trace/bpf/engine.js'
import type {BundleRuntime} from '../trace/bpf/bundle.js'

function statusLine(s: RecordStats): string {
  return `seccomp-gen: ${s.calls} syscalls, ${s.distinct} distinct, ${s.processes} process${s.processes === 1 ? '' : 'es'}`
}

function detachedText(left: Array<{pid: number; comm: string}>): string {
  if (left.length === 0) return 'no traced process was left'
  const names = left.slice(0, 5).map((p) => `${p.comm} ${p.pid}`).join(', ')
  return `${left.length} traced process${left.length === 1 ? ' was' : 'es were'} still running (${names}${left.length > 5 ? ', …' : ''}), left running untraced`
}

export default class Record extends SeccompGenCommand {
  static override summary = 'Record what a command does (in the kernel with eBPF, or under strace) as an observation file.'

  static override description = prose`Runs CMD and records it with an engine: bpf (an in-kernel recorder, near native speed; needs root or CAP_BPF+CAP_PERFMON and a kernel with BTF) or strace; auto, the default, uses bpf where it can run and otherwise strace, saying why. Every child process and thread is followed, and CMD's stdin, stdout and stderr are left as they are. With strace, its output is parsed as it streams (no temporary log is kept unless --raw-log asks for one). The observation — per ABI, each syscall with its count, its error returns and the values of the arguments profile rules can filter on, plus every program exec'd — is written atomically to FILE.

With --pid, attaches to running processes instead (and their future children); stop with Ctrl-C and the observation is written.

With --bundle DIR, records an OCI bundle's workload as the runtime (runc, or --runtime crun) runs it: from the container's entrypoint on, without the runtime's own syscalls (bpf engine only). The observation names the runtime, and build adds that runtime's layer. Record exits with the container's status; SIGINT and SIGTERM stop the container (SIGTERM, then SIGKILL). The default output file is ./<DIR's name>.obs.json.

Record exits with CMD's status: its exit code, or 128+N if it died of signal N. SIGINT and SIGTERM sent to record are forwarded to CMD. The default output file is ./<CMD's name>.obs.json (./pid-<PID>.obs.json with --pid); -o - writes it to stdout (and CMD's own stdout goes to stderr).

record's own flags come before CMD; the first word that is not one of them starts the command ("--" may mark it explicitly).`

  static override examples = [
    {command: '<%= config.bin %> <%= command.id %> -- curl -s https://example.com', description: 'Record curl into ./curl.obs.json.'},
    {command: '<%= config.bin %> <%= command.id %> --engine strace -- make -j4', description: 'Record with strace even where the bpf engine could run.'},
    {command: "<%= config.bin %> <%= command.id %> -o web.obs.json -- python3 -m http.server 8000", description: 'Record a server; stop it with Ctrl-C, the observation is still written.'},
    {command: '<%= config.bin %> <%= command.id %> --pid 4242 -o daemon.obs.json', description: 'Attach to a running process until Ctrl-C.'},
    {command: '<%= config.bin %> <%= command.id %> --raw-log make.strace -o make.obs.json -- make -j4', description: "Also keep strace's raw output."},
    {command: '<%= config.bin %> <%= command.id %> --bundle ./web --runtime crun', description: "Record an OCI bundle's workload under crun into ./web.obs.json."},
  ]

  static override strict = false

  static argsBeforeCmd = 0

  static override flags = {
    output: sharedFlags.output('the observation (default ./<CMD name>.obs.json)'),
    'raw-log': Flags.string({summary: "Also keep a copy of strace's raw output in FILE.", helpValue: 'FILE'}),
    pid: Flags.integer({char: 'p', summary: 'Attach to this running process instead of running CMD (repeatable).', multiple: true, helpValue: 'PID'}),
    quiet: sharedFlags.quiet('status line and no summary'),
    strict: Flags.boolean({summary: 'Fail (no output written) if any strace line cannot be parsed.'}),
    engine: Flags.string({
      summary: 'Recording engine: bpf (in-kernel, near native speed; root or CAP_BPF+CAP_PERFMON), strace, or auto (bpf where it can run, else strace, saying why).',
      options: [...ENGINES],
      default: 'auto',
      helpValue: 'ENGINE',
    }),
    bundle: Flags.string({summary: "Record this OCI bundle's workload as the runtime runs it (bpf engine), instead of CMD.", helpValue: 'DIR', exclusive: ['pid', 'raw-log']}),
    runtime: Flags.string({summary: 'The runtime that runs --bundle (default runc).', options: ['runc', 'crun'], helpValue: 'runc|crun', dependsOn: ['bundle']}),
  }

  static override usage = '<%= command.id %> [-o FILE] [--engine auto|bpf|strace] [--raw-log FILE] [--pid PID]... [--quiet] [--strict] [--] CMD [ARGS...] | --bundle DIR [--runtime runc|crun]'

  async run(): Promise<void> {
    const {own, cmd: command} = splitAtCommand(Record, this.argv)
    const {flags} = await this.parse(Record, own)
    const pids = flags.pid ?? []
    // A live status line only on a terminal no traced program uses. CMD inherits our stdio, so
    // in run mode it always shares our stderr: only the final summary. With --pid, the traced
    // processes have stdio of their own.
    const live = !flags.quiet && pids.length > 0 && terminalOfOurOwn(2, pids.flatMap((p) => stdioLinks(p)))
    let timer: NodeJS.Timeout | undefined
    let drawn = false
    const clear = () => {
      if (drawn) process.stderr.write('\r\x1b[K')
      drawn = false
    }
    try {
      const result = flags.bundle !== undefined
        ? await (await import('../trace/bpf/bundle.js')).recordBundle({bundle: flags.bundle, runtime: flags.runtime as BundleRuntime | undefined, output: flags.output, engine: flags.engine as Engine, command})
        : await record({
          command,
          pids,
          output: flags.output ?? defaultOutput({command, pids}),
          rawLog: flags['raw-log'],
          strict: flags.strict,
          engine: flags.engine as Engine,
          onEngine: (engine, note) => {
            if (note && !flags.quiet) process.stderr.write(`seccomp-gen: recording with ${engine}: ${note}\n`)
          },
          onStart: live
            ? (stats) => {
                let last = ''
                timer = setInterval(() => {
                  const line = statusLine(stats())
                  if (line === last) return
                  last = line
                  process.stderr.write(`\r\x1b[K${line}`)
                  drawn = true
                }, 200)
                timer.unref()
              }
            : undefined,
        })
      if (timer) clearInterval(timer)
      clear()
      if (!flags.quiet) {
        const s = result.stats
        let line = `${statusLine(s)}; wrote ${result.output === '-' ? 'stdout' : result.output}`
        if (result.rawLog) line += ` and ${result.rawLog}`
        if (s.unparsed > 0) line += `; ${s.unparsed} unparsed line${s.unparsed === 1 ? '' : 's'} (line ${result.unparsedLines.join(', ')}${s.unparsed > result.unparsedLines.length ? ', …' : ''})`
        if (result.detached) line += `; stopped after the command exited${result.exit ? ` with ${result.exit}` : ''}: ${detachedText(result.detached)}`
        else if (result.signal) line += `; command killed by ${result.signal} (exit ${result.exit})`
        else if (pids.length === 0 && result.exit !== 0) line += `; command exited with ${result.exit}`
        process.stderr.write(`${line}\n`)
      }
      process.exitCode = result.exit
    } finally {
      if (timer) clearInterval(timer)
      clear()
    }
  }
}
