/**
 * lexInto() (src/trace/lex-line.ts) in an allocating, object form for tests: one line, lexed
 * exactly (the argument text scanned as the parser scans an inspected call's), as an object.
 */
import {KIND, LexState, MODE, RET, lexInto, rescanExact} from '../../src/trace/lex-line.js'
import {retValue} from '../../src/trace/values.js'

export type TraceLine =
  | {kind: 'blank'; pid?: number}
  | {kind: 'call'; pid?: number; name: string; args: string; ret: Ret}
  | {kind: 'unfinished'; pid?: number; name: string; args: string; detached: boolean}
  | {kind: 'resumed'; pid?: number; name: string; args: string; ret?: Ret; detached: boolean; stillPending: boolean}
  | {kind: 'signal'; pid?: number; text: string}
  | {kind: 'exit'; pid?: number; status: number; text: string}
  | {kind: 'superseded'; pid?: number; byPid: number}
  | {kind: 'mode'; pid?: number; processPid: number; mode: '64 bit' | '32 bit' | 'x32'}
  | {kind: 'info'; pid?: number; text: string}
  | {kind: 'unknown'; pid?: number; text: string}
  | {kind: 'stack'; pid?: number; text: string}

export type Ret =
  | {kind: 'value'; value?: number}
  | {kind: 'error'; errno: string; injected: boolean}
  | {kind: 'question'; restart?: string}

const KIND_NAMES = ['blank', 'call', 'unfinished', 'resumed', 'signal', 'exit', 'superseded', 'mode', 'info', 'unknown', 'stack'] as const

/** One line, lexed exactly (argument text scanned), as an object. */
export function lexLine(line: string | Uint8Array): TraceLine & {pidChangedTo?: number} {
  const b = typeof line === 'string' ? Buffer.from(line, 'latin1') : Buffer.from(line)
  const st = new LexState()
  let k = lexInto(b, 0, b.length, st)
  if (k === KIND.CALL || k === KIND.RESUMED) k = rescanExact(b, st)
  const pid = st.pid >= 0 ? {pid: st.pid} : {}
  const str = (x: number, y: number) => b.toString('latin1', x, y)
  const text = str(0, b.length).trim()
  const retNum = retValue(b, st)
  const ret = (): Ret | undefined =>
    st.ret === RET.VALUE ? (Number.isNaN(retNum) ? {kind: 'value'} : {kind: 'value', value: retNum})
    : st.ret === RET.ERROR ? {kind: 'error', errno: str(st.errStart, st.errEnd), injected: st.injected}
    : st.ret === RET.QUESTION ? (st.errEnd > st.errStart ? {kind: 'question', restart: str(st.errStart, st.errEnd)} : {kind: 'question'})
    : undefined
  const changed = st.otherPid >= 0 && (k === KIND.CALL || k === KIND.RESUMED) ? {pidChangedTo: st.otherPid} : {}
  const call = () => ({name: str(st.nameStart, st.nameEnd), args: str(st.argsStart, st.argsEnd)})
  switch (KIND_NAMES[k]) {
    case 'blank': return {kind: 'blank', ...pid}
    case 'call': return {kind: 'call', ...pid, ...call(), ret: ret()!, ...changed}
    case 'unfinished': return {kind: 'unfinished', ...pid, ...call(), detached: st.detached}
    case 'resumed': {
      const r = ret()
      return {kind: 'resumed', ...pid, ...call(), ...(r ? {ret: r} : {}), detached: st.detached, stillPending: st.stillPending, ...changed}
    }
    case 'signal': return {kind: 'signal', ...pid, text}
    case 'exit': return {kind: 'exit', ...pid, status: st.exitStatus, text}
    case 'superseded': return {kind: 'superseded', ...pid, byPid: st.otherPid}
    case 'mode': return {kind: 'mode', ...pid, processPid: st.otherPid, mode: st.mode === MODE.BITS64 ? '64 bit' : st.mode === MODE.BITS32 ? '32 bit' : 'x32'}
    case 'info': return {kind: 'info', ...pid, text}
    case 'stack': return {kind: 'stack', ...pid, text}
    default: return {kind: 'unknown', ...pid, text}
  }
}
