/**
 * What a program's ELF files say it can call: the dynamic symbols it imports, and the shared
 * libraries it loads (with theirs), for `build --widen imports` (widen.ts).
 *
 * Read with GNU binutils as a subprocess: `readelf -d -W` for the dynamic section (DT_NEEDED,
 * DT_RUNPATH, DT_RPATH) and `nm -D --undefined-only` for the imports (undefined .dynsym
 * entries, printed as `unlink@GLIBC_2.2.5`; the version is dropped). binutils is maintained
 * with the toolchain that writes these files, reads only the sections it prints (node's
 * 100 MB binary in ~0.2 s) and is one apt package; the npm ELF parsers are unmaintained or read
 * whole files into memory. Only the ELF identification (class, machine: 20 bytes) is read here.
 *
 * Libraries are found as ld.so(8) finds them: DT_RPATH (when there is no DT_RUNPATH) of the
 * object and of its loaders up to the program, DT_RUNPATH of the object, $ORIGIN expanded (a
 * library's directory as found, the program's with links resolved), then /etc/ld.so.cache
 * (`ldconfig -p`), then the default directories of the program's ABI; a candidate of another
 * ABI (a 32-bit library for a 64-bit program) is skipped, as ld.so skips it. LD_LIBRARY_PATH is
 * not used: the environment of the run that will be filtered is not known here.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, realpathSync} from 'node:fs'
import {dirname, isAbsolute, join} from 'node:path'
import {SeccompGenError} from '../errors.js'
import {readHead} from '../fsutil.js'

export type ElfAbi = 'x86_64' | 'x86' | 'x32'

export interface ElfFile {
  /** the path as given (the program) or as found (a library) */
  path: string
  abi: ElfAbi | 'other'
  /** false for a static binary (no dynamic section, or one with no DT_NEEDED: static-pie) */
  dynamic: boolean
  needed: string[]
  runpath: string[]
  rpath: string[]
  /** undefined .dynsym symbols, version suffix removed, sorted, distinct */
  imports: string[]
}

/** The ELF identification of `path`: null when it is not a little-endian x86 ELF we know. */
function elfAbiOf(path: string): ElfAbi | 'other' | null {
  const head = readBytes(path, 20)
  if (!head || head.length < 20 || head.readUInt32BE(0) !== 0x7f454c46) return null
  // EI_CLASS (1: 32-bit, 2: 64-bit), EI_DATA (1: little-endian), e_machine at 18
  if (head[5] !== 1) return 'other'
  const machine = head.readUInt16LE(18)
  if (machine === 62) return head[4] === 2 ? 'x86_64' : 'x32'
  if (machine === 3 && head[4] === 1) return 'x86'
  return 'other'
}

/** The first `n` bytes of a regular file, or null (missing, unreadable, a FIFO or device: never blocks). */
function readBytes(path: string, n: number): Buffer | null {
  try {
    return readHead(path, n, 'an exec\'d program')
  } catch {
    return null
  }
}

/** The C locale: readelf's and ldconfig's lines are parsed, and a translated binutils prints "Shared library" in the user's language. */
const C_LOCALE = {...process.env, LC_ALL: 'C'}

function binutils(tool: 'readelf' | 'nm', args: string[]): string {
  const r = spawnSync(tool, args, {encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'], env: C_LOCALE})
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new SeccompGenError('USAGE', `--widen imports reads ELF files with binutils' ${tool}, which is not installed (apt-get install binutils)`)
  }
  // readelf reports a truncated or corrupt file on stderr and still exits 0
  const error = r.stderr?.split('\n').find((l) => /\bError\b|file format not recognized|file too short/.test(l))
  if (r.error || r.status !== 0 || error) {
    throw new SeccompGenError('IO', `${tool} ${args.join(' ')}: ${(error ?? r.stderr?.trim().split('\n')[0] ?? r.error?.message ?? `exit ${r.status}`).replace(/^\S+: /, '')}`)
  }
  return r.stdout
}

const NEEDED = /\(NEEDED\)\s+Shared library: \[([^\]]+)\]/
const PATHS = /\((RUNPATH|RPATH)\)\s+Library (?:runpath|rpath): \[([^\]]*)\]/

/** Read one ELF file: its ABI, dynamic section and imports. Null when `path` is not an ELF. */
export function readElf(path: string): ElfFile | null {
  const abi = elfAbiOf(path)
  if (abi === null) return null
  const file: ElfFile = {path, abi, dynamic: false, needed: [], runpath: [], rpath: [], imports: []}
  const dyn = binutils('readelf', ['-d', '-W', path])
  for (const line of dyn.split('\n')) {
    const n = NEEDED.exec(line)
    if (n) { file.needed.push(n[1]!); continue }
    const p = PATHS.exec(line)
    if (p) (p[1] === 'RUNPATH' ? file.runpath : file.rpath).push(...p[2]!.split(':').filter(Boolean))
  }
  file.dynamic = file.needed.length > 0
  if (!file.dynamic) return file
  // -p: symbol-table order (no sort); undefined symbols print as "U name@VER" or "w name" (weak)
  const names = new Set<string>()
  for (const line of binutils('nm', ['-D', '--undefined-only', '-p', path]).split('\n')) {
    const m = /^\s+[UwvV]\s+([^@\s]+)/.exec(line)
    if (m) names.add(m[1]!)
  }
  file.imports = [...names].sort()
  return file
}

/** Default library directories by ABI (Debian's multiarch directories first, then ld.so's). */
const DEFAULT_DIRS: Record<ElfAbi, string[]> = {
  x86_64: ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib'],
  x86: ['/lib/i386-linux-gnu', '/usr/lib/i386-linux-gnu', '/lib32', '/usr/lib32', '/lib', '/usr/lib'],
  x32: ['/lib/x86_64-linux-gnux32', '/usr/lib/x86_64-linux-gnux32', '/libx32', '/usr/libx32'],
}

let cache: Map<string, string[]> | undefined

/** /etc/ld.so.cache as `ldconfig -p` prints it: soname -> paths (every ABI; checked by header). */
function ldCache(): Map<string, string[]> {
  if (cache) return cache
  cache = new Map()
  const ldconfig = ['/sbin/ldconfig', '/usr/sbin/ldconfig'].find((p) => existsSync(p))
  if (!ldconfig) return cache
  let out = ''
  try {
    out = execFileSync(ldconfig, ['-p'], {encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'], env: C_LOCALE})
  } catch {
    return cache // no cache file: the default directories still apply
  }
  for (const line of out.split('\n')) {
    const m = /^\s+(\S+)\s+\(.*\)\s+=>\s+(\S.*)$/.exec(line)
    if (m) cache.set(m[1]!, [...(cache.get(m[1]!) ?? []), m[2]!])
  }
  return cache
}

const expand = (dir: string, origin: string) => dir.replace(/\$(?:ORIGIN|\{ORIGIN\})/g, origin)

/**
 * Where ld.so would find `soname` needed by `chain[0]`, or undefined. `chain` is that object,
 * the object that loaded it, and so on up to the program (last): DT_RPATH is searched along it
 * (each object's own, unless it has DT_RUNPATH; the program's unless it has DT_RUNPATH), and
 * only when the needing object has no DT_RUNPATH; then that object's DT_RUNPATH.
 */
function findLibrary(soname: string, chain: readonly ElfFile[]): string | undefined {
  const obj = chain[0]!
  const program = chain[chain.length - 1]!
  const abi = program.abi
  if (abi === 'other') return undefined
  const ok = (p: string) => elfAbiOf(p) === abi
  if (soname.includes('/')) return ok(soname) ? soname : undefined
  // $ORIGIN: the program's directory with links resolved (ld.so reads /proc/self/exe), a
  // library's directory as found, links kept (ld.so keeps the name it opened)
  const origin = (f: ElfFile) => {
    if (f !== program) return dirname(f.path)
    try { return dirname(realpathSync(f.path)) } catch { return dirname(f.path) }
  }
  const dirs: string[] = []
  if (!obj.runpath.length) {
    for (const f of chain) if (!f.runpath.length) dirs.push(...f.rpath.map((d) => expand(d, origin(f))))
  }
  dirs.push(...obj.runpath.map((d) => expand(d, origin(obj))))
  for (const d of dirs) {
    const p = join(d, soname)
    if (isAbsolute(p) && ok(p)) return p
  }
  for (const p of ldCache().get(soname) ?? []) if (ok(p)) return p
  for (const d of DEFAULT_DIRS[abi]) {
    const p = join(d, soname)
    if (ok(p)) return p
  }
  return undefined
}

export interface ProgramImports {
  program: string
  abi: ElfAbi | 'other'
  static: boolean
  /** each ELF file read (program first, then its libraries breadth-first) with its imports */
  objects: Array<{path: string; imports: string[]}>
  /** sonames no library was found for */
  missing: string[]
}

const elfCache = new Map<string, ElfFile | null>()

function readCached(path: string): ElfFile | null {
  let real = path
  try { real = realpathSync(path) } catch { /* read fails below */ }
  if (!elfCache.has(real)) elfCache.set(real, readElf(real))
  const f = elfCache.get(real)
  return f ? {...f, path} : null
}

/**
 * The imports of `program` and of every library it loads (DT_NEEDED, transitively). Null when
 * `program` is not an ELF file (a script: the caller follows its #! line).
 */
export function programImports(program: string): ProgramImports | null {
  const root = readCached(program)
  if (!root) return null
  const out: ProgramImports = {program, abi: root.abi, static: !root.dynamic, objects: [], missing: []}
  if (!root.dynamic) return out
  const seen = new Set<string>()
  // a name ld.so has loaded once is not searched for again, whoever else needs it
  const loaded = new Set<string>()
  const queue: ElfFile[][] = [[root]]
  while (queue.length) {
    const chain = queue.shift()!
    const obj = chain[0]!
    out.objects.push({path: obj.path, imports: obj.imports})
    for (const so of obj.needed) {
      if (loaded.has(so)) continue
      const p = findLibrary(so, chain)
      if (!p) { if (!out.missing.includes(so)) out.missing.push(so); continue }
      loaded.add(so)
      let key = p
      try { key = realpathSync(p) } catch { /* keep p */ }
      if (seen.has(key)) continue
      seen.add(key)
      const lib = readCached(p)
      if (lib) queue.push([lib, ...chain])
    }
  }
  return out
}

/** The interpreter of a `#!` script (its first word), or undefined. */
export function shebangOf(path: string): string | undefined {
  const head = readBytes(path, 256)
  if (!head || head[0] !== 0x23 || head[1] !== 0x21) return undefined
  const line = head.toString('latin1', 2).split('\n')[0]!.trim()
  return line.split(/\s+/)[0] || undefined
}
