/**
 * The FFI boundary to libseccomp.so.2 (koffi). Mirrors libseccomp's api.c: arguments are
 * checked here before each call, every negative return becomes a SeccompGenError naming the
 * call and the errno, and results come back typed. Nothing outside native/ imports koffi.
 *
 * The library is loaded lazily on first use, so importing this module never fails on a host
 * without libseccomp; the first call then says what is missing.
 */
import koffi from 'koffi'
import {SeccompGenError} from '../src/errors.js'
import {archProfileName, archShortName, archShortNames} from '../src/arches.js'
import {errnoLabel, requireErrno} from '../src/errno.js'
import {openLibrary, type Library} from './dl.js'
import {returnActions, type SeccompAction, type SeccompOp} from '../src/actions.js'
import type {SyscallLookup, SyscallResolver} from '../src/syscall-table.js'

// ---------------------------------------------------------------------------------------------
// Constants from <seccomp.h> (libseccomp 2.5). Kept as tables, not as code.

/**
 * Action values (SCMP_ACT_*, the kernel's SECCOMP_RET_* values: profiles/seccomp-ret.json);
 * ERRNO and TRACE carry a 16-bit datum in the low bits. SCMP_ACT_KILL is libseccomp's old name
 * of SCMP_ACT_KILL_THREAD.
 */
function actionBase(action: SeccompAction): number | undefined {
  const name = action === 'SCMP_ACT_KILL' ? 'SCMP_ACT_KILL_THREAD' : action
  const row = returnActions().find((r) => r.action === name)
  return row ? Number(row.value) : undefined
}

/** enum scmp_compare */
const CMP: Record<SeccompOp, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
}

/** enum scmp_filter_attr */
const ATTR = {
  ACT_DEFAULT: 1,
  ACT_BADARCH: 2,
  CTL_NNP: 3,
  CTL_TSYNC: 4,
  API_TSKIP: 5,
  CTL_LOG: 6,
  CTL_SSB: 7,
  CTL_OPTIMIZE: 8,
  API_SYSRAWRC: 9,
} as const
export type FilterAttr = keyof typeof ATTR

/** __NR_SCMP_ERROR: the name is unknown to libseccomp. */
const NR_SCMP_ERROR = -1
/**
 * libseccomp's pseudo syscall numbers: -100…-199 are socketcall(2)-multiplexed calls and
 * -200…-299 ipc(2)-multiplexed calls on arches that have them (x86, s390, ppc, …); numbers at
 * or below -10000 (__PNR_*) name syscalls libseccomp knows but that do not exist on that arch.
 */
const PNR_BASE = -10000

// ---------------------------------------------------------------------------------------------
// Loading

interface Lib {
  seccomp_init: (def: number) => unknown
  seccomp_reset: (ctx: unknown, def: number) => number
  seccomp_release: (ctx: unknown) => void
  seccomp_arch_add: (ctx: unknown, tok: number) => number
  seccomp_arch_remove: (ctx: unknown, tok: number) => number
  seccomp_arch_exist: (ctx: unknown, tok: number) => number
  seccomp_arch_native: () => number
  seccomp_arch_resolve_name: (name: string) => number
  seccomp_attr_set: (ctx: unknown, attr: number, value: number) => number
  seccomp_attr_get: (ctx: unknown, attr: number, out: number[]) => number
  seccomp_syscall_resolve_name_arch: (tok: number, name: string) => number
  seccomp_syscall_resolve_num_arch: (tok: number, nr: number) => string | null
  seccomp_syscall_priority: (ctx: unknown, nr: number, prio: number) => number
  seccomp_rule_add_array: (ctx: unknown, action: number, nr: number, cnt: number, args: ArgCmpStruct[]) => number
  seccomp_load: (ctx: unknown) => number
  seccomp_export_bpf: (ctx: unknown, fd: number) => number
  seccomp_export_pfc: (ctx: unknown, fd: number) => number
  seccomp_version: () => unknown
  seccomp_api_get: () => number
}

interface ArgCmpStruct {
  arg: number
  op: number
  datum_a: bigint
  datum_b: bigint
}

let lib: Lib | undefined

/** The libseccomp.so.2 handle (notify.ts binds its notify API from it too). */
export function openLibseccomp(): Library {
  return openLibrary('libseccomp.so.2', 'SECCOMP_ERROR', 'Debian/Ubuntu: apt-get install libseccomp2')
}

function load(): Lib {
  if (lib) return lib
  const h = openLibseccomp()
  // A fresh type name per load keeps koffi from complaining about redefinition.
  koffi.opaque('scmp_filter_ctx_t')
  koffi.struct('scmp_arg_cmp', {arg: 'unsigned int', op: 'int', datum_a: 'uint64_t', datum_b: 'uint64_t'})
  koffi.struct('scmp_version', {major: 'unsigned int', minor: 'unsigned int', micro: 'unsigned int'})
  const f = (sig: string) => h.func(sig)
  lib = {
    seccomp_init: f('scmp_filter_ctx_t *seccomp_init(uint32_t def_action)'),
    seccomp_reset: f('int seccomp_reset(scmp_filter_ctx_t *ctx, uint32_t def_action)'),
    seccomp_release: f('void seccomp_release(scmp_filter_ctx_t *ctx)'),
    seccomp_arch_add: f('int seccomp_arch_add(scmp_filter_ctx_t *ctx, uint32_t arch_token)'),
    seccomp_arch_remove: f('int seccomp_arch_remove(scmp_filter_ctx_t *ctx, uint32_t arch_token)'),
    seccomp_arch_exist: f('int seccomp_arch_exist(scmp_filter_ctx_t *ctx, uint32_t arch_token)'),
    seccomp_arch_native: f('uint32_t seccomp_arch_native(void)'),
    seccomp_arch_resolve_name: f('uint32_t seccomp_arch_resolve_name(const char *name)'),
    seccomp_attr_set: f('int seccomp_attr_set(scmp_filter_ctx_t *ctx, int attr, uint32_t value)'),
    seccomp_attr_get: f('int seccomp_attr_get(scmp_filter_ctx_t *ctx, int attr, _Out_ uint32_t *value)'),
    seccomp_syscall_resolve_name_arch: f('int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name)'),
    // Returns a malloc'd string; the few bytes leaked per call are accepted (diagnostics only).
    seccomp_syscall_resolve_num_arch: f('const char *seccomp_syscall_resolve_num_arch(uint32_t arch_token, int num)'),
    seccomp_syscall_priority: f('int seccomp_syscall_priority(scmp_filter_ctx_t *ctx, int syscall, uint8_t priority)'),
    seccomp_rule_add_array: f(
      'int seccomp_rule_add_array(scmp_filter_ctx_t *ctx, uint32_t action, int syscall, unsigned int arg_cnt, const scmp_arg_cmp *arg_array)',
    ),
    seccomp_load: f('int seccomp_load(scmp_filter_ctx_t *ctx)'),
    seccomp_export_bpf: f('int seccomp_export_bpf(scmp_filter_ctx_t *ctx, int fd)'),
    seccomp_export_pfc: f('int seccomp_export_pfc(scmp_filter_ctx_t *ctx, int fd)'),
    seccomp_version: f('const scmp_version *seccomp_version(void)'),
    seccomp_api_get: f('unsigned int seccomp_api_get(void)'),
  } as unknown as Lib
  return lib
}

// ---------------------------------------------------------------------------------------------
// Errors

/** Map a libseccomp return code: negative values are -errno and become a SECCOMP_ERROR. */
function check(call: string, rc: number, what?: string): number {
  if (rc < 0) {
    const detail = what ? ` (${what})` : ''
    throw new SeccompGenError('SECCOMP_ERROR', `${call} failed: ${errnoLabel(-rc)}${detail}`)
  }
  return rc
}

// ---------------------------------------------------------------------------------------------
// Version, arches, syscall names

export interface LibseccompVersion {
  major: number
  minor: number
  micro: number
  api: number
}

export function libseccompVersion(): LibseccompVersion {
  const l = load()
  const v = koffi.decode(l.seccomp_version(), 'scmp_version') as {major: number; minor: number; micro: number}
  return {major: v.major, minor: v.minor, micro: v.micro, api: l.seccomp_api_get()}
}

/**
 * The libseccomp arch token (AUDIT_ARCH_* value) for an arch name in either spelling, or
 * null when libseccomp does not know the arch.
 */
export function archToken(name: string): number | null {
  const short = archShortName(name)
  if (!/^[a-z0-9_]+$/.test(short)) return null
  const tok = load().seccomp_arch_resolve_name(short) >>> 0
  return tok === 0 ? null : tok
}

/** Like archToken, but an unknown arch is an error. */
export function requireArchToken(name: string): number {
  const tok = archToken(name)
  if (tok === null) throw new SeccompGenError('PROFILE_INVALID', `unknown architecture ${JSON.stringify(name)} (libseccomp does not know it)`)
  return tok
}

/** The native arch token of this process (seccomp_arch_native). */
export function nativeArchToken(): number {
  return load().seccomp_arch_native() >>> 0
}

let tokenNames: Map<number, string> | undefined

/** libseccomp's short name for an arch token ("x86_64"), or null. */
export function archNameOfToken(tok: number): string | null {
  if (!tokenNames) {
    tokenNames = new Map()
    for (const a of archShortNames()) {
      const t = archToken(a)
      if (t !== null && !tokenNames.has(t)) tokenNames.set(t, a)
    }
  }
  return tokenNames.get(tok >>> 0) ?? null
}

/** The native arch in profile spelling, e.g. "SCMP_ARCH_X86_64". */
export function nativeArch(): string {
  const name = archNameOfToken(nativeArchToken())
  if (!name) throw new SeccompGenError('SECCOMP_ERROR', `seccomp_arch_native returned an arch libseccomp cannot name (0x${nativeArchToken().toString(16)})`)
  return archProfileName(name)
}

/**
 * The full answer for one name on one arch (SyscallKind, src/syscall-table.ts); `arch` is a
 * token or any spelling ('SCMP_ARCH_X86_64', 'x86_64'); an unknown arch throws PROFILE_INVALID.
 * Multiplexed names come with libseccomp's negative pseudo number (x86: socket → -101, shmget →
 * -223), which rules take as is (libseccomp turns it into socketcall/ipc rules).
 */
export function lookupSyscall(name: string, arch: string | number): SyscallLookup {
  const tok = typeof arch === 'number' ? arch : requireArchToken(arch)
  if (!/^[a-z0-9_]+$/.test(name)) return {kind: 'unknown', nr: null}
  const nr = load().seccomp_syscall_resolve_name_arch(tok, name)
  if (nr >= 0) return {kind: 'direct', nr}
  if (nr === NR_SCMP_ERROR) return {kind: 'unknown', nr: null}
  if (nr <= PNR_BASE) return {kind: 'absent', nr: null}
  return {kind: 'multiplexed', nr}
}

/** libseccomp as the syscall-name oracle synthesis and validate take (src/syscall-table.ts). */
export const libseccompSyscalls: SyscallResolver = {
  lookup: lookupSyscall,
  name: (nr, arch) => syscallName(nr, arch),
}

/**
 * libseccomp's raw answer for `name` on an arch token: a syscall number, a negative pseudo
 * number (multiplexed, or __PNR_* when absent on that arch), or -1 when unknown. Rules take the
 * native arch's raw number; libseccomp translates it by name for the filter's other arches.
 */
export function rawSyscallNumber(name: string, token: number): number {
  if (!/^[a-z0-9_]+$/.test(name)) return NR_SCMP_ERROR
  return load().seccomp_syscall_resolve_name_arch(token, name)
}

/** The name libseccomp gives syscall `nr` on `arch`, or null. */
export function syscallName(nr: number, arch: string | number): string | null {
  const tok = typeof arch === 'number' ? arch : requireArchToken(arch)
  return load().seccomp_syscall_resolve_num_arch(tok, nr) ?? null
}

// ---------------------------------------------------------------------------------------------
// Actions and argument comparisons

/** The libseccomp action value for a profile action (errnoRet for ERRNO/TRACE; EPERM if absent). */
export function actionValue(action: SeccompAction, errnoRet?: number): number {
  const base = actionBase(action)
  if (base === undefined) throw new SeccompGenError('PROFILE_INVALID', `unknown action ${JSON.stringify(action)}`)
  if (action === 'SCMP_ACT_ERRNO' || action === 'SCMP_ACT_TRACE') {
    const datum = errnoRet ?? 1
    if (!Number.isInteger(datum) || datum < 0 || datum > 0xffff) {
      throw new SeccompGenError('PROFILE_INVALID', `errnoRet ${datum} is out of range 0…65535`)
    }
    return (base | datum) >>> 0
  }
  return base >>> 0
}

export interface ArgCmp {
  index: number
  op: SeccompOp
  value: bigint
  valueTwo?: bigint
}

const U64_MAX = 0xffffffffffffffffn

function toStruct(a: ArgCmp): ArgCmpStruct {
  if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) {
    throw new SeccompGenError('PROFILE_INVALID', `argument index ${a.index} is out of range 0…5`)
  }
  const op = CMP[a.op]
  if (op === undefined) throw new SeccompGenError('PROFILE_INVALID', `unknown comparison ${JSON.stringify(a.op)}`)
  const b = a.valueTwo ?? 0n
  for (const v of [a.value, b]) {
    if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) {
      throw new SeccompGenError('PROFILE_INVALID', `argument value ${String(v)} is not an unsigned 64-bit integer`)
    }
  }
  // libseccomp's MASKED_EQ takes (mask, datum); Docker/OCI write value = mask, valueTwo = datum.
  return {arg: a.index, op, datum_a: a.value, datum_b: b}
}

// ---------------------------------------------------------------------------------------------
// The filter context

/**
 * One libseccomp filter context. Build it completely (arches first, then rules), then load or
 * export it; release() frees it (also safe to call twice).
 */
export class SeccompFilter {
  private ctx: unknown

  constructor(defaultAction: number) {
    const ctx = load().seccomp_init(defaultAction >>> 0)
    if (!ctx) throw new SeccompGenError('SECCOMP_ERROR', `seccomp_init failed (default action 0x${(defaultAction >>> 0).toString(16)})`)
    this.ctx = ctx
  }

  private get c(): unknown {
    if (!this.ctx) throw new SeccompGenError('INTERNAL', 'seccomp filter used after release')
    return this.ctx
  }

  release(): void {
    if (this.ctx) load().seccomp_release(this.ctx)
    this.ctx = null
  }

  addArch(token: number): void {
    const rc = load().seccomp_arch_add(this.c, token >>> 0)
    if (-rc === requireErrno('EEXIST')) return
    check('seccomp_arch_add', rc, archNameOfToken(token) ?? `0x${token.toString(16)}`)
  }

  removeArch(token: number): void {
    check('seccomp_arch_remove', load().seccomp_arch_remove(this.c, token >>> 0), archNameOfToken(token) ?? undefined)
  }

  hasArch(token: number): boolean {
    const rc = load().seccomp_arch_exist(this.c, token >>> 0)
    if (rc === 0) return true
    if (rc === -17 /* EEXIST: not present */) return false
    check('seccomp_arch_exist', rc)
    return false
  }

  setAttr(attr: FilterAttr, value: number): void {
    check('seccomp_attr_set', load().seccomp_attr_set(this.c, ATTR[attr], value >>> 0), `SCMP_FLTATR_${attr}=${value}`)
  }

  getAttr(attr: FilterAttr): number {
    const out = [0]
    check('seccomp_attr_get', load().seccomp_attr_get(this.c, ATTR[attr], out), `SCMP_FLTATR_${attr}`)
    return out[0]! >>> 0
  }

  /** seccomp_rule_add_array. `nr` is in the native arch's numbering (libseccomp translates). */
  addRule(action: number, nr: number, args: readonly ArgCmp[] = [], what?: string): void {
    if (args.length > 6) throw new SeccompGenError('PROFILE_INVALID', `a rule has ${args.length} argument comparisons; at most 6`)
    const arr = args.map(toStruct)
    check('seccomp_rule_add_array', load().seccomp_rule_add_array(this.c, action >>> 0, nr, arr.length, arr), what)
  }

  setPriority(nr: number, priority: number): void {
    const p = Math.max(0, Math.min(255, Math.round(priority)))
    check('seccomp_syscall_priority', load().seccomp_syscall_priority(this.c, nr, p))
  }

  /** Load into the kernel for the calling thread (and, with CTL_TSYNC, its siblings). */
  load(): void {
    check('seccomp_load', load().seccomp_load(this.c))
  }

  exportBpfToFd(fd: number): void {
    check('seccomp_export_bpf', load().seccomp_export_bpf(this.c, fd))
  }

  exportPfcToFd(fd: number): void {
    check('seccomp_export_pfc', load().seccomp_export_pfc(this.c, fd))
  }
}

/** Size in bytes of one classic BPF instruction (struct sock_filter). */
export const BPF_INSN_SIZE = 8
