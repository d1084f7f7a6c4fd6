/**
 * Lossless JSON for seccomp profiles: integers that do not fit a double exactly are read as
 * BigInt, and BigInt values are written back as bare JSON numbers. Argument values in seccomp
 * profiles are unsigned 64-bit, so 0xffffffffffffffff must survive read -> build -> write.
 */
import {SeccompGenError} from '../errors.js'

export function parseJson64(text: string, source = 'input'): unknown {
  let i = 0
  const n = text.length
  const fail = (msg: string): never => {
    let line = 1
    for (let k = 0; k < i && k < n; k++) if (text.charCodeAt(k) === 10) line++
    throw new SeccompGenError('USAGE', `invalid JSON: ${msg}`, {file: source, line})
  }
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c === 32 || c === 9 || c === 10 || c === 13) i++
      else break
    }
  }
  const value = (): unknown => {
    ws()
    if (i >= n) fail('unexpected end of input')
    const c = text[i]
    if (c === '{') {
      i++
      const obj: Record<string, unknown> = {}
      ws()
      if (text[i] === '}') { i++; return obj }
      for (;;) {
        ws()
        if (text[i] !== '"') fail(`expected a string key at offset ${i}`)
        const k = str()
        ws()
        if (text[i] !== ':') fail(`expected ':' at offset ${i}`)
        i++
        const v = value()
        Object.defineProperty(obj, k, {value: v, enumerable: true, writable: true, configurable: true})
        ws()
        if (text[i] === ',') { i++; continue }
        if (text[i] === '}') { i++; return obj }
        fail(`expected ',' or '}' at offset ${i}`)
      }
    }
    if (c === '[') {
      i++
      const arr: unknown[] = []
      ws()
      if (text[i] === ']') { i++; return arr }
      for (;;) {
        arr.push(value())
        ws()
        if (text[i] === ',') { i++; continue }
        if (text[i] === ']') { i++; return arr }
        fail(`expected ',' or ']' at offset ${i}`)
      }
    }
    if (c === '"') return str()
    if (text.startsWith('true', i)) { i += 4; return true }
    if (text.startsWith('false', i)) { i += 5; return false }
    if (text.startsWith('null', i)) { i += 4; return null }
    return num()
  }
  const str = (): string => {
    const start = i
    i++
    let simple = true
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c === 34) break
      if (c === 92) { simple = false; i += 2; continue }
      if (c < 32) fail(`control character in string at offset ${i}`)
      i++
    }
    if (i >= n) fail('unterminated string')
    i++
    const raw = text.slice(start, i)
    if (simple) return raw.slice(1, -1)
    try {
      return JSON.parse(raw) as string
    } catch {
      return fail(`bad string escape at offset ${start}`)
    }
  }
  const num = (): number | bigint => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400))
    if (!m) return fail(`unexpected character '${text[i]}' at offset ${i}`)
    i += m[0].length
    if (m[2] === undefined && m[3] === undefined) {
      const asNum = Number(m[0])
      if (Number.isSafeInteger(asNum)) return asNum
      return BigInt(m[0])
    }
    return Number(m[0])
  }
  const out = value()
  ws()
  if (i < n) fail(`trailing data at offset ${i}`)
  return out
}

const MARK = '\u0000u64:'

/** JSON.stringify that writes BigInt as a bare integer (indent 2, trailing newline). */
export function stringifyJson64(value: unknown, indent = 2): string {
  const s = JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${MARK}${v.toString()}` : v), indent)
  return s.replace(/"\\u0000u64:(-?[0-9]+)"/g, '$1') + '\n'
}

/** Coerce a JSON-read integer (number or bigint) to an unsigned 64-bit BigInt, or throw. */
export function toU64(v: unknown, what: string): bigint {
  let b: bigint
  if (typeof v === 'bigint') b = v
  else if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v)
  else throw new SeccompGenError('PROFILE_INVALID', `${what} must be an unsigned 64-bit integer, got ${JSON.stringify(v)}`)
  if (b < 0n || b > 0xffffffffffffffffn) throw new SeccompGenError('PROFILE_INVALID', `${what} is out of the unsigned 64-bit range: ${b}`)
  return b
}
