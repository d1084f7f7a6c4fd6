/**
 * Which kind of file a path holds — a seccomp profile, an observation from `record`, an OCI
 * bundle's config.json or an strace log — told from its content. Used only once a file has
 * failed to load, so a profile given where a recording is expected (or the reverse) is named
 * as what it is instead of being reported as a pile of schema errors.
 */
import {readFileSync, statSync} from 'node:fs'
import {readHead} from './fsutil.js'

export type FileKind = 'profile' | 'observation' | 'bundle-config' | 'strace-log' | 'unknown'

/** The kinds in words, for "X is …, not …". */
const KIND_WORDS: Record<FileKind, string> = {
  profile: 'a seccomp profile',
  observation: 'an observation file (from seccomp-gen record)',
  'bundle-config': "an OCI bundle's config.json",
  'strace-log': 'an strace log',
  unknown: 'an unknown kind of file',
}

/** Larger files are not read to be told apart (only observations and strace logs get so big). */
const MAX_JSON = 64 * 1024 * 1024

/** A line strace writes: "[pid N] ", "N " or nothing, an optional timestamp, then name( or a ---/+++ note. */
const STRACE_LINE = /^(\[pid +\d+\] +|\d+ +)?([\d:.]+ +)?([a-z_][a-z0-9_]*\(|--- |\+\+\+ )/

export function fileKind(path: string): FileKind {
  let text: string
  try {
    const st = statSync(path)
    if (!st.isFile()) return 'unknown'
    if (st.size > MAX_JSON) return straceOrUnknown(readHead(path, 4096, 'file').toString('utf8'))
    text = readFileSync(path, 'utf8')
  } catch {
    return 'unknown'
  }
  const json = text.replace(/^\uFEFF/, '').trimStart()
  // a Kubernetes SeccompProfile (YAML, as build --format k8s writes it) is a profile too
  if (!json.startsWith('{')) return /^kind:\s*SeccompProfile\s*$/m.test(json) ? 'profile' : straceOrUnknown(json)
  let data: Record<string, unknown>
  try {
    data = JSON.parse(json) as Record<string, unknown>
  } catch {
    return 'unknown'
  }
  if (data.schema === 'seccomp-gen/observation') return 'observation'
  if (typeof data.ociVersion === 'string') return 'bundle-config'
  if (typeof data.defaultAction === 'string') return 'profile'
  return 'unknown'
}

/**
 * "is an observation file (from seccomp-gen record), not a seccomp profile" when the file is a
 * known kind other than the ones expected; undefined otherwise (the original error stands).
 */
export function wrongKind(path: string, expected: FileKind[]): string | undefined {
  const kind = fileKind(path)
  if (kind === 'unknown' || expected.includes(kind)) return undefined
  return `is ${KIND_WORDS[kind]}, not ${expected.map((k) => KIND_WORDS[k]).join(' or ')}`
}

function straceOrUnknown(text: string): FileKind {
  const first = text.split('\n', 1)[0] ?? ''
  return STRACE_LINE.test(first) ? 'strace-log' : 'unknown'
}
