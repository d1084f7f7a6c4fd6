/**
 * The synthesis rule tables shipped in profiles/: always-allowed, ENOSYS fallbacks,
 * capability gates and argument rules. Loaded once, typed here; the rules live in the data.
 */
import {readTable} from '../paths.js'

export type ArgsLevel = 'none' | 'safe' | 'strict'
export const ARGS_LEVELS: ArgsLevel[] = ['none', 'safe', 'strict']

export interface AlwaysAllowed {name: string; reason: string; abis?: string[]}
export interface EnosysFallback {name: string; callers: string}
export interface CapGate {caps: string[]; why: string}

export type ArgRule =
  | {kind: 'eq-set'; arg: number; what: string; width?: 32 | 64; level: ArgsLevel; maxValues: number; caps?: string[]; note?: string}
  | {kind: 'ns-flags'; arg: number; what: string; mask: string; maskNames: string; level: ArgsLevel; capsForNamespaces: string[]; unsupportedAbis?: string[]; note?: string}
  | {kind: 'w-xor-x'; arg: number; what: string; write: string; exec: string; level: ArgsLevel; note?: string}

export interface Clone3Rule {level: ArgsLevel; errno: string; unlessCaps: string[]; reason: string}

export interface SyscallClass {syscalls: string[]; risk: string}

export interface RuleData {
  always: AlwaysAllowed[]
  enosys: {errno: string; syscalls: EnosysFallback[]}
  caps: {defaultCaps: string[]; syscalls: Record<string, CapGate>}
  args: {levels: Record<ArgsLevel, string>; syscalls: Record<string, ArgRule>; clone3: Clone3Rule}
  classes: Record<string, SyscallClass>
}

let cached: RuleData | undefined


export function ruleData(): RuleData {
  if (cached) return cached
  cached = {
    always: readTable<{syscalls: AlwaysAllowed[]}>('always-allowed.json').syscalls,
    enosys: readTable<RuleData['enosys']>('enosys-fallbacks.json'),
    caps: readTable<RuleData['caps']>('capabilities.json'),
    args: readTable<RuleData['args']>('arg-rules.json'),
    classes: readTable<{classes: Record<string, SyscallClass>}>('syscall-classes.json').classes,
  }
  return cached
}

export function levelAtLeast(have: ArgsLevel, need: ArgsLevel): boolean {
  return ARGS_LEVELS.indexOf(have) >= ARGS_LEVELS.indexOf(need)
}

/** Docker's default capability set (profiles/capabilities.json defaultCaps). */
export function defaultCaps(): string[] {
  return [...ruleData().caps.defaultCaps]
}

/** syscall name -> its risk class and reason (profiles/syscall-classes.json). */
export function riskOf(name: string): {cls: string; risk: string} | undefined {
  for (const [cls, c] of Object.entries(ruleData().classes)) if (c.syscalls.includes(name)) return {cls, risk: c.risk}
  return undefined
}
