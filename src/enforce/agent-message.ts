/**
 * What `seccomp-gen agent` receives on its socket, and the socket path itself.
 *
 * A runtime connects once per container, right after loading the filter, and sends one message:
 * the runtime-spec "containerProcessState" as JSON ({ociVersion, fds, pid, metadata, state: {id,
 * status, pid, bundle, annotations}}) with the listener fd in SCM_RIGHTS; `fds` names the fds in
 * order, the listener is "seccompFd". Seen on this machine's runtimes:
 * - runc 1.1.5: compact JSON (~200 bytes), ociVersion "1.0.2-dev", status "creating", one fd
 *   with the first bytes. runc may keep its end open after the message (it did while the
 *   container's first call waited for our answer), so a message ends where its JSON ends: no
 *   end of file to wait for. When nothing listens on PATH, runc refuses to start the container
 *   ("failed to connect with seccomp agent …"). runc refuses SCMP_ACT_NOTIFY
 *   as the default action and for write (bundle-notify.ts).
 * - crun 1.8.1: the same object pretty-printed (~290 bytes), ociVersion "0.2.0", the bundle's
 *   annotations in state. Like runc, crun keeps no copy of the listener once the container runs:
 *   a call notified after the agent closed its copy fails with ENOSYS. With nothing on PATH it fails: "open seccomp receiver: connect socket to `PATH`".
 * Both pass listenerMetadata through unchanged as `metadata`.
 */
import {existsSync, lstatSync, unlinkSync} from 'node:fs'
import {dirname} from 'node:path'
import {createConnection} from 'node:net'
import {SeccompGenError} from '../errors.js'

/**
 * A message larger than this is garbage: ours carries the resolved profile in its metadata, about
 * 7 KB for Docker's default (three arches, 466 names); 1 MiB leaves room for large argument rules.
 */
export const MAX_MESSAGE = 1 << 20

export interface ContainerHello {
  /** the container process (host pid namespace: the agent runs on the host) */
  pid: number
  id: string
  bundle: string
  /** listenerMetadata as the runtime passed it on */
  metadata: unknown
  /** index of the listener in the fds that came with the message */
  seccompFd: number
}

/**
 * What the bytes received so far are: 'more' (a JSON object still arriving), the container's
 * state, or why it is garbage (one phrase).
 */
export function readHello(data: Buffer, eof: boolean): {more: true} | {hello: ContainerHello} | {garbage: string} {
  const text = data.toString('utf8')
  const start = text.trimStart()
  if (start.length === 0) return eof ? {garbage: 'no message before the client disconnected'} : {more: true}
  if (!start.startsWith('{')) return {garbage: `not JSON (starts ${JSON.stringify(start.slice(0, 24))})`}
  if (data.length > MAX_MESSAGE) return {garbage: `more than ${MAX_MESSAGE} bytes without a complete JSON object`}
  // a JSON object ends with '}': parse only then, or at the end (crun's pretty-printed message may come in pieces)
  if (!eof && !text.trimEnd().endsWith('}')) return {more: true}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    const cut = /end of JSON input|Unterminated/.test((err as Error).message)
    if (!eof) return cut ? {more: true} : {garbage: `not JSON (${data.length} bytes)`}
    return {garbage: cut ? `the client disconnected mid-message (${data.length} bytes received)` : `not JSON (${data.length} bytes)`}
  }
  return checkHello(value)
}

function checkHello(v: unknown): {hello: ContainerHello} | {garbage: string} {
  const o = v as Record<string, unknown>
  const state = o?.state as Record<string, unknown> | undefined
  if (typeof o !== 'object' || o === null || typeof state !== 'object' || state === null) return {garbage: 'JSON without a container state (no /state object)'}
  if (typeof state.id !== 'string' || state.id === '') return {garbage: 'container state without an id'}
  if (typeof state.bundle !== 'string') return {garbage: `container ${state.id}: state without a bundle`}
  const fds = Array.isArray(o.fds) ? o.fds : []
  const seccompFd = fds.indexOf('seccompFd')
  if (seccompFd < 0) return {garbage: `container ${state.id}: no "seccompFd" in /fds`}
  const pid = typeof o.pid === 'number' ? o.pid : typeof state.pid === 'number' ? state.pid : 0
  return {hello: {pid, id: state.id, bundle: state.bundle, metadata: o.metadata, seccompFd}}
}

/**
 * Make `path` free to listen on. Nothing there: fine. A socket nobody listens on (an agent that
 * died: connect is refused): removed, and says so. A socket some process answers on: refused
 * (another agent). Anything else: refused, never replaced.
 */
export async function claimSocketPath(path: string): Promise<string | undefined> {
  // bind would take '' for an abstract address of the kernel's choosing
  if (path === '') throw new SeccompGenError('USAGE', '--socket: an empty path')
  // sizeof(sockaddr_un.sun_path) less its NUL; checked here too, before --observe-dir is made
  if (Buffer.byteLength(path) > 107) throw new SeccompGenError('USAGE', `socket path ${path} is ${Buffer.byteLength(path)} bytes long; a unix socket path has at most 107`)
  let st
  try {
    st = lstatSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new SeccompGenError('IO', `cannot look at ${path}: ${(err as Error).message}`)
    // bind would say only ENOENT
    if (!existsSync(dirname(path))) throw new SeccompGenError('IO', `cannot listen on ${path}: the directory ${dirname(path)} does not exist`)
    return undefined
  }
  if (!st.isSocket()) throw new SeccompGenError('USAGE', `${path} exists and is not a socket: not replacing it`)
  const live = await new Promise<boolean>((resolve) => {
    const c = createConnection({path})
    c.once('connect', () => { c.destroy(); resolve(true) })
    c.once('error', () => resolve(false))
  })
  if (live) throw new SeccompGenError('USAGE', `${path}: another process listens on this socket (another agent?)`)
  unlinkSync(path)
  return `replaced the stale socket ${path} (nobody listened on it)`
}
