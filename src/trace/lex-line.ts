/**
 * Lexing one line of strace output: bytes b[s, e) (no '\n') -> a classified line whose parts
 * are offsets into b (LexState, reused from line to line, so the hot path allocates nothing;
 * test/helpers/lex-line.ts has an object form for tests). Every input is accepted: a line that
 * fits no production is UNKNOWN. Each byte is visited a bounded number of times, so time is
 * linear in the line length.
 *
 * The return part of a call line is parsed backwards from the line's end (it is short and has
 * a fixed shape), so the argument text of a call is not scanned at all unless the caller asks
 * (rescanExact(), argsEndOf()); scanArgs() is the exact scan when it does.
 *
 * The grammar (strace 4.x–6.x, every flag record uses and the common others) is written above
 * the function that implements each production; `SP` is a space, `…` any bytes.
 */
import {constants as osConstants} from 'node:os'

export const KIND = {BLANK: 0, CALL: 1, UNFINISHED: 2, RESUMED: 3, SIGNAL: 4, EXIT: 5, SUPERSEDED: 6, MODE: 7, INFO: 8, UNKNOWN: 9, STACK: 10} as const
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
  /** hash of the name bytes (for interning without a second pass) */
  nameHash = 0
  argsStart = 0
  /** -1 until known: argsEndOf() finds it when a caller needs it */
  argsEnd = 0
  ret: RetKind = RET.NONE
  /** a negative return value that is no error (`= -5`), else NaN: retValue() reads the others from retStart */
  retNum = NaN
  /** where the return value starts */
  retStart = 0
  /** errno name (ERROR) or restart name after `= ?` (QUESTION) */
  errStart = 0
  errEnd = 0
  /** hash of the errno name (as nameHash) */
  errHash = 0
  injected = false
  /** UNFINISHED/RESUMED that ended in `<detached ...>` */
  detached = false
  /** RESUMED line that ended in `<unfinished ...>` again (still pending) */
  stillPending = false
  /** SUPERSEDED: the pid whose execve took over; MODE: PID=N; `<pid changed to N ...>`: N; else -1 */
  otherPid = -1
  /** MODE: one of MODE.* */
  mode = 0
  /** EXIT: the process's status as a shell reports it (N, or 128 + the signal's number); -1 if unreadable */
  exitStatus = -1
  /** end of the line content (after trimming and the -T duration) */
  lineEnd = 0
  /** the '=' before the return value */
  eqPos = 0
}

// byte classes of the argument scanners (here and argAt() in values.ts): 0 = ordinary
export const C_QUOTE = 1
export const C_OPEN = 2
export const C_CLOSE = 3
export const C_SLASH = 4
export const C_LT = 5
export const CLS = new Uint8Array(256)
CLS[0x22] = C_QUOTE
CLS[0x28] = CLS[0x5b] = CLS[0x7b] = C_OPEN
CLS[0x29] = CLS[0x5d] = CLS[0x7d] = C_CLOSE
CLS[0x2f] = C_SLASH
CLS[0x3c] = C_LT

export const SP = 0x20
/** bytes of a syscall name as strace prints it: a-z 0-9 _ and ? (for `???`) */
const NAME_BYTE = new Uint8Array(256)
for (let c = 0x61; c <= 0x7a; c++) NAME_BYTE[c] = 1
for (let c = 0x30; c <= 0x39; c++) NAME_BYTE[c] = 1
NAME_BYTE[0x5f] = NAME_BYTE[0x3f] = 1
export const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39
export const isWordByte = (c: number): boolean =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f

export function startsWith(b: Uint8Array, i: number, e: number, lit: Uint8Array): boolean {
  const n = lit.length
  if (i + n > e) return false
  for (let k = 0; k < n; k++) if (b[i + k] !== lit[k]) return false
  return true
}
function endsWith(b: Uint8Array, s: number, e: number, lit: Uint8Array): boolean {
  const n = lit.length
  if (e - n < s) return false
  for (let k = 0; k < n; k++) if (b[e - n + k] !== lit[k]) return false
  return true
}
const lit = (s: string) => Buffer.from(s, 'latin1')
// the literal parts of the grammar
const L_PID = lit('[pid'), L_STRACE = lit('strace: '), L_PID_CHANGED = lit('<pid changed to '), L_INJECTED = lit('(INJECTED)')
const L_ERESTART = lit('ERESTART')
const L_UNFINISHED = lit('<unfinished ...>'), L_DETACHED = lit('<detached ...>')
const L_RESUMED_HEAD = lit('<... '), L_RESUMED_TAIL = lit(' resumed>')
const L_SIG = lit('--- '), L_EXIT = lit('+++ '), L_EXITED = lit('+++ exited with '), L_KILLED = lit('+++ killed by ')
const L_SUPERSEDED = lit('+++ superseded by execve in pid ')
const L_MODE = lit('[ Process PID='), L_RUNS_IN = lit(' runs in '), L_64 = lit('64 bit'), L_32 = lit('32 bit'), L_X32 = lit('x32')

/** An unsigned decimal at i (at most 15 digits read), or -1 when there is none. */
export function decimal(b: Uint8Array, i: number, e: number): number {
  let v = 0
  let j = i
  while (j < e && isDigit(b[j]!) && j - i < 15) v = v * 10 + (b[j++]! - 0x30)
  return j === i ? -1 : v
}

const skipSpaces = (b: Uint8Array, i: number, e: number): number => {
  while (i < e && b[i] === SP) i++
  return i
}

function resetState(st: LexState): void {
  st.kind = KIND.UNKNOWN
  st.pid = st.otherPid = -1
  st.ret = RET.NONE
  st.retNum = NaN
  st.nameStart = st.nameEnd = st.errStart = st.errEnd = st.mode = 0
  st.injected = st.detached = st.stillPending = false
}

/**
 *   line      := SP* [prefix] [timestamp] [relative] [sysnum] [ip] body [duration] SP* ["\r"]
 *   body      := call | resumed | signal | exit | mode | info | stack
 *
 * Lex b[s, e) (one line without its '\n') into st; returns st.kind. Never throws.
 */
export function lexInto(b: Uint8Array, s: number, e: number, st: LexState): Kind {
  resetState(st)
  while (e > s && (b[e - 1] === 0x0d || b[e - 1] === SP)) e--
  let i = s
  while (i < e && (b[i] === SP || b[i] === 0x09)) i++
  if (i >= e) return (st.kind = KIND.BLANK)
  i = annotations(b, timestamp(b, prefix(b, i, e, st), e), e)
  if (i >= e) return (st.kind = KIND.UNKNOWN)
  e = stripDuration(b, i, e)
  return (st.kind = body(b, i, e, st))
}

/**
 *   prefix    := "[pid" SP+ PID "]" SP+                 stderr with several tracees
 *              | PID ["<" comm ">"] SP+                   -f -o FILE; -Y adds the comm
 *
 * A bare number of more than 7 digits or above pid_max's limit (4194304) is no pid: it is a
 * `-ttt` timestamp. Returns where the line goes on (i when there is no prefix).
 */
function prefix(b: Uint8Array, i: number, e: number, st: LexState): number {
  if (b[i] === 0x5b && startsWith(b, i, e, L_PID)) {
    let j = skipSpaces(b, i + L_PID.length, e)
    const p = decimal(b, j, e)
    while (j < e && isDigit(b[j]!)) j++
    if (p < 0 || j >= e || b[j] !== 0x5d) return i
    st.pid = p
    return skipSpaces(b, j + 1, e)
  }
  if (!isDigit(b[i]!)) return i
  let j = i
  let p = 0
  for (let d = 0; j < e && (d = b[j]! - 0x30) >= 0 && d <= 9; j++) p = p * 10 + d
  let k = j
  if (k < e && b[k] === 0x3c) {
    while (k < e && b[k] !== 0x3e) k++
    k++
  }
  if (k >= e || b[k] !== SP || j - i > 7 || p > 4194304) return i
  st.pid = p
  return skipSpaces(b, k, e)
}

/**
 *   timestamp := (DIGIT | ":" | ".")+ SP+                 -t -tt -ttt -r
 */
function timestamp(b: Uint8Array, i: number, e: number): number {
  if (i >= e || !isDigit(b[i]!)) return i
  let j = i
  while (j < e && (isDigit(b[j]!) || b[j] === 0x3a || b[j] === 0x2e)) j++
  return j < e && b[j] === SP ? skipSpaces(b, j, e) : i
}

/**
 *   relative  := "(+" SP* (DIGIT | ".")+ ")" SP+              -r next to -t, -tt or -ttt
 *   sysnum    := "[" SP* DIGIT+ "]" SP+                       -n
 *   ip        := "[" SP* (HEXDIGIT | "?")+ "]" SP+            -i (`?`s where strace has none)
 */
function annotations(b: Uint8Array, i: number, e: number): number {
  if (i + 1 < e && b[i] === 0x28 && b[i + 1] === 0x2b) {
    let j = skipSpaces(b, i + 2, e)
    while (j < e && (isDigit(b[j]!) || b[j] === 0x2e)) j++
    if (j + 1 < e && b[j] === 0x29 && b[j + 1] === SP) i = skipSpaces(b, j + 1, e)
  }
  for (let n = 0; n < 2 && i < e && b[i] === 0x5b; n++) {
    const d = skipSpaces(b, i + 1, e)
    let j = d
    while (j < e && (isDigit(b[j]!) || (b[j]! >= 0x61 && b[j]! <= 0x66) || b[j] === 0x3f)) j++
    if (j === d || j + 1 >= e || b[j] !== 0x5d || b[j + 1] !== SP) break
    i = skipSpaces(b, j + 1, e)
  }
  return i
}

/**
 *   duration  := SP+ "<" (DIGIT | ".")+ ">"               -T, at the very end
 *
 * Returns the end of the line without it (e when there is none).
 */
export function stripDuration(b: Uint8Array, s: number, e: number): number {
  if (e - s < 4 || b[e - 1] !== 0x3e) return e
  let j = e - 2
  while (j > s && (isDigit(b[j]!) || b[j] === 0x2e)) j--
  if (!(j < e - 2 && b[j] === 0x3c && j > s && b[j - 1] === SP)) return e
  j--
  while (j > s && b[j - 1] === SP) j--
  return j
}

/**
 *   "+++ exited with " DIGIT+ " +++"  |  "+++ killed by " (SIGNAME | DIGIT+) [" (core dumped)"] " +++"
 * The status as a shell reports it (N, or 128 + the signal's number); -1 when unreadable.
 */
function exitStatus(b: Uint8Array, i: number, e: number, killed: boolean): number {
  let j = i
  while (j < e && b[j] !== SP) j++
  const word = Buffer.from(b.subarray(i, j)).toString('latin1')
  const rt = /^SIGRT_(\d{1,2})$/.exec(word) // strace's name for signal 32+N
  const n = /^\d{1,3}$/.test(word) ? Number(word) : !killed ? undefined : rt ? 32 + Number(rt[1]) : osConstants.signals[word as NodeJS.Signals]
  return n === undefined ? -1 : killed ? 128 + n : n
}

/**
 *   call      := NAME "(" args-and-return
 *   resumed   := "<... " NAME " resumed>" args-and-return
 *   signal    := "--- " …                                 "--- SIGCHLD {…} ---", "--- stopped by SIGSTOP ---"
 *   exit      := "+++ exited with " … | "+++ killed by " … | "+++ superseded by execve in pid " PID " +++"
 *   info      := "strace: " … | "+++ " …
 *   stack     := "> " …                                   -k: one frame of the call's stack
 *   NAME      := (a-z | "_" | "?") (a-z | 0-9 | "_" | "?")*
 */
function body(b: Uint8Array, i: number, e: number, st: LexState): Kind {
  const c = b[i]!
  if (c === 0x3e) return i + 1 < e && b[i + 1] === SP ? KIND.STACK : KIND.UNKNOWN
  if (c === 0x3c) return resumed(b, i, e, st)
  if ((c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x3f) {
    const j = name(b, i, e, st)
    if (j < e && b[j] === 0x28) return finishCall(b, j + 1, e, st, KIND.CALL, KIND.UNFINISHED)
    return c === 0x73 && startsWith(b, i, e, L_STRACE) ? KIND.INFO : KIND.UNKNOWN
  }
  if (c === 0x2d) return startsWith(b, i, e, L_SIG) ? KIND.SIGNAL : KIND.UNKNOWN
  if (c === 0x2b) {
    if (startsWith(b, i, e, L_EXITED)) { st.exitStatus = exitStatus(b, i + L_EXITED.length, e, false); return KIND.EXIT }
    if (startsWith(b, i, e, L_KILLED)) { st.exitStatus = exitStatus(b, i + L_KILLED.length, e, true); return KIND.EXIT }
    if (startsWith(b, i, e, L_SUPERSEDED)) {
      st.otherPid = decimal(b, i + L_SUPERSEDED.length, e)
      return st.otherPid >= 0 ? KIND.SUPERSEDED : KIND.UNKNOWN
    }
    return startsWith(b, i, e, L_EXIT) ? KIND.INFO : KIND.UNKNOWN
  }
  if (c === 0x5b && startsWith(b, i, e, L_MODE)) return mode(b, i + L_MODE.length, e, st)
  return KIND.UNKNOWN
}

/** One byte more of a name's hash (rotate and xor: cheap, and mixed enough for the intern tables). */
export const hashStep = (h: number, d: number): number => (h << 5) ^ (h >>> 27) ^ d

/** NAME at i: sets nameStart/nameEnd/nameHash (hashStep() from 0); returns the end. */
function name(b: Uint8Array, i: number, e: number, st: LexState): number {
  let h = 0
  let j = i
  for (; j < e; j++) {
    const d = b[j]!
    if (NAME_BYTE[d] === 0) break
    h = hashStep(h, d)
  }
  st.nameStart = i
  st.nameEnd = j
  st.nameHash = h
  return j
}

/**
 *   resumed   := "<... " NAME " resumed>" (args-and-return | args SP* "<unfinished ...>")
 *
 * A resumed call that is cut again (`<... read resumed>…<unfinished ...>`) is RESUMED with
 * stillPending set; with `<detached ...>` it is RESUMED with detached set.
 */
function resumed(b: Uint8Array, i: number, e: number, st: LexState): Kind {
  if (!startsWith(b, i, e, L_RESUMED_HEAD)) return KIND.UNKNOWN
  const ns = i + L_RESUMED_HEAD.length
  const j = name(b, ns, e, st)
  if (j === ns || !startsWith(b, j, e, L_RESUMED_TAIL)) return KIND.UNKNOWN
  const k = finishCall(b, j + L_RESUMED_TAIL.length, e, st, KIND.RESUMED, KIND.RESUMED)
  if (k === KIND.RESUMED && st.ret === RET.NONE) st.stillPending = !st.detached
  return k
}

/**
 *   mode      := "[ Process PID=" PID " runs in " ("64 bit" | "32 bit" | "x32") " mode. ]"
 */
function mode(b: Uint8Array, j: number, e: number, st: LexState): Kind {
  const p = decimal(b, j, e)
  while (j < e && isDigit(b[j]!)) j++
  if (p < 0 || !startsWith(b, j, e, L_RUNS_IN)) return KIND.UNKNOWN
  j += L_RUNS_IN.length
  st.otherPid = p
  if (startsWith(b, j, e, L_64)) st.mode = MODE.BITS64
  else if (startsWith(b, j, e, L_32)) st.mode = MODE.BITS32
  else if (startsWith(b, j, e, L_X32)) st.mode = MODE.X32
  else return KIND.UNKNOWN
  return KIND.MODE
}

/**
 *   args-and-return := args ")" SP* "=" SP+ ret
 *                    | args SP* "<unfinished ...>"        the call goes on in a `resumed` line
 *                    | args SP* "<pid changed to N ...>"  … in pid N's (an exec by a thread)
 *                    | args SP* "<detached ...>"          strace let go of the process
 *
 * The argument part after NAME( or NAME resumed>: find how it ends and fill st. Returns
 * `complete` or `pending` (the unfinished/detached shapes), or UNKNOWN. The ')' that closes
 * the arguments is found from the end of the line, through the return part (returnBack()),
 * without scanning the argument text; only when the return part has no known shape is the
 * argument text scanned exactly.
 */
function finishCall(b: Uint8Array, i: number, e: number, st: LexState, complete: Kind, pending: Kind): Kind {
  st.argsStart = i
  const last = b[e - 1]
  if (last === 0x3e) {
    let tail = -1
    if (endsWith(b, i, e, L_UNFINISHED)) tail = e - L_UNFINISHED.length
    else if (endsWith(b, i, e, L_DETACHED)) { tail = e - L_DETACHED.length; st.detached = true }
    if (tail >= 0) {
      st.argsEnd = backOverSpaces(b, i, tail)
      return pending
    }
  }
  st.lineEnd = e
  let j = e
  if (last === 0x29 && endsWith(b, i, j, L_INJECTED)) j = backOverSpaces(b, i, j - L_INJECTED.length)
  if (returnBack(b, i, j) >= 0) {
    st.argsEnd = -1
    st.eqPos = tailEq
    return parseValue(b, tailEq + 1, e, st) ? complete : KIND.UNKNOWN
  }
  const close = scanArgs(b, i, e, st)
  // `execve(… <pid changed to N ...>` ends unclosed: an exec by a thread, pending as the leader N
  if (close < 0 && st.otherPid >= 0) { st.argsEnd = e; return pending }
  if (close < 0) return KIND.UNKNOWN
  st.argsEnd = close
  return parseReturn(b, close + 1, e, st) ? complete : KIND.UNKNOWN
}

/** Index of the '=' found by the last successful returnBack(). */
let tailEq = 0

/** Index just past the spaces that end at j (walking back), unrolled for strace's column padding. */
function backOverSpaces(b: Uint8Array, s: number, j: number): number {
  while (j - 4 >= s && b[j - 1] === SP && b[j - 2] === SP && b[j - 3] === SP && b[j - 4] === SP) j -= 4
  while (j > s && b[j - 1] === SP) j--
  return j
}

/**
 *   ret-tail  := "=" SP+ value [decoration] [SP+ "(" … ")"]     read backwards from its end
 *   value     := NUMBER | "?" | "-" DIGITS SP ENAME | "?" SP ENAME
 *   decoration:= "<" … ">"                                       -yy: `= 3</etc/passwd>`
 *
 * Returns where the value starts, with tailEq set to the index of the '='; -1 when the text
 * before j does not have that shape (`(INJECTED)` is left to the caller).
 */
function returnBack(b: Uint8Array, s: number, j: number): number {
  if (j > s && b[j - 1] === 0x29) {
    const k = backOverParens(b, s, j)
    if (k < 0) return -1
    j = k
    while (j > s && b[j - 1] === SP) j--
  }
  if (j > s && b[j - 1] === 0x3e) {
    const k = backOverAngle(b, s, j)
    if (k < 0) return -1
    j = k
  }
  let t = j
  while (t > s && b[t - 1] !== SP) t--
  if (t === j) return -1
  if (b[t] === 0x45) {
    // `-1 ENAME` or `? ENAME`: one token more
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

/** `SP* "=" ret` after the ')' that closes the arguments (forwards). False when no '=' follows. */
function parseReturn(b: Uint8Array, i: number, e: number, st: LexState): boolean {
  i = skipSpaces(b, i, e)
  if (i >= e || b[i] !== 0x3d) return false
  return parseValue(b, i + 1, e, st)
}

/**
 *   ret       := SP* ( "?" [SP ERESTART-NAME …]             unknown (exit, restart)
 *                    | "-" DIGITS SP ERESTART-NAME …         the same, in raw-format logs
 *                    | "-" DIGITS SP ENAME …                 error
 *                    | NUMBER … ) [SP "(INJECTED)"]          value: decimal, -decimal or 0x hex
 */
function parseValue(b: Uint8Array, i: number, e: number, st: LexState): boolean {
  i = skipSpaces(b, i, e)
  if (i >= e) return false
  const c = b[i]!
  if (c === 0x3f) {
    st.ret = RET.QUESTION
    if (i + 2 < e && b[i + 1] === SP && b[i + 2] === 0x45) errName(b, i + 2, e, st)
  } else if (c === 0x2d && i + 1 < e && isDigit(b[i + 1]!)) {
    let j = i + 1
    while (j < e && isDigit(b[j]!)) j++
    if (j + 1 < e && b[j] === SP && b[j + 1] === 0x45) {
      errName(b, j + 1, e, st)
      // raw-format logs print a restart as `-1 ERESTARTSYS (Unknown error 512)`: as `= ? ERESTARTSYS`
      st.ret = startsWith(b, st.errStart, st.errEnd, L_ERESTART) ? RET.QUESTION : RET.ERROR
    } else {
      st.ret = RET.VALUE
      st.retNum = -decimal(b, i + 1, e)
    }
  } else {
    // the number itself is read only when a caller asks (retValue())
    st.ret = RET.VALUE
    st.retStart = i
  }
  if (b[e - 1] === 0x29 && endsWith(b, i, e, L_INJECTED)) st.injected = true
  return true
}

function errName(b: Uint8Array, s: number, e: number, st: LexState): void {
  let j = s
  let h = 0
  for (let c = 0; j < e && isWordByte((c = b[j]!)); j++) h = hashStep(h, c)
  st.errStart = s
  st.errEnd = j
  st.errHash = h
}

/**
 *   args      := C-like text: balanced () [] {}; "strings" with \-escapes; /* comments *\/;
 *                decorations NAME"<"…">" (nested, brackets inside); markers "<… …>"
 *                (`<pid changed to N ...>` sets otherPid); "<<" shifts
 *
 * The exact scan from i (inside a call's parentheses) to the ')' that closes them. Returns
 * its index, or -1 (unbalanced, or the line ends first).
 */
function scanArgs(b: Uint8Array, i: number, e: number, st: LexState): number {
  let depth = 1
  let angles = true
  while (i < e) {
    const cls = CLS[b[i]!]!
    if (cls === 0) { i++; continue }
    if (cls === C_QUOTE) {
      i = skipString(b, i, e)
      if (i < 0) return -1
    } else if (cls === C_OPEN) {
      depth++
      i++
    } else if (cls === C_CLOSE) {
      if (--depth === 0) return b[i] === 0x29 ? i : -1
      i++
    } else if (cls === C_SLASH) {
      if (i + 1 >= e || b[i + 1] !== 0x2a) i++
      else if ((i = skipComment(b, i, e)) < 0) return -1
    } else if (i + 1 < e && b[i + 1] === 0x3c) i += 2 // a `<<` shift
    else if (!angles) i++
    else {
      if (b[i + 1] === 0x70 && startsWith(b, i, e, L_PID_CHANGED)) st.otherPid = decimal(b, i + L_PID_CHANGED.length, e)
      const j = skipAngle(b, i, e)
      if (j < 0) { angles = false; i++; continue } // a lone '<': an ordinary byte from here on
      i = j
    }
  }
  return -1
}

/** The index after the comment that starts at b[i, i + 2) === '/' '*', or -1 when the line ends first. */
export function skipComment(b: Uint8Array, i: number, e: number): number {
  let j = i + 2
  while (j + 1 < e && !(b[j] === 0x2a && b[j + 1] === 0x2f)) j++
  return j + 1 < e ? j + 2 : -1
}

/** The index after the string that starts at b[i] === '"', or -1 when the line ends first. */
export function skipString(b: Uint8Array, i: number, e: number): number {
  i++
  while (i < e) {
    const c = b[i]!
    if (c === 0x5c) i += 2
    else if (c === 0x22) return i + 1
    else i++
  }
  return -1
}

/**
 * Skip an angle-bracket region starting at b[i] === '<': `3</a/b<char 1:3>>`,
 * `<TCP:[1.2.3.4:5->6.7.8.9:10]>`, `<... resuming interrupted read ...>`. A path in it has its
 * quotes escaped (`\"`); only a socket's bracketed part holds strings. Returns the index after
 * the closing '>' or -1 when the line ends first.
 */
export function skipAngle(b: Uint8Array, i: number, e: number): number {
  let angle = 0
  let square = 0
  for (let j = i; j < e; j++) {
    const c = b[j]!
    if (c === 0x5c) j++ // an escaped byte of a path: `</tmp/q\"dir>`
    else if (c === 0x22 && square > 0) {
      // a quoted name inside a socket's brackets: `<UNIX:[254936,"sock"]>`
      j = skipString(b, j, e) - 1
      if (j < 0) return -1
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
 * The end of the argument text (the closing ')') of the last CALL/RESUMED line, or -1 when
 * the text before ` = ` does not end in ')' (a malformed line).
 */
export function argsEndOf(b: Uint8Array, st: LexState): number {
  if (st.argsEnd >= 0) return st.argsEnd
  const j = backOverSpaces(b, st.argsStart, st.eqPos)
  if (j <= st.argsStart || b[j - 1] !== 0x29) return -1
  return (st.argsEnd = j - 1)
}

/**
 * Re-lex the argument part of the last CALL/RESUMED line exactly (strings, brackets,
 * comments, decorations, `<pid changed to N ...>`). Returns the kind, UNKNOWN when the
 * argument text is not well formed.
 */
export function rescanExact(b: Uint8Array, st: LexState): Kind {
  if (st.kind !== KIND.CALL && (st.kind !== KIND.RESUMED || st.ret === RET.NONE)) return st.kind
  const e = st.lineEnd
  const close = scanArgs(b, st.argsStart, e, st)
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
