/**
 * Stage 1 of the strace parser: one line of strace output -> a classified, positioned line.
 *
 * Works on bytes (a Buffer and a [start, end) range), allocates nothing on the hot path:
 * `lexInto()` fills a reusable `LexState` with offsets. `lexLine()` is the convenient,
 * allocating form used by tests and tools (`TraceLine` union).
 *
 * Grammar (strace 4.x–6.x output, every line kind strace writes with -f and -o or to stderr):
 *
 *   line      := SP* [prefix] [timestamp] body [SP+ "<" secs ">"]        -T duration at the end
 *   prefix    := "[pid" SP+ PID "]" SP+ | PID ["<" comm ">"] SP+           -f -o gives bare PID
 *   timestamp := (DIGIT | ":" | ".")+ SP+                                 -t -tt -ttt -r
 *   body      := call | resumed | signal | exit | mode | info
 *   call      := NAME "(" args (")" SP* "=" SP+ ret | SP* "<unfinished ...>" | SP* "<detached ...>")
 *   resumed   := "<..." SP NAME SP "resumed>" args (")" SP* "=" SP+ ret | SP* "<unfinished ...>" | "<detached ...>")
 *   signal    := "--- " … " ---"                                        also "--- stopped by SIGSTOP ---"
 *   exit      := "+++ exited with N +++" | "+++ killed by SIG… [(core dumped)] +++"
 *              | "+++ superseded by execve in pid N +++"
 *   mode      := "[ Process PID=N runs in " ("64 bit" | "32 bit" | "x32") " mode. ]"
 *   info      := "strace: " …
 *   ret       := "?" [SP ERRNAME " (" … ")"] | "-" DIGITS SP ERRNAME " (" … ")" | NUMBER [decor] [tail]
 *              , then optional " (INJECTED)"
 *   args      := C-like text; balanced () [] {}; "strings" with \-escapes; /* comments *\/;
 *                fd decorations NAME"<"…">" (nested, brackets inside); markers "<… …>";
 *                "<<" shifts.
 *
 * Every input is accepted: a line that fits no rule is UNKNOWN. Each byte is visited a
 * bounded number of times (at most twice), so time is linear in the line length.
 */

export const KIND = {
  BLANK: 0,
  CALL: 1,
  UNFINISHED: 2,
  RESUMED: 3,
  SIGNAL: 4,
  EXIT: 5,
  SUPERSEDED: 6,
  MODE: 7,
  INFO: 8,
  UNKNOWN: 9,
} as const
export type Kind = (typeof KIND)[keyof typeof KIND]

export const RET = {NONE: 0, VALUE: 1, ERROR: 2, QUESTION: 3} as const
export type RetKind = (typeof RET)[keyof typeof RET]

export const MODE = {BITS64: 1, BITS32: 2, X32: 3} as const

/** Offsets into the buffer of the last lexed line. Reused; read it before lexing the next line. */
export class LexState {
  kind: Kind = KIND.BLANK
  /** -1 when the line had no pid prefix */
  pid = -1
  nameStart = 0
  nameEnd = 0
  /** FNV-1a hash of the name bytes (for interning without a second pass) */
  nameHash = 0
  argsStart = 0
  argsEnd = 0
  ret: RetKind = RET.NONE
  /** the return value when it is a plain decimal that fits a double, else NaN (hex: see retStart) */
  retNum = NaN
  /** where the return value starts */
  retStart = 0
  /** errno name (ERROR) or restart name after `= ?` (QUESTION) */
  errStart = 0
  errEnd = 0
  injected = false
  /** UNFINISHED/RESUMED that ended in `<detached ...>` */
  detached = false
  /** RESUMED line that ended in `<unfinished ...>` again (still pending) */
  stillPending = false
  /** SUPERSEDED: the pid whose execve took over; MODE: PID=N; `<pid changed to N ...>`: N; else -1 */
  otherPid = -1
  /** MODE: one of MODE.* */
  mode = 0
  /** EXIT: true for "killed by" */
  killed = false
  /** end of the line content (after trimming and the -T duration) */
  lineEnd = 0
  /** the '=' before the return value (fast path) */
  eqPos = 0
}

// byte classes for the argument scanner: 0 = ordinary
const C_QUOTE = 1
const C_OPEN = 2
const C_CLOSE = 3
const C_SLASH = 4
const C_LT = 5
const CLS = new Uint8Array(256)
CLS[0x22] = C_QUOTE
CLS[0x28] = C_OPEN
CLS[0x5b] = C_OPEN
CLS[0x7b] = C_OPEN
CLS[0x29] = C_CLOSE
CLS[0x5d] = C_CLOSE
CLS[0x7d] = C_CLOSE
CLS[0x2f] = C_SLASH
CLS[0x3c] = C_LT

const SP = 0x20
/** bytes of a syscall name as strace prints it: a-z 0-9 _ and ? (for `???`) */
export const NAME_BYTE = new Uint8Array(256)
for (let c = 0x61; c <= 0x7a; c++) NAME_BYTE[c] = 1
for (let c = 0x30; c <= 0x39; c++) NAME_BYTE[c] = 1
NAME_BYTE[0x5f] = 1
NAME_BYTE[0x3f] = 1
const isDigit = (c: number) => c >= 0x30 && c <= 0x39
const isWordByte = (c: number) =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f
const isNameByte = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x3f

export function startsWith(b: Uint8Array, i: number, e: number, lit: Uint8Array): boolean {
  const n = lit.length
  if (i + n > e) return false
  for (let k = 0; k < n; k++) if (b[i + k] !== lit[k]) return false
  return true
}
export function endsWith(b: Uint8Array, s: number, e: number, lit: Uint8Array): boolean {
  const n = lit.length
  if (e - n < s) return false
  for (let k = 0; k < n; k++) if (b[e - n + k] !== lit[k]) return false
  return true
}
const lit = (s: string) => Buffer.from(s, 'latin1')
const L_PID = lit('[pid')
export const L_UNFINISHED = lit('<unfinished ...>')
export const L_DETACHED = lit('<detached ...>')
export const L_RESUMED_HEAD = lit('<... ')
export const L_RESUMED_TAIL = lit(' resumed>')
const L_SIG = lit('--- ')
const L_EXIT = lit('+++ ')
const L_EXITED = lit('+++ exited with ')
const L_KILLED = lit('+++ killed by ')
const L_SUPERSEDED = lit('+++ superseded by execve in pid ')
const L_MODE = lit('[ Process PID=')
const L_RUNS_IN = lit(' runs in ')
const L_64 = lit('64 bit')
const L_32 = lit('32 bit')
const L_X32 = lit('x32')
const L_STRACE = lit('strace: ')
const L_PID_CHANGED = lit('<pid changed to ')
export const L_INJECTED = lit('(INJECTED)')

/** Parse an unsigned decimal at i; returns [value, next] or [-1, i] when none. */
function decimal(b: Uint8Array, i: number, e: number): number {
  let v = 0
  let j = i
  while (j < e && isDigit(b[j]!) && j - i < 15) v = v * 10 + (b[j++]! - 0x30)
  return j === i ? -1 : v
}

/**
 * Skip an angle-bracket region starting at b[i] === '<': `3</a/b<char 1:3>>`,
 * `<TCP:[1.2.3.4:5->6.7.8.9:10]>`, `<... resuming interrupted read ...>`. Returns the index
 * after the closing '>' or -1 when the line ends first.
 */
function skipAngle(b: Uint8Array, i: number, e: number): number {
  let angle = 0
  let square = 0
  for (let j = i; j < e; j++) {
    const c = b[j]!
    if (c === 0x22) {
      // quoted path inside a decoration
      j++
      while (j < e && b[j] !== 0x22) { if (b[j] === 0x5c) j++; j++ }
      if (j >= e) return -1
    } else if (c === 0x5b) square++
    else if (c === 0x5d) { if (square > 0) square-- }
    else if (square === 0) {
      if (c === 0x3c) angle++
      else if (c === 0x3e) { if (--angle === 0) return j + 1 }
    }
  }
  return -1
}

/**
 * Scan argument text from i at bracket depth `depth` (1 inside a call's parentheses) to the
 * ')' that closes depth 1. Returns its index, or -1 (unbalanced or the line ends).
 * Records `<pid changed to N ...>` in st.otherPid.
 */
function scanArgs(b: Uint8Array, i: number, e: number, depth: number, st: LexState): number {
  let angles = true
  while (i < e) {
    const cls = CLS[b[i]!]!
    if (cls === 0) { i++; continue }
    if (cls === C_QUOTE) {
      i++
      while (i < e) {
        const c = b[i]!
        if (c === 0x5c) i += 2
        else if (c === 0x22) break
        else i++
      }
      if (i >= e) return -1
      i++
    } else if (cls === C_OPEN) {
      depth++
      i++
    } else if (cls === C_CLOSE) {
      depth--
      if (depth === 0) return b[i] === 0x29 ? i : -1
      if (depth < 0) return -1
      i++
    } else if (cls === C_SLASH) {
      if (i + 1 < e && b[i + 1] === 0x2a) {
        let j = i + 2
        while (j + 1 < e && !(b[j] === 0x2a && b[j + 1] === 0x2f)) j++
        if (j + 1 >= e) return -1
        i = j + 2
      } else i++
    } else {
      // '<'
      if (i + 1 < e && b[i + 1] === 0x3c) { i += 2; continue } // shift operator
      if (!angles) { i++; continue }
      if (b[i + 1] === 0x70 && startsWith(b, i, e, L_PID_CHANGED)) st.otherPid = decimal(b, i + L_PID_CHANGED.length, e)
      const j = skipAngle(b, i, e)
      if (j < 0) { angles = false; i++; continue } // a lone '<': ordinary byte from here on
      i = j
    }
  }
  return -1
}

const scratch = new LexState()

/**
 * Where the exact scan of a call's argument text from s (as rescanExact() does it) finds the
 * ')' that closes the call, searching below e; -1 when not there, or when the text holds a
 * `<pid changed to N ...>`.
 */
export function argsCloseExact(b: Uint8Array, s: number, e: number): number {
  scratch.otherPid = -1
  const close = scanArgs(b, s, e, 1, scratch)
  return scratch.otherPid >= 0 ? -1 : close
}

/** Parse `= ret…` starting at the first byte after ')'. Returns false when no '=' follows. */
function parseReturn(b: Uint8Array, i: number, e: number, st: LexState): boolean {
  while (i < e && b[i] === SP) i++
  if (i >= e || b[i] !== 0x3d) return false
  return parseValue(b, i + 1, e, st)
}

/** The return value after '='. */
function parseValue(b: Uint8Array, i: number, e: number, st: LexState): boolean {
  while (i < e && b[i] === SP) i++
  if (i >= e) return false
  const c = b[i]!
  if (c === 0x3f) {
    st.ret = RET.QUESTION
    i++
    if (i + 1 < e && b[i] === SP && b[i + 1] === 0x45) {
      const s = i + 1
      let j = s
      while (j < e && isWordByte(b[j]!)) j++
      st.errStart = s
      st.errEnd = j
    }
  } else if (c === 0x2d && i + 1 < e && isDigit(b[i + 1]!)) {
    let j = i + 1
    while (j < e && isDigit(b[j]!)) j++
    if (j + 1 < e && b[j] === SP && b[j + 1] === 0x45) {
      const s = j + 1
      let k = s
      while (k < e && isWordByte(b[k]!)) k++
      st.ret = RET.ERROR
      st.errStart = s
      st.errEnd = k
    } else {
      st.ret = RET.VALUE
      st.retNum = -decimal(b, i + 1, e)
    }
  } else {
    st.ret = RET.VALUE
    st.retStart = i
    // hex returns (addresses) are never needed as numbers on the hot path: lexLine() decodes them
    if (isDigit(c) && !(c === 0x30 && i + 1 < e && (b[i + 1] === 0x78 || b[i + 1] === 0x58))) st.retNum = decimal(b, i, e)
  }
  if (endsWith(b, i, e, L_INJECTED)) st.injected = true
  return true
}

/** Strip a trailing `-T` duration ` <0.000123>` (digits and one dot inside angle brackets). */
export function stripDuration(b: Uint8Array, s: number, e: number): number {
  if (e - s < 4 || b[e - 1] !== 0x3e) return e
  let j = e - 2
  while (j > s && (isDigit(b[j]!) || b[j] === 0x2e)) j--
  if (j < e - 2 && b[j] === 0x3c && j > s && b[j - 1] === SP) {
    j--
    while (j > s && b[j - 1] === SP) j--
    return j
  }
  return e
}

function resetState(st: LexState): void {
  st.kind = KIND.UNKNOWN
  st.pid = -1
  st.ret = RET.NONE
  st.retNum = NaN
  st.errStart = st.errEnd = 0
  st.injected = false
  st.detached = false
  st.stillPending = false
  st.otherPid = -1
  st.mode = 0
  st.killed = false
}

/**
 * The argument part after NAME( or NAME resumed>: find how it ends and fill st.
 * Returns the kind (`onPending` for the unfinished/detached shapes).
 */
function finishCall(b: Uint8Array, i: number, e: number, st: LexState, complete: Kind, pending: Kind): Kind {
  st.argsStart = i
  // `<unfinished ...>` / `<detached ...>` at the very end: the call goes on later (or never)
  let tail = -1
  if (endsWith(b, i, e, L_UNFINISHED)) tail = e - L_UNFINISHED.length
  else if (endsWith(b, i, e, L_DETACHED)) { tail = e - L_DETACHED.length; st.detached = true }
  if (tail >= 0) {
    let a = tail
    while (a > i && b[a - 1] === SP) a--
    st.argsEnd = a
    return pending
  }
  st.lineEnd = e
  // Fast path: find the ')' that closes the arguments from the end of the line, through the
  // short return part, without scanning the argument text. The observer calls
  // rescanExact() for the few syscalls whose argument text it reads.
  if (closeFromTail(b, i, e)) {
    // argsEnd is found lazily (argsEndOf): most calls never need it
    st.argsEnd = -1
    st.eqPos = tailEq
    return parseValue(b, tailEq + 1, e, st) ? complete : KIND.UNKNOWN
  }
  const close = scanArgs(b, i, e, 1, st)
  if (close < 0) return KIND.UNKNOWN
  st.argsEnd = close
  return parseReturn(b, close + 1, e, st) ? complete : KIND.UNKNOWN
}

/** The return value of the last line as a number (decimal or hex, up to 2^52), NaN when not one. */
export function retValue(b: Uint8Array, st: LexState): number {
  if (st.ret !== RET.VALUE) return NaN
  if (!Number.isNaN(st.retNum)) return st.retNum
  const i = st.retStart
  return hexValue(b, i, st.lineEnd > i ? st.lineEnd : b.length)
}

/**
 * The number of the return value token at i (line end e) that is not an error (`-1 ENAME`):
 * what parseValue() and retValue() make of it; NaN for `?` and for what is no number.
 */
export function valueAt(b: Uint8Array, i: number, e: number): number {
  const c = b[i]!
  if (c === 0x2d) return i + 1 < e && isDigit(b[i + 1]!) ? -decimal(b, i + 1, e) : NaN
  if (isDigit(c) && !(c === 0x30 && i + 1 < e && (b[i + 1] === 0x78 || b[i + 1] === 0x58))) return decimal(b, i, e)
  return hexValue(b, i, e)
}

/** A `0x…` value at i (at most 13 hex digits read), else NaN. */
function hexValue(b: Uint8Array, i: number, e: number): number {
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

/**
 * The end of the argument text (the closing ')') of the last CALL/RESUMED line, or -1 when
 * the text before ` = ` does not end in ')' (a malformed line).
 */
export function argsEndOf(b: Uint8Array, st: LexState): number {
  if (st.argsEnd >= 0) return st.argsEnd
  const j = backOverSpaces(b, st.argsStart, st.eqPos)
  if (j <= st.argsStart || b[j - 1] !== 0x29) return -1
  return (st.argsEnd = j - 1)
}

/** Index of the '=' found by the last successful returnBack(). */
export let tailEq = 0

/** Index just past the spaces that end at j (walking back), unrolled for strace's column padding. */
export function backOverSpaces(b: Uint8Array, s: number, j: number): number {
  while (j - 4 >= s && b[j - 1] === SP && b[j - 2] === SP && b[j - 3] === SP && b[j - 4] === SP) j -= 4
  while (j > s && b[j - 1] === SP) j--
  return j
}

/**
 * Re-lex the argument part of the last CALL/RESUMED line exactly (strings, brackets,
 * comments, decorations, `<pid changed to N ...>`). Returns the kind, UNKNOWN when the
 * argument text is not well formed.
 */
export function rescanExact(b: Uint8Array, st: LexState): Kind {
  if (st.kind !== KIND.CALL && (st.kind !== KIND.RESUMED || st.ret === RET.NONE)) return st.kind
  const e = st.lineEnd
  const close = scanArgs(b, st.argsStart, e, 1, st)
  if (close < 0) return (st.kind = KIND.UNKNOWN)
  if (close !== argsEndOf(b, st)) {
    st.argsEnd = close
    st.ret = RET.NONE
    st.retNum = NaN
    st.injected = false
    if (!parseReturn(b, close + 1, e, st)) return (st.kind = KIND.UNKNOWN)
  }
  return st.kind
}

/** Walk back over a balanced (…)/[…]/{…} group ending at b[j-1] === ')'; returns its start or -1. */
function backOverParens(b: Uint8Array, s: number, j: number): number {
  let depth = 0
  for (let k = j - 1; k >= s; k--) {
    if (CLS[b[k]!] === 0) continue
    const c = b[k]!
    if (c === 0x29 || c === 0x5d || c === 0x7d) depth++
    else if (c === 0x28 || c === 0x5b || c === 0x7b) { if (--depth === 0) return k }
    else if (c === 0x22) return -1 // not a return annotation: let the exact scan decide
  }
  return -1
}

/** Walk back over a decoration `<…>` ending at b[j-1] === '>' (nested, brackets inside); returns its start or -1. */
function backOverAngle(b: Uint8Array, s: number, j: number): number {
  let angle = 0
  let square = 0
  for (let k = j - 1; k >= s; k--) {
    const c = b[k]!
    if (c === 0x5d) square++
    else if (c === 0x5b) { if (square > 0) square-- }
    else if (c === 0x22) return -1
    else if (square === 0) {
      if (c === 0x3e) angle++
      else if (c === 0x3c) { if (--angle === 0) return k }
    }
  }
  return -1
}

/**
 * The return part is short and has a fixed shape (`= N[<decor>] [(…)]`, `= -1 ENAME (…)`,
 * `= ? [ENAME (…)]`, `[(INJECTED)]`). Parse it backwards from the line end to the ' = '
 * (tailEq); false when the shape is not recognised.
 */
function closeFromTail(b: Uint8Array, s: number, e: number): boolean {
  let j = e
  if (endsWith(b, s, j, L_INJECTED)) { j -= L_INJECTED.length; while (j > s && b[j - 1] === SP) j-- }
  return returnBack(b, s, j) >= 0
}

/**
 * The return part of a call line backwards from j (its end, `(INJECTED)` left to the caller):
 * an optional `(…)` annotation, an optional `-yy` decoration `<…>`, the value token(s) (`N`,
 * `?`, `-1 ENAME`, `? ENAME`), then ' = '. Returns where the value token starts, with tailEq
 * set to the index of the '='; -1 when the text does not have that shape. Used by
 * closeFromTail(), lexFast() and Observer.lane().
 */
export function returnBack(b: Uint8Array, s: number, j: number): number {
  if (j > s && b[j - 1] === 0x29) {
    const k = backOverParens(b, s, j)
    if (k < 0) return -1
    j = k
    while (j > s && b[j - 1] === SP) j--
  }
  if (j > s && b[j - 1] === 0x3e) {
    // -yy: `= 3</etc/passwd>`
    const k = backOverAngle(b, s, j)
    if (k < 0) return -1
    j = k
  }
  // value token(s): NUMBER | ? | -1 ENAME | ? ENAME
  let t = j
  while (t > s && b[t - 1] !== SP) t--
  if (t === j) return -1
  if (b[t] === 0x45) {
    j = t
    while (j > s && b[j - 1] === SP) j--
    t = j
    while (t > s && b[t - 1] !== SP) t--
    if (t === j) return -1
  }
  j = t
  while (j > s && b[j - 1] === SP) j--
  if (j <= s || b[j - 1] !== 0x3d) return -1
  tailEq = j - 1
  return t
}

/**
 * The fast lane of lexInto() for the line nearly every strace log is made of: a finished call
 * or its `<unfinished ...>` half, or a `<... NAME resumed>` that finishes, with a `PID ` or
 * `[pid N] ` prefix, optionally a timestamp and a `-T` duration. Returns true with st filled
 * exactly as lexInto() fills it (argsEnd of a finished call found lazily), or false, st
 * unspecified, for any other shape (no prefix, `-Y` comm, a resumed that is still pending,
 * `<detached ...>`, `(INJECTED)`, a return part closeFromTail() does not recognise, …): the
 * caller then runs lexInto(), which decides.
 *
 * Kept small and free of rarely taken branches on purpose: V8 optimizes a small, stable
 * function soon and does not throw it away again, which matters as much as its speed
 * (see bench/parse.bench.js: most of the cost of a cold parse used to be warm-up).
 */
export function lexFast(b: Uint8Array, s: number, e: number, st: LexState): boolean {
  let c = 0
  while (e > s && ((c = b[e - 1]!) === SP || c === 0x0d)) e--
  let i = s
  while (i < e && ((c = b[i]!) === SP || c === 0x09)) i++
  if (i >= e) return false
  // prefix: PID (at most 7 digits, <= pid_max limit) then a space, or "[pid N]"
  let pid = 0
  let j = i
  if (c >= 0x30 && c <= 0x39) {
    for (; j < e; j++) {
      const d = b[j]! - 0x30
      if (d < 0 || d > 9) break
      pid = pid * 10 + d
    }
    if (j - i > 7 || j >= e || b[j] !== SP || pid > 4194304) return false
  } else {
    if (c !== 0x5b || !startsWith(b, i, e, L_PID)) return false
    j = i + L_PID.length
    while (j < e && b[j] === SP) j++
    pid = decimal(b, j, e)
    while (j < e && isDigit(b[j]!)) j++
    if (pid < 0 || j >= e || b[j] !== 0x5d) return false
  }
  i = j + 1
  while (i < e && b[i] === SP) i++
  // timestamp
  if (i < e && isDigit(b[i]!)) {
    j = i
    while (j < e && ((c = b[j]!) === 0x3a || c === 0x2e || (c >= 0x30 && c <= 0x39))) j++
    if (j >= e || b[j] !== SP) return false
    i = j
    while (i < e && b[i] === SP) i++
  }
  if (i >= e) return false
  // a -T duration; then a line ending in '>' is `<unfinished ...>` or a decorated return
  let angle = false
  if (b[e - 1] === 0x3e) {
    e = stripDuration(b, i, e)
    if (e <= i) return false
    angle = b[e - 1] === 0x3e
  }
  // NAME( or <... NAME resumed>
  let kind: Kind = KIND.CALL
  let ns = i
  c = b[i]!
  if (c === 0x3c) {
    if (!startsWith(b, i, e, L_RESUMED_HEAD)) return false
    kind = KIND.RESUMED
    ns = i + L_RESUMED_HEAD.length
    if (ns >= e || NAME_BYTE[(c = b[ns]!)] === 0) return false
  } else if (!((c >= 0x61 && c <= 0x7a) || c === 0x5f)) return false
  let h = Math.imul(0x811c9dc5 ^ c, 0x01000193)
  for (j = ns + 1; j < e; j++) {
    const d = b[j]!
    if (NAME_BYTE[d] === 0) break
    h = Math.imul(h ^ d, 0x01000193)
  }
  let as = j + 1
  if (kind === KIND.CALL) {
    if (j >= e || b[j] !== 0x28) return false
  } else {
    if (!startsWith(b, j, e, L_RESUMED_TAIL)) return false
    as = j + L_RESUMED_TAIL.length
  }
  if (angle && endsWith(b, as, e, L_UNFINISHED)) {
    // NAME(… <unfinished ...>
    if (kind !== KIND.CALL) return false
    let a = e - L_UNFINISHED.length
    while (a > as && b[a - 1] === SP) a--
    resetState(st)
    st.pid = pid
    st.nameStart = ns
    st.nameEnd = j
    st.nameHash = h
    st.argsStart = as
    st.argsEnd = a
    st.kind = KIND.UNFINISHED
    return true
  }
  if (angle && endsWith(b, as, e, L_DETACHED)) return false
  // the return part, backwards (as closeFromTail(), without `(INJECTED)`)
  if (endsWith(b, as, e, L_INJECTED)) return false
  const t = returnBack(b, as, e)
  if (t < 0) return false
  const k = tailEq + 1
  resetState(st)
  st.pid = pid
  st.nameStart = ns
  st.nameEnd = j
  st.nameHash = h
  st.argsStart = as
  st.argsEnd = -1
  st.lineEnd = e
  st.eqPos = k - 1
  c = b[t]!
  if (c === 0x3f || c === 0x2d) parseValue(b, k, e, st)
  else {
    // parseValue() of a plain value; `(INJECTED)` cannot end this line (checked above)
    st.ret = RET.VALUE
    st.retStart = t
    if (c >= 0x30 && c <= 0x39 && !(c === 0x30 && t + 1 < e && (b[t + 1]! | 0x20) === 0x78)) st.retNum = decimal(b, t, e)
  }
  st.kind = kind
  return true
}

/** Lex b[s, e) (one line without its '\n') into st; returns st.kind. Never throws. */
export function lexInto(b: Uint8Array, s: number, e: number, st: LexState): Kind {
  resetState(st)
  while (e > s && (b[e - 1] === 0x0d || b[e - 1] === SP)) e--
  let i = s
  while (i < e && (b[i] === SP || b[i] === 0x09)) i++
  if (i >= e) return (st.kind = KIND.BLANK)

  // prefix: "[pid N] " or "N "
  if (b[i] === 0x5b && startsWith(b, i, e, L_PID)) {
    let j = i + L_PID.length
    while (j < e && b[j] === SP) j++
    const p = decimal(b, j, e)
    while (j < e && isDigit(b[j]!)) j++
    if (p >= 0 && j < e && b[j] === 0x5d) {
      st.pid = p
      i = j + 1
      while (i < e && b[i] === SP) i++
    }
  } else if (isDigit(b[i]!)) {
    let j = i
    let p = 0
    for (; j < e; j++) {
      const d = b[j]! - 0x30
      if (d < 0 || d > 9) break
      p = p * 10 + d
    }
    // -Y: PID<comm>
    let k = j
    if (k < e && b[k] === 0x3c) {
      while (k < e && b[k] !== 0x3e) k++
      k++
    }
    if (k < e && b[k] === SP && j - i <= 7) {
      if (p <= 4194304) {
        // pid_max limit; a bigger bare number is a `-ttt`-style seconds timestamp
        st.pid = p
        i = k
        while (i < e && b[i] === SP) i++
      }
    }
  }
  // timestamp: digits with ':' and '.', then spaces
  if (i < e && isDigit(b[i]!)) {
    let j = i
    while (j < e && (isDigit(b[j]!) || b[j] === 0x3a || b[j] === 0x2e)) j++
    if (j < e && b[j] === SP) {
      i = j
      while (i < e && b[i] === SP) i++
    }
  }
  if (i >= e) return (st.kind = KIND.UNKNOWN)
  e = stripDuration(b, i, e)

  const c = b[i]!
  if (c === 0x3c) {
    // <... NAME resumed>
    if (!startsWith(b, i, e, L_RESUMED_HEAD)) return (st.kind = KIND.UNKNOWN)
    const ns = i + L_RESUMED_HEAD.length
    let j = ns
    let h = 0x811c9dc5
    for (; j < e; j++) {
      const d = b[j]!
      if (NAME_BYTE[d] === 0) break
      h = Math.imul(h ^ d, 0x01000193)
    }
    st.nameHash = h
    if (j === ns || !startsWith(b, j, e, L_RESUMED_TAIL)) return (st.kind = KIND.UNKNOWN)
    st.nameStart = ns
    st.nameEnd = j
    const k = finishCall(b, j + L_RESUMED_TAIL.length, e, st, KIND.RESUMED, KIND.RESUMED)
    if (k === KIND.RESUMED && st.ret === RET.NONE) st.stillPending = !st.detached
    return (st.kind = k)
  }
  if ((c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x3f) {
    let j = i + 1
    let h = Math.imul(0x811c9dc5 ^ c, 0x01000193)
    for (; j < e; j++) {
      const d = b[j]!
      if (NAME_BYTE[d] === 0) break
      h = Math.imul(h ^ d, 0x01000193)
    }
    st.nameHash = h
    if (j < e && b[j] === 0x28) {
      st.nameStart = i
      st.nameEnd = j
      return (st.kind = finishCall(b, j + 1, e, st, KIND.CALL, KIND.UNFINISHED))
    }
    if (c === 0x73 && startsWith(b, i, e, L_STRACE)) return (st.kind = KIND.INFO)
    return (st.kind = KIND.UNKNOWN)
  }
  if (c === 0x2d) return (st.kind = startsWith(b, i, e, L_SIG) ? KIND.SIGNAL : KIND.UNKNOWN)
  if (c === 0x2b) {
    if (startsWith(b, i, e, L_EXITED)) return (st.kind = KIND.EXIT)
    if (startsWith(b, i, e, L_KILLED)) { st.killed = true; return (st.kind = KIND.EXIT) }
    if (startsWith(b, i, e, L_SUPERSEDED)) {
      st.otherPid = decimal(b, i + L_SUPERSEDED.length, e)
      return (st.kind = st.otherPid >= 0 ? KIND.SUPERSEDED : KIND.UNKNOWN)
    }
    return (st.kind = startsWith(b, i, e, L_EXIT) ? KIND.INFO : KIND.UNKNOWN)
  }
  if (c === 0x5b && startsWith(b, i, e, L_MODE)) {
    let j = i + L_MODE.length
    const p = decimal(b, j, e)
    while (j < e && isDigit(b[j]!)) j++
    if (p < 0 || !startsWith(b, j, e, L_RUNS_IN)) return (st.kind = KIND.UNKNOWN)
    j += L_RUNS_IN.length
    st.otherPid = p
    if (startsWith(b, j, e, L_64)) st.mode = MODE.BITS64
    else if (startsWith(b, j, e, L_32)) st.mode = MODE.BITS32
    else if (startsWith(b, j, e, L_X32)) st.mode = MODE.X32
    else return (st.kind = KIND.UNKNOWN)
    return (st.kind = KIND.MODE)
  }
  return (st.kind = KIND.UNKNOWN)
}

// ---------------------------------------------------------------------------------------
// Allocating form for tests and tools.

export type TraceLine =
  | {kind: 'blank'; pid?: number}
  | {kind: 'call'; pid?: number; name: string; args: string; ret: Ret}
  | {kind: 'unfinished'; pid?: number; name: string; args: string; detached: boolean}
  | {kind: 'resumed'; pid?: number; name: string; args: string; ret?: Ret; detached: boolean; stillPending: boolean}
  | {kind: 'signal'; pid?: number; text: string}
  | {kind: 'exit'; pid?: number; killed: boolean; text: string}
  | {kind: 'superseded'; pid?: number; byPid: number}
  | {kind: 'mode'; pid?: number; processPid: number; mode: '64 bit' | '32 bit' | 'x32'}
  | {kind: 'info'; pid?: number; text: string}
  | {kind: 'unknown'; pid?: number; text: string}

export type Ret =
  | {kind: 'value'; value?: number}
  | {kind: 'error'; errno: string; injected: boolean}
  | {kind: 'question'; restart?: string}

const KIND_NAMES = ['blank', 'call', 'unfinished', 'resumed', 'signal', 'exit', 'superseded', 'mode', 'info', 'unknown'] as const

export function lexLine(line: string | Uint8Array): TraceLine & {pidChangedTo?: number} {
  const b = typeof line === 'string' ? Buffer.from(line, 'latin1') : Buffer.from(line)
  const st = new LexState()
  let k = lexInto(b, 0, b.length, st)
  if (k === KIND.CALL || k === KIND.RESUMED) k = rescanExact(b, st)
  const pid = st.pid >= 0 ? {pid: st.pid} : {}
  const str = (x: number, y: number) => b.toString('latin1', x, y)
  const text = str(0, b.length).trim()
  const hexRet = /^0[xX][0-9a-fA-F]{1,13}/.exec(str(st.retStart, Math.min(b.length, st.retStart + 16)))
  const retNum = Number.isNaN(st.retNum) && hexRet ? Number(hexRet[0]) : st.retNum
  const ret = (): Ret | undefined =>
    st.ret === RET.VALUE ? (Number.isNaN(retNum) ? {kind: 'value'} : {kind: 'value', value: retNum})
    : st.ret === RET.ERROR ? {kind: 'error', errno: str(st.errStart, st.errEnd), injected: st.injected}
    : st.ret === RET.QUESTION ? (st.errEnd > st.errStart ? {kind: 'question', restart: str(st.errStart, st.errEnd)} : {kind: 'question'})
    : undefined
  const changed = st.otherPid >= 0 && (k === KIND.CALL || k === KIND.RESUMED) ? {pidChangedTo: st.otherPid} : {}
  switch (KIND_NAMES[k]) {
    case 'blank': return {kind: 'blank', ...pid}
    case 'call': return {kind: 'call', ...pid, name: str(st.nameStart, st.nameEnd), args: str(st.argsStart, st.argsEnd), ret: ret()!, ...changed}
    case 'unfinished': return {kind: 'unfinished', ...pid, name: str(st.nameStart, st.nameEnd), args: str(st.argsStart, st.argsEnd), detached: st.detached}
    case 'resumed': {
      const r = ret()
      return {kind: 'resumed', ...pid, name: str(st.nameStart, st.nameEnd), args: str(st.argsStart, st.argsEnd), ...(r ? {ret: r} : {}), detached: st.detached, stillPending: st.stillPending, ...changed}
    }
    case 'signal': return {kind: 'signal', ...pid, text}
    case 'exit': return {kind: 'exit', ...pid, killed: st.killed, text}
    case 'superseded': return {kind: 'superseded', ...pid, byPid: st.otherPid}
    case 'mode': return {kind: 'mode', ...pid, processPid: st.otherPid, mode: st.mode === MODE.BITS64 ? '64 bit' : st.mode === MODE.BITS32 ? '32 bit' : 'x32'}
    case 'info': return {kind: 'info', ...pid, text}
    default: return {kind: 'unknown', ...pid, text}
  }
}

// ---------------------------------------------------------------------------------------
// Argument splitting (only for the few syscalls whose arguments are inspected).

/**
 * Split argument text at top-level commas, with the same quoting rules as the scanner.
 * Markers like `<unfinished ...>` are dropped. Returns trimmed argument texts.
 * At most `max` arguments are returned.
 */
export function splitArgs(s: string, max = 8): string[] {
  const out: string[] = []
  let depth = 0
  let start = 0
  let i = 0
  const n = s.length
  let angles = true
  let cut = '' // text of the current argument with markers removed
  while (i < n && out.length < max) {
    const c = s.charCodeAt(i)
    if (c === 0x22) {
      i++
      while (i < n && s.charCodeAt(i) !== 0x22) i += s.charCodeAt(i) === 0x5c ? 2 : 1
      i++
    } else if (c === 0x28 || c === 0x5b || c === 0x7b) { depth++; i++ }
    else if (c === 0x29 || c === 0x5d || c === 0x7d) { depth--; i++ }
    else if (c === 0x2f && s.charCodeAt(i + 1) === 0x2a) {
      const j = s.indexOf('*/', i + 2)
      i = j < 0 ? n : j + 2
    } else if (c === 0x3c && angles) {
      if (s.charCodeAt(i + 1) === 0x3c) { i += 2; continue }
      const prev = i > 0 ? s.charCodeAt(i - 1) : SP
      const j = skipAngleStr(s, i)
      if (j < 0) { angles = false; i++; continue }
      if (!isWordByte(prev) && prev !== 0x5d && prev !== 0x29) {
        // a marker (<unfinished ...>, <... resuming ...>): cut it out
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

/** skipAngle() over a string. */
function skipAngleStr(s: string, i: number): number {
  let angle = 0
  let square = 0
  const e = s.length
  for (let j = i; j < e; j++) {
    const c = s.charCodeAt(j)
    if (c === 0x22) {
      j++
      while (j < e && s.charCodeAt(j) !== 0x22) { if (s.charCodeAt(j) === 0x5c) j++; j++ }
      if (j >= e) return -1
    } else if (c === 0x5b) square++
    else if (c === 0x5d) { if (square > 0) square-- }
    else if (square === 0) {
      if (c === 0x3c) angle++
      else if (c === 0x3e) { if (--angle === 0) return j + 1 }
    }
  }
  return -1
}

/** Decode a C string literal as strace prints it (`"a\"b\n\x7f\303\251"`) to a JS string (UTF-8). */
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
    switch (d) {
      case 'n': bytes.push(10); break
      case 't': bytes.push(9); break
      case 'r': bytes.push(13); break
      case 'v': bytes.push(11); break
      case 'f': bytes.push(12); break
      case 'a': bytes.push(7); break
      case 'b': bytes.push(8); break
      case 'x': {
        const h = /^[0-9a-fA-F]{1,2}/.exec(t.slice(i, i + 2))?.[0] ?? ''
        bytes.push(parseInt(h || '0', 16))
        i += h.length
        break
      }
      default:
        if (d !== undefined && d >= '0' && d <= '7') {
          const o = /^[0-7]{1,3}/.exec(t.slice(i - 1, i + 2))![0]
          bytes.push(parseInt(o, 8) & 0xff)
          i += o.length - 1
        } else if (d !== undefined) bytes.push(d.charCodeAt(0) & 0xff)
    }
  }
  // `"abc"...` is a truncated string: not a whole value
  if (t.slice(i + 1).startsWith('...')) return undefined
  return Buffer.from(bytes).toString('utf8')
}

/** End offset of the last argAt() hit. */
export let argEnd = 0

/**
 * Byte form of splitArgs for one argument: the trimmed [start, argEnd) of argument `index`
 * of the argument text b[s, e), or, when strace labelled the arguments (`clone(child_stack=…,
 * flags=…)`), of the value after `label=`. Returns -1 when there is no such argument.
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
