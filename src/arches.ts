/**
 * Architecture names: libseccomp tokens, observation ABIs, Moby's native names, Node's
 * process.arch and uname -m, from profiles/arches.json.
 */
import {readTable} from './paths.js'

export interface ArchDef {
  token: string
  abi?: string
  native: string
  node: string[]
  uname: string[]
  sub: string[]
  /** AUDIT_ARCH_* value as hex ("0xc000003e"): arch= in the kernel's seccomp audit records */
  audit?: string
  /** x32: the bit its syscall numbers carry in records that name x86_64's audit arch */
  auditNrBit?: string
}

let table: ArchDef[] | undefined

export function archTable(): ArchDef[] {
  if (!table) table = readTable<{arches: ArchDef[]}>('arches.json').arches
  return table
}

/**
 * Find an arch by any of its names: SCMP_ARCH_X86_64, X86_64 / x86_64 (token without prefix,
 * any case), amd64 (native), x64 (node), i686 (uname), or the observation ABI name.
 */
export function findArch(name: string): ArchDef | undefined {
  const n = name.trim()
  const upper = n.toUpperCase()
  const lower = n.toLowerCase()
  return archTable().find((a) =>
    a.token === upper || a.token === `SCMP_ARCH_${upper}` || a.abi === lower || a.native === lower ||
    a.node.includes(lower) || a.uname.includes(lower))
}

/**
 * The arch of a kernel audit record (its arch= value, AUDIT_ARCH_*) and syscall number: x32
 * shares x86_64's audit arch and is told apart by the bit in its numbers.
 */
export function archOfAudit(auditArch: number, nr: number): ArchDef | undefined {
  const same = archTable().filter((a) => a.audit !== undefined && Number(a.audit) === auditArch)
  return same.find((a) => a.auditNrBit !== undefined && (nr & Number(a.auditNrBit)) !== 0) ?? same.find((a) => a.auditNrBit === undefined)
}

/** The observation ABI names, in table order (the schema's enum is generated from the same table). */
export function abiNames(): string[] {
  return archTable().flatMap((a) => (a.abi ? [a.abi] : []))
}

/** libseccomp's short name of a token ("SCMP_ARCH_X86_64" -> "x86_64"). */
function shortOf(token: string): string {
  return token.slice('SCMP_ARCH_'.length).toLowerCase()
}

/** libseccomp's short names of every arch in the table ("x86_64", "mipsel64n32", …). */
export function archShortNames(): string[] {
  return archTable().map((a) => shortOf(a.token))
}

/**
 * Any spelling -> libseccomp's short arch name: "SCMP_ARCH_X86_64" | "x86_64" | "amd64" ->
 * "x86_64". A token's own name wins over another arch's alias; unknown names come back
 * lowercased without the SCMP_ARCH_ prefix, for libseccomp to judge.
 */
export function archShortName(name: string): string {
  const s = name.trim().replace(/^SCMP_ARCH_/i, '').toLowerCase()
  if (archShortNames().includes(s)) return s
  const a = findArch(name)
  return a ? shortOf(a.token) : s
}

/** Any spelling -> the profile's "SCMP_ARCH_X86_64". */
export function archProfileName(name: string): string {
  return `SCMP_ARCH_${archShortName(name).toUpperCase()}`
}
