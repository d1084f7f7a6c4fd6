/**
 * `check --score`: a profile beside a reference (Docker's default) on one arch, by evaluating
 * both (evaluate.ts) on the argument cases diff.ts finds: how many names each lets run, and the
 * names of each risky class (profiles/syscall-classes.json) each lets run.
 */
import {callRuns} from '../actions.js'
import {findArch} from '../arches.js'
import {riskOf, ruleData} from './data.js'
import {argCandidates, argCases, argsArray, conditionsOf, existsOn, type EvalOptions} from './diff.js'
import {evaluator} from './evaluate.js'
import type {DockerProfile} from './types.js'

export interface AllowedNames {
  /** names whose calls run whatever the arguments */
  all: string[]
  /** names whose calls run only for some argument values */
  some: string[]
}

/** Which of `names` the profile lets run on `arch`, for any or some arguments. */
export function allowedNames(p: DockerProfile, arch: string, names: string[], o: EvalOptions): AllowedNames {
  const ev = evaluator(p, o)
  const out: AllowedNames = {all: [], some: []}
  for (const name of names) {
    if (!existsOn(arch, name)) continue
    const runs = argCases(argCandidates(conditionsOf([p], name, o))).map((c) => callRuns(ev(arch, name, argsArray(c)).action))
    if (runs.every(Boolean)) out.all.push(name)
    else if (runs.some(Boolean)) out.some.push(name)
  }
  return out
}

export interface Score {
  arch: string
  caps: string[]
  profile: {allowed: number; conditional: number; risky: Record<string, string[]>}
  reference: {allowed: number; conditional: number; risky: Record<string, string[]>}
  /** names the profile lets run (for some arguments at least) and the reference does not */
  onlyProfile: string[]
  onlyReference: number
}

/**
 * The profile beside a reference profile on one arch: how many names each lets run, and the
 * names of each risky class (profiles/syscall-classes.json) each lets run.
 */
export function scoreProfile(p: DockerProfile, reference: DockerProfile, universe: string[], o: EvalOptions & {host: string}): Score {
  const arch = findArch(o.host)!.token
  const names = [...new Set([...universe, ...[p, reference].flatMap((x) => (x.syscalls ?? []).flatMap((r) => r.names))])].sort()
  const side = (x: DockerProfile) => {
    const a = allowedNames(x, arch, names, o)
    const risky: Record<string, string[]> = {}
    for (const n of [...a.all, ...a.some].sort()) {
      const r = riskOf(n)
      if (r) (risky[r.cls] ??= []).push(n)
    }
    return {a, summary: {allowed: a.all.length + a.some.length, conditional: a.some.length, risky}}
  }
  const mine = side(p)
  const ref = side(reference)
  const refNames = new Set([...ref.a.all, ...ref.a.some])
  const myNames = new Set([...mine.a.all, ...mine.a.some])
  return {
    arch,
    caps: o.caps ?? [],
    profile: mine.summary,
    reference: ref.summary,
    onlyProfile: [...myNames].filter((n) => !refNames.has(n)).sort(),
    onlyReference: [...refNames].filter((n) => !myNames.has(n)).length,
  }
}

/** The risky classes in table order (for stable output). */
export const riskyClasses = (): string[] => Object.keys(ruleData().classes)
