// AssemblyScript, compiled to dist/src/trace/lane.wasm by scripts/build-wasm.js.
//
// The byte work of Observer.lane() (src/trace/observe.ts) over a whole chunk at once: find
// every line, and for the lines of the lane's shapes (`PID [TIMESTAMP ]NAME(… = RET[ ERRNO …]
// [<DURATION>]`, its `<unfinished ...>` half, `PID <... NAME resumed>… = RET`) lex the pid,
// the name (interned here: an id per distinct name), the argument bounds and the errno into a
// record. The rest of lane() (per-pid state, counting) stays in TypeScript and reads the
// records. A line of any other shape gets kind OTHER and takes lexFast()/line() as before, so
// this lexer only has to agree with lane() on the lines it accepts; test/trace/fast-path.test.ts
// compares the outputs.
//
// Speed: a line is about 65 bytes, and byte loops of varying length (pid, name, the return
// value) cost a mispredicted branch each. So the head of a line (64 bytes) and its tail (64
// bytes before the end) are classified with SIMD into bit masks (digits, spaces, name bytes,
// brackets), and positions are found with ctz/clz. Whatever falls outside a window takes the
// byte loop that the masks stand for, so the result is the same as lane()'s.

// record: REC i32 fields per line, offsets relative to the input
// [kind, start, newline, pid, name id, name start, name end, args start, args end (')' or -1),
//  errno start (-1), errno end, errno id (-1), inspected argument start (-1), its end,
//  return value start (CALL, RESUMED)]
const REC: i32 = 15
const OTHER: i32 = 0
const CALL: i32 = 1
const UNFINISHED: i32 = 2
const RESUMED: i32 = 3
/** `--- SIG… ---` and `+++ exited with N +++` / `+++ killed by SIG… +++` (only counted here) */
const SIGNAL: i32 = 4
const EXIT: i32 = 5

// the name intern table: open addressing, SLOTS slots of 32 bytes: the name's bytes as two
// little-endian words (zero-padded; name bytes are never 0), its length, id + 1 (0: empty)
const SLOTS: i32 = 4096
const MAX_IDS: i32 = 2048
/** longer names are left to lexFast() */
const MAX_NAME: u32 = 16
const table = memory.data(SLOTS * 32)
let ids: i32 = 0

// Counting in here: a finished call of a count-only syscall without an error, and the two
// halves (`<unfinished ...>`, `<... resumed>`) of one, of a pid whose state Observer shared.
// TypeScript owns the state and says what is safe:
// - pids: PIDS direct-mapped slots of 16 i32: [pid, generation, ABI index, pending name id or
//   -1, its ABI, its line number, the pending id and line number Observer knows, for a pending
//   call with an inspected argument: its argument text's length (else -1), start and end
//   (offsets in this scan's input)], as Observer last left that pid and as we changed it
//   since; a slot of another generation means the pid is unknown here
// - ok: per (name id, ABI) 1 when Observer counts that syscall in that ABI with only a count
//   (3: and its errors are not errors: rt_sigreturn)
// - errOk: per errno id, 1 when Observer counts that errno (a valid name it has an index for)
// - errs: open addressing, ERR_SLOTS slots [(name id, ABI) * 2048 + errno id + 1, count]
// - counts: per (name id, ABI) the calls counted here since Observer last took them
// - dirty: the pids whose pending call changed here (Observer copies them back)
// - exited: the pids whose `+++ exited …`/`+++ killed …` line was taken here, in order
//   (Observer drops their state, after the dirty ones)
// - status: [generation, lines taken by the last scan(), ABI of the last call started,
//   next offset, calls counted, dirty pids, line number before the scan, exited pids]
const PIDS: i32 = 4096
const ABIS: i32 = 8
const MAX_DIRTY: i32 = 4096
const pids = memory.data(PIDS * 64)
const ok = memory.data(MAX_IDS * ABIS)
const counts = memory.data(MAX_IDS * ABIS * 4)
const dirty = memory.data(MAX_DIRTY * 4)
const exited = memory.data(MAX_DIRTY * 4)

export function exitedList(): usize {
  return exited
}
const ERR_SLOTS: i32 = 4096
const errOk = memory.data(MAX_IDS)
const errs = memory.data(ERR_SLOTS * 8)
let errUsed: i32 = 0

export function errOkTable(): usize {
  return errOk
}
export function errTable(): usize {
  return errs
}
/** How many (tally, errno) slots are in use (0: nothing to take). */
export function errorsUsed(): i32 {
  return errUsed
}

/** Empty the errno tallies (Observer has taken them, or another Observer takes over). */
export function clearErrors(): void {
  if (errUsed == 0) return
  memory.fill(errs, 0, ERR_SLOTS * 8)
  errUsed = 0
}

/** Another Observer takes over: its tallies are others. */
export function clearTallies(): void {
  clearErrors()
  clearVals()
}

/** Count errno id e for the tally k; false when the table is too full (Observer counts it). */
function countError(k: i32, e: i32): bool {
  const key = k * MAX_IDS + e + 1
  let slot = (key * 0x9e3779b1) >>> 20 & (ERR_SLOTS - 1)
  for (;;) {
    const t = errs + (<usize>slot << 3)
    const v = load<i32>(t)
    if (v == key) { store<i32>(t, load<i32>(t, 4) + 1, 4); return true }
    if (v == 0) {
      if (errUsed >= ERR_SLOTS / 2) return false
      errUsed++
      store<i32>(t, key)
      store<i32>(t, 1, 4)
      return true
    }
    slot = (slot + 1) & (ERR_SLOTS - 1)
  }
  return false // not reached: the table is never more than half full
}

// Inspected arguments (syscalls with one inspected argument, e.g. mmap's prot): insp[name id]
// is its index + 1 (0: none), set by Observer; vals holds the (tally, argument text) pairs
// Observer has recorded: a call whose argument text is among them adds nothing but its count.
// ok[k] has bit 4 for such a tally.
const insp = memory.data(MAX_IDS)
const VAL_SLOTS: i32 = 4096
const MAX_VAL: i32 = 32
const vals = memory.data(VAL_SLOTS * 40)
let valsUsed: i32 = 0

export function inspTable(): usize {
  return insp
}

/** Bytes [8i, 8i + 8) of the text [p, p + n), zero-padded (argument text never has a 0 byte; the length is compared too). */
@inline function word(p: usize, n: i32, i: i32): u64 {
  const left = n - (i << 3)
  if (left <= 0) return 0
  const w = load<u64>(p + (<usize>i << 3))
  return left >= 8 ? w : w & ((<u64>1 << (<u64>left << 3)) - 1)
}

/** The slot where (tally k, text [p, p + n)) is, or the empty one where it would go; -1 when too long. */
function valSlot(k: i32, p: usize, n: i32): i32 {
  if (n > MAX_VAL) return -1
  const w0 = word(p, n, 0)
  const w1 = word(p, n, 1)
  const w2 = word(p, n, 2)
  const w3 = word(p, n, 3)
  let h = (w0 * 0x9e3779b97f4a7c15) ^ (w1 * 0xc2b2ae3d27d4eb4f) ^ (w2 * 0x165667b19e3779f9) ^ (w3 * 0x27d4eb2f165667c5) ^ (<u64>k << 8) ^ <u64>n
  h ^= h >> 29
  let slot = <i32>(h * 0x94d049bb133111eb >> 52) & (VAL_SLOTS - 1)
  for (;;) {
    const t = vals + <usize>(slot * 40)
    const v = load<i32>(t)
    if (v == 0) break
    if (v == k + 1 && load<i32>(t, 4) == n && load<u64>(t, 8) == w0 && load<u64>(t, 16) == w1 && load<u64>(t, 24) == w2 && load<u64>(t, 32) == w3) break
    slot = (slot + 1) & (VAL_SLOTS - 1)
  }
  return slot
}

/** Whether (tally k, the text [p, p + n)) is among the recorded values. */
@inline function valSeen(k: i32, p: usize, n: i32): bool {
  const slot = valSlot(k, p, n)
  return slot >= 0 && load<i32>(vals + <usize>(slot * 40)) != 0
}

/** Observer recorded the argument text [inp + s, inp + e) for tally k. */
export function remember(k: i32, inp: usize, s: i32, e: i32): void {
  const n = e - s
  const p = inp + <usize>s
  if (n <= 0 || valsUsed >= VAL_SLOTS / 2) return
  const slot = valSlot(k, p, n)
  if (slot < 0) return
  const t = vals + <usize>(slot * 40)
  if (load<i32>(t) != 0) return
  store<i32>(t, k + 1)
  store<i32>(t, n, 4)
  store<u64>(t, word(p, n, 0), 8)
  store<u64>(t, word(p, n, 1), 16)
  store<u64>(t, word(p, n, 2), 24)
  store<u64>(t, word(p, n, 3), 32)
  valsUsed++
}

/** Forget the recorded values (the tallies change meaning). */
function clearVals(): void {
  memory.fill(vals, 0, VAL_SLOTS * 40)
  valsUsed = 0
}

/**
 * As argAt() in lex-line.ts for an unlabelled argument list without decorations or comments:
 * argument `index` of [s, e), trimmed, into the record at out (fields 48, 52). False when
 * argAt() could answer otherwise (labelled arguments, `<`, `/*`, no such argument, empty).
 */
function argSpan(s: usize, e: usize, index: i32, out: usize): bool {
  // the usual case first: within the first 32 bytes, argument `index` ends at a comma (or at
  // e) and nothing before its end is a quote, bracket, '<', '/' or '=' (the loop below would
  // only split at the commas there)
  if (e > s) {
    const v0 = v128.load(s)
    const v1 = v128.load(s, 16)
    const n = e - s
    const live: u64 = n >= 32 ? 0xffffffff : ((<u64>1 << <u64>n) - 1)
    let commas = (<u64><u32>i8x16.bitmask(i8x16.eq(v0, i8x16.splat(0x2c))) | (<u64><u32>i8x16.bitmask(i8x16.eq(v1, i8x16.splat(0x2c))) << 16)) & live
    const odd = (<u64><u32>i8x16.bitmask(vOdd(v0)) | (<u64><u32>i8x16.bitmask(vOdd(v1)) << 16)) & live
    // the start of argument `index`: after its index-th comma
    let a: usize = 0
    for (let q = 0; q < index; q++) {
      if (commas == 0) { a = 64; break }
      a = <usize>ctz(commas) + 1
      commas &= commas - 1
    }
    if (a < 64) {
      // its end: the next comma, else e (when e is within the window)
      let z: usize = commas != 0 ? <usize>ctz(commas) : (n < 32 ? n : 64)
      if (z < 64 && (odd & below(z)) == 0) {
        let x = s + a
        let y = s + z
        while (x < y && byte(x) == 0x20) x++
        while (y > x && byte(y - 1) == 0x20) y--
        if (x == y) return false
        store<i32>(out, <i32>x, 48)
        store<i32>(out, <i32>y, 52)
        return true
      }
    }
  }
  let depth = 0
  let n = 0
  let a = s
  let i = s
  let first = true
  while (i <= e) {
    // skip to the next byte argAt() looks at (, " brackets < /), 16 at a time
    while (i + 16 <= e) {
      const m = i8x16.bitmask(vSpecial(v128.load(i)))
      if (m != 0) { i += <usize>ctz(m); break }
      i += 16
    }
    const c = i < e ? byte(i) : 0x2c
    if (c == 0x2c && depth == 0) {
      let x = a
      let y = i
      while (x < y && byte(x) == 0x20) x++
      while (y > x && byte(y - 1) == 0x20) y--
      if (first) {
        // argAt() reads `name=value` lists by label
        let q = x
        while (q < y && isWordByte(byte(q))) q++
        if (q > x && q < y && byte(q) == 0x3d) return false
        first = false
      }
      if (n == index) {
        if (x == y) return false
        store<i32>(out, <i32>x, 48)
        store<i32>(out, <i32>y, 52)
        return true
      }
      if (i >= e) return false
      n++
      a = i + 1
    } else if (c == 0x22) {
      i++
      while (i < e && byte(i) != 0x22) i += byte(i) == 0x5c ? 2 : 1
    } else if (c == 0x28 || c == 0x5b || c == 0x7b) depth++
    else if (c == 0x29 || c == 0x5d || c == 0x7d) depth--
    else if (c == 0x3c || (c == 0x2f && i + 1 < e && byte(i + 1) == 0x2a)) return false
    i++
  }
  return false
}

/** The inspected argument of the CALL record at out (name id) was recorded for tally k already. */
function inspectedSeen(out: usize, id: i32, k: i32): bool {
  const ae = load<i32>(out, 32)
  const idx = <i32>load<u8>(insp + <usize>id) - 1
  if (ae < 0 || idx < 0) return false
  const base = inpBase
  if (!argSpan(base + <usize>load<i32>(out, 28), base + <usize>ae, idx, out)) return false
  const x = load<i32>(out, 48)
  const y = load<i32>(out, 52)
  if (valSeen(k, <usize>x, y - x)) return true
  // a new value: Observer records it; the span goes with the record (relative to the input)
  store<i32>(out, x - <i32>base, 48)
  store<i32>(out, y - <i32>base, 52)
  spanKept = true
  return false
}
let inpBase: usize = 0
let spanKept = false

/** foldFast() keeps at most this much argument text of a pending call (MAX_ARGS_TEXT) */
const MAX_ARGS_TEXT: i32 = 64 << 10

/**
 * The UNFINISHED record at out of a syscall with an inspected argument: taken (as foldFast()
 * would: the pending call with its argument text, which Observer copies when it must take
 * the call over), with what the RESUMED half needs to be taken too, in the pid slot t: the
 * text's length and bounds, and whether the argument's text is one recorded for tally k
 * already: 1 when it ends at a comma here, 2 when it is the last one so far (whole only if
 * the other half adds no text), 0 when not recorded or not found.
 */
function unfinishedKeep(out: usize, id: i32, k: i32, t: usize): bool {
  const idx = <i32>load<u8>(insp + <usize>id) - 1
  if (idx < 0) return false
  const base = inpBase
  const as = load<i32>(out, 28)
  const ae = load<i32>(out, 32)
  if (ae - as > MAX_ARGS_TEXT) return false
  let seen = 0
  if (argSpan(base + <usize>as, base + <usize>ae, idx, out)) {
    const x = load<i32>(out, 48)
    const y = load<i32>(out, 52)
    if (valSeen(k, <usize>x, y - x)) seen = y == <i32>(base + <usize>ae) ? 2 : 1
  }
  store<i32>(t, ae - as, 32)
  store<i32>(t, as, 36)
  store<i32>(t, ae, 40)
  store<i32>(t, seen, 44)
  return true
}

/**
 * The RESUMED record at out of an inspected call taken at its start (pid slot t): taken when
 * the argument was found recorded then (and, when it was the last, this half adds no text),
 * its argument text has nothing for the exact scan to decide (no quote, bracket, comment or
 * decoration: the ')' found from the end is the first one) and the whole text stays within
 * MAX_ARGS_TEXT.
 */
function resumedSimple(out: usize, t: usize): bool {
  const ulen = load<i32>(t, 32)
  const seen = load<i32>(t, 44)
  if (ulen < 0 || seen == 0) return false
  const base = inpBase
  const as = load<i32>(out, 28)
  const ae = load<i32>(out, 32)
  if (ae < 0 || ulen + (ae - as) > MAX_ARGS_TEXT || (seen == 2 && ae != as)) return false
  for (let p = base + <usize>as; p < base + <usize>ae; p++) {
    const c = byte(p)
    if (c == 0x22 || c == 0x28 || c == 0x29 || c == 0x5b || c == 0x5d || c == 0x7b || c == 0x7d || c == 0x3c || c == 0x3e || c == 0x2f) return false
  }
  return true
}


/** Whether a finished call of tally k (ok value okv) with the error in the record at out may be counted here; counts the error. */
@inline function errorTaken(out: usize, k: i32, okv: u32): bool {
  if (load<i32>(out, 36) < 0 || (okv & 2) != 0) return true
  const e = load<i32>(out, 44)
  return e >= 0 && load<u8>(errOk + <usize>e) != 0 && countError(k, e)
}
const status = memory.data(32)

export function dirtyList(): usize {
  return dirty
}
export function pidTable(): usize {
  return pids
}
export function okTable(): usize {
  return ok
}
export function countTable(): usize {
  return counts
}
export function statusBlock(): usize {
  return status
}

/** The first byte JavaScript may use for input and records. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15
}

/** How many names are interned. */
export function names(): i32 {
  return ids
}

/** Forget every interned name (the table is full: ids start again from 0). */
export function reset(): void {
  memory.fill(table, 0, SLOTS * 32)
  memory.fill(ok, 0, MAX_IDS * ABIS)
  memory.fill(counts, 0, MAX_IDS * ABIS * 4)
  memory.fill(errOk, 0, MAX_IDS)
  memory.fill(insp, 0, MAX_IDS)
  clearErrors()
  clearVals()
  ids = 0
}

@inline function byte(p: usize): u32 {
  return <u32>load<u8>(p)
}
@inline function isDigit(c: u32): bool {
  return c - 0x30 < 10
}
/** a-z 0-9 _ ? (what strace prints in a syscall name, `???` included) */
@inline function isNameByte(c: u32): bool {
  return c - 0x61 < 26 || c - 0x30 < 10 || c == 0x5f || c == 0x3f
}
@inline function isWordByte(c: u32): bool {
  return c - 0x61 < 26 || c - 0x41 < 26 || c - 0x30 < 10 || c == 0x5f
}

// --- 64-byte class masks: bit x is byte p + x -------------------------------------------
@inline function bits(a: v128, b: v128, c: v128, d: v128): u64 {
  return <u64><u32>i8x16.bitmask(a) | (<u64><u32>i8x16.bitmask(b) << 16) | (<u64><u32>i8x16.bitmask(c) << 32) | (<u64><u32>i8x16.bitmask(d) << 48)
}
@inline function vDigit(v: v128): v128 {
  return i8x16.lt_u(i8x16.sub(v, i8x16.splat(0x30)), i8x16.splat(10))
}
@inline function vSpace(v: v128): v128 {
  return i8x16.eq(v, i8x16.splat(0x20))
}
@inline function vName(v: v128): v128 {
  return v128.or(v128.or(i8x16.lt_u(i8x16.sub(v, i8x16.splat(0x61)), i8x16.splat(26)), vDigit(v)), v128.or(i8x16.eq(v, i8x16.splat(0x5f)), i8x16.eq(v, i8x16.splat(0x3f))))
}
@inline function vStamp(v: v128): v128 {
  return v128.or(vDigit(v), v128.or(i8x16.eq(v, i8x16.splat(0x2e)), i8x16.eq(v, i8x16.splat(0x3a))))
}
/** ( ) [ ] { } " : what backOverParens() looks at */
@inline function vBracket(v: v128): v128 {
  const p = v128.or(i8x16.eq(v, i8x16.splat(0x28)), i8x16.eq(v, i8x16.splat(0x29)))
  const q = v128.or(i8x16.eq(v, i8x16.splat(0x5b)), i8x16.eq(v, i8x16.splat(0x5d)))
  const r = v128.or(i8x16.eq(v, i8x16.splat(0x7b)), i8x16.eq(v, i8x16.splat(0x7d)))
  return v128.or(v128.or(p, q), v128.or(r, i8x16.eq(v, i8x16.splat(0x22))))
}
/** " ( ) [ ] { } < / = : what makes argSpan() take its loop */
@inline function vOdd(v: v128): v128 {
  return v128.or(vBracket(v), v128.or(v128.or(i8x16.eq(v, i8x16.splat(0x3d)), i8x16.eq(v, i8x16.splat(0x3c))), i8x16.eq(v, i8x16.splat(0x2f))))
}
/** , " ( ) [ ] { } < / : what argAt() stops at */
@inline function vSpecial(v: v128): v128 {
  return v128.or(vBracket(v), v128.or(v128.or(i8x16.eq(v, i8x16.splat(0x2c)), i8x16.eq(v, i8x16.splat(0x3c))), i8x16.eq(v, i8x16.splat(0x2f))))
}
/** the spaces of [p, p + 32) */
function spaceMask(p: usize): u64 {
  return <u64><u32>i8x16.bitmask(vSpace(v128.load(p))) | (<u64><u32>i8x16.bitmask(vSpace(v128.load(p, 16))) << 16)
}
/** the brackets of [p, p + 32) */
function bracketMask(p: usize): u64 {
  return <u64><u32>i8x16.bitmask(vBracket(v128.load(p))) | (<u64><u32>i8x16.bitmask(vBracket(v128.load(p, 16))) << 16)
}
/** bits [0, x), x in 0..64 */
@inline function below(x: usize): u64 {
  return x >= 64 ? <u64>-1 : (<u64>1 << <u64>x) - 1
}
/** the first position >= x (x < 64) whose bit is clear; 64 when none */
@inline function firstClear(m: u64, x: usize): usize {
  return <usize>ctz(~m & (<u64>-1 << <u64>x))
}

// --- backwards from k, as lane()'s loops, with the tail window [wb, wb + 32) --------------
/** `while (k > lo && b[k - 1] != ' ') k--` */
@inline function backToSpace(sp: u64, wb: usize, lo: usize, k: usize): usize {
  if (k > wb) {
    let m = sp & below(k - wb)
    if (lo > wb) m &= ~below(lo - wb)
    if (m != 0) return wb + 64 - <usize>clz(m)
    if (lo >= wb) return lo
    k = wb
  }
  while (k > lo && byte(k - 1) != 0x20) k--
  return k
}
/** `while (k > lo && b[k - 1] == ' ') k--` */
@inline function backOverSpaces(sp: u64, wb: usize, lo: usize, k: usize): usize {
  if (k > wb) {
    let m = ~sp & below(k - wb)
    if (lo > wb) m &= ~below(lo - wb)
    if (m != 0) return wb + 64 - <usize>clz(m)
    if (lo >= wb) return lo
    k = wb
  }
  while (k > lo && byte(k - 1) == 0x20) k--
  return k
}

// `<... `, ` resumed>`, `<unfinished ...>`, `<detached ...>`, `(INJECTED)`
const L_RESUMED_TAIL = memory.data<u8>([0x20, 0x72, 0x65, 0x73, 0x75, 0x6d, 0x65, 0x64, 0x3e])
const L_UNFINISHED = memory.data<u8>([0x3c, 0x75, 0x6e, 0x66, 0x69, 0x6e, 0x69, 0x73, 0x68, 0x65, 0x64, 0x20, 0x2e, 0x2e, 0x2e, 0x3e])
const L_DETACHED = memory.data<u8>([0x3c, 0x64, 0x65, 0x74, 0x61, 0x63, 0x68, 0x65, 0x64, 0x20, 0x2e, 0x2e, 0x2e, 0x3e])
const L_INJECTED = memory.data<u8>([0x28, 0x49, 0x4e, 0x4a, 0x45, 0x43, 0x54, 0x45, 0x44, 0x29])

/** [p, p + n) equals lit (8 <= n <= 16): two overlapping words */
@inline function same(p: usize, lit: usize, n: usize): bool {
  return load<u64>(p) == load<u64>(lit) && load<u64>(p + n - 8) == load<u64>(lit + n - 8)
}
/** as endsWith(b, s, e, lit) */
@inline function endsWith(s: usize, e: usize, lit: usize, n: usize): bool {
  return e >= s + n && same(e - n, lit, n)
}

/** The id of the name whose bytes are the words w0 w1 and whose length is n; -1 when the table is full. */
function intern(w0: u64, w1: u64, n: u32): i32 {
  let h = (w0 * 0x9e3779b97f4a7c15) ^ (w1 * 0xc2b2ae3d27d4eb4f) ^ <u64>n
  h ^= h >> 31
  let slot = <i32>(h * 0x94d049bb133111eb >> 52) & (SLOTS - 1)
  for (;;) {
    const t = table + (<usize>slot << 5)
    const v = load<i32>(t, 20)
    if (v == 0) break
    if (load<u64>(t) == w0 && load<u64>(t, 8) == w1 && load<u32>(t, 16) == n) return v - 1
    slot = (slot + 1) & (SLOTS - 1)
  }
  if (ids >= MAX_IDS) return -1
  const t = table + (<usize>slot << 5)
  store<u64>(t, w0)
  store<u64>(t, w1, 8)
  store<u32>(t, n, 16)
  store<i32>(t, ++ids, 20)
  return ids - 1
}

/** The id of the bytes [p, p + n) (1 <= n <= 16), or -1 (longer, or the table is full). */
@inline function internBytes(p: usize, n: u32): i32 {
  if (n > MAX_NAME || n == 0) return -1
  const w0 = n >= 8 ? load<u64>(p) : load<u64>(p) & ((<u64>1 << (<u64>n << 3)) - 1)
  const w1 = n <= 8 ? 0 : n >= 16 ? load<u64>(p, 8) : load<u64>(p, 8) & ((<u64>1 << (<u64>(n - 8) << 3)) - 1)
  return intern(w0, w1, n)
}

/** As stripDuration() in lex-line.ts: the end of the line without a trailing ` <0.000123>`. */
function stripDuration(s: usize, e: usize): usize {
  if (e - s < 4 || byte(e - 1) != 0x3e) return e
  let j = e - 2
  while (j > s && (isDigit(byte(j)) || byte(j) == 0x2e)) j--
  if (j < e - 2 && byte(j) == 0x3c && j > s && byte(j - 1) == 0x20) {
    j--
    while (j > s && byte(j - 1) == 0x20) j--
    return j
  }
  return e
}

/** As backOverParens() in lex-line.ts; returns the start or -1. */
function backOverParens(s: usize, j: usize): isize {
  let depth = 0
  for (let k = <isize>j - 1; k >= <isize>s; k--) {
    const c = byte(<usize>k)
    if (c == 0x29 || c == 0x5d || c == 0x7d) depth++
    else if (c == 0x28 || c == 0x5b || c == 0x7b) { if (--depth == 0) return k }
    else if (c == 0x22) return -1
  }
  return -1
}

/** backOverParens(lo, k) (b[k - 1] is ')'): the nearest bracket below k - 1 from the window's mask, else the loop. */
function parensBack(wb: usize, lo: usize, k: usize): isize {
  const top = k - 1
  if (top > wb) {
    let m = bracketMask(wb) & below(top - wb)
    if (lo > wb) m &= ~below(lo - wb)
    if (m != 0) {
      const q = wb + 63 - <usize>clz(m)
      const c = byte(q)
      if (c == 0x28 || c == 0x5b || c == 0x7b) return <isize>q
      if (c == 0x22) return -1
      return backOverParens(lo, k) // nested: the loop counts depth
    }
    if (lo >= wb) return -1
  }
  return backOverParens(lo, k)
}

/** As backOverAngle() in lex-line.ts. */
function backOverAngle(s: usize, j: usize): isize {
  let angle = 0
  let square = 0
  for (let k = <isize>j - 1; k >= <isize>s; k--) {
    const c = byte(<usize>k)
    if (c == 0x5d) square++
    else if (c == 0x5b) { if (square > 0) square-- }
    else if (c == 0x22) return -1
    else if (square == 0) {
      if (c == 0x3e) angle++
      else if (c == 0x3c) { if (--angle == 0) return k }
    }
  }
  return -1
}

// `--- `, `+++ exited with `, `+++ killed by ` (as lexInto() tells them)
const L_EXITED = memory.data<u8>([0x2b, 0x2b, 0x2b, 0x20, 0x65, 0x78, 0x69, 0x74, 0x65, 0x64, 0x20, 0x77, 0x69, 0x74, 0x68, 0x20])
const L_KILLED = memory.data<u8>([0x2b, 0x2b, 0x2b, 0x20, 0x6b, 0x69, 0x6c, 0x6c, 0x65, 0x64, 0x20, 0x62, 0x79, 0x20])

/**
 * A line whose text (after the pid and timestamp) starts at i with '-' or '+': SIGNAL or EXIT
 * as lexInto() would classify it, else OTHER. A line ending in '>' is left to lexInto() (its
 * `-T` duration stripping could change the answer).
 */
function markerLine(i: usize, e: usize): i32 {
  if (byte(e - 1) == 0x3e) return OTHER
  if (byte(i) == 0x2d) return i + 4 <= e && load<u32>(i) == 0x202d2d2d ? SIGNAL : OTHER
  if (e >= i + 16 && same(i, L_EXITED, 16)) return EXIT
  if (e >= i + 14 && same(i, L_KILLED, 14)) return EXIT
  return OTHER
}

/** Lex the line [s, e) (e: its newline) into the record at r; returns its kind. Mirrors Observer.lane(). (Inlined into scan(): a call per line costs a few per cent.) */
@inline function lane(base: usize, s: usize, e: usize, r: usize): i32 {
  if (e - s < 8) return OTHER
  let c = byte(e - 1)
  while (c == 0x20 || c == 0x0d) {
    if (--e <= s) return OTHER
    c = byte(e - 1)
  }
  // the head: pid, spaces, timestamp, name, from masks of [s, s + 32) (of [s, s + 64) when a
  // position is not found in the first 32 bytes)
  const v0 = v128.load(s)
  const v1 = v128.load(s, 16)
  // (a pid has at most 7 digits: the first 16 bytes tell)
  const p = <usize>ctz(~<u32>i8x16.bitmask(vDigit(v0)))
  if (p == 0 || p > 7 || s + p >= e || byte(s + p) != 0x20) return OTHER
  let pid: u32 = 0
  for (let q: usize = 0; q < p; q++) pid = pid * 10 + (byte(s + q) - 0x30)
  if (pid > 4194304) return OTHER
  let sp = <u64><u32>i8x16.bitmask(vSpace(v0)) | (<u64><u32>i8x16.bitmask(vSpace(v1)) << 16) | (<u64>0xffffffff << 32)
  let i = firstClear(sp, p)
  if (i >= 32) {
    sp = bits(vSpace(v0), vSpace(v1), vSpace(v128.load(s, 32)), vSpace(v128.load(s, 48)))
    i = firstClear(sp, p)
  }
  if (i >= 64 || s + i >= e) return OTHER
  c = byte(s + i)
  if (isDigit(c)) {
    // -t/-tt/-ttt timestamp
    const q = firstClear(bits(vStamp(v0), vStamp(v1), vStamp(v128.load(s, 32)), vStamp(v128.load(s, 48))), i)
    if (q >= 64 || s + q >= e || byte(s + q) != 0x20) return OTHER
    sp = bits(vSpace(v0), vSpace(v1), vSpace(v128.load(s, 32)), vSpace(v128.load(s, 48)))
    i = firstClear(sp, q)
    if (i >= 64 || s + i >= e) return OTHER
    c = byte(s + i)
  }
  i += s
  if (c == 0x2d || c == 0x2b) {
    store<i32>(r, <i32>pid, 12)
    return markerLine(i, e)
  }
  let angle = false
  if (byte(e - 1) == 0x3e) {
    e = stripDuration(i, e)
    if (e <= i) return OTHER
    angle = byte(e - 1) == 0x3e
  }
  let resumed = false
  let ns = i
  if (c == 0x3c) {
    // `<... `
    if (i + 5 > e || load<u32>(i) != 0x2e2e2e3c || byte(i + 4) != 0x20) return OTHER
    resumed = true
    ns = i + 5
    if (ns >= e || !isNameByte(byte(ns))) return OTHER
  } else if (!(c - 0x61 < 26 || c == 0x5f)) return OTHER
  // the name ends at the first byte that is not a name byte (the one at e never is: a space,
  // CR or newline)
  if (ns - s >= 64) return OTHER
  let j = ns - s < 32 ? firstClear(<u64><u32>i8x16.bitmask(vName(v0)) | (<u64><u32>i8x16.bitmask(vName(v1)) << 16), ns - s) : 32
  if (j >= 32) j = firstClear(bits(vName(v0), vName(v1), vName(v128.load(s, 32)), vName(v128.load(s, 48))), ns - s)
  if (j >= 64) return OTHER
  j += s
  const n = <u32>(j - ns)
  if (n > MAX_NAME) return OTHER
  let args = j + 1
  if (!resumed) {
    if (j >= e || byte(j) != 0x28) return OTHER
  } else {
    if (j + 9 > e || !same(j, L_RESUMED_TAIL, 9)) return OTHER
    args = j + 9
  }
  const id = internBytes(ns, n)
  if (id < 0) return OTHER
  store<i32>(r, <i32>pid, 12)
  store<i32>(r, id, 16)
  store<i32>(r, <i32>(ns - base), 20)
  store<i32>(r, <i32>(j - base), 24)
  store<i32>(r, <i32>(args - base), 28)
  if (angle) {
    if (endsWith(args, e, L_UNFINISHED, 16)) {
      if (resumed) return OTHER
      // the argument text so far: up to the spaces before `<unfinished ...>` (as lexFast())
      let a = e - 16
      while (a > args && byte(a - 1) == 0x20) a--
      store<i32>(r, <i32>(a - base), 32)
      return UNFINISHED
    }
    if (endsWith(args, e, L_DETACHED, 14)) return OTHER
  }
  // the return part, backwards (as lane()), with the spaces of the window [e - 32, e)
  const wb = e - 32
  const tsp = spaceMask(wb)
  let k = e
  if (byte(k - 1) == 0x29) {
    if (endsWith(args, e, L_INJECTED, 10)) return OTHER
    const q = parensBack(wb, args, k)
    if (q < 0) return OTHER
    k = backOverSpaces(tsp, wb, args, <usize>q)
  }
  if (k > args && byte(k - 1) == 0x3e) {
    const q = backOverAngle(args, k)
    if (q < 0) return OTHER
    k = <usize>q
  }
  let t = backToSpace(tsp, wb, args, k)
  if (t == k) return OTHER
  if (byte(t) == 0x45) {
    k = backOverSpaces(tsp, wb, args, t)
    t = backToSpace(tsp, wb, args, k)
    if (t == k) return OTHER
  }
  k = backOverSpaces(tsp, wb, args, t)
  if (k <= args || byte(k - 1) != 0x3d) return OTHER
  store<i32>(r, <i32>(t - base), 56)
  // an error return: -DIGITS SP ENAME
  let es: i32 = -1
  let ee: i32 = -1
  if (byte(t) == 0x2d && t + 1 < e && isDigit(byte(t + 1))) {
    let q = t + 2
    while (q < e && isDigit(byte(q))) q++
    if (q + 1 < e && byte(q) == 0x20 && byte(q + 1) == 0x45) {
      let x = q + 2
      while (x < e && isWordByte(byte(x))) x++
      es = <i32>(q + 1 - base)
      ee = <i32>(x - base)
    }
  }
  // the arguments end at the ')' before ' = ' (argsEndOf()), else -1
  const a = backOverSpaces(tsp, wb, args, k - 1)
  store<i32>(r, a <= args || byte(a - 1) != 0x29 ? -1 : <i32>(a - 1 - base), 32)
  store<i32>(r, es, 36)
  store<i32>(r, ee, 40)
  // the errno's id (interned like the names; ERRNO names never equal syscall names)
  store<i32>(r, es < 0 ? -1 : internBytes(base + <usize>es, <u32>(ee - es)), 44)
  return resumed ? RESUMED : CALL
}

/**
 * Go through the lines of [inp + from, inp + len): take the ones that are safe to take here
 * (see the tables above; only when mayCount), and stop at the first other line with its
 * record at out (offsets relative to inp). Returns 1 with a record, 0 at the end of the whole
 * lines; status says what was taken and where the next line starts. The input must be
 * followed by 128 readable bytes (the vector loads read ahead).
 */
export function scan(inp: usize, from: i32, len: i32, out: usize, mayCount: i32): i32 {
  const end = inp + <usize>len
  const nlv = i8x16.splat(10)
  const gen = load<i32>(status)
  const line0 = load<i32>(status, 24)
  let s = inp + <usize>from
  let lines = 0
  let calls = 0
  let nd = 0
  let nx = 0
  let last = load<i32>(status, 8)
  let kind = OTHER
  let done = false
  inpBase = inp
  while (!done) {
    let p = s
    let nl = end
    while (p + 16 <= end) {
      const m = i8x16.bitmask(i8x16.eq(v128.load(p), nlv))
      if (m != 0) { nl = p + <usize>ctz(m); break }
      p += 16
    }
    if (nl == end) {
      while (p < end) { if (load<u8>(p) == 10) { nl = p; break } p++ }
      if (nl == end) { kind = -1; done = true; continue }
    }
    spanKept = false
    kind = lane(inp, s, nl, out)
    if (kind != OTHER && mayCount != 0) {
      const pid = load<i32>(out, 12)
      const t = pids + <usize>((pid & (PIDS - 1)) << 6)
      if (load<i32>(t) == pid && load<i32>(t, 4) == gen) {
        const id = load<i32>(out, 16)
        const pend = load<i32>(t, 12)
        if (kind == SIGNAL) {
          // the general path only makes sure the pid has a state
          lines++
          s = nl + 1
          continue
        }
        if (kind == EXIT) {
          // the pid's state goes (Observer drops it); nothing was pending
          if (pend < 0 && nx < MAX_DIRTY) {
            lines++
            store<i32>(exited + (<usize>nx << 2), pid)
            nx++
            store<i32>(t, gen - 1, 4)
            s = nl + 1
            continue
          }
        } else if (kind == CALL) {
          if (pend < 0) {
            const abi = load<i32>(t, 8)
            const k = <usize>(id * ABIS + abi)
            const okv = <u32>load<u8>(ok + k)
            if (okv != 0 && ((okv & 4) == 0 || inspectedSeen(out, id, <i32>k)) && errorTaken(out, <i32>k, okv)) {
              const c = counts + (k << 2)
              store<i32>(c, load<i32>(c) + 1)
              lines++
              calls++
              last = abi
              s = nl + 1
              continue
            }
          }
        } else if (nd < MAX_DIRTY) {
          if (kind == UNFINISHED) {
            const abi = load<i32>(t, 8)
            const k = id * ABIS + abi
            const okv = <u32>load<u8>(ok + <usize>k)
            if (pend < 0 && okv != 0 && ((okv & 4) == 0 || unfinishedKeep(out, id, k, t))) {
              if ((okv & 4) == 0) store<i32>(t, -1, 32)
              lines++
              store<i32>(t, id, 12)
              store<i32>(t, abi, 16)
              store<i32>(t, line0 + lines, 20)
              store<i32>(dirty + (<usize>nd << 2), pid)
              nd++
              last = abi
              s = nl + 1
              continue
            }
          } else if (pend == id) {
            // RESUMED
            const k = <usize>(id * ABIS + load<i32>(t, 16))
            const okv = <u32>load<u8>(ok + k)
            if (okv != 0 && ((okv & 4) == 0 || resumedSimple(out, t)) && errorTaken(out, <i32>k, okv)) {
              const c = counts + (k << 2)
              store<i32>(c, load<i32>(c) + 1)
              lines++
              calls++
              store<i32>(t, -1, 12)
              store<i32>(dirty + (<usize>nd << 2), pid)
              nd++
              s = nl + 1
              continue
            }
          }
        }
      }
    }
    if (!spanKept) {
      store<i32>(out, -1, 48)
      store<i32>(out, -1, 52)
    }
    store<i32>(out, kind >= SIGNAL ? OTHER : kind)
    store<i32>(out, <i32>(s - inp), 4)
    store<i32>(out, <i32>(nl - inp), 8)
    s = nl + 1
    done = true
  }
  // keep the dirty pids whose pending call differs from what Observer knows (a call that
  // started and ended within this scan changes nothing there), each once
  let kept = 0
  for (let q = 0; q < nd; q++) {
    const pid = load<i32>(dirty + (<usize>q << 2))
    const t = pids + <usize>((pid & (PIDS - 1)) << 6)
    const pend = load<i32>(t, 12)
    const pline = load<i32>(t, 20)
    if (pend != load<i32>(t, 24) || (pend >= 0 && pline != load<i32>(t, 28))) {
      store<i32>(t, pend, 24)
      store<i32>(t, pline, 28)
      store<i32>(dirty + (<usize>kept << 2), pid)
      kept++
    }
  }
  store<i32>(status, lines, 4)
  store<i32>(status, last, 8)
  store<i32>(status, <i32>(s - inp), 12)
  store<i32>(status, calls, 16)
  store<i32>(status, kept, 20)
  store<i32>(status, nx, 28)
  return kind < 0 ? 0 : 1
}
