import {Args, Flags} from '@oclif/core'
import {prose, SeccompGenCommand, sharedFlags} from '../command.js'
import {splitAtCommand} from '../cli-argv.js'
import {SeccompGenError} from '../errors.js'
import {parseCaps, type ClosedRule} from '../enforce/caps.js'
import {countsFrom} from '../enforce/counts.js'
import {findCommand} from '../shell.js'
import {nativeArchAbi, prepareFilter, runUnderFilter} from '../enforce/apply.js'
import {DenialReport} from '../enforce/denials.js'
import {ruleArgsOf} from '../enforce/supervise.js'
import {checkOutput, writeOutput} from '../output.js'
import {serializeObservation} from '../trace/observation-io.js'

export default class Apply extends SeccompGenCommand {
  static summary = 'Run a command under a seccomp profile (libseccomp), or write the profile into an OCI bundle.'

  static description = prose`PROFILE is a profile in any format seccomp-gen reads (Docker/Moby or OCI JSON, a bundle's
config.json, a Kubernetes SeccompProfile). Pre-flight first, before anything runs: the profile is
validated, resolved for the capability set (--caps, default Docker's) and this host's arch,
compiled by libseccomp, and rejected if CMD could never start under it (execve denied), or if it
names syscalls that do not exist for the arch. Then CMD runs in a child process that loads the
filter on its main thread with no_new_privs and execs CMD at once: stdio, environment and signal dispositions as a shell would hand them over.
apply exits with CMD's status (128+signal for a signal death: 159 for SIGSYS from a kill action;
127 CMD not found, 126 not executable). SIGINT/SIGTERM/SIGHUP/SIGQUIT are forwarded to CMD.

With --bundle DIR the profile goes into DIR/config.json as linux.seccomp instead (includes/excludes
resolved against process.capabilities.bounding, arch map resolved to the host, Moby-only fields
dropped, atomic replace); --dry-run shows the change without writing. With --complain or
--explain and --listener PATH the denials go to \`seccomp-gen agent --socket PATH\` instead
(linux.seccomp.listenerPath; runc 1.1 or later, crun).

--complain runs CMD with the profile but denies nothing: each call the profile would deny runs
and is reported. --explain enforces the profile and reports each denial. Both turn the profile's
denying actions into seccomp user notifications that apply answers (CONTINUE, or the profile's
own answer: the same errno; SIGSYS for a kill action, SIGKILL when CMD catches SIGSYS); calls the
profile allows never reach apply. One line on stderr per distinct (ABI, syscall, argument
values the rules look at), with the first pid, comm, exe and the rule or default that matched;
a table with counts when CMD ends. --observe FILE writes the reported calls as an observation:
\`build\` it together with the original recordings to close the gap. Needs Linux 5.6.`

  static examples = [
    {command: '<%= config.bin %> <%= command.id %> app.json -- python3 -m http.server 8080', description: 'Run a server under its built profile.'},
    {command: '<%= config.bin %> <%= command.id %> app.json --caps CAP_SYS_ADMIN,CAP_NET_RAW -- ./app', description: 'Open the rules gated on these capabilities (includes.caps).'},
    {command: '<%= config.bin %> <%= command.id %> app.json --bundle ./bundle --dry-run', description: "Show what would change in an OCI bundle's config.json."},
    {command: '<%= config.bin %> <%= command.id %> app.json --complain --observe gap.obs.json -- ./app --other-input', description: 'Deny nothing, report what the profile would deny, and keep it for build.'},
    {command: '<%= config.bin %> <%= command.id %> app.json --explain -- ./app', description: 'Enforce the profile and say which call each denial was.'},
  ]

  static strict = false

  static argsBeforeCmd = 1

  static usage = [
    '<%= command.id %> PROFILE [--caps CAP,...] [--counts OBS]... [--optimize] [--allow-unknown] [-v] [--] CMD [ARGS...]',
    '<%= command.id %> PROFILE --complain|--explain [--observe FILE] [--json] [...] [--] CMD [ARGS...]',
    '<%= command.id %> PROFILE --bundle DIR [--complain|--explain --listener PATH] [--dry-run]',
  ]

  static args = {
    profile: Args.string({description: 'the profile (profile JSON, bundle config.json or SeccompProfile YAML)', required: true}),
  }

  static flags = {
    caps: sharedFlags.caps({exclusive: ['bundle']}),
    counts: sharedFlags.counts({exclusive: ['bundle']}),
    optimize: sharedFlags.optimize({exclusive: ['bundle']}),
    'allow-unknown': Flags.boolean({description: 'skip names that do not exist for the arch (as runc does) instead of failing', exclusive: ['bundle']}),
    verbose: Flags.boolean({char: 'v', description: 'print compile notes (skipped rules, instruction count) on stderr', default: false}),
    bundle: Flags.string({description: "write the profile into this OCI bundle's config.json instead of running a command"}),
    'dry-run': Flags.boolean({description: 'with --bundle: show what would change, write nothing', dependsOn: ['bundle']}),
    complain: Flags.boolean({description: 'deny nothing: let each call the profile would deny run, and report it (seccomp user notification)', exclusive: ['explain']}),
    explain: Flags.boolean({description: 'enforce the profile and report each denial (seccomp user notification)', exclusive: ['complain']}),
    listener: Flags.string({description: 'with --bundle and --complain/--explain: the socket of `seccomp-gen agent` that answers the container', helpValue: 'PATH', dependsOn: ['bundle']}),
    observe: Flags.string({description: 'with --complain/--explain: write the reported calls as an observation for build', helpValue: 'FILE'}),
    json: Flags.boolean({description: 'with --complain/--explain: the report as JSON lines on stderr'}),
  }

  async run(): Promise<void> {
    const {own, cmd} = splitAtCommand(Apply, this.argv)
    const {args, flags} = await this.parse(Apply, own)
    if (flags.bundle !== undefined) {
      if (cmd.length) throw new SeccompGenError('USAGE', '--bundle writes a bundle; it takes no CMD')
      const {applyToBundle} = await import('../enforce/bundle.js')
      const bundleMode = flags.complain ? 'complain' : flags.explain ? 'explain' : undefined
      if ((bundleMode === undefined) !== (flags.listener === undefined)) throw new SeccompGenError('USAGE', bundleMode ? `--bundle --${bundleMode} needs --listener PATH (the socket of seccomp-gen agent)` : '--listener needs --complain or --explain')
      if (flags.observe !== undefined || flags.json) throw new SeccompGenError('USAGE', `--${flags.observe !== undefined ? 'observe' : 'json'} is not for --bundle: the agent reports (seccomp-gen agent --observe-dir DIR, --json)`)
      const notify = bundleMode && flags.listener !== undefined ? {mode: bundleMode, listener: flags.listener} as const : undefined
      const r = await applyToBundle(args.profile, flags.bundle, {dryRun: flags['dry-run'], notify})
      if (r.diff) this.log(r.diff)
      this.logToStderr(r.summary)
      return
    }
    if (cmd.length === 0) throw new SeccompGenError('USAGE', 'no CMD given: seccomp-gen apply PROFILE [--] CMD [ARGS…] (or --bundle DIR)')
    // CMD first: a CMD that cannot run is the one line to say, before any warning
    const found = findCommand(cmd[0]!)
    if ('error' in found) this.error(found.error, {exit: found.exit})

    const mode = flags.complain ? 'complain' : flags.explain ? 'explain' : undefined
    if (!mode && (flags.observe !== undefined || flags.json)) throw new SeccompGenError('USAGE', `--${flags.observe !== undefined ? 'observe' : 'json'} needs --complain or --explain`)
    if (flags.observe !== undefined) checkOutput(flags.observe)

    const caps = parseCaps(flags.caps)
    const prep = prepareFilter(args.profile, {
      notify: mode !== undefined,
      caps,
      optimize: flags.optimize ?? false,
      allowUnknown: flags['allow-unknown'] ?? false,
      counts: flags.counts?.length ? countsFrom(flags.counts, nativeArchAbi()) : undefined,
    })
    // with --json every line apply itself writes on stderr is a JSON object (CMD's own are not)
    const warn = (w: string) => this.logToStderr(flags.json ? JSON.stringify({type: 'warning', message: w}) : `seccomp-gen: warning: ${w}`)
    for (const w of prep.warnings) warn(w)
    const closed = closedRulesWarning(prep.closedByCaps, caps)
    if (closed) warn(closed)
    if (flags.verbose) {
      this.logToStderr(`seccomp-gen: ${prep.instructions} BPF instructions for ${prep.arches.join(', ')}`)
      for (const n of prep.notes) this.logToStderr(`seccomp-gen: ${n}`)
    }
    const report = mode ? new DenialReport({format: flags.json ? 'json' : 'text', out: process.stderr, ruleArgs: ruleArgsOf(prep.profile)}) : undefined
    // A report nobody reads any more (`2>&1 | head -1`: EPIPE) must not end the supervision:
    // CMD's notified calls would then fail with ENOSYS. The lines are dropped, CMD is served
    // to its end, and apply exits with CMD's status.
    if (report) process.stderr.on('error', () => {})
    const r = await runUnderFilter(prep, found.path, cmd, mode && report ? {mode, report} : undefined)
    if (r.failure) this.error(r.failure.message, {exit: r.status})
    if (report) {
      const leftRunning = r.leftRunning
        ? `a process CMD started still holds the filter (a daemon, or an exited child not yet reaped), and apply no longer serves it: from now on the calls the profile denies fail there with ENOSYS (${mode === 'complain' ? 'not let through, not reported' : 'not reported'})`
        : undefined
      // JSON: the summary is the last line; text: the warning under the table, where it is seen
      if (leftRunning && flags.json) warn(leftRunning)
      process.stderr.write(report.summary(mode === 'complain' ? 'let through that the profile denies' : 'denied'))
      if (leftRunning && !flags.json) warn(leftRunning)
      if (flags.observe !== undefined) writeOutput(flags.observe, serializeObservation(report.toObservation(cmd)))
    }
    if (r.status !== 0) this.exit(r.status)
  }
}

/**
 * One line for the rules the capability set leaves closed: each syscall with the capabilities
 * that would open it, and the --caps value (this run's set plus the first of those) that would
 * open them all. --caps replaces the set, so the value repeats what the run already has.
 */
function closedRulesWarning(closed: ClosedRule[], caps: string[]): string | undefined {
  if (closed.length === 0) return undefined
  const alternatives = new Map<string, string[][]>()
  for (const r of closed) {
    for (const n of r.names) {
      const alts = alternatives.get(n) ?? []
      if (!alts.some((a) => a.join() === r.missing.join())) alts.push(r.missing)
      alternatives.set(n, alts)
    }
  }
  const wanted = new Set(caps)
  for (const alts of alternatives.values()) for (const c of alts[0]!) wanted.add(c)
  const list = [...alternatives].map(([n, alts]) => `${n} (${alts.map((a) => a.join('+')).join(' or ')})`).join(', ')
  return `denied in this run for want of a capability: ${list}; --caps ${[...wanted].join(',')} would allow ${alternatives.size === 1 ? 'it' : 'them'}`
}
