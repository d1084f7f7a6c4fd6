/**
 * Symbolic argument values -> numbers.
 *
 * strace without `-X raw` prints argument values as names (`PROT_READ|PROT_WRITE`,
 * `CLONE_CHILD_SETTID|SIGCHLD`, `TCGETS`, `0x3 /* PROT_READ|PROT_WRITE *\/` with -X verbose).
 * The tables are data in profiles/constants/*.json (`{"constants": {"NAME": "0x…"}}`); this
 * module only loads them and evaluates the small expression language strace prints:
 *
 *   value   := alt (" or " alt)*           all alternatives that resolve must agree
 *   alt     := term ("|" term)*            bitwise OR
 *   term    := number | NAME | ioc
 *   number  := "-"? ("0x" hex | "0" octal | decimal)
 *   ioc     := ("_IOC(" dir "," | "_IO(" | "_IOR(" | "_IOW(" | "_IOWR(") type "," nr ["," size] ")"
 *
 * Comments are dropped first. Anything else (a struct, a string, `~[…]`, an unknown name)
 * resolves to `undefined`, which the observer records as `unknown: true`.
 * Results are unsigned 64-bit, written as lowercase hex ("0x80000"); negative decimals are
 * taken as the 64-bit two's complement (strace prints `-1` for an int register holding -1).
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {profilesDir} from '../paths.js'

const U64 = (1n << 64n) - 1n

let table: Map<string, bigint> | undefined
/** All profiles/constants/*.json tables, merged. A name defined twice with different values is dropped (ambiguous). */
export function constantTable(): Map<string, bigint> {
  if (table) return table
  const dir = join(profilesDir(), 'constants')
  const t = new Map<string, bigint>()
  const ambiguous = new Set<string>()
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const data = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {constants: Record<string, string | number>}
    for (const [name, v] of Object.entries(data.constants)) {
      const n = BigInt(v)
      const old = t.get(name)
      if (old !== undefined && old !== n) ambiguous.add(name)
      t.set(name, n)
    }
  }
  for (const a of ambiguous) t.delete(a)
  return (table = t)
}

/** Hex form of a u64 value: "0x0", "0x80000", "0xffffffffffffffff". */
export function toHex64(v: bigint): string {
  return '0x' + (v & U64).toString(16)
}

function stripComments(s: string): string {
  let out = ''
  let i = 0
  for (;;) {
    const a = s.indexOf('/*', i)
    if (a < 0) return out + s.slice(i)
    out += s.slice(i, a)
    const b = s.indexOf('*/', a + 2)
    if (b < 0) return out
    i = b + 2
  }
}

function parseNumber(s: string): bigint | undefined {
  let neg = false
  let t = s
  if (t.startsWith('-')) { neg = true; t = t.slice(1) }
  let v: bigint
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) v = BigInt(t)
  else if (/^0[0-7]+$/.test(t)) v = BigInt('0o' + t.slice(1))
  else if (/^(0|[1-9][0-9]*)$/.test(t)) v = BigInt(t)
  else return undefined
  if (v > U64) return undefined
  return neg ? (-v) & U64 : v
}

// x86/arm/generic _IOC layout: nr 8 bits, type 8 bits, size 14 bits, dir 2 bits.
const IOC_DIR: Record<string, bigint> = {_IOC_NONE: 0n, _IOC_WRITE: 1n, _IOC_READ: 2n}
function ioc(dir: bigint, type: bigint, nr: bigint, size: bigint): bigint {
  return (dir << 30n) | ((size & 0x3fffn) << 16n) | ((type & 0xffn) << 8n) | (nr & 0xffn)
}

function parseIoc(s: string, names: Map<string, bigint>): bigint | undefined {
  const open = s.indexOf('(')
  if (open < 0 || !s.endsWith(')')) return undefined
  const macro = s.slice(0, open).trim()
  const parts = s.slice(open + 1, -1).split(',').map((p) => p.trim())
  const num = (p: string | undefined) => (p === undefined ? undefined : parseNumber(p) ?? names.get(p))
  if (macro === '_IOC') {
    if (parts.length !== 4) return undefined
    let dir = 0n
    for (const d of parts[0]!.split('|').map((x) => x.trim())) {
      const v = IOC_DIR[d] ?? parseNumber(d)
      if (v === undefined) return undefined
      dir |= v
    }
    const [t, n, z] = [num(parts[1]), num(parts[2]), num(parts[3])]
    return t === undefined || n === undefined || z === undefined ? undefined : ioc(dir, t, n, z)
  }
  const dirs: Record<string, bigint> = {_IO: 0n, _IOW: 1n, _IOR: 2n, _IOWR: 3n}
  const dir = dirs[macro]
  if (dir === undefined) return undefined
  if (parts.length !== (macro === '_IO' ? 2 : 3)) return undefined
  const t = num(parts[0])
  const n = num(parts[1])
  const z = macro === '_IO' ? 0n : num(parts[2])
  return t === undefined || n === undefined || z === undefined ? undefined : ioc(dir, t, n, z)
}

function resolveAlt(s: string, names: Map<string, bigint>): bigint | undefined {
  const t = s.trim()
  if (t === '') return undefined
  if (t.startsWith('_IO')) {
    // _IOC(_IOC_READ|_IOC_WRITE, …) contains '|' inside the parentheses: evaluate it whole
    const v = parseIoc(t, names)
    if (v !== undefined || !t.includes(')|')) return v
  }
  let acc = 0n
  for (const raw of t.split('|')) {
    const term = raw.trim()
    let v = parseNumber(term)
    if (v === undefined) v = names.get(term)
    if (v === undefined && term.startsWith('_IO')) v = parseIoc(term, names)
    if (v === undefined) return undefined
    acc |= v
  }
  return acc
}

/** Resolve one printed argument value to a u64, or undefined when it is not a number we can know. */
export function resolveValue(text: string, names: Map<string, bigint> = constantTable()): bigint | undefined {
  let s = text
  if (s.includes('/*')) s = stripComments(s)
  s = s.trim()
  if (s === '' || s.length > 512) return undefined
  if (s === 'NULL') return 0n
  let out: bigint | undefined
  for (const alt of s.split(' or ')) {
    const v = resolveAlt(alt, names)
    if (v === undefined) continue
    if (out !== undefined && out !== v) return undefined
    out = v
  }
  return out
}

/**
 * A bounded cache in front of resolveValue: printed argument texts repeat a lot
 * (`PROT_READ|PROT_WRITE`), so each distinct text is evaluated once. Cleared when full,
 * so memory stays constant however long the log.
 */
export class ValueResolver {
  private cache = new Map<string, string | null>()
  private readonly names = constantTable()
  constructor(private readonly max = 4096) {}
  /** hex u64 string, or null when unresolvable */
  hex(text: string): string | null {
    let r = this.cache.get(text)
    if (r !== undefined) return r
    const v = resolveValue(text, this.names)
    r = v === undefined ? null : toHex64(v)
    if (this.cache.size >= this.max) this.cache.clear()
    this.cache.set(text, r)
    return r
  }
}
