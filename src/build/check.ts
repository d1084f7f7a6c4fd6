/**
 * checkRecordings: the library behind `seccomp-gen check`, the CI gate. Every recorded call
 * (observation files and strace logs, read as `build` reads them) is evaluated against the
 * profile (profile/evaluate.ts) for the ABI it was made on; the calls the profile would not let
 * through are listed with their argument values and the rule or default that answers them.
 *
 * Choices for the calls a program already copes with failing:
 * - an ENOSYS fallback probe (profiles/enosys-fallbacks.json: clone3, faccessat2, …) answered
 *   ERRNO(ENOSYS) passes: its callers fall back to an older syscall on exactly that answer;
 * - a syscall whose every recorded call failed with one errno passes when the profile answers
 *   that same errno (the program saw that answer when recorded; build writes such rules);
 * both are listed as notes. Any other denial fails, also for a call that failed with another
 * errno when recorded (the program would see a different error).
 * - An argument the profile filters on but the recording did not keep (not an inspected
 *   argument, or a value strace could not resolve) is tried at the boundary values of the
 *   profile's comparisons: denied for some of them is a failure (the gate errs on the safe side).
 *
 * The evaluation context: the arch and kernel the recording was made on (a Moby profile's
 * archMap and minKernel resolve for them), and the container's capabilities (default Docker's).
 */
import {join} from 'node:path'
import {callRuns} from '../actions.js'
import {findArch} from '../arches.js'
import {errnoName, requireErrno} from '../errno.js'
import {SeccompGenError} from '../errors.js'
import {profilesDir} from '../paths.js'
import {nameRawSyscall, tableNames} from '../syscall-table.js'
import {i386OnlyNames, unannouncedAbiError} from '../unannounced-abi.js'
import type {Observation, SyscallObservation} from '../trace/observation.js'
import {addSyscall, mergeObservations} from '../trace/observation-io.js'
import {defaultCaps, ruleData} from '../profile/data.js'
import {answeringRule, answerWords, argCandidates, argCases, argsArray, caseWords, conditionsOf, type ArgCase, type EvalOptions} from '../profile/diff.js'
import {scoreProfile, type Score} from '../profile/score.js'
import {evaluator, type Verdict} from '../profile/evaluate.js'
import {loadAnyProfile, loadProfile, type LoadedProfile} from '../profile/load.js'
import {normalizeCap} from '../profile/resolve.js'
import type {DockerProfile} from '../profile/types.js'
import {checkUnannouncedAbi, readInput, type InputSummary} from './pipeline.js'

/** Docker's default profile as shipped in profiles/ (origin and licence: profiles/vendor/README.md). */
export const DOCKER_DEFAULT = (): string => join(profilesDir(), 'vendor', 'docker-default.json')

export interface CheckOptions {
  profile: string
  inputs: string[]
  /** the container's capabilities (default: Docker's default set) */
  caps?: string[]
  /** also compare the profile with Docker's default (--score) */
  score?: boolean
}

export interface Denied {
  name: string
  /** recorded calls of this name (all argument values together) */
  count: number
  /** the argument values that are denied ([] when the name is denied whatever its arguments) */
  args: string[]
  answer: string
  action: Verdict['action']
  errno?: number
  /** the rule that answers ("/syscalls/7", with its comment) or the default action */
  by: {pointer: string; comment?: string} | 'default action' | 'architecture not in the filter'
  /** errno -> count of the recorded calls that failed anyway */
  recordedErrors?: Record<string, number>
  /** an argument the profile filters on that the recording did not keep */
  unrecordedArgs?: number[]
}

export interface Note {name: string; answer: string; why: string}

export interface AbiReport {abi: string; arch: string; syscalls: number; denied: Denied[]; notes: Note[]}

export interface CheckReport {
  profile: {file: string; format: LoadedProfile['format']}
  inputs: InputSummary[]
  context: {host: string; kernel: string; caps: string[]}
  passed: boolean
  abis: AbiReport[]
  score?: Score
  /** what reading the inputs noticed (unparsed strace lines, a log that may be a 32-bit program's) */
  diagnostics: string[]
}

const ENOSYS = requireErrno('ENOSYS')

/**
 * The argument cases of one recorded syscall: the product of the recorded values of its kept
 * arguments, each combined with every boundary value of the arguments the profile filters on
 * that were not kept (`open`).
 */
function recordedCases(s: SyscallObservation, filtered: Map<number, bigint[]>): {kept: ArgCase[]; open: Map<number, bigint[]>} {
  const known = new Map<number, bigint[]>()
  const open = new Map<number, bigint[]>()
  for (const [k, a] of Object.entries(s.args ?? {})) {
    const i = Number(k)
    // an unknown value at a position the profile does not filter on changes nothing
    if (a.unknown && filtered.has(i)) open.set(i, filtered.get(i)!)
    else if (a.values.length) known.set(i, a.values.map((v) => BigInt(v)))
  }
  for (const [i, values] of filtered) if (!known.has(i) && !open.has(i)) open.set(i, values)
  // values at positions the profile does not filter on do not change its answer
  for (const i of [...known.keys()]) if (!filtered.has(i)) known.delete(i)
  return {kept: argCases(known), open}
}

function checkAbi(p: DockerProfile, abi: string, syscalls: Record<string, SyscallObservation>, o: EvalOptions): AbiReport {
  const arch = findArch(abi)?.token ?? abi
  // an ABI the filter does not hold (listed, or the host's own) meets the bad-arch action
  const ev = evaluator(p, o)
  const enosysProbes = new Set(ruleData().enosys.syscalls.map((f) => f.name))
  const report: AbiReport = {abi, arch, syscalls: 0, denied: [], notes: []}
  // the same syscall may be recorded under its name and as syscall_0x… (a log from elsewhere)
  const byName = new Map<string, SyscallObservation[]>()
  for (const [raw, s] of Object.entries(syscalls)) {
    const name = nameRawSyscall(abi, raw)
    byName.set(name, [...(byName.get(name) ?? []), s])
  }
  for (const [name, list] of [...byName].sort(([a], [b]) => (a < b ? -1 : 1))) {
    report.syscalls++
    const s: SyscallObservation = list.length === 1 ? list[0] : merged(list)
    // the indices the profile compares (in rules that can apply here), with their boundary values
    const filtered = argCandidates(conditionsOf([p], name, o))
    const {kept, open} = recordedCases(s, filtered)
    const denied = new Map<string, {v: Verdict; args: string[]; args0: bigint[]; mixed: boolean}>()
    for (const c of kept) {
      const tries = argCases(open).map((extra) => argsArray([...c, ...extra]))
      const verdicts = tries.map((args) => ({args, v: ev(arch, name, args)}))
      const bad = verdicts.filter((x) => !callRuns(x.v.action))
      if (!bad.length) continue
      const key = answerWords(bad[0].v)
      const d = denied.get(key) ?? {v: bad[0].v, args: [], args0: bad[0].args, mixed: false}
      if (c.length) d.args.push(caseWords(c))
      // passes for some values of the arguments not kept: the recording cannot tell
      if (bad.length < verdicts.length) d.mixed = true
      denied.set(key, d)
    }
    const errors = s.errors ?? {}
    const failed = Object.values(errors).reduce((x, y) => x + y, 0)
    for (const {v, args, args0, mixed} of denied.values()) {
      const answer = answerWords(v)
      if (v.action === 'SCMP_ACT_ERRNO' && v.errno === ENOSYS && enosysProbes.has(name)) {
        report.notes.push({name, answer, why: 'an ENOSYS fallback probe: its callers fall back to an older syscall on this answer (profiles/enosys-fallbacks.json)'})
        continue
      }
      const only = Object.keys(errors)
      if (v.action === 'SCMP_ACT_ERRNO' && failed >= s.count && only.length === 1 && only[0] === errnoName(v.errno ?? 1)) {
        report.notes.push({name, answer, why: `all ${s.count} recorded calls failed with ${only[0]} already`})
        continue
      }
      const rule = answeringRule(p, v, name, args0, o)
      report.denied.push({
        name, count: s.count, args, answer, action: v.action, ...(v.errno !== undefined ? {errno: v.errno} : {}),
        by: rule ?? (v.badArch ? 'architecture not in the filter' : 'default action'),
        ...(failed ? {recordedErrors: errors} : {}),
        ...(mixed ? {unrecordedArgs: [...open.keys()]} : {}),
      })
    }
  }
  return report
}

function merged(list: SyscallObservation[]): SyscallObservation {
  const acc: Record<string, SyscallObservation> = {}
  for (const s of list) addSyscall(acc, 'x', s)
  return acc.x
}

export async function checkRecordings(o: CheckOptions): Promise<CheckReport> {
  if (!o.inputs.length) throw new SeccompGenError('USAGE', 'no INPUT given: pass observation files from `record` or strace logs')
  const loaded = loadAnyProfile(o.profile)
  const caps = (o.caps ?? defaultCaps()).map(normalizeCap)
  const observations: Observation[] = []
  const inputs: InputSummary[] = []
  const diagnostics: string[] = []
  for (const f of o.inputs) {
    const r = await readInput(f)
    // an i386 program's log read as x86_64 would be judged on the wrong ABI: refused as build
    // does, from its exec'd file or from names only i386 has
    diagnostics.push(...checkUnannouncedAbi(f, r.observation, r.abiLines), ...r.diagnostics)
    const i386Only = i386OnlyNames('x86_64', Object.keys(r.observation.abis.x86_64?.syscalls ?? {}))
    if (i386Only.length) throw unannouncedAbiError(`${i386Only.join(', ')} exist${i386Only.length === 1 ? 's' : ''} only on i386`, 'x86', f, false)
    observations.push(r.observation)
    inputs.push(r.summary)
  }
  const obs = observations.length === 1 ? observations[0] : mergeObservations(observations)
  // the recording's own machine and kernel: the profile resolves as it would have there
  const host = findArch(obs.host.machine)?.token ?? findArch(process.arch)!.token
  const kernel = obs.host.kernel || '6.1'
  const ctx: EvalOptions = {host, caps, kernel}
  const abis = Object.entries(obs.abis).filter(([, a]) => a && Object.keys(a.syscalls).length)
    .map(([abi, a]) => checkAbi(loaded.profile, abi, a!.syscalls, ctx))
  const report: CheckReport = {
    profile: {file: loaded.file, format: loaded.format},
    inputs,
    context: {host, kernel, caps},
    passed: abis.every((a) => a.denied.length === 0),
    abis,
    diagnostics,
  }
  if (o.score) {
    const docker = loadProfile(DOCKER_DEFAULT())
    report.score = scoreProfile(loaded.profile, docker, tableNames(findArch(host)?.abi ?? ''), {...ctx, host})
  }
  return report
}
