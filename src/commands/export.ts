import {Args, Flags} from '@oclif/core'
import {prose, SeccompGenCommand, sharedFlags} from '../command.js'
import {SeccompGenError} from '../errors.js'
import {parseCaps} from '../enforce/caps.js'
import {countsFrom} from '../enforce/counts.js'
import {exportFilter} from '../enforce/export.js'
import {nativeArchAbi} from '../enforce/apply.js'

export default class Export extends SeccompGenCommand {
  static summary = 'Compile a profile with libseccomp: raw BPF to a file, or PFC text on stdout.'

  static description = prose`PROFILE is a profile in any format seccomp-gen reads (Docker/Moby or OCI JSON, a bundle's
config.json, a Kubernetes SeccompProfile). It is resolved for the capability set (--caps, default
Docker's) and this host's arch, then compiled exactly as apply loads it. --bpf FILE writes the
raw program (struct sock_filter[]; what \`bwrap --seccomp FD\` loads) atomically; --pfc prints
libseccomp's pseudo filter code. The instruction count goes to stderr (or in --json). Kernel
load flags (flags: LOG, SPEC_ALLOW) are not part of a BPF program: pass them to the loader yourself.`

  static examples = [
    {command: '<%= config.bin %> <%= command.id %> app.json --bpf app.bpf', description: 'Write raw BPF; then: bwrap --seccomp 3 … 3<app.bpf'},
    {command: '<%= config.bin %> <%= command.id %> app.json --pfc', description: 'Read the compiled filter as text.'},
  ]

  static enableJsonFlag = true

  static args = {
    profile: Args.string({description: 'the profile (profile JSON, bundle config.json or SeccompProfile YAML)', required: true}),
  }

  static flags = {
    bpf: Flags.string({description: 'write the raw BPF program to this file (atomic)', exclusive: ['pfc']}),
    pfc: Flags.boolean({description: "print libseccomp's pseudo filter code (PFC) on stdout", exclusive: ['bpf']}),
    caps: sharedFlags.caps(),
    'host-arch': Flags.string({description: 'compile for a host of this arch instead of this machine: its arch map entry (e.g. x86_64, aarch64)', helpValue: 'ARCH'}),
    counts: sharedFlags.counts(),
    optimize: sharedFlags.optimize(),
  }

  async run(): Promise<{instructions: number; arches: string[]; file?: string; notes: string[]; warnings: string[]; unknownNames: string[]; newerNames: string[]}> {
    const {args, flags} = await this.parse(Export)
    if (!flags.bpf && !flags.pfc) throw new SeccompGenError('USAGE', 'say what to export: --bpf FILE or --pfc')
    const r = exportFilter(args.profile, {
      caps: parseCaps(flags.caps),
      arch: flags['host-arch'],
      optimize: flags.optimize,
      counts: flags.counts?.length ? countsFrom(flags.counts, nativeArchAbi()) : undefined,
      bpfFile: flags.bpf,
    })
    if (!this.jsonEnabled()) {
      if (r.pfc !== undefined) process.stdout.write(r.pfc)
      for (const w of r.warnings) this.logToStderr(`seccomp-gen: warning: ${w}`)
      for (const n of r.notes) this.logToStderr(`seccomp-gen: ${n}`)
      this.logToStderr(`seccomp-gen: ${r.instructions} BPF instructions (${r.arches.join(', ')})${flags.bpf ? ` written to ${flags.bpf}` : ''}`)
    }
    return {instructions: r.instructions, arches: r.arches, ...(flags.bpf ? {file: flags.bpf} : {}), notes: r.notes, warnings: r.warnings, unknownNames: r.unknownNames, newerNames: r.newerNames}
  }
}
