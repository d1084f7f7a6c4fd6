/**
 * Values: finding one argument in a call's argument text (argAt()), decoding a C string
 * literal (exec's path), and a call's return value as a number (retValue()). Only the few syscalls whose arguments the observation keeps
 * (profiles/inspected-args.json) and execve/execveat come here; turning the argument's text
 * into a number is ValueResolver's job (constants.ts).
 *
 *   args      := [arg ("," arg)*]
 *   arg       := SP* (labelled | item) SP*
 *   labelled  := WORD "=" item                           `clone(child_stack=…, flags=…)`
 *   item      := (string | group | comment | angled | "<<" | other byte)*
 *   string    := '"' (escape | byte)* '"' ["..."]           escape := "\" byte
 *   group     := ("(" | "[" | "{") item-with-commas (")" | "]" | "}")
 *   comment   := "/*" … "*\/"
 *   angled    := "<" … ">"     -yy decorations `3</etc/passwd>`, markers `<pid changed to N ...>`
 *
 * A lone '<' (no closing '>' before the line ends) is an ordinary byte, and so is every '<'
 * after it.
 */
import {CLS, C_CLOSE, C_LT, C_OPEN, C_QUOTE, C_SLASH, RET, SP, decimal, isDigit, isWordByte, skipAngle, skipComment, skipString, startsWith, type LexState} from './lex-line.js'

/** End offset of the last argAt() hit. */
export let argEnd = 0

/**
 * The trimmed [start, argEnd) of argument `index` of the argument text b[s, e), or, when strace
 * labelled the arguments (`clone(child_stack=…, flags=…)`), of the value after `label=`.
 * Returns -1 when there is no such argument.
 */
export function argAt(b: Uint8Array, s: number, e: number, index: number, label: Uint8Array): number {
  let depth = 0
  let n = 0
  let i = s
  let as = s
  let labelled = -1 // unknown yet
  let angles = true
  for (;;) {
    // tight loop over ordinary bytes
    let c = 0
    while (i < e) {
      c = b[i]!
      if (c === 0x2c || CLS[c] !== 0) break
      i++
    }
    if (i >= e || (c === 0x2c && depth === 0)) {
      let x = as
      let y = i < e ? i : e
      while (x < y && b[x] === SP) x++
      while (y > x && b[y - 1] === SP) y--
      if (labelled < 0) {
        let k = x
        while (k < y && isWordByte(b[k]!)) k++
        labelled = k > x && k < y && b[k] === 0x3d ? 1 : 0
      }
      if (labelled === 1) {
        if (y - x > label.length && b[x + label.length] === 0x3d && startsWith(b, x, y, label)) {
          argEnd = y
          return x + label.length + 1
        }
      } else if (n === index) {
        if (x === y) return -1
        argEnd = y
        return x
      }
      if (i >= e) return -1
      n++
      i++
      as = i
      continue
    }
    if (c === 0x2c) { i++; continue }
    const cls = CLS[c]!
    let j = 0
    if (cls === C_QUOTE) i = (j = skipString(b, i, e)) < 0 ? e : j
    else if (cls === C_OPEN) { depth++; i++ }
    else if (cls === C_CLOSE) { depth--; i++ }
    else if (cls === C_SLASH && i + 1 < e && b[i + 1] === 0x2a) i = (j = skipComment(b, i, e)) < 0 ? e : j
    else if (cls === C_LT && angles) {
      if (i + 1 < e && b[i + 1] === 0x3c) { i += 2; continue }
      j = skipAngle(b, i, e)
      if (j < 0) angles = false
      i = j < 0 ? i + 1 : j
    } else i++
  }
}

const ESCAPES: Record<string, number> = {n: 10, t: 9, r: 13, v: 11, f: 12, a: 7, b: 8}

/**
 *   string    := '"' (byte | "\" ("n" | "t" | "r" | "v" | "f" | "a" | "b" | "x" HEX{1,2} | OCT{1,3} | byte))* '"'
 *
 * Decode a C string literal as strace prints it (`"a\"b\n\x7f\303\251"`) to a JS string
 * (UTF-8); undefined when it is not one, or is truncated (`"abc"...`).
 */
export function decodeCString(s: string): string | undefined {
  const t = s.trim()
  if (t.length < 2 || t.charCodeAt(0) !== 0x22) return undefined
  const bytes: number[] = []
  let i = 1
  const n = t.length
  for (;;) {
    if (i >= n) return undefined
    const c = t.charCodeAt(i)
    if (c === 0x22) break
    if (c !== 0x5c) { bytes.push(c & 0xff); i++; continue }
    const d = t[i + 1]
    i += 2
    if (d === undefined) continue
    if (ESCAPES[d] !== undefined) bytes.push(ESCAPES[d])
    else if (d === 'x') {
      const h = /^[0-9a-fA-F]{1,2}/.exec(t.slice(i, i + 2))?.[0] ?? ''
      bytes.push(parseInt(h || '0', 16))
      i += h.length
    } else if (d >= '0' && d <= '7') {
      const o = /^[0-7]{1,3}/.exec(t.slice(i - 1, i + 2))![0]
      bytes.push(parseInt(o, 8) & 0xff)
      i += o.length - 1
    } else bytes.push(d.charCodeAt(0) & 0xff)
  }
  if (t.slice(i + 1).startsWith('...')) return undefined
  return Buffer.from(bytes).toString('utf8')
}

const NO_LABEL = Buffer.from('\0')

/** The text of exec's path argument (index n) in the argument text src[as, ae); '' when there is none. */
export function execPathArg(src: Buffer, as: number, ae: number, n: number): string {
  const a = argAt(src, as, ae, n, NO_LABEL)
  return a < 0 ? '' : src.toString('latin1', a, argEnd)
}

/** A `0x…` value at i (at most 13 hex digits read), else NaN. */
export function hexValue(b: Uint8Array, i: number, e: number): number {
  if (!(i + 2 < e && b[i] === 0x30 && (b[i + 1] === 0x78 || b[i + 1] === 0x58))) return NaN
  let v = 0
  let j = i + 2
  for (; j < e && j - i < 15; j++) {
    const h = b[j]!
    const d = h >= 0x30 && h <= 0x39 ? h - 0x30 : h >= 0x61 && h <= 0x66 ? h - 0x57 : h >= 0x41 && h <= 0x46 ? h - 0x37 : -1
    if (d < 0) break
    v = v * 16 + d
  }
  return j > i + 2 ? v : NaN
}

/** The return value of the last line as a number (decimal or hex, up to 2^52), NaN when not one. */
export function retValue(b: Uint8Array, st: LexState): number {
  if (st.ret !== RET.VALUE) return NaN
  if (!Number.isNaN(st.retNum)) return st.retNum
  const i = st.retStart
  const e = st.lineEnd > i ? st.lineEnd : b.length
  const c = b[i]!
  return isDigit(c) && !(c === 0x30 && i + 1 < e && (b[i + 1] === 0x78 || b[i + 1] === 0x58)) ? decimal(b, i, e) : hexValue(b, i, e)
}
