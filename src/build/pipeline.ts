/**
 * buildProfile: the library behind `seccomp-gen build`. Reads every input (observation files
 * and raw strace logs, told apart by their first bytes), merges them as a union, synthesizes
 * the profile (profile/synthesize.ts) and renders it (profile/render.ts) as Docker/Moby JSON or plain OCI,
 * or as a Kubernetes SeccompProfile (profile/k8s.ts). Writes nothing itself: the command writes
 * the returned text atomically or to stdout.
 */
import {SeccompGenError} from '../errors.js'
import type {Observation} from '../trace/observation.js'
import {looksLikeObservation, mergeObservations, readObservation} from '../trace/observation-io.js'
import {observeFile} from '../trace/observe.js'
import {libseccompSyscalls} from '../../native/libseccomp.js'
import {findArch} from '../arches.js'
import {readHead} from '../fsutil.js'
import {elf32Abi, KEEP_ABI_LINES, unannouncedAbiError} from '../unannounced-abi.js'
import {type ArgsLevel, ARGS_LEVELS, defaultCaps} from '../profile/data.js'
import {errnoNumber} from '../errno.js'
import {listRuntimeLayers, loadRuntimeLayer, type RuntimeLayer} from '../profile/layers.js'
import {loadProfile} from '../profile/load.js'
import {renderDocker, renderOci} from '../profile/render.js'
import {k8sNameProblem, renderK8s} from '../profile/k8s.js'
import {normalizeCap, toOci} from '../profile/resolve.js'
import {synthesize} from '../profile/synthesize.js'
import {type WidenMode, WIDEN_MODES, type WidenSummary, widenImports, widenSummary} from './widen.js'
import type {DockerProfile, OciSeccomp, SeccompAction} from '../profile/types.js'

export const DEFAULT_ACTIONS: Record<string, SeccompAction> = {
  errno: 'SCMP_ACT_ERRNO',
  'kill-process': 'SCMP_ACT_KILL_PROCESS',
  'kill-thread': 'SCMP_ACT_KILL_THREAD',
  trap: 'SCMP_ACT_TRAP',
  log: 'SCMP_ACT_LOG',
}

/** The runtimes Docker and podman drive: the default layer is their union, NNP false. */
export const DEFAULT_RUNTIMES = ['runc', 'crun']

export type BuildFormat = 'docker' | 'oci' | 'k8s'
export const BUILD_FORMATS: BuildFormat[] = ['docker', 'oci', 'k8s']

/** Consumers that read a profile their own way (--for): containerd reads plain OCI only. */
export const CONSUMERS = ['containerd'] as const
export type Consumer = typeof CONSUMERS[number]

export interface BuildOptions {
  inputs: string[]
  /** default docker, or oci with `for` containerd */
  format?: BuildFormat
  /** containerd: capabilities resolved as for --format oci (it drops includes/excludes silently) */
  for?: Consumer
  /** --format k8s: metadata.name and (namespaced SPO releases only) metadata.namespace */
  name?: string
  namespace?: string
  base?: string
  /** comma-separated runtime names, or 'none'; default runc,crun and the runtimes the observations name */
  runtime?: string
  noNewPrivileges?: boolean
  args?: ArgsLevel
  defaultAction?: string
  errno?: string
  arches?: string[]
  /** for --format oci/k8s: the container's capabilities (default: Docker's default set) */
  caps?: string[]
  /** for --format oci/k8s: the host arch to resolve to (default: this machine) */
  hostArch?: string
  /** imports: add what the exec'd programs' imports can reach, interpreters apart; all: them too (build/widen.ts); default none */
  widen?: WidenMode
}

export interface InputSummary {file: string; kind: 'observation' | 'strace'; syscalls: number; calls: number; unparsed: number}

export interface BuildResult {
  text: string
  format: BuildFormat
  profile: DockerProfile
  oci?: OciSeccomp
  /**
   * --format k8s: the profile file for the nodes of a cluster without the operator: Moby JSON
   * (CRI-O resolves includes.caps per container), or with --for containerd the resolved plain JSON
   */
  nodeJson?: string
  inputs: InputSummary[]
  diagnostics: string[]
  stats: {observed: number; allowed: number; rules: number; arches: string[]; runtimes: string[]; args: ArgsLevel}
  /** --widen imports: what was read and added */
  widen?: WidenSummary
}

const usage = (msg: string) => new SeccompGenError('USAGE', msg)

/** Check flags before reading any input (so a 1 GB log is not parsed for a typo). */
function checkBuildOptions(o: BuildOptions): {action: SeccompAction; errno: number; runtimes: RuntimeLayer[]; args: ArgsLevel; format: BuildFormat} {
  if (!o.inputs.length) throw usage('no INPUT given: pass observation files from `record` or strace logs')
  if (o.for !== undefined && !CONSUMERS.includes(o.for)) throw usage(`unknown --for ${o.for as string} (${CONSUMERS.join(', ')})`)
  const format = o.format ?? (o.for === 'containerd' ? 'oci' : 'docker')
  if (!BUILD_FORMATS.includes(format)) throw usage(`unknown format ${format as string} (${BUILD_FORMATS.join(', ')})`)
  if (format === 'docker' && o.for === 'containerd') throw usage('--for containerd contradicts --format docker: containerd drops includes/excludes silently, so capabilities must be resolved (--format oci or k8s)')
  if (format !== 'k8s' && (o.name !== undefined || o.namespace !== undefined)) throw usage(`--${o.name !== undefined ? 'name' : 'namespace'} only applies to --format k8s`)
  if (format === 'k8s') {
    if (o.name === undefined) throw usage('--format k8s needs --name (the SeccompProfile\'s metadata.name; with -o FILE it defaults to the file\'s name)')
    const problem = k8sNameProblem({name: o.name, namespace: o.namespace})
    if (problem) throw usage(problem)
  }
  const args = o.args ?? 'safe'
  if (!ARGS_LEVELS.includes(args)) throw usage(`unknown --args level ${args as string} (${ARGS_LEVELS.join(', ')})`)
  const actName = o.defaultAction ?? 'errno'
  const action = DEFAULT_ACTIONS[actName]
  if (!action) throw usage(`unknown --default-action ${actName} (${Object.keys(DEFAULT_ACTIONS).join(', ')})`)
  if (o.errno !== undefined && action !== 'SCMP_ACT_ERRNO') throw usage(`--errno ${o.errno} contradicts --default-action ${actName}: only the errno action returns an errno`)
  const errno = o.errno === undefined ? 1 : errnoNumber(o.errno)
  if (errno === undefined || errno <= 0 || errno > 4095) throw usage(`unknown errno ${o.errno} (a name like EPERM or ENOSYS, or a number 1-4095)`)
  if (format === 'k8s' && errno !== 1) throw usage(`--errno ${o.errno} cannot be said in a SeccompProfile (the CRD has no defaultErrnoRet: its default errno is EPERM)`)
  if (o.caps !== undefined && format === 'docker') throw usage('--caps only applies to --format oci or k8s (a Docker-format profile keeps includes.caps for the runtime to resolve)')
  if (o.hostArch !== undefined && !findArch(o.hostArch)) throw usage(`unknown architecture ${o.hostArch}`)
  const rt = (o.runtime ?? DEFAULT_RUNTIMES.join(',')).split(',').map((s) => s.trim()).filter(Boolean)
  if (!rt.length) throw usage(`--runtime is empty: name the runtime layers (e.g. ${DEFAULT_RUNTIMES.join(',')}) or none`)
  if (rt.includes('none') && rt.length > 1) throw usage('--runtime none cannot be combined with other runtimes')
  if (rt.includes('none') && o.noNewPrivileges) throw usage('--no-new-privileges only selects a runtime layer; it contradicts --runtime none')
  const runtimes = rt.includes('none') ? [] : rt.map(loadRuntimeLayer)
  for (const a of o.arches ?? []) if (!findArch(a)) throw usage(`unknown architecture ${a}`)
  return {action, errno, runtimes, args, format}
}

/** Read one input: an observation file or a raw strace log. */
export async function readInput(path: string): Promise<{observation: Observation; summary: InputSummary; diagnostics: string[]; abiLines?: number}> {
  const head = readHead(path, 4096, 'input')
  if (head.length === 0) throw new SeccompGenError('OBSERVATION_INVALID', 'empty input file', {file: path})
  const count = (o: Observation) => {
    let s = 0
    let c = 0
    for (const a of Object.values(o.abis)) for (const x of Object.values(a?.syscalls ?? {})) { s++; c += x.count }
    return {s, c}
  }
  if (looksLikeObservation(head)) {
    const observation = readObservation(path)
    const {s, c} = count(observation)
    return {observation, summary: {file: path, kind: 'observation', syscalls: s, calls: c, unparsed: observation.stats.unparsed}, diagnostics: []}
  }
  const {observation, diagnostics, abiLines} = await observeFile(path)
  const {s, c} = count(observation)
  const notes = diagnostics.slice(0, 3).map((d) => `${path}:${d.line}: ${d.code} ${JSON.stringify(d.text.slice(0, 80))}`)
  if (diagnostics.length > 3) notes.push(`${path}: ${diagnostics.length - 3} more trace diagnostics`)
  if (c === 0) throw new SeccompGenError('OBSERVATION_INVALID', 'no strace syscall lines found: not an observation file nor an strace log', {file: path})
  return {observation, summary: {file: path, kind: 'strace', syscalls: s, calls: c, unparsed: observation.stats.unparsed}, diagnostics: notes, abiLines}
}

/**
 * A raw log with no strace ABI lines whose calls all read as x86_64: refuse it when it execs a
 * 32-bit ELF (read on this host), unless --arch lists that ABI; say so when an exec'd file
 * cannot be read here to tell. (Names only i386 has are caught by synthesis, rule 8.) `check`
 * asks too, without --arch (`arches` undefined): its calls would be judged as x86_64 ones.
 */
export function checkUnannouncedAbi(file: string, obs: Observation, abiLines: number | undefined, arches?: string[]): string[] {
  const abis = Object.keys(obs.abis)
  if (abiLines !== 0 || abis.length !== 1 || abis[0] !== 'x86_64') return []
  const listed = new Set((arches ?? []).map((a) => findArch(a)?.abi))
  const unread: string[] = []
  for (const path of obs.execs) {
    const abi = elf32Abi(path)
    if (abi === undefined) unread.push(path)
    else if (abi !== null && !listed.has(abi)) {
      throw unannouncedAbiError(`${path} is an ELF32 ${abi === 'x86' ? 'i386' : 'x32'} program (its header read on this host)`, abi, file, arches !== undefined)
    }
  }
  if (!unread.length) return []
  return [`${file}: no strace ABI lines, and ${unread.slice(0, 3).join(', ')}${unread.length > 3 ? ` and ${unread.length - 3} more` : ''} cannot be read here to tell a 32-bit program; if one is, re-record with strace ${KEEP_ABI_LINES}`]
}

export async function buildProfile(o: BuildOptions): Promise<BuildResult> {
  const chk = checkBuildOptions(o)
  if (o.widen !== undefined && !WIDEN_MODES.includes(o.widen)) throw usage(`unknown --widen ${o.widen as string} (${WIDEN_MODES.join(', ')})`)
  const base = o.base ? [{profile: loadProfile(o.base), source: o.base}] : []
  const observations: Observation[] = []
  const inputs: InputSummary[] = []
  const diagnostics: string[] = []
  for (const f of o.inputs) {
    const r = await readInput(f)
    diagnostics.push(...checkUnannouncedAbi(f, r.observation, r.abiLines, o.arches ?? []))
    observations.push(r.observation)
    inputs.push(r.summary)
    diagnostics.push(...r.diagnostics)
  }
  const merged = observations.length === 1 ? observations[0] : mergeObservations(observations)
  // Without --runtime: the default layers, and the layer of each runtime an input was recorded
  // under (record --bundle), read from each input (a merge keeps the runtime only when all agree).
  const runtimes = [...chk.runtimes]
  if (o.runtime === undefined) {
    for (const r of new Set(observations.flatMap((x) => (x.runtime ? [x.runtime] : [])))) {
      if (!runtimes.some((l) => l.runtime === r)) runtimes.push(loadRuntimeLayer(r))
    }
  }
  // A recording made in a container (record --bundle) names paths inside its root filesystem,
  // which the host's files of the same name say nothing about: those are not read.
  const read = o.widen === 'imports' || o.widen === 'all'
    ? widenImports(observations.filter((x) => !x.runtime).flatMap((x) => x.execs), {interpreters: o.widen === 'all'})
    : undefined
  const inContainer = observations.filter((x) => x.runtime).flatMap((x) => x.execs)
  if (read && inContainer.length) diagnostics.push(`widen: ${[...new Set(inContainer)].sort().join(', ')} ran in a container (record --bundle): not read, its files are not this host's`)
  const syn = synthesize(merged, {
    defaultAction: chk.action,
    defaultErrno: chk.errno,
    runtimes,
    noNewPrivileges: !!o.noNewPrivileges,
    args: chk.args,
    arches: o.arches ?? [],
    bases: base,
    syscalls: libseccompSyscalls,
    ...(read ? {widen: read.candidates} : {}),
  })
  diagnostics.push(...syn.diagnostics)
  const widen = read && syn.widened ? widenSummary(o.widen as 'imports' | 'all', read, syn.widened) : undefined
  if (widen) diagnostics.push(...widen.diagnostics)
  const stats = {...syn.stats, runtimes: runtimes.map((l) => l.runtime), args: chk.args}
  if (chk.format !== 'docker') {
    // Resolved for one container's capabilities. The SeccompProfile CRD has no includes/excludes
    // either (the API server prunes them), so the object is resolved whatever runtime the nodes
    // use; the node file is resolved only for containerd, which drops them silently.
    const caps = (o.caps ?? defaultCaps()).map(normalizeCap)
    const oci = toOci(syn.profile, {caps, arch: o.hostArch})
    if (chk.format === 'k8s') {
      const text = renderK8s(oci, {name: o.name!, ...(o.namespace ? {namespace: o.namespace} : {})})
      const nodeJson = o.for === 'containerd' ? renderOci(oci) : renderDocker(syn.profile)
      return {text, format: 'k8s', profile: syn.profile, oci, nodeJson, inputs, diagnostics, stats, ...(widen ? {widen} : {})}
    }
    return {text: renderOci(oci), format: 'oci', profile: syn.profile, oci, inputs, diagnostics, stats, ...(widen ? {widen} : {})}
  }
  return {text: renderDocker(syn.profile), format: 'docker', profile: syn.profile, inputs, diagnostics, stats, ...(widen ? {widen} : {})}
}

export {listRuntimeLayers}
