import {Args, Flags} from '@oclif/core'
import {prose, SeccompGenCommand} from '../command.js'
import {SeccompGenError} from '../errors.js'
import {checkOutput, writeOutput} from '../output.js'
import {serializeObservation} from '../trace/observation-io.js'
import {DenialReport} from '../enforce/denials.js'
import {AuditExplainer, followAudit, openInputs, readInputs} from '../enforce/explain.js'

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
    {command: '<%= config.bin %> <%= command.id %> /var/log/audit/audit.log --observe missed.obs.json', description: 'With auditd; then: seccomp-gen build app.obs.json missed.obs.json'},
    {command: '<%= config.bin %> <%= command.id %> --follow --observe missed.obs.json', description: 'Every record from now until Ctrl-C, none rate-limited.'},
  ]

  static strict = false
  static enableJsonFlag = true

  static usage = ['<%= command.id %> FILE… [--observe OBS] [--json]', '<%= command.id %> --follow [--observe OBS] [--json]']

  static args = {
    file: Args.string({description: 'dmesg, journalctl -k or audit.log text (any number; - reads standard input)'}),
  }

  static flags = {
    follow: Flags.boolean({description: "receive records live from the kernel's audit multicast group (needs CAP_AUDIT_READ) until SIGINT/SIGTERM", default: false}),
    observe: Flags.string({description: 'write the reported calls as an observation file that build merges', helpValue: 'OBS'}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Explain)
    const files = argv as string[]
    if (flags.follow && files.length) throw new SeccompGenError('USAGE', '--follow reads the kernel, not files: give FILE… or --follow')
    if (!flags.follow && files.length === 0) throw new SeccompGenError('USAGE', 'say what to read: FILE… (- for standard input) or --follow')
    if (flags.observe) checkOutput(flags.observe)
    const inputs = flags.follow ? [] : openInputs(files)

    const json = this.jsonEnabled()
    const report = new DenialReport({format: json ? 'json' : 'text', out: process.stdout})
    const ex = new AuditExplainer(report)
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

    if (flags.observe) writeOutput(flags.observe, serializeObservation(report.toObservation(['seccomp-gen', 'explain', ...(flags.follow ? ['--follow'] : files)])))
    const input = ex.inputLine(flags.follow)
    const warnings = ex.warnings()
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
