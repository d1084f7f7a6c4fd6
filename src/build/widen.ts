/**
 * `build --widen imports`: the syscalls a recorded program's own code can reach beyond its
 * recording. Every program the observation saw exec'd (a `#!` script: its interpreter) and every
 * library it loads (widen-elf.ts) imports libc functions; profiles/libc-syscalls.json says which
 * syscalls each may make on each ABI. The result is a list of candidates, each with the program
 * and import it comes from; synthesis (profile/synthesize.ts) decides which become rules (never
 * a risky class, argument rules as for recorded calls). The host work (files, binutils) is done
 * here so the profile layer stays pure.
 */
import {existsSync, realpathSync} from 'node:fs'
import {basename, isAbsolute, join} from 'node:path'
import {SeccompGenError} from '../errors.js'
import {readTable} from '../paths.js'
import type {WidenCandidate} from '../profile/synthesize.js'
import {constantTable} from '../trace/constants.js'
import {type ElfAbi, programImports, shebangOf} from './widen-elf.js'

/** none: recorded only; imports: add what imports reach, interpreters apart; all: interpreters too */
export type WidenMode = 'none' | 'imports' | 'all'
export const WIDEN_MODES: WidenMode[] = ['none', 'imports', 'all']

interface LibcEntry {syscalls: string[]; source: string; musl?: string[]; note?: string}
export interface LibcTable {
  functions: Record<string, LibcEntry>
  i386: {renames: Record<string, string[]>; multiplexers: Record<string, string>}
  interpreters: {names: string[]}
  /** per syscall: the values of its exact-value argument rule widening may allow unrecorded */
  argValues: Record<string, {values: string[]; source: string; why: string}>
  sources: Record<string, string>
}

let table: LibcTable | undefined

/** profiles/libc-syscalls.json */
export function libcTable(): LibcTable {
  return (table ??= readTable<LibcTable>('libc-syscalls.json'))
}

export type Libc = 'glibc' | 'musl'

/** The syscalls libc function `fn` may make on `abi` (empty when the table does not know it). */
export function syscallsOf(fn: string, abi: ElfAbi, libc: Libc = 'glibc'): string[] {
  const t = libcTable()
  const e = t.functions[fn]
  const names = (libc === 'musl' ? e?.musl : undefined) ?? e?.syscalls ?? []
  if (abi !== 'x86') return names
  return [...new Set(names.flatMap((n) => t.i386.renames[n] ?? [n]))]
}

/** What was read for one program. */
export interface WidenedProgram {
  program: string
  /** the ELF read for it: the program, or a script's interpreter */
  elf?: string
  abi?: string
  /**
   * static: imports nothing; interpreter: left out (--widen all reads it); unread: not found
   * here or not an ELF/script; not-a-file: a path that names no file at build time
   * (/proc/self/exe, /dev/fd/3, a relative path), never opened
   */
  status: 'dynamic' | 'static' | 'interpreter' | 'unread' | 'not-a-file'
  /** which libc's column of the table was used */
  libc?: Libc
  why?: string
  /** ELF files read (the program and its libraries) */
  objects: number
  /** distinct imported names that the libc table knows */
  imports: number
  /** distinct syscalls those imports may make */
  syscalls: number
  /** sonames no library was found for */
  missing: string[]
}

/** Is the executable at `path` (links followed) a language interpreter (libc-syscalls.json interpreters)? */
export function isInterpreter(path: string): boolean {
  let real = path
  try { real = realpathSync(path) } catch { /* the name as given */ }
  const stem = basename(real).replace(/[0-9.]+$/, '')
  return libcTable().interpreters.names.includes(stem)
}

const MUSL = /(^|\/)(ld-musl-|libc\.musl-)[^/]*$/

/**
 * Why a recorded exec path names no file that can be read at build time, or undefined. A path
 * under /proc, /sys or /dev/fd names the recorded process's own state (busybox re-runs its applets
 * through /proc/self/exe; fexecve runs /dev/fd/N): read here it would be the build's own node
 * binary or descriptor. Nothing is lost by skipping it: the program behind /proc/self/exe was
 * exec'd earlier in the same process and is read under its own path. A relative path is
 * relative to the recorded process's working directory, which the recording does not keep.
 */
function notAFile(path: string): string | undefined {
  if (!isAbsolute(path)) return "a relative path (the recorded process's working directory is not known here)"
  if (/^\/(proc|sys)\/|^\/dev\/(fd\/|std(in|out|err)$)/.test(path)) return 'not a file at build time (it named the recorded process\'s own executable or descriptor)'
  return undefined
}

/** The exact argument values the table lets widening allow for `name` unrecorded (libc-syscalls.json argValues). */
function argValuesOf(name: string): Array<{name: string; value: string}> | undefined {
  const e = libcTable().argValues[name]
  if (!e) return undefined
  return e.values.map((v) => {
    const n = constantTable().get(v)
    if (n === undefined) throw new SeccompGenError('IO', `profiles/libc-syscalls.json argValues ${name}: ${v} is not in profiles/constants`)
    return {name: v, value: `0x${n.toString(16)}`}
  })
}

export interface WidenInput {
  candidates: WidenCandidate[]
  programs: WidenedProgram[]
}

/**
 * Read every exec'd program and its libraries; one candidate per (syscall, program), naming the
 * import it comes from: an import named like the syscall first (tar imports unlinkat), the
 * program's own imports before its libraries', then the first import in name order.
 */
export function widenImports(execs: readonly string[], o: {interpreters: boolean}): WidenInput {
  const candidates: WidenCandidate[] = []
  const programs: WidenedProgram[] = []
  for (const program of [...new Set(execs)].sort()) {
    let elf = program
    const row: WidenedProgram = {program, status: 'unread', objects: 0, imports: 0, syscalls: 0, missing: []}
    programs.push(row)
    const skip = notAFile(program)
    if (skip) { row.status = 'not-a-file'; row.why = skip; continue }
    let r: ReturnType<typeof programImports>
    try {
      r = programImports(elf)
      const interp = r ? undefined : shebangOf(elf)
      const bad = interp ? notAFile(interp) : undefined
      if (bad) { row.why = `its #! interpreter ${interp}: ${bad}`; continue }
      if (interp) {
        elf = interp
        r = programImports(interp)
      }
    } catch (e) {
      // a file binutils cannot read (truncated, corrupt) leaves this program out, not the build
      if (!(e instanceof SeccompGenError) || e.code !== 'IO') throw e
      row.why = e.message
      continue
    }
    if (!r) {
      row.why = !existsSync(program) ? 'not found on this host (recorded elsewhere?)'
        : elf !== program ? `its #! interpreter ${elf} is not an ELF file on this host` : 'not an ELF file nor a #! script'
      continue
    }
    if (elf !== program) row.elf = elf
    row.abi = r.abi
    if (r.abi === 'other') { row.why = 'not an x86 ELF file (the libc table is for x86_64, i386, x32)'; continue }
    if (r.static) { row.status = 'static'; continue }
    if (!o.interpreters && isInterpreter(elf)) { row.status = 'interpreter'; continue }
    row.status = 'dynamic'
    row.objects = r.objects.length
    row.missing = r.missing
    const abi = r.abi
    // musl's loader and libc are one file: a program linked with it names it in DT_NEEDED
    const libc: Libc = r.objects.some((o) => MUSL.test(o.path)) || r.missing.some((m) => MUSL.test(m)) ? 'musl' : 'glibc'
    row.libc = libc
    // per syscall, the import to name: rank (an import named like the syscall first, the
    // program's own before a library's), then the object's order, then the function's name
    const best = new Map<string, {fn: string; obj: number; rank: number}>()
    const known = new Set<string>()
    r.objects.forEach((o, obj) => {
      for (const fn of o.imports) {
        if (!libcTable().functions[fn]) continue
        known.add(fn)
        for (const s of syscallsOf(fn, abi, libc)) {
          const rank = (fn === s ? 0 : 2) + (obj === 0 ? 0 : 1)
          const have = best.get(s)
          if (!have || rank < have.rank || (rank === have.rank && (obj < have.obj || (obj === have.obj && fn < have.fn)))) best.set(s, {fn, obj, rank})
        }
      }
    })
    row.imports = known.size
    row.syscalls = best.size
    for (const [name, b] of [...best].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0))) {
      const argsOf = abi === 'x86' ? libcTable().i386.multiplexers[name] : undefined
      const values = argsOf ? undefined : argValuesOf(name)
      candidates.push({name, program, import: b.fn, ...(b.obj ? {via: basename(r.objects[b.obj]!.path)} : {}), ...(argsOf ? {argsOf} : {}), ...(values ? {values} : {})})
    }
  }
  return {candidates, programs}
}

export interface WidenSummary {
  mode: 'imports' | 'all'
  /** how many names widening added */
  added: number
  /** each program read, with how many of the added names are credited to it */
  programs: Array<WidenedProgram & {added: number}>
  /** the names added, each with the program and import it came from */
  names: WidenCandidate[]
  /** reachable names not added, and why (risky class, argument rule, ENOSYS probe) */
  skipped: Array<{name: string; why: string}>
  /** the phrase for build's summary line */
  line: string
  /** notes worth a line each: programs not read, libraries not found, names left out */
  diagnostics: string[]
}

const list = (xs: string[], n = 4) => `${xs.slice(0, n).join(', ')}${xs.length > n ? ` and ${xs.length - n} more` : ''}`

/** What widening read and what synthesis added from it, for the summary line and --json. */
export function widenSummary(mode: 'imports' | 'all', read: WidenInput, done: {added: WidenCandidate[]; skipped: Array<{name: string; why: string}>}): WidenSummary {
  const programs = read.programs.map((p) => ({...p, added: done.added.filter((c) => c.program === p.program).length}))
  const parts = programs.filter((p) => p.added).map((p) => `${p.program} (${p.added})`)
  const statics = programs.filter((p) => p.status === 'static').map((p) => p.program)
  const interps = programs.filter((p) => p.status === 'interpreter').map((p) => p.elf ?? p.program)
  const notFiles = programs.filter((p) => p.status === 'not-a-file')
  let line = `widened by imports: +${done.added.length} name${done.added.length === 1 ? '' : 's'}${parts.length ? ` from ${list(parts)}` : ''}`
  if (statics.length) line += `; static, imports nothing: ${list(statics)}`
  if (interps.length) line += `; interpreter, not widened (--widen all does): ${list(interps)}`
  if (notFiles.length) line += `; not a file at build time, not widened: ${list(notFiles.map((p) => p.program))}`
  if (!programs.length) line += ' (the recording names no exec\'d program)'
  const diagnostics: string[] = []
  for (const p of programs) {
    if (p.status === 'unread' || p.status === 'not-a-file') diagnostics.push(`widen: ${p.program}: ${p.why}; nothing widened for it`)
    if (p.missing.length) diagnostics.push(`widen: ${p.program}: ${list(p.missing)} not found on this host; their imports were not read`)
  }
  const byWhy = new Map<string, string[]>()
  for (const s of done.skipped) byWhy.set(s.why, [...(byWhy.get(s.why) ?? []), s.name])
  for (const [why, names] of byWhy) diagnostics.push(`widen: reachable but not added, ${why}: ${list(names, 8)}`)
  return {mode, added: done.added.length, programs, names: done.added, skipped: done.skipped, line, diagnostics}
}
