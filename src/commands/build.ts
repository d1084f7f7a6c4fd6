import {Args, Flags} from '@oclif/core'
import {SeccompGenCommand, sharedFlags} from '../command.js'
import {parseCaps} from '../enforce/caps.js'
import type {FileKind} from '../file-kind.js'
import {checkOutput, writeOutput} from '../output.js'
import {buildProfile, DEFAULT_ACTIONS, DEFAULT_RUNTIMES, type BuildResult} from '../build/pipeline.js'

export default class Build extends SeccompGenCommand {
  static override recordingKinds: FileKind[] = ['observation', 'strace-log']

  static summary = 'Build the minimal seccomp profile from recordings (observation files or strace logs).'

  static description = `Merges every INPUT (observation files from \`record\` and raw \`strace -f -o\` logs) as a union and
writes the profile that allows what was recorded plus what the rules in profiles/ add, each rule with
a comment saying why: default ERRNO(EPERM); ENOSYS for libc fallback probes (clone3, faccessat2, …);
exit/exit_group/rt_sigreturn/restart_syscall always; argument rules (--args); capability-gated
syscalls under includes.caps; the runtime's own post-filter syscalls (--runtime, default runc+crun
and the runtime a recording was made under (record --bundle), with no_new_privileges false, as
Docker and podman run); only the recorded ABIs (--arch adds).
Same inputs give byte-identical output. Output goes to FILE atomically, or to stdout.`

  static examples = [
    {command: '<%= config.bin %> <%= command.id %> -o app.json app.obs.json', description: 'Docker/podman profile from one recording.'},
    {command: '<%= config.bin %> <%= command.id %> --format oci --caps CAP_NET_BIND_SERVICE run1.obs.json run2.strace', description: 'Plain OCI linux.seccomp from two recordings, capability-gated rules resolved.'},
    {command: '<%= config.bin %> <%= command.id %> --runtime runc --no-new-privileges --args strict app.obs.json', description: 'Tighter: runc with NNP, exact prctl/ioctl value sets.'},
  ]

  static strict = false
  static enableJsonFlag = true

  static args = {
    input: Args.string({description: 'observation file or strace log (any number; - reads standard input)', required: true}),
  }

  static flags = {
    output: sharedFlags.output('the profile (default stdout)'),
    format: Flags.string({description: 'docker: Moby JSON (includes.caps, comments); oci: plain runtime-spec linux.seccomp', options: ['docker', 'oci'], default: 'docker'}),
    base: Flags.string({description: 'union the rules of an existing profile in'}),
    runtime: Flags.string({description: `runtime layer(s), comma-separated, or none (default ${DEFAULT_RUNTIMES.join(',')} and the runtime a recording names)`}),
    'no-new-privileges': Flags.boolean({description: 'the container runs with no_new_privileges (smaller runtime layer)', default: false}),
    args: Flags.string({description: 'argument rules: none, safe (default) or strict', options: ['none', 'safe', 'strict'], default: 'safe'}),
    'default-action': Flags.string({description: 'action for everything not allowed', options: Object.keys(DEFAULT_ACTIONS), default: 'errno'}),
    errno: Flags.string({description: 'errno of the errno default action (default EPERM)'}),
    arch: Flags.string({description: 'also list this architecture (repeatable)', multiple: true, multipleNonGreedy: true}),
    caps: sharedFlags.caps({summary: "--format oci: the container's capabilities, comma-separated (default: Docker's default set)."}),
    quiet: sharedFlags.quiet('summary'),
  }

  async run(): Promise<Omit<BuildResult, 'text' | 'profile' | 'oci'> & {output: string; profile?: string}> {
    const {argv, flags} = await this.parse(Build)
    const caps = flags.caps === undefined ? undefined : parseCaps(flags.caps)
    const output = flags.output === '-' ? undefined : flags.output // "-": stdout, as with no -o
    if (output) checkOutput(output)
    const r = await this.withStdin(argv as string[], async (inputs, shown) => {
      const built = await buildProfile({
        inputs,
        format: flags.format as 'docker' | 'oci',
        base: flags.base,
        runtime: flags.runtime,
        noNewPrivileges: flags['no-new-privileges'],
        args: flags.args as 'none' | 'safe' | 'strict',
        defaultAction: flags['default-action'],
        errno: flags.errno,
        arches: flags.arch ?? [],
        caps,
      })
      return {...built, inputs: built.inputs.map((i) => ({...i, file: shown(i.file)})), diagnostics: built.diagnostics.map(shown)}
    })
    if (output) writeOutput(output, r.text)
    else if (!this.jsonEnabled()) process.stdout.write(r.text)
    if (!this.jsonEnabled() && !flags.quiet) {
      for (const d of r.diagnostics) this.logToStderr(`seccomp-gen: ${d}`)
      const s = r.stats
      this.logToStderr(`seccomp-gen: ${r.format} profile: ${s.allowed} syscalls allowed (${s.observed} recorded) in ${s.rules} rules, ` +
        `${s.arches.join('+')}, args ${s.args}, runtime ${s.runtimes.join('+') || 'none'}${output ? ` -> ${output}` : ''}`)
    }
    // --json without -o: the profile travels inside the JSON as text (exact u64 values)
    return {output: output ?? '-', format: r.format, inputs: r.inputs, diagnostics: r.diagnostics, stats: r.stats,
      ...(output ? {} : {profile: r.text})}
  }
}
