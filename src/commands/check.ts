import {Args, Errors, Flags} from '@oclif/core'
import {prose, SeccompGenCommand, sharedFlags} from '../command.js'
import {parseCaps} from '../enforce/caps.js'
import {describeError} from '../errors.js'
import type {FileKind} from '../file-kind.js'
import {checkRecordings, type CheckReport} from '../build/check.js'
import {defaultCaps} from '../profile/data.js'
import {riskyClasses, type Score} from '../profile/score.js'
import {normalizeCap} from '../profile/resolve.js'

export default class Check extends SeccompGenCommand {
  static override recordingKinds: FileKind[] = ['observation', 'strace-log']

  static summary = 'CI gate: does the profile let every recorded call through?'

  static description = prose`PROFILE is a profile in any format seccomp-gen reads (Docker/Moby or OCI JSON, a bundle's
config.json, a Kubernetes SeccompProfile); INPUTs are observation files from \`record\` or strace logs.
Each recorded call is evaluated for the ABI it was made on, with the recording's arch and kernel and
the container's capabilities (--caps, default Docker's default set). The calls the profile would not
let through are listed per ABI: name, the recorded argument values that are denied, the answer and
the rule (or default action) that gives it. Exit 1 when there is one, 0 when every call passes, 2 on
trouble (a file that cannot be read, is not a profile or not a recording).

Passing, with a note: an ENOSYS fallback probe (clone3, faccessat2, …) answered ENOSYS, and a
syscall whose every recorded call failed with the very errno the profile answers.

--score adds the profile beside Docker's default (shipped in profiles/vendor/): names each lets
through on the host arch and the risky classes (as validate knows them) each allows.`

  static examples = [
    {command: '<%= config.bin %> <%= command.id %> seccomp.json app.obs.json', description: 'Fail the build when the program now needs more than the committed profile.'},
    {command: '<%= config.bin %> <%= command.id %> --json seccomp.json run1.obs.json run2.strace', description: 'The same for several recordings, machine-readable.'},
    {command: '<%= config.bin %> <%= command.id %> --score app.json app.obs.json', description: 'Also compare the profile with Docker\'s default.'},
  ]

  static usage = ['<%= command.id %> PROFILE INPUT… [--json] [--score] [--caps CAP,…]']

  static strict = false
  static enableJsonFlag = true

  static args = {
    profile: Args.string({description: 'the profile (profile JSON, bundle config.json or SeccompProfile YAML)', required: true}),
    input: Args.string({description: 'observation file or strace log (any number; - reads standard input)', required: true}),
  }

  static flags = {
    caps: sharedFlags.caps(),
    score: Flags.boolean({summary: "Also compare the profile with Docker's default: names allowed, risky classes allowed.", default: false}),
  }

  /** 0 pass, 1 a recorded call is denied, 2 trouble: an error never reads as "denied". */
  override async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    if (err instanceof Errors.CLIError) return super.catch(err) // parse errors (2) and this.exit()
    const d = describeError(this.explainKind(err))
    return super.catch(new Errors.CLIError(d.message, {exit: 2, ...(this.jsonEnabled() ? {code: d.code} : {})}))
  }

  async run(): Promise<CheckReport> {
    const {argv, flags} = await this.parse(Check)
    const [profile, ...inputs] = argv as string[]
    const caps = flags.caps === undefined ? undefined : parseCaps(flags.caps)
    const r = await this.withStdin([profile, ...inputs], async (files, shown) => {
      const rep = await checkRecordings({profile: files[0], inputs: files.slice(1), caps, score: flags.score})
      return {...rep, profile: {...rep.profile, file: shown(rep.profile.file)}, inputs: rep.inputs.map((i) => ({...i, file: shown(i.file)})), diagnostics: rep.diagnostics.map(shown)}
    })
    if (!this.jsonEnabled()) {
      for (const d of r.diagnostics) this.logToStderr(`seccomp-gen: ${d}`)
      this.log(checkText(r).trimEnd())
    }
    if (!r.passed) process.exitCode = 1
    return r
  }
}

/** The report as text: per ABI the denied calls, then the verdict (and the score). */
function checkText(r: CheckReport): string {
  const out: string[] = []
  let denied = 0
  for (const a of r.abis) {
    denied += a.denied.length
    out.push(a.denied.length
      ? `${a.abi}: ${a.denied.length} of ${a.syscalls} recorded syscall${a.syscalls === 1 ? '' : 's'} not let through`
      : a.syscalls === 1 ? `${a.abi}: the one recorded syscall passes` : `${a.abi}: all ${a.syscalls} recorded syscalls pass`)
    for (const d of a.denied) {
      const by = d.by === 'architecture not in the filter' ? ''
        : ` by ${typeof d.by === 'string' ? 'the default action' : `rule ${d.by.pointer}${d.by.comment ? ` (${d.by.comment.length > 60 ? `${d.by.comment.slice(0, 57)}...` : d.by.comment})` : ''}`}`
      const recorded = `recorded x${d.count}${d.args.length ? ' (all arguments)' : ''}`
      const errs = d.recordedErrors ? `, failing: ${Object.entries(d.recordedErrors).map(([e, n]) => `${e} x${n}`).join(', ')}` : ''
      const unrec = d.unrecordedArgs ? `; arg${d.unrecordedArgs.join(',arg')} not recorded: denied for some values` : ''
      out.push(`  ${d.name}${d.args.length ? ` ${d.args.join(', ')}` : ''} -> ${d.answer}${by}; ${recorded}${errs}${unrec}`)
    }
    for (const n of a.notes) out.push(`  note: ${n.name} -> ${n.answer} passes: ${n.why}`)
  }
  out.push(r.passed
    ? `${r.profile.file}: every recorded call passes`
    : `${r.profile.file}: ${denied} recorded syscall${denied === 1 ? '' : 's'} not let through`)
  if (r.score) out.push(...scoreText(r.score))
  return out.join('\n') + '\n'
}

function scoreText(s: Score): string[] {
  const caps = [...s.caps].sort().join() === defaultCaps().map(normalizeCap).sort().join() ? "Docker's default capabilities" : `caps ${s.caps.length ? s.caps.join(',') : 'none'}`
  const out = [`score against Docker's default (${s.arch}, ${caps}):`]
  const cond = (n: number) => (n ? ` (${n} only with some arguments)` : '')
  out.push(`  names allowed: ${s.profile.allowed}${cond(s.profile.conditional)}; Docker's default: ${s.reference.allowed}${cond(s.reference.conditional)}`)
  out.push(`  allowed here and not by Docker's default: ${s.onlyProfile.length ? s.onlyProfile.join(' ') : 'none'}; allowed by Docker's default only: ${s.onlyReference}`)
  out.push('  risky classes allowed (here | Docker\'s default):')
  for (const c of riskyClasses()) {
    const mine = s.profile.risky[c] ?? []
    const ref = s.reference.risky[c] ?? []
    if (!mine.length && !ref.length) continue
    out.push(`    ${c}: ${mine.length ? mine.join(' ') : '-'} | ${ref.length ? ref.join(' ') : '-'}`)
  }
  return out
}
