import {Args, Flags} from '@oclif/core'
import {prose, SeccompGenCommand} from '../command.js'
import {wrongKind} from '../file-kind.js'
import type {Observation} from '../trace/observation.js'
import {validateProfileFile, type ValidationReport} from '../profile/validate.js'
import {libseccompSyscalls} from '../../native/libseccomp.js'

export default class Validate extends SeccompGenCommand {
  static summary = 'Check seccomp profiles (Docker/Moby or OCI) against the schema and for known mistakes.'

  static description = prose`Errors (the profile is invalid; exit 1) come from the project's JSON schemas, each with a JSON
pointer. Warnings do not fail (unless --strict): default action ALLOW, exit_group not allowed, clone3
answered with something else than ENOSYS, names libseccomp does not know, rules equal to the default
action, two comparisons on one argument, the Moby-only singular "name", and with --observation,
listed architectures the recordings never used. With --for containerd, also each Moby-only field
containerd drops silently (includes, excludes, archMap, comment), above all a capability-gated
ALLOW rule that containerd opens to every container.`

  static examples = [
    {command: '<%= config.bin %> <%= command.id %> app.json', description: 'Check one profile.'},
    {command: '<%= config.bin %> <%= command.id %> --json --strict profiles/*.json', description: 'CI gate: machine-readable, warnings fail.'},
    {command: '<%= config.bin %> <%= command.id %> --for containerd app.json', description: 'Will containerd (ctr, Kubernetes on containerd) read it as written?'},
  ]

  static strict = false
  static enableJsonFlag = true

  static args = {
    profile: Args.string({description: 'profile file (any number; - reads standard input)', required: true}),
  }

  static flags = {
    observation: Flags.string({description: 'observation file: warn about listed architectures it never saw (repeatable)', multiple: true, multipleNonGreedy: true}),
    strict: Flags.boolean({description: 'exit 1 on warnings too', default: false}),
    for: Flags.string({description: 'the consumer: containerd (warn on the Moby-only fields it drops silently)', options: ['containerd']}),
  }

  async run(): Promise<{valid: boolean; profiles: ValidationReport[]}> {
    const {argv, flags} = await this.parse(Validate)
    let observations: Observation[] = []
    if (flags.observation?.length) {
      const {readObservation} = await import('../trace/observation-io.js')
      observations = flags.observation.map((f) => readObservation(f))
    }
    const profiles = await this.withStdin(argv as string[], (files, shown) => files.map((f) => {
      const report = checkKind(validateProfileFile(f, {observations, syscalls: libseccompSyscalls, ...(flags.for ? {for: flags.for as 'containerd'} : {})}))
      return {...report, file: shown(report.file)}
    }))
    const valid = profiles.every((p) => p.valid && (!flags.strict || p.warnings.length === 0))
    if (!this.jsonEnabled()) {
      for (const p of profiles) {
        for (const e of p.errors) this.logToStderr(`${p.file}: error ${e.pointer || '/'}: ${e.message}`)
        for (const w of p.warnings) this.logToStderr(`${p.file}: warning ${w.code} ${w.pointer || '/'}: ${w.message}`)
        this.log(`${p.file}: ${p.valid ? `valid ${p.format} profile` : 'invalid'}${p.warnings.length ? `, ${p.warnings.length} warning(s)` : ''}`)
      }
    }
    if (!valid) process.exitCode = 1
    return {valid, profiles}
  }
}

/** An invalid report for a recording (not a profile at all) says so instead of listing schema errors. */
function checkKind(report: ValidationReport): ValidationReport {
  const mismatch = report.valid ? undefined : wrongKind(report.file, ['profile', 'bundle-config'])
  return mismatch ? {...report, errors: [{pointer: '', message: `this file ${mismatch}`}]} : report
}
