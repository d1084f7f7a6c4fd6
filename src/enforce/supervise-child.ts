/**
 * Handing the listener fd from the exec child to apply, and serving it (apply --complain/--explain).
 *
 * The listener comes from seccomp(2) with SECCOMP_FILTER_FLAG_NEW_LISTENER in the exec child,
 * and it is close-on-exec; once the filter is in, every call the child makes goes through it
 * (a notified one waits for an answer nobody could give yet). So the child does no call that
 * needs us between the load and the exec but one read(2) of the gate, and the handover is:
 *
 * 1. the child says on its report pipe that it is about to load the filter (native/exec-child.ts);
 * 2. it loads the filter, then waits on the gate (fd 4: one blocking read(2));
 * 3. we watch /proc/PID/fd (every millisecond) until the listener shows up there, take it with
 *    pidfd_open + pidfd_getfd and check that what we got is a seccomp listener (/proc/self/fd);
 * 4. we start serving it, then open the gate: the child execs CMD.
 *
 * The gate read itself is notified when the profile denies read(2): the supervisor lets that one
 * call (the child's pid, read of one byte from fd 4, the first time) run and does not report it. Looking for the
 * fd in /proc instead of predicting its number keeps the child free of any guess that another
 * of its Node threads could upset by opening a file at the same moment.
 */
import type {ChildProcess} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {release} from 'node:os'
import {SeccompGenError} from '../errors.js'
import {kernelAtLeast} from '../profile/resolve.js'
import type {OciSeccomp} from '../profile/types.js'
import {guardFds, isListener, Listener, takeFd} from '../../native/notify.js'
import type {DenialReport} from './denials.js'
import {NotifySupervisor, type NotifyMode} from './supervise.js'

export interface Supervision {
  mode: NotifyMode
  report: DenialReport
}

export interface Served {
  /** a process CMD started still had the filter when CMD ended (a daemon; known on Linux ≥ 5.8) */
  leftRunning: boolean
}

/** The number of the listener fd in `pid`, or undefined while it has none. */
function findListener(pid: number): number | undefined {
  let fds: string[]
  try {
    fds = readdirSync(`/proc/${pid}/fd`)
  } catch {
    return undefined
  }
  return fds.map(Number).find((fd) => isListener(pid, fd))
}

const WATCH_MS = 1

/**
 * Called when the child is about to load its filter: take the listener as soon as it exists,
 * serve it, open the gate. finish() (after the child closed) answers what is pending, stops,
 * and throws what went wrong taking the listener.
 */
export function superviseChild(child: ChildProcess, gateFd: number, profile: OciSeccomp, how: Supervision, openGate: () => void): {finish: () => Promise<Served>} {
  let supervisor: NotifySupervisor | undefined
  let error: Error | undefined
  let gateRead = false
  let timer: NodeJS.Timeout | undefined
  const pid = child.pid!
  const watch = () => {
    timer = undefined
    if (child.exitCode !== null || child.signalCode !== null) return // the load failed: the child's report says why
    const target = findListener(pid)
    if (target === undefined) {
      timer = setTimeout(watch, WATCH_MS)
      return
    }
    try {
      guardFds() // before the listener is ours: CMD must not be able to take it from us
      const fd = takeFd(pid, target)
      if (!isListener('self', fd)) throw new SeccompGenError('SECCOMP_ERROR', `fd ${target} of the exec child is not a seccomp listener`)
      supervisor = new NotifySupervisor(new Listener(fd), {
        profile,
        mode: how.mode,
        report: how.report,
        skip: (n, _abi, name) => {
          if (gateRead || n.pid !== pid || name !== 'read' || n.args[0] !== BigInt(gateFd) || n.args[2] !== 1n) return false
          return (gateRead = true)
        },
      })
      supervisor.start()
      openGate()
    } catch (err) {
      error = err as Error
      child.kill('SIGKILL') // waiting at the gate with a filter nobody serves: it must not run
    }
  }
  watch()
  return {
    async finish() {
      if (timer) clearTimeout(timer)
      let leftRunning = false
      if (supervisor) {
        // CMD has exited and been reaped: a task that still has the filter is one CMD left
        // running (or a zombie nobody reaped: the kernel lets go of a task's filter only when
        // it is reaped); once we stop, its calls the profile denies fail with ENOSYS, unreported
        leftRunning = kernelAtLeast(release(), '5.8') && supervisor.inUse()
        await supervisor.stop()
        error ??= supervisor.error
      }
      if (error) throw error instanceof SeccompGenError ? error : new SeccompGenError('SECCOMP_ERROR', `apply --${how.mode}: ${error.message}`)
      return {leftRunning}
    }
  }
}
