import {basename, extname} from 'node:path'
import {Args, Flags} from '@oclif/core'
import {prose, SeccompGenCommand, sharedFlags} from '../command.js'
import {SeccompGenError} from '../errors.js'
import {parseCaps} from '../enforce/caps.js'
import type {FileKind} from '../file-kind.js'
import {checkOutput, writeOutput} from '../output.js'
import {k8sNameProblem, KUBELET_SECCOMP_ROOT, localhostProfiles, securityContext} from '../profile/k8s.js'
import {type WidenMode, WIDEN_MODES} from '../build/widen.js'
import {BUILD_FORMATS, buildProfile, CONSUMERS, DEFAULT_ACTIONS, DEFAULT_RUNTIMES, type BuildFormat, type BuildResult, type Consumer} from '../build/pipeline.js'

/** What --format k8s tells a pod spec (also in --json). */
interface KubernetesUse {
  name: string
  namespace?: string
  /** the pod's securityContext with the operator, and without it (the node file copied by hand) */
  securityContext: {operator: ReturnType<typeof securityContext>; node: ReturnType<typeof securityContext>}
  /** where the node file goes without the operator */
  nodePath: string
  nodeJson?: string
}

export default class Build extends SeccompGenCommand {
  static override recordingKinds: FileKind[] = ['observation', 'strace-log']

  static summary = 'Build the minimal seccomp profile from recordings (observation files or strace logs).'

  static description = prose`Merges every INPUT (observation files from \`record\` and raw \`strace -f -o\` logs) as a union and
writes the profile that allows what was recorded plus what the rules in profiles/ add, each rule with
a comment saying why: default ERRNO(EPERM); ENOSYS for libc fallback probes (clone3, faccessat2, …);
exit/exit_group/rt_sigreturn/restart_syscall always; argument rules (--args); capability-gated
syscalls under includes.caps; the runtime's own post-filter syscalls (--runtime, default runc+crun
and the runtime a recording was made under (record --bundle), with no_new_privileges false, as
Docker and podman run); only the recorded ABIs (--arch adds).

--format k8s writes a SeccompProfile object of the security-profiles-operator (YAML, capabilities
resolved: the CRD has no includes); --node-json FILE also writes the profile file for the nodes
of a cluster without the operator (Moby JSON, which CRI-O resolves per container, or with
--for containerd the resolved plain JSON). --for containerd resolves capabilities as --format oci
does: containerd drops includes/excludes silently and would open capability-gated rules to all.
Same inputs give byte-identical output. Output goes to FILE atomically, or to stdout.`

  static examples = [
    {command: '<%= config.bin %> <%= command.id %> -o app.json app.obs.json', description: 'Docker/podman profile from one recording.'},
    {command: '<%= config.bin %> <%= command.id %> --format oci --caps CAP_NET_BIND_SERVICE run1.obs.json run2.strace', description: 'Plain OCI linux.seccomp from two recordings, capability-gated rules resolved.'},
    {command: '<%= config.bin %> <%= command.id %> --runtime runc --no-new-privileges --args strict app.obs.json', description: 'Tighter: runc with NNP, exact prctl/ioctl value sets.'},
    {command: '<%= config.bin %> <%= command.id %> --for containerd -o app.json app.obs.json', description: 'For ctr/containerd: plain OCI, capability-gated rules resolved for the default capabilities.'},
    {command: '<%= config.bin %> <%= command.id %> --format k8s --for containerd -o app.yaml --node-json app.json app.obs.json', description: 'Kubernetes on containerd nodes: SeccompProfile "app" for the operator, app.json for /var/lib/kubelet/seccomp/ without it.'},
    {command: '<%= config.bin %> <%= command.id %> --widen imports -o app.json app.obs.json', description: "Also allow what the recorded programs' libc imports can reach (an input the recording did not try)."},
    {command: '<%= config.bin %> <%= command.id %> --default-action log -o app-log.json app.obs.json', description: 'Log instead of deny what the recording did not make; seccomp-gen explain reads what the kernel logged.'},
  ]

  static strict = false
  static enableJsonFlag = true

  static args = {
    input: Args.string({description: 'observation file or strace log (any number; - reads standard input)', required: true}),
  }

  static flags = {
    output: sharedFlags.output('the profile (default stdout)'),
    format: Flags.string({description: 'docker (default; --for containerd: oci): Moby JSON (includes.caps, comments); oci: plain runtime-spec linux.seccomp; k8s: SeccompProfile YAML of the security-profiles-operator', options: BUILD_FORMATS}),
    for: Flags.string({description: 'the consumer of the profile: containerd reads plain OCI only (capabilities resolved, as --format oci)', options: [...CONSUMERS]}),
    name: Flags.string({description: "--format k8s: the SeccompProfile's name (default: the -o FILE's name without its extension)"}),
    namespace: Flags.string({description: '--format k8s: metadata.namespace, for security-profiles-operator releases before 0.9 (namespaced SeccompProfile)'}),
    'node-json': Flags.string({description: `--format k8s: also write the profile file for ${KUBELET_SECCOMP_ROOT}/NAME.json on nodes of a cluster without the operator`, helpValue: 'FILE'}),
    base: Flags.string({description: 'union the rules of an existing profile in'}),
    runtime: Flags.string({description: `runtime layer(s), comma-separated, or none (default ${DEFAULT_RUNTIMES.join(',')} and the runtime a recording names)`}),
    'no-new-privileges': Flags.boolean({description: 'the container runs with no_new_privileges (smaller runtime layer)', default: false}),
    args: Flags.string({description: 'argument rules: none, safe (default) or strict', options: ['none', 'safe', 'strict'], default: 'safe'}),
    'default-action': Flags.string({description: 'action for everything not allowed', options: Object.keys(DEFAULT_ACTIONS), default: 'errno'}),
    errno: Flags.string({description: 'errno of the errno default action (default EPERM)'}),
    arch: Flags.string({description: 'also list this architecture (repeatable)', multiple: true, multipleNonGreedy: true}),
    caps: sharedFlags.caps({summary: "--format oci/k8s, --for containerd: the container's capabilities, comma-separated (default: Docker's default set)."}),
    widen: Flags.string({description: "imports: also allow what the recorded programs' imported libc functions can reach (never a risky class; interpreters apart); all: interpreters too", options: WIDEN_MODES, default: 'none'}),
    quiet: sharedFlags.quiet('summary'),
  }

  async run(): Promise<Omit<BuildResult, 'text' | 'profile' | 'oci' | 'nodeJson'> & {output: string; profile?: string; kubernetes?: KubernetesUse}> {
    const {argv, flags} = await this.parse(Build)
    const caps = flags.caps === undefined ? undefined : parseCaps(flags.caps)
    const output = flags.output === '-' ? undefined : flags.output // "-": stdout, as with no -o
    const out = output ? checkOutput(output) : undefined
    const nodeJson = flags['node-json']
    if (nodeJson !== undefined && flags.format !== 'k8s') throw new SeccompGenError('USAGE', '--node-json only applies to --format k8s')
    const node = nodeJson && nodeJson !== '-' ? checkOutput(nodeJson) : undefined
    // the same file (through a link too) would keep only the second; a device such as /dev/null
    // takes both, as with shell redirection
    if (nodeJson === '-' || (node?.how === 'replace' && out?.how === 'replace' && node.path === out.path)) {
      throw new SeccompGenError('USAGE', '--node-json needs a file of its own (not stdout, not the -o FILE)')
    }
    // a device or descriptor (/dev/stdout, /dev/null) names no object: only a file's name does
    const name = flags.format === 'k8s' ? flags.name ?? nameFromOutput(out?.how === 'replace' ? output : undefined) : flags.name
    const r = await this.withStdin(argv as string[], async (inputs, shown) => {
      const built = await buildProfile({
        inputs,
        format: flags.format as BuildFormat | undefined,
        for: flags.for as Consumer | undefined,
        name,
        namespace: flags.namespace,
        base: flags.base,
        runtime: flags.runtime,
        noNewPrivileges: flags['no-new-privileges'],
        args: flags.args as 'none' | 'safe' | 'strict',
        defaultAction: flags['default-action'],
        errno: flags.errno,
        arches: flags.arch ?? [],
        caps,
        widen: flags.widen as WidenMode,
      })
      return {...built, inputs: built.inputs.map((i) => ({...i, file: shown(i.file)})), diagnostics: built.diagnostics.map(shown)}
    })
    if (output) writeOutput(output, r.text)
    else if (!this.jsonEnabled()) process.stdout.write(r.text)
    if (nodeJson && r.nodeJson) writeOutput(nodeJson, r.nodeJson)
    const kubernetes = r.format === 'k8s' ? kubernetesUse(name!, flags.namespace, nodeJson) : undefined
    if (!this.jsonEnabled() && !flags.quiet) {
      for (const d of r.diagnostics) this.logToStderr(`seccomp-gen: ${d}`)
      const s = r.stats
      this.logToStderr(`seccomp-gen: ${r.format} profile${flags.for ? ` for ${flags.for}` : ''}: ${s.allowed} syscalls allowed (${s.observed} recorded) in ${s.rules} rules, ` +
        `${s.arches.join('+')}, args ${s.args}, runtime ${s.runtimes.join('+') || 'none'}${r.widen ? `, ${r.widen.line}` : ''}${output ? ` -> ${output}` : ''}`)
      if (kubernetes) {
        const op = kubernetes.securityContext.operator.seccompProfile.localhostProfile
        this.logToStderr(`seccomp-gen: pod securityContext.seccompProfile: {type: Localhost, localhostProfile: ${op}} with the operator` +
          (nodeJson ? `; without it, ${nodeJson} goes to ${kubernetes.nodePath} on every node: localhostProfile: ${kubernetes.securityContext.node.seccompProfile.localhostProfile}` : ''))
      }
    }
    // --json without -o: the profile travels inside the JSON as text (exact u64 values)
    return {output: output ?? '-', format: r.format, inputs: r.inputs, diagnostics: r.diagnostics, stats: r.stats,
      ...(r.widen ? {widen: r.widen} : {}),
      ...(output ? {} : {profile: r.text}), ...(kubernetes ? {kubernetes} : {})}
  }
}

/** --format k8s without --name: the output file's name ("app.yaml" -> "app"); none on stdout. */
function nameFromOutput(output: string | undefined): string | undefined {
  if (!output) return undefined
  const stem = basename(output, extname(output))
  if (k8sNameProblem({name: stem})) {
    throw new SeccompGenError('USAGE', `-o ${output}: ${JSON.stringify(stem)} is not a Kubernetes object name (lower-case letters, digits, '-' and '.'); give --name`)
  }
  return stem
}

function kubernetesUse(name: string, namespace: string | undefined, nodeJson: string | undefined): KubernetesUse {
  const paths = localhostProfiles({name, ...(namespace ? {namespace} : {})})
  return {
    name,
    ...(namespace ? {namespace} : {}),
    securityContext: {operator: securityContext(paths.operator), node: securityContext(paths.node)},
    nodePath: `${KUBELET_SECCOMP_ROOT}/${paths.node}`,
    ...(nodeJson ? {nodeJson} : {}),
  }
}
