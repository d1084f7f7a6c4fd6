import {Args, Command, Flags} from '@oclif/core'
import {describeError} from '../errors.js'
import {countsFrom} from '../enforce/counts.js'
import {findCommand, nativeArchAbi, parseCaps, prepareFilter, runUnderFilter} from '../enforce/apply.js'

export default class Apply extends Command {
  static summary = 'Run a command under a seccomp profile (libseccomp), or write the profile into an OCI bundle.'

  static description = `Pre-flight first, before anything runs: the profile is validated, resolved for the capability set
(--caps, default Docker's) and this host's arch, compiled by libseccomp, and rejected if CMD could
never start under it (execve denied), or if it names syscalls that do not exist for the arch.
Then CMD runs in a child process that loads the filter on its main thread with no_new_privs and
execs CMD at once: stdio, environment and signal dispositions as a shell would hand them over.
apply exits with CMD's status (128+signal for a signal death: 159 for SIGSYS from a kill action;
127 CMD not found, 126 not executable). SIGINT/SIGTERM/SIGHUP/SIGQUIT are forwarded to CMD.

With --bundle DIR the profile goes into DIR/config.json as linux.seccomp instead (includes/excludes
resolved against process.capabilities.bounding, arch map resolved to the host, Moby-only fields
dropped, atomic replace); --dry-run shows the change without writing.`

  static examples = [
    {command: '<%= config.bin %> <%= command.id %> app.json -- python3 -m http.server 8080', description: 'Run a server under its built profile.'},
    {command: '<%= config.bin %> <%= command.id %> app.json --caps CAP_SYS_ADMIN,CAP_NET_RAW -- ./app', description: 'Open the rules gated on these capabilities (includes.caps).'},
    {command: '<%= config.bin %> <%= command.id %> app.json --bundle ./bundle --dry-run', description: "Show what would change in an OCI bundle's config.json."},
  ]

  static strict = false

  static args = {
    profile: Args.string({description: 'profile (Docker/Moby JSON or OCI linux.seccomp)', required: true}),
  }

  static flags = {
    caps: Flags.string({description: 'capabilities the container has, comma-separated (default: Docker\'s default set)', exclusive: ['bundle']}),
    counts: Flags.string({description: 'observation file from record (repeat the flag for several): test the most frequent syscalls first (seccomp_syscall_priority)', multiple: true, exclusive: ['bundle']}),
    optimize: Flags.boolean({description: 'binary-tree syscall dispatch (SCMP_FLTATR_CTL_OPTIMIZE=2)', exclusive: ['bundle']}),
    'allow-unknown': Flags.boolean({description: 'skip names that do not exist for the arch (as runc does) instead of failing', exclusive: ['bundle']}),
    verbose: Flags.boolean({char: 'v', description: 'print compile notes (skipped rules, instruction count) on stderr', default: false}),
    bundle: Flags.string({description: "write the profile into this OCI bundle's config.json instead of running a command"}),
    'dry-run': Flags.boolean({description: 'with --bundle: show what would change, write nothing', dependsOn: ['bundle']}),
  }

  /**
   * Split the raw argv into our part (flags, PROFILE) and CMD: CMD starts after `--` or at the
   * second positional word, so CMD's own options (`ls -la`) are never taken for ours.
   */
  static splitArgv(raw: string[]): {own: string[]; cmd: string[]} {
    const valued = new Set<string>()
    for (const [name, f] of Object.entries(Apply.flags)) {
      if ((f as {type?: string}).type !== 'option') continue
      valued.add(`--${name}`)
      const ch = (f as {char?: string}).char
      if (ch) valued.add(`-${ch}`)
    }
    let positional = 0
    for (let i = 0; i < raw.length; i++) {
      const t = raw[i]!
      if (t === '--') return {own: raw.slice(0, i), cmd: raw.slice(i + 1)}
      if (t.startsWith('-') && t !== '-') {
        if (valued.has(t)) i++
        continue
      }
      positional++
      if (positional === 2) return {own: raw.slice(0, i), cmd: raw.slice(i)}
    }
    return {own: raw, cmd: []}
  }

  async run(): Promise<void> {
    const {own, cmd} = Apply.splitArgv(this.argv)
    const {args, flags} = await this.parse(Apply, own)
    try {
      if (flags.bundle !== undefined) {
        if (cmd.length) this.error('--bundle writes a bundle; it takes no CMD', {exit: 2})
        const {applyToBundle} = await import('../profile/bundle.js')
        const r = await applyToBundle(args.profile, flags.bundle, {dryRun: flags['dry-run']})
        if (r.diff) this.log(r.diff)
        this.logToStderr(r.summary)
        return
      }
      if (cmd.length === 0) this.error('no CMD given: seccomp-gen apply PROFILE [--] CMD [ARGS…] (or --bundle DIR)', {exit: 2})

      const prep = prepareFilter(args.profile, {
        caps: parseCaps(flags.caps),
        optimize: flags.optimize ?? false,
        allowUnknown: flags['allow-unknown'] ?? false,
        counts: flags.counts?.length ? countsFrom(flags.counts, nativeArchAbi()) : undefined,
      })
      for (const w of prep.warnings) this.logToStderr(`seccomp-gen: warning: ${w}`)
      if (flags.verbose) {
        this.logToStderr(`seccomp-gen: ${prep.instructions} BPF instructions for ${prep.arches.join(', ')}`)
        for (const n of prep.notes) this.logToStderr(`seccomp-gen: ${n}`)
      }
      const found = findCommand(cmd[0]!)
      if ('error' in found) this.error(found.error, {exit: found.exit})
      const r = await runUnderFilter(prep, found.path, cmd)
      if (r.failure) this.error(r.failure.message, {exit: r.status})
      if (r.status !== 0) this.exit(r.status)
    } catch (err) {
      if (err instanceof Error && 'oclif' in err) throw err
      const d = describeError(err)
      this.error(d.message, {exit: d.exit})
    }
  }
}
