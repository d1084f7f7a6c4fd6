/**
 * Writing a profile into an OCI bundle (`seccomp-gen apply --bundle DIR [--dry-run]`).
 *
 * The profile is resolved for this container the way moby resolves it for `docker run`:
 * includes/excludes against the bundle's process.capabilities.bounding (absent: no capability),
 * the arch map reduced to the host, Moby-only fields dropped (profile/resolve.ts toOci). The result is
 * checked against the runtime-spec shape of linux.seccomp (schemas/oci-seccomp.schema.json) and
 * the rest of config.json gets a minimal shape check. config.json is read losslessly (json64:
 * u64 values, key order) and replaced atomically (output.ts: through a symlink, keeping mode and
 * owner); on any error it is left byte-identical.
 * With --complain/--explain --listener PATH the profile goes in its notify form, for
 * `seccomp-gen agent --socket PATH` (bundle-notify.ts).
 */
import {readFileSync, statSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {errnoWords, SeccompGenError} from '../errors.js'
import {writeOutput} from '../output.js'
import {parseJson64, stringifyJson64} from '../profile/json64.js'
import {loadProfile} from '../profile/load.js'
import {toOci} from '../profile/resolve.js'
import {schemaProblems} from '../profile/schema.js'
import type {OciSeccomp} from '../profile/types.js'
import {evaluate} from '../profile/evaluate.js'
import {callRuns, type SeccompAction} from '../actions.js'
import {errnoName} from '../errno.js'
import {containerNotifyVariant, encodeMetadata} from './bundle-notify.js'
import type {NotifyMode} from './supervise.js'

export interface ApplyToBundleOptions {
  dryRun: boolean
  /**
   * --complain/--explain --listener PATH: the denying answers become SCMP_ACT_NOTIFY and the
   * runtime hands the listener to the agent on PATH (bundle-notify.ts)
   */
  notify?: {mode: NotifyMode; listener: string}
  /** host arch override (tests); default process.arch */
  arch?: string
}

export interface ApplyToBundleResult {
  /** false when linux.seccomp already held exactly this filter (nothing written) */
  changed: boolean
  /** one line: what was (or would be) written where */
  summary: string
  /** --dry-run: a readable before/after of linux.seccomp */
  diff?: string
}

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Platform sections of a runtime-spec config other than linux: such a bundle is not ours to edit. */
const OTHER_PLATFORMS = ['windows', 'solaris', 'vm', 'freebsd', 'zos']

export async function applyToBundle(profilePath: string, bundleDir: string, opts: ApplyToBundleOptions): Promise<ApplyToBundleResult> {
  const where = join(bundleDir, 'config.json')
  const {text, config} = readBundleConfig(bundleDir)
  const linux = config.linux
  if (linux !== undefined && !isObject(linux)) bundleError(where, '/linux must be an object')

  const bounding = boundingCaps(config, where)
  const profile = loadProfile(profilePath)
  const resolved = toOci(profile, {caps: bounding, arch: opts.arch})
  checkSeccomp(resolved, profilePath, opts.arch ?? process.arch)
  const seccomp = opts.notify ? withListener(resolved, opts.notify) : resolved

  const before = isObject(linux) && isObject(linux.seccomp) ? (linux.seccomp as Json) : undefined
  const changed = before === undefined || stringifyJson64(before) !== stringifyJson64(seccomp)
  const diff = opts.dryRun ? seccompDiff(before, seccomp, where) : undefined
  const shape = describe(seccomp) + (opts.notify ? `; denials go to the agent on ${seccomp.listenerPath} (${opts.notify.mode})` : '')

  if (opts.dryRun) {
    return {changed, summary: `${changed ? 'would set' : 'already set:'} linux.seccomp in ${where}: ${shape}`, diff}
  }
  if (!changed) return {changed: false, summary: `linux.seccomp in ${where} already matches: ${shape}`}

  // Replace (or add) linux.seccomp in place: every other key, its order and its values stay.
  if (isObject(linux)) linux.seccomp = seccomp
  else config.linux = {seccomp}
  const out = stringifyJson64Indented(config, detectIndent(text))
  writeOutput(where, out)
  return {changed: true, summary: `set linux.seccomp in ${where}: ${shape}`}
}

/** The notify form with the listener's path and the metadata the agent answers from. */
function withListener(resolved: OciSeccomp, n: {mode: NotifyMode; listener: string}): OciSeccomp {
  if (n.listener.trim() === '') throw new SeccompGenError('USAGE', '--listener: an empty path')
  // runc and crun connect to the path from their own working directory: make it absolute
  const path = resolve(n.listener)
  // a longer path does not fit a sockaddr_un: the runtime would fail to start the container
  if (Buffer.byteLength(path) > 107) throw new SeccompGenError('USAGE', `--listener ${path}: ${Buffer.byteLength(path)} bytes long; a unix socket path has at most 107`)
  return {...containerNotifyVariant(resolved), listenerPath: path, listenerMetadata: encodeMetadata({mode: n.mode, profile: resolved})}
}

function bundleError(file: string, message: string): never {
  throw new SeccompGenError('BUNDLE_INVALID', message, {file})
}

function readBundleConfig(bundleDir: string): {text: string; config: Json} {
  let dirStat
  try {
    dirStat = statSync(bundleDir)
  } catch (err) {
    throw new SeccompGenError('BUNDLE_INVALID', `bundle directory ${bundleDir} not found (${(err as NodeJS.ErrnoException).code})`)
  }
  if (!dirStat.isDirectory()) throw new SeccompGenError('BUNDLE_INVALID', `bundle ${bundleDir} is not a directory`)
  const given = join(bundleDir, 'config.json')
  let text: string
  try {
    // through a symlinked config.json to its target (writeOutput writes through it the same way)
    if (!statSync(given).isFile()) bundleError(given, 'is not a regular file')
    text = readFileSync(given, 'utf8')
  } catch (err) {
    if (err instanceof SeccompGenError) throw err
    const e = err as NodeJS.ErrnoException
    const why = e.code === 'ENOENT' ? 'no config.json in the bundle (create one with `runc spec`)' : `cannot read it (${errnoWords(e)})`
    bundleError(given, why)
  }
  let config: unknown
  try {
    config = parseJson64(text, given)
  } catch (err) {
    const e = err as SeccompGenError
    throw new SeccompGenError('BUNDLE_INVALID', e.message, {file: given, line: e.line})
  }
  checkConfigShape(config, given)
  return {text, config: config as Json}
}

/**
 * The minimal runtime-spec shape we rely on, and what a runtime would reject outright. The full
 * schema check is the runtime's business (and our tests' oracle); a broken bundle must not be
 * "fixed" by us into a different broken one.
 */
function checkConfigShape(config: unknown, file: string): asserts config is Json {
  if (!isObject(config)) bundleError(file, 'config.json must hold a JSON object')
  if (typeof config.ociVersion !== 'string') bundleError(file, '/ociVersion must be a string (is this a runtime-spec config.json?)')
  if (config.process !== undefined && !isObject(config.process)) bundleError(file, '/process must be an object')
  if (config.root !== undefined && (!isObject(config.root) || typeof config.root.path !== 'string')) bundleError(file, '/root/path must be a string')
  const other = OTHER_PLATFORMS.filter((k) => config[k] !== undefined)
  if (other.length && config.linux === undefined) bundleError(file, `not a Linux bundle (it has /${other[0]}); seccomp applies to Linux containers only`)
}

function boundingCaps(config: Json, file: string): string[] {
  const proc = config.process
  if (!isObject(proc) || proc.capabilities === undefined) return []
  if (!isObject(proc.capabilities)) bundleError(file, '/process/capabilities must be an object')
  const b = proc.capabilities.bounding
  if (b === undefined) return []
  if (!Array.isArray(b) || !b.every((c) => typeof c === 'string')) bundleError(file, '/process/capabilities/bounding must be an array of strings')
  return b as string[]
}

function checkSeccomp(seccomp: OciSeccomp, profilePath: string, arch: string): void {
  const problems = schemaProblems(seccomp, 'oci')
  if (problems.length) {
    const p = problems[0]
    throw new SeccompGenError('PROFILE_INVALID', `resolved linux.seccomp ${p.pointer || '/'}: ${p.message}`, {file: profilePath})
  }
  // A runtime loads the filter and then execs the container's process: without execve it can never start.
  const exec = evaluate(seccomp, arch, 'execve', [], {host: arch}).action
  if (!callRuns(exec, {listener: seccomp.listenerPath !== undefined})) {
    throw new SeccompGenError('PROFILE_DENIES_EXEC', `the profile (resolved for this bundle) answers execve with ${exec}: the runtime could never start the container process`, {file: profilePath})
  }
}

/** The indent unit config.json was written with (runc spec: tab; most tools: 2 or 4 spaces). */
function detectIndent(text: string): '\t' | number {
  const m = /^\{\r?\n([ \t]+)\S/.exec(text)
  if (!m) return 2
  return m[1].startsWith('\t') ? '\t' : m[1].length
}

/** json64 output with the file's own indent unit (JSON strings hold no raw newlines, so lines are safe to re-indent). */
function stringifyJson64Indented(value: unknown, indent: '\t' | number): string {
  if (indent !== '\t') return stringifyJson64(value, indent)
  return stringifyJson64(value, 1).replace(/^ +/gm, (sp) => '\t'.repeat(sp.length))
}

// --- the dry-run view ---------------------------------------------------------------------------

interface Shape {
  action: string
  arches: string[]
  rules: number
  names: Set<string>
  allowed: Set<string>
}

function shapeOf(s: Json | OciSeccomp | undefined): Shape | undefined {
  if (!s) return undefined
  const j = s as Json
  const errno = j.defaultErrnoRet !== undefined ? `(${errnoName(Number(j.defaultErrnoRet)) ?? String(j.defaultErrnoRet)})` : ''
  const rules = Array.isArray(j.syscalls) ? (j.syscalls as Json[]) : []
  const names = new Set<string>()
  const allowed = new Set<string>()
  for (const r of rules) {
    const ns = Array.isArray(r.names) ? (r.names as string[]) : typeof r.name === 'string' ? [r.name] : []
    for (const n of ns) {
      names.add(n)
      if (callRuns(r.action as SeccompAction)) allowed.add(n)
    }
  }
  return {
    action: `${String(j.defaultAction)}${errno}`,
    arches: Array.isArray(j.architectures) ? (j.architectures as string[]) : [],
    rules: rules.length,
    names,
    allowed,
  }
}

function describe(s: OciSeccomp): string {
  const sh = shapeOf(s)!
  return `default ${sh.action}, arches ${sh.arches.join(',') || '(none: native only)'}, ${sh.rules} rule${sh.rules === 1 ? '' : 's'}, ${sh.names.size} syscall name${sh.names.size === 1 ? '' : 's'}`
}

const wrap = (names: string[], indent: string, width = 96): string[] => {
  const lines: string[] = []
  let cur = ''
  for (const n of names) {
    if (cur && indent.length + cur.length + 1 + n.length > width) { lines.push(indent + cur); cur = n } else cur = cur ? `${cur} ${n}` : n
  }
  if (cur) lines.push(indent + cur)
  return lines
}

/** A readable before/after of linux.seccomp: default action, arches, rules, names added/removed. */
function seccompDiff(before: Json | undefined, after: OciSeccomp, where: string): string {
  const a = shapeOf(after)!
  const b = shapeOf(before)
  const out = [`--- ${where} linux.seccomp (now)`, `+++ ${where} linux.seccomp (after apply)`]
  if (!b) {
    out.push('  (no linux.seccomp now: the runtime applies no filter)')
    out.push(`  default action: ${a.action}`, `  architectures:  ${a.arches.join(' ') || '(none: native only)'}`, `  rules:          ${a.rules}`)
    out.push(`  syscall names:  ${a.names.size} (${a.allowed.size} allowed)`)
    out.push(...wrap([...a.allowed].sort().map((n) => `+${n}`), '    '))
    return out.join('\n') + '\n'
  }
  const line = (label: string, x: string, y: string) => out.push(x === y ? `  ${label} ${x} (unchanged)` : `  ${label} ${x} -> ${y}`)
  line('default action:', b.action, a.action)
  line('architectures: ', b.arches.join(' ') || '(none)', a.arches.join(' ') || '(none)')
  line('rules:         ', String(b.rules), String(a.rules))
  const added = [...a.allowed].filter((n) => !b.allowed.has(n)).sort()
  const removed = [...b.allowed].filter((n) => !a.allowed.has(n)).sort()
  out.push(`  allowed names:  ${b.allowed.size} -> ${a.allowed.size} (+${added.length} -${removed.length})`)
  out.push(...wrap(added.map((n) => `+${n}`), '    '))
  out.push(...wrap(removed.map((n) => `-${n}`), '    '))
  return out.join('\n') + '\n'
}
