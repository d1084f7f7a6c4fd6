import {Args, Flags} from '@oclif/core'
import {prose, SeccompGenCommand} from '../command.js'
import {SeccompGenError} from '../errors.js'
import {checkOutput, writeOutput} from '../output.js'
import {serializeObservation} from '../trace/observation-io.js'
import {DenialReport} from '../enforce/denials.js'
import {AuditExplainer, followAudit, openInputs, readInputs, type ProgramFilter} from '../enforce/explain.js'

/** TASK_COMM_LEN is 16: the kernel keeps (and logs) at most 15 bytes of a name */
const COMM_MAX = 15

/** The filters as they were given, for the observation's command line. */
function filterArgs(f: ProgramFilter): string[] {
  return [...f.exe.flatMap((e) => ['--exe', e]), ...f.comm.flatMap((c) => ['--comm', c]), ...f.pid.flatMap((p) => ['--pid', String(p)])]
}

export default class Explain extends SeccompGenCommand {
  static summary = "Report the calls a seccomp filter logged or denied, from the kernel's audit records (type 1326)."

  static description = prose`For profiles enforced by Docker, podman, Kubernetes or anything else: reads the kernel's seccomp
audit records from dmesg, journalctl -k or /var/log/audit/audit.log output (FILE…, - for standard
input), or live with --follow (the kernel's audit multicast group; needs CAP_AUDIT_READ). Prints
one line per distinct (ABI, syscall, action) with the first pid, comm, exe and the filter's action, then a
summary table. Records carry no arguments. Lines that are no seccomp record are skipped and
counted. Without auditd the kernel lets about 10 records per 5 s reach dmesg: when the input shows
it dropped some ("callbacks suppressed"), a warning says how many. --follow stops at Ctrl-C
(SIGINT) or SIGTERM and then prints the summary.`

  static examples = [
    {command: 'dmesg | <%= config.bin %> <%= command.id %> -', description: 'What the kernel logged since boot.'},
    {command: '<%= config.bin %> <%= command.id %> /var/log/audit/audit.log --exe /usr/bin/python3.11 --observe missed.obs.json', description: "With auditd, one program's records; then: seccomp-gen build app.obs.json missed.obs.json"},
    {command: '<%= config.bin %> <%= command.id %> --follow --comm app --observe missed.obs.json', description: 'Every record of the processes named app from now until Ctrl-C, none rate-limited.'},
  ]

  static strict = false
  static enableJsonFlag = true

  static usage = [
    '<%= command.id %> FILE… [--exe PATH]… [--comm NAME]… [--pid PID]… [--observe OBS] [--json]',
    '<%= command.id %> --follow [--exe PATH]… [--comm NAME]… [--pid PID]… [--observe OBS] [--json]',
  ]

  static args = {
    file: Args.string({description: 'dmesg, journalctl -k or audit.log text (any number; - reads standard input)'}),
  }

  static flags = {
    follow: Flags.boolean({description: "receive records live from the kernel's audit multicast group (needs CAP_AUDIT_READ) until SIGINT/SIGTERM", default: false}),
    observe: Flags.string({description: 'write the reported calls as an observation file that build merges', helpValue: 'OBS'}),
    exe: Flags.string({description: 'report only the records whose exe= is this absolute path (repeatable; a record matching any --exe, --comm or --pid is kept)', helpValue: 'PATH', multiple: true, multipleNonGreedy: true}),
    comm: Flags.string({description: `report only the records whose comm= is this name (at most ${COMM_MAX} bytes; repeatable)`, helpValue: 'NAME', multiple: true, multipleNonGreedy: true}),
    pid: Flags.integer({description: 'report only the records of this process (repeatable)', helpValue: 'PID', min: 1, multiple: true, multipleNonGreedy: true}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Explain)
    const files = argv as string[]
    if (flags.follow && files.length) throw new SeccompGenError('USAGE', '--follow reads the kernel, not files: give FILE… or --follow')
    if (!flags.follow && files.length === 0) throw new SeccompGenError('USAGE', 'say what to read: FILE… (- for standard input) or --follow')
    // a name the kernel never logs would silently match nothing
    const filter: ProgramFilter = {exe: flags.exe ?? [], comm: flags.comm ?? [], pid: flags.pid ?? []}
    for (const exe of filter.exe) if (!exe.startsWith('/')) throw new SeccompGenError('USAGE', `--exe ${exe}: give the absolute path a record's exe= names`)
    for (const comm of filter.comm) if (comm === '' || Buffer.byteLength(comm) > COMM_MAX) throw new SeccompGenError('USAGE', `--comm ${comm}: a record's comm= is 1 to ${COMM_MAX} bytes (the kernel cuts longer names)`)
    if (flags.observe) checkOutput(flags.observe)
    const inputs = flags.follow ? [] : openInputs(files)

    const json = this.jsonEnabled()
    const report = new DenialReport({format: json ? 'json' : 'text', out: process.stdout})
    const ex = new AuditExplainer(report, filter)
    const stop = new AbortController()
    const onSignal = () => stop.abort()
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal)
    try {
      if (flags.follow) {
        await followAudit(ex, stop.signal, () => {
          if (json) process.stdout.write(JSON.stringify({type: 'listening'}) + '\n')
          else this.logToStderr("seccomp-gen: listening to the kernel's audit records (Ctrl-C to stop)")
        })
      } else {
        await readInputs(inputs, ex, stop.signal)
      }
    } finally {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal)
    }

    if (flags.observe) writeOutput(flags.observe, serializeObservation(report.toObservation(['seccomp-gen', 'explain', ...(flags.follow ? ['--follow'] : files), ...filterArgs(filter)])))
    const input = ex.inputLine(flags.follow)
    const warnings = ex.warnings(flags.observe !== undefined)
    if (json) {
      const summary = JSON.parse(report.summary()) as Record<string, unknown>
      process.stdout.write(JSON.stringify({...summary, input: ex.counts, warnings, ...(flags.observe ? {observation: flags.observe} : {})}) + '\n')
      return
    }
    process.stdout.write(report.summary('reported by the kernel'))
    process.stdout.write(`seccomp-gen: ${input}${flags.observe ? `; observation written to ${flags.observe}` : ''}\n`)
    for (const w of warnings) this.logToStderr(`seccomp-gen: warning: ${w}`)
  }
}
