/**
 * Argument values: finding one argument in a call's argument text, splitting the text into
 * arguments, and decoding a C string literal (exec's path). Only the few syscalls whose
 * arguments the observation keeps (profiles/inspected-args.json) and execve/execveat come
 * here; the value's number is then ValueResolver's job (constants.ts).
 *
 *   args      := [arg ("," arg)*]
 *   arg       := SP* (labelled | item) SP*
 *   labelled  := WORD "=" item                           `clone(child_stack=…, flags=…)`
 *   item      := (string | group | comment | decoration | marker | "<<" | other byte)*
 *   string    := '"' (escape | byte)* '"' ["..."]           escape := "\" byte
 *   group     := ("(" | "[" | "{") item-with-commas (")" | "]" | "}")
 *   comment   := "/*" … "*\/"
 *   decoration:= "<" … ">"  after a word, ")" or "]"       -y/-yy: `3</etc/passwd>`
 *   marker    := "<" … ">"  elsewhere                       `<unfinished ...>`, `<... resuming …>`
 *
 * A lone '<' (no closing '>' before the line ends) is an ordinary byte, and so is every '<'
 * after it.
 */
import {CLS, C_CLOSE, C_LT, C_OPEN, C_QUOTE, C_SLASH, SP, isWordByte, skipAngle, startsWith} from './lex-line.js'

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
    if (cls === C_QUOTE) {
      i++
      while (i < e && b[i] !== 0x22) i += b[i] === 0x5c ? 2 : 1
      i++
    } else if (cls === C_OPEN) { depth++; i++ }
    else if (cls === C_CLOSE) { depth--; i++ }
    else if (cls === C_SLASH && i + 1 < e && b[i + 1] === 0x2a) {
      i += 2
      while (i + 1 < e && !(b[i] === 0x2a && b[i + 1] === 0x2f)) i++
      i += 2
    } else if (cls === C_LT && angles) {
      if (i + 1 < e && b[i + 1] === 0x3c) { i += 2; continue }
      const j = skipAngle(b, i, e)
      if (j < 0) angles = false
      i = j < 0 ? i + 1 : j
    } else i++
  }
}

/**
 * Split argument text at top-level commas (the grammar above). Markers like
 * `<unfinished ...>` are cut out. Returns at most `max` trimmed argument texts.
 */
export function splitArgs(s: string, max = 8): string[] {
  const b = Buffer.from(s, 'latin1')
  const n = b.length
  const out: string[] = []
  let depth = 0
  let start = 0
  let i = 0
  let angles = true
  let cut = '' // text of the current argument with markers removed
  while (i < n && out.length < max) {
    const c = b[i]!
    if (c === 0x22) {
      i++
      while (i < n && b[i] !== 0x22) i += b[i] === 0x5c ? 2 : 1
      i++
    } else if (c === 0x28 || c === 0x5b || c === 0x7b) { depth++; i++ }
    else if (c === 0x29 || c === 0x5d || c === 0x7d) { depth--; i++ }
    else if (c === 0x2f && b[i + 1] === 0x2a) {
      const j = b.indexOf('*/', i + 2, 'latin1')
      i = j < 0 ? n : j + 2
    } else if (c === 0x3c && angles) {
      if (b[i + 1] === 0x3c) { i += 2; continue }
      const prev = i > 0 ? b[i - 1]! : SP
      const j = skipAngle(b, i, n)
      if (j < 0) { angles = false; i++; continue }
      if (!isWordByte(prev) && prev !== 0x5d && prev !== 0x29) {
        cut += s.slice(start, i)
        start = j
      }
      i = j
    } else if (c === 0x2c && depth === 0) {
      out.push((cut + s.slice(start, i)).trim())
      cut = ''
      start = i + 1
      i++
    } else i++
  }
  if (out.length < max) {
    const last = (cut + s.slice(start, Math.min(i, n))).trim()
    if (last !== '' || out.length > 0) out.push(last)
  }
  return out
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

/**
 * The text of exec's path argument (index n) in the argument text src[as, ae), as splitArgs()
 * gives it; the usual case, a quoted string first and then a comma, without making a string of
 * the whole argument text (environment comments, argv arrays).
 */
export function execPathArg(src: Buffer, as: number, ae: number, n: number): string {
  if (n === 0 && src[as] === 0x22) {
    let i = as + 1
    while (i < ae && src[i] !== 0x22) i += src[i] === 0x5c ? 2 : 1
    if (i + 1 < ae && src[i + 1] === 0x2c) return src.toString('latin1', as, i + 1)
  }
  return splitArgs(src.toString('latin1', as, ae), n + 1)[n] ?? ''
}
