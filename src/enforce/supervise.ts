/**
 * The supervisor of `apply --complain` / `--explain`: it serves the listener fd of a filter
 * whose denying actions are SCMP_ACT_NOTIFY (compile.ts notifyVariant), answers each
 * notification and reports it (denials.ts).
 *
 * - complain: every notified call runs (SECCOMP_USER_NOTIF_FLAG_CONTINUE) and is reported.
 * - explain: every notified call gets the profile's own answer, as the evaluator
 *   (src/profile/evaluate.ts) says the original profile decides it: ERRNO fails it with the
 *   same errno; a kill action kills the whole process with SIGSYS, as the kernel's kill does
 *   (exit status 159), or with SIGKILL when the process catches, ignores or blocks SIGSYS (a
 *   seccomp kill cannot be caught; a signal from user space can). KILL_THREAD kills the whole
 *   process too: user space cannot end one thread of another process. TRAP sends SIGSYS to the
 *   calling thread (tgkill) and fails the call with ENOSYS; the handler's siginfo is a plain
 *   tgkill one, without the SYS_SECCOMP details the kernel's TRAP gives.
 *
 * Waiting happens on libuv's thread pool (native/notify.ts Listener.wait), so CMD is answered
 * while Node's main thread is free; every pending notification is then taken and answered on
 * the main thread, without waiting. The filter is inherited by CMD's forks and threads, so
 * they all come through the same listener. /proc details (comm, exe, tgid) are trusted only if
 * the notification is still valid after reading them (seccomp_notify_id_valid): otherwise the
 * task died meanwhile and its pid may name another process.
 */
import {readlinkSync} from 'node:fs'
import {archOfAudit, archShortName} from '../arches.js'
import {errnoLabel, requireErrno} from '../errno.js'
import {readText} from '../fsutil.js'
import {callRuns} from '../actions.js'
import {ruledEvaluator} from '../profile/evaluate.js'
import type {OciSeccomp} from '../profile/types.js'
import type {Verdict} from '../profile/evaluate.js'
import {Listener, signalProcess, signalThread, type Notification} from '../../native/notify.js'
import {syscallName, type Denial, type DenialReport} from './denials.js'

export type NotifyMode = 'complain' | 'explain'

export interface SuperviseOptions {
  /** the resolved profile the filter was compiled from (the original, not its notify variant) */
  profile: OciSeccomp
  mode: NotifyMode
  report: DenialReport
  /** names where the report comes from (the agent: a container) */
  source?: string
  /** the agent's container, for the report's JSON */
  container?: Denial['container']
  /**
   * Why no profile is known and `profile` is only the mode's plain answer, EPERM (the agent: a
   * container whose listenerMetadata is not ours): the report says this and the answer instead of
   * naming a rule that does not exist
   */
  noProfile?: string
  /** notifications that are not CMD's (the exec child's own calls before execve): answered CONTINUE, not reported */
  skip?: (n: Notification, abi: string, name: string) => boolean
}

const SIGKILL = 9
const SIGSYS = 31
const OPS: Record<string, string> = {SCMP_CMP_NE: '!=', SCMP_CMP_LT: '<', SCMP_CMP_LE: '<=', SCMP_CMP_EQ: '==', SCMP_CMP_GE: '>=', SCMP_CMP_GT: '>', SCMP_CMP_MASKED_EQ: '&'}
const KILLS = new Set(['SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS'])

/** The argument indexes each syscall's rules compare, for the report's argument class. */
export function ruleArgsOf(profile: OciSeccomp): Map<string, number[]> {
  const m = new Map<string, Set<number>>()
  for (const r of profile.syscalls ?? []) {
    for (const a of r.args ?? []) for (const n of r.names) (m.get(n) ?? m.set(n, new Set()).get(n)!).add(a.index)
  }
  return new Map([...m].map(([n, s]) => [n, [...s].sort((a, b) => a - b)]))
}

/** The profile's words for a verdict: SCMP_ACT_ERRNO(EPERM), SCMP_ACT_KILL_PROCESS, … */
function actionText(v: Verdict): string {
  return v.errno !== undefined ? `${v.action}(${errnoLabel(v.errno)})` : v.action
}

/** The thread group (process) id in a task's /proc/TID/status text. */
function tgidIn(status: string): number | undefined {
  const m = /^Tgid:\s*(\d+)$/m.exec(status)
  return m ? Number(m[1]) : undefined
}

/** Is signal `sig` caught, ignored or blocked according to a task's /proc/TID/status text? */
function signalHandled(status: string, sig: number): boolean {
  const bit = 1n << BigInt(sig - 1)
  return ['SigBlk', 'SigIgn', 'SigCgt'].some((k) => {
    const m = new RegExp(`^${k}:\\s*([0-9a-f]+)$`, 'm').exec(status)
    return m !== null && (BigInt(`0x${m[1]}`) & bit) !== 0n
  })
}

export class NotifySupervisor {
  private readonly decide: ReturnType<typeof ruledEvaluator>
  private stopping = false
  private done: Promise<void> | undefined
  /** the first error handling a notification hit (the loop goes on) */
  error: Error | undefined
  notified = 0

  constructor(private readonly listener: Listener, private readonly opts: SuperviseOptions) {
    this.decide = ruledEvaluator(opts.profile)
  }

  /** Start serving; the promise of the loop is what stop() waits for. */
  start(): void {
    this.done ??= this.loop()
  }

  /** Resolves when serving has ended: stop(), or no task uses the filter any more (kernel ≥ 5.8). */
  ended(): Promise<void> {
    return this.done ?? Promise.resolve()
  }

  /** Does a task still use the filter? (kernel ≥ 5.8; native/notify.ts Listener.inUse) */
  inUse(): boolean {
    return this.listener.inUse()
  }

  /** Answer what is pending, stop, close the listener (calls notified after this fail with ENOSYS). */
  async stop(): Promise<void> {
    this.stopping = true
    this.listener.stop()
    await this.done
    this.listener.close()
  }

  private async loop(): Promise<void> {
    for (;;) {
      let why: 'notify' | 'stop' | 'hangup'
      try {
        why = await this.listener.wait()
      } catch (err) {
        this.error ??= err as Error
        return
      }
      this.drain()
      if (why !== 'notify' || this.stopping) return
    }
  }

  /**
   * Take and answer every notification pending now. start() calls it; a caller that polls many
   * listener fds itself (the agent: one poll for all its containers, one thread of libuv's pool
   * instead of one each) calls it when the fd is readable, and stop() at the end.
   */
  drain(): void {
    while (this.listener.pending()) {
      const n = this.listener.receive()
      if (!n) continue
      this.notified++
      try {
        this.handle(n)
      } catch (err) {
        this.error ??= err as Error
        // never leave a task waiting: the mode's plain answer
        try {
          if (this.opts.mode === 'complain') this.listener.continueCall(n.id)
          else this.listener.failCall(n.id, requireErrno('EPERM'))
        } catch { /* answered already, or the listener itself failed: error says it */ }
      }
    }
  }

  private handle(n: Notification): void {
    // the arch is an AUDIT_ARCH value, as in an audit record: x32 calls come with x86_64's and
    // the x32 bit in the number (profiles/arches.json auditNrBit)
    const arch = archOfAudit(n.arch, n.nr)
    const libName = arch ? archShortName(arch.token) : `0x${n.arch.toString(16)}`
    const abi = arch?.abi ?? libName
    const name = syscallName(abi, n.nr)
    if (this.opts.skip?.(n, abi, name)) {
      this.listener.continueCall(n.id)
      return
    }
    const {verdict, rule} = this.decide(arch?.token ?? libName, name, n.args)
    if (callRuns(verdict.action)) {
      // the evaluator lets it run where the filter notified (libseccomp's socketcall
      // multiplexing on x86, for one): no denial, let it run
      this.listener.continueCall(n.id)
      return
    }
    const d: Denial = {
      abi, syscall: name, nr: n.nr, args: n.args, pid: n.pid, action: '',
      ...(this.opts.noProfile !== undefined ? {} : {rule: this.ruleText(verdict, rule)}),
      ...(this.opts.source !== undefined ? {source: this.opts.source} : {}),
      ...(this.opts.container !== undefined ? {container: this.opts.container} : {}),
    }
    const report = this.opts.report
    const first = !report.has(d)
    let tgid: number | undefined
    if (first || (this.opts.mode === 'explain' && verdict.action === 'SCMP_ACT_TRAP')) {
      const comm = readText(`/proc/${n.pid}/comm`)?.replace(/\n$/, '')
      let exe: string | undefined
      try {
        exe = readlinkSync(`/proc/${n.pid}/exe`)
      } catch { /* gone, or a kernel thread */ }
      const group = tgidIn(readText(`/proc/${n.pid}/status`) ?? '')
      // TOCTOU: the details belong to the caller only if it is still waiting for our answer
      if (this.listener.valid(n.id)) {
        if (comm !== undefined) d.comm = comm
        if (exe !== undefined) d.exe = exe
        tgid = group
      }
    }
    // the line first, the answer after: what CMD prints about the answer comes after the line
    const answer = this.opts.mode === 'complain' ? {text: 'allowed (complain)', run: () => this.listener.continueCall(n.id)} : this.answer(n, verdict, tgid)
    d.action = this.opts.noProfile !== undefined ? `${this.opts.noProfile}: ${this.opts.mode === 'complain' ? 'let through' : 'answered EPERM'}` : answer.text
    report.add(d)
    answer.run()
  }

  /** How to answer as the profile would, and what that is in words, for the report. */
  private answer(n: Notification, v: Verdict, tgid: number | undefined): {text: string; run: () => void} {
    const text = actionText(v)
    if (v.action === 'SCMP_ACT_ERRNO') return {text, run: () => this.listener.failCall(n.id, v.errno ?? 1)}
    if (KILLS.has(v.action) || v.badArch) {
      // /proc read first; signalProcess sends only if the caller still waits in the call, so
      // the status was the caller's, and never to a pid that another process took meanwhile
      const status = readText(`/proc/${n.pid}/status`) ?? ''
      const group = tgidIn(status) ?? n.pid
      const sig = signalHandled(status, SIGSYS) ? SIGKILL : SIGSYS
      const run = () => {
        signalProcess(group, sig, () => this.listener.valid(n.id))
        this.listener.failCall(n.id, requireErrno('ENOSYS')) // the signal is pending: the call returns only into its death
      }
      return {text: `${text} (killed with ${sig === SIGSYS ? 'SIGSYS' : 'SIGKILL'})`, run}
    }
    const run = () => {
      if (v.action === 'SCMP_ACT_TRAP' && tgid !== undefined) signalThread(tgid, n.pid, SIGSYS)
      this.listener.failCall(n.id, requireErrno('ENOSYS'))
    }
    return {text: v.action === 'SCMP_ACT_TRAP' ? `${text} (SIGSYS)` : text, run}
  }

  /** The rule in words: `the rule for mkdir: SCMP_ACT_KILL_PROCESS`, `the rule for socket with arg0 == 0x2: …`. */
  private ruleText(v: Verdict, rule: number | undefined): string {
    if (v.badArch) return 'bad arch (not in architectures): SCMP_ACT_KILL_THREAD'
    if (rule === undefined) return `defaultAction ${actionText(v)}`
    const r = this.opts.profile.syscalls![rule]!
    const names = r.names.length > 3 ? `${r.names.slice(0, 3).join(', ')}, …` : r.names.join(', ')
    const args = (r.args ?? []).map((a) => `arg${a.index} ${OPS[a.op]} 0x${a.value.toString(16)}${a.op === 'SCMP_CMP_MASKED_EQ' ? ` == 0x${(a.valueTwo ?? 0n).toString(16)}` : ''}`)
    return `the rule for ${names}${args.length ? ` with ${args.join(' && ')}` : ''}: ${actionText(v)}`
  }
}
