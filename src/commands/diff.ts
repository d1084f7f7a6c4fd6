import {release} from 'node:os'
import {Args, Errors, Flags} from '@oclif/core'
import {prose, SeccompGenCommand, sharedFlags} from '../command.js'
import {parseCaps} from '../enforce/caps.js'
import {findArch} from '../arches.js'
import {describeError, SeccompGenError} from '../errors.js'
import {defaultCaps} from '../profile/data.js'
import {answerWords, caseWords, diffProfiles, type ArchDiff, type ProfileDiff} from '../profile/diff.js'
import {loadAnyProfile} from '../profile/load.js'

export default class Diff extends SeccompGenCommand {
  static summary = 'What two profiles do differently, per architecture, found by evaluating them.'

  static description = prose`A and B are profiles in any format seccomp-gen reads: Docker/Moby or plain OCI JSON, an OCI bundle's
config.json (its linux.seccomp), a Kubernetes SeccompProfile (YAML). Both are evaluated, not compared
as text: reordering, regrouping or renaming rules is no difference. For each architecture both
filters hold: "+" syscalls (and argument cases) B lets through and A does not, "-" the reverse, "~"
answered differently (another errno, kill instead of errno); argument rules are evaluated on the
boundary values of every comparison either profile makes, so a changed argument rule shows as a
concrete case. Then the default action, architectures only one lists, and capability gating: what
changes for a container granted (or denied) each capability either profile's includes/excludes
names, beyond the differences of the base set (--caps, default Docker's default set).
Exit 0 when equal, 1 when different, 2 on trouble (as diff(1)).`

  static examples = [
    {command: '<%= config.bin %> <%= command.id %> committed.json new.json', description: 'What the new profile allows that the committed one does not, and the reverse.'},
    {command: '<%= config.bin %> <%= command.id %> --json /usr/share/containers/seccomp.json app.json', description: 'Podman\'s default against a built profile, machine-readable.'},
    {command: '<%= config.bin %> <%= command.id %> app.json bundle/config.json', description: 'Did the bundle get the profile that was built?'},
  ]

  static enableJsonFlag = true

  static args = {
    a: Args.string({description: 'the first profile (profile JSON, bundle config.json or SeccompProfile YAML)', required: true}),
    b: Args.string({description: 'the second profile', required: true}),
  }

  static flags = {
    caps: sharedFlags.caps({summary: "The container's capabilities, comma-separated (default: Docker's default set): the base set of the comparison."}),
    'host-arch': Flags.string({summary: 'Host architecture the profiles are resolved for (archMap, includes.arches; default: this machine).', helpValue: 'ARCH'}),
  }

  /**
   * diff(1)'s exit codes: 0 equal, 1 different, 2 trouble. Every error (a file that cannot be
   * read or is not a profile, a usage error) exits 2, so trouble is never taken for "different".
   */
  override async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    if (err instanceof Errors.CLIError) return super.catch(err) // parse errors (2) and this.exit()
    const d = describeError(this.explainKind(err))
    return super.catch(new Errors.CLIError(d.message, {exit: 2, ...(this.jsonEnabled() ? {code: d.code} : {})}))
  }

  async run(): Promise<Record<string, unknown>> {
    const {args, flags} = await this.parse(Diff)
    const caps = flags.caps === undefined ? defaultCaps() : parseCaps(flags.caps)
    const host = flags['host-arch'] ?? process.arch
    if (!findArch(host)) throw new SeccompGenError('USAGE', `--host-arch: unknown architecture ${host}`)
    const [a, b] = await this.withStdin([args.a, args.b], (files, shown) => files.map((f) => ({...loadAnyProfile(f), file: shown(f)})))
    const d = diffProfiles(a.profile, b.profile, {host, caps, kernel: release()})
    if (!this.jsonEnabled()) this.log(diffText(d, a.file, b.file).trimEnd())
    if (!d.equal) process.exitCode = 1
    return {a: {file: a.file, format: a.format}, b: {file: b.file, format: b.format}, ...jsonSafe(d)}
  }
}

/** The difference for --json: argument values as hex strings ("0x5451", exact u64 like the observation file's). */
function jsonSafe(d: ProfileDiff): Record<string, unknown> {
  const groups = (g: ArchDiff[]) => g.map((x) => ({...x, syscalls: x.syscalls.map((n) => ({...n, cases: n.cases.map((c) => ({...c, args: c.args.map((a) => ({index: a.index, value: `0x${a.value.toString(16)}`}))}))}))}))
  return {...d, arches: groups(d.arches), caps: d.caps.map((c) => ({...c, arches: groups(c.arches)}))}
}

/** Shown argument cases per line; the rest are counted (--json lists them all). */
const SHOWN_CASES = 4

function archLines(groups: ArchDiff[], indent: string): string[] {
  const out: string[] = []
  for (const g of groups) {
    out.push(`${indent}${g.arches.join(' ')}:`)
    for (const n of g.syscalls) {
      // one line per change: the argument cases that get it, the first few of them shown
      const lines = new Map<string, string[]>()
      for (const c of n.cases) {
        const key = c.sign === '=' ? `= ${n.name}\u0000: ${answerWords(c.a)} in both` : `${c.sign} ${n.name}\u0000: ${answerWords(c.a)} -> ${answerWords(c.b)}`
        lines.set(key, [...(lines.get(key) ?? []), ...(c.args.length ? [caseWords(c.args)] : [])])
      }
      for (const [key, cases] of lines) {
        const more = cases.length > SHOWN_CASES ? `, and ${cases.length - SHOWN_CASES} more argument cases` : ''
        out.push(`${indent}${key.replace('\u0000', cases.length ? ` (${cases.slice(0, SHOWN_CASES).join(', ')}${more})` : '')}`)
      }
    }
  }
  return out
}

/** The difference as text: a header, then one line per syscall or argument case. */
function diffText(d: ProfileDiff, fa: string, fb: string): string {
  if (d.equal) return `${fa} and ${fb}: no difference (evaluated for ${d.context.host})\n`
  const out = [`--- ${fa}`, `+++ ${fb}`]
  if (d.defaults) out.push(`default action: ${answerWords(d.defaults.a)} -> ${answerWords(d.defaults.b)}`)
  if (d.flags) out.push(`flags: [${d.flags.a.join(', ')}] -> [${d.flags.b.join(', ')}]`)
  if (d.archesOnlyA.length) out.push(`architectures only in ${fa}: ${d.archesOnlyA.join(' ')}`)
  if (d.archesOnlyB.length) out.push(`architectures only in ${fb}: ${d.archesOnlyB.join(' ')}`)
  out.push(...archLines(d.arches, ''))
  for (const c of d.caps) {
    out.push(`${c.granted ? 'with' : 'without'} ${c.cap}:`)
    out.push(...archLines(c.arches, '  '))
  }
  return out.join('\n') + '\n'
}
