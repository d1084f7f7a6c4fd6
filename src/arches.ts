/**
 * Architecture names: libseccomp tokens, observation ABIs, Moby's native names, Node's
 * process.arch and uname -m, from profiles/arches.json.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {profilesDir} from './paths.js'

export interface ArchDef {
  token: string
  abi?: string
  native: string
  node: string[]
  uname: string[]
  sub: string[]
}

let table: ArchDef[] | undefined

export function archTable(): ArchDef[] {
  if (!table) table = (JSON.parse(readFileSync(join(profilesDir(), 'arches.json'), 'utf8')) as {arches: ArchDef[]}).arches
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

export function archToken(name: string): string | undefined {
  return findArch(name)?.token
}

/** The arch a name refers to, defaulting to this machine (process.arch). */
export function hostArch(name?: string): ArchDef | undefined {
  return findArch(name ?? process.arch)
}
