/**
 * `seccomp-gen agent --socket PATH`: the seccomp agent of containers whose bundle names PATH as
 * linux.seccomp.listenerPath (`apply --bundle DIR --complain|--explain --listener PATH`).
 *
 * The runtime connects once per container and sends the container's listener fd with its state
 * (agent-message.ts). Each container is then served like `apply --complain/--explain` serves
 * CMD (supervise.ts NotifySupervisor, one per container; the report names the container's id and
 * bundle in each line), until no task of the container uses the filter any more (POLLHUP on the
 * listener, Linux 5.8): then its observation is written (--observe-dir) and it is forgotten.
 *
 * Which answer: --complain or --explain on the agent decides for every container; without
 * either, each container's own mode (what apply wrote into listenerMetadata). The profile's own
 * answers come from listenerMetadata too (the resolved profile, bundle-notify.ts). A container
 * whose metadata is not ours has no profile to answer from: its notified calls are reported and
 * answered EPERM (explain) or let through (complain).
 *
 * Everything waits in one poll(2) on libuv's thread pool (native/poll.ts Poller): the
 * listening socket, the connections still sending, and every container's listener. Nothing
 * blocks Node's main thread, and a hundred containers take one pool thread.
 *
 * Bad clients cost one line each and the agent goes on: garbage, a client that disconnects
 * mid-message, an fd that is not a seccomp listener.
 */
import {closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'
import {release} from 'node:os'
import {errnoLabel} from '../errno.js'
import {errnoWords, SeccompGenError} from '../errors.js'
import {readText} from '../fsutil.js'
import {writeOutput} from '../output.js'
import {serializeObservation} from '../trace/observation-io.js'
import type {OciSeccomp} from '../profile/types.js'
import {isListener, Listener} from '../../native/notify.js'
import {libseccompVersion} from '../../native/libseccomp.js'
import {Poller, POLLERR, POLLHUP, POLLIN, POLLNVAL} from '../../native/poll.js'
import {acceptUnix, closeFd, listenUnix, receiveUnix} from '../../native/unix-socket.js'
import {claimSocketPath, MAX_MESSAGE, readHello, type ContainerHello} from './agent-message.js'
import {notifySupportProblem} from './apply.js'
import {decodeMetadata} from './bundle-notify.js'
import {DenialReport} from './denials.js'
import {NotifySupervisor, ruleArgsOf, type NotifyMode} from './supervise.js'

export interface AgentOptions {
  socket: string
  /** answer every container this way; undefined: as its metadata says */
  mode?: NotifyMode
  observeDir?: string
  format: 'json' | 'text'
  /** report lines and the summary */
  out: {write(s: string): unknown}
  /** status lines (a container came, ended; a bad client) */
  log: (line: string) => void
  /** drop a connection whose message has not come whole after this long (default MESSAGE_TIMEOUT_MS) */
  messageTimeoutMs?: number
  /** at most this many connections still sending (default MAX_PENDING); the oldest is dropped for a new one */
  maxPending?: number
}

/**
 * A runtime sends its message the moment it connects (a few hundred bytes, one sendmsg): a
 * connection still sending after this long is a stuck or hostile client, not a runtime.
 */
const MESSAGE_TIMEOUT_MS = 10_000
/** Connections still sending their message; containers starting at once finish theirs at once. */
const MAX_PENDING = 64
/** fds one message may bring (the runtimes send one: the listener) */
const MAX_FDS = 16
/** After accept4 failed (out of fds): the listening socket rests this long (it stays readable: a busy loop) */
const ACCEPT_PAUSE_MS = 1000

/** No profile in the metadata: every notified call is denied with EPERM (explain) or let through (complain). */
const NO_PROFILE: OciSeccomp = {defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1}

interface Connection {
  chunks: Buffer[]
  bytes: number
  fds: number[]
  /** Date.now() when accepted */
  since: number
}

interface Container {
  hello: ContainerHello
  source: string
  listener: Listener
  supervisor: NotifySupervisor
  runtime?: 'runc' | 'crun'
}

/** Why this host cannot run the agent, or undefined. */
export function agentSupportProblem(kernel = release()): string | undefined {
  const m = /^(\d+)\.(\d+)/.exec(kernel)
  const [major, minor] = m ? [Number(m[1]), Number(m[2])] : [0, 0]
  // a container's end is the hang-up of its listener once no task uses the filter (5.8)
  if (major < 5 || (major === 5 && minor < 8)) return `this kernel (${kernel}) cannot run the agent: it needs Linux 5.8 or later (seccomp user notification with CONTINUE, and the listener's hang-up when a container ends)`
  return notifySupportProblem(kernel, libseccompVersion().api)
}

export class Agent {
  readonly report: DenialReport
  /** argument indexes the containers' profiles look at (grows as containers come) */
  private readonly ruleArgs = new Map<string, number[]>()
  private readonly poller = new Poller()
  private readonly conns = new Map<number, Connection>()
  private readonly containers = new Map<number, Container>()
  private readonly written = new Set<string>()
  /** containers served per id and bundle: a later one of the same name is `container ID #2 (…)` */
  private readonly served = new Map<string, number>()
  private stopping = false
  /** Date.now() before which the listening socket is not polled (ACCEPT_PAUSE_MS) */
  private acceptAgain = 0
  private socketIno = 0
  containersSeen = 0

  private constructor(private readonly opts: AgentOptions, private readonly listenFd: number) {
    this.report = new DenialReport({format: opts.format, out: opts.out, ruleArgs: this.ruleArgs})
    this.socketIno = lstatSync(opts.socket).ino
  }

  /** Check the host and the paths, take the socket path, listen. */
  static async open(opts: AgentOptions): Promise<Agent> {
    const problem = agentSupportProblem()
    if (problem) throw new SeccompGenError('SECCOMP_ERROR', problem)
    const note = await claimSocketPath(opts.socket)
    // after the socket path: a path refused there leaves no new directory behind
    if (opts.observeDir !== undefined) prepareDir(opts.observeDir)
    if (note) opts.log(note)
    // root's runtimes connect; nobody else has any business handing us fds. bind creates the
    // socket with 0777 less the umask: a umask of 0177 makes it 0600 from the start (a chmod
    // after bind left a window where anyone could connect). The umask is the process's, so it is
    // restored right after; bind is synchronous on this thread and nothing else creates files
    // meanwhile (no fs call is in flight on libuv's pool before the agent runs).
    const umask = process.umask(0o177)
    let fd: number
    try {
      fd = listenUnix(opts.socket)
    } finally {
      process.umask(umask)
    }
    return new Agent(opts, fd)
  }

  /** Serve until stop(); then answer what is pending, write every observation, clean up. */
  async run(): Promise<void> {
    while (!this.stopping) {
      const watched = new Map<number, Connection | Container>([...this.conns, ...this.containers])
      const resting = this.acceptAgain - Date.now()
      const deadline = this.untilFirstDeadline()
      const timeout = resting > 0 && (deadline < 0 || resting < deadline) ? resting : deadline
      const ready = await this.poller.wait([...(resting > 0 ? [] : [this.listenFd]), ...watched.keys()], timeout)
      this.dropStale()
      for (const [fd, revents] of ready) {
        // an fd closed in this round (dropped, ended) may be in use again already (a connection or
        // listener accepted since): its revents were another's (a hang-up would end a new container)
        if (fd !== this.listenFd && (this.conns.get(fd) ?? this.containers.get(fd)) !== watched.get(fd)) continue
        try {
          if (fd === this.listenFd) this.acceptAll()
          else if (this.conns.has(fd)) this.readConnection(fd)
          else if (this.containers.has(fd)) await this.serve(fd, revents)
        } catch (err) {
          // one client's trouble (a failed recvmsg, a listener libseccomp cannot serve) is one line
          if (fd === this.listenFd) {
            this.acceptAgain = Date.now() + ACCEPT_PAUSE_MS
            this.opts.log(`cannot accept a connection: ${(err as Error).message}; trying again in ${ACCEPT_PAUSE_MS} ms`)
            continue
          }
          const c = this.containers.get(fd)
          this.opts.log(`${c?.source ?? 'a client'}: ${(err as Error).message}${c ? '; not served any more (its notified calls fail with ENOSYS)' : ''}`)
          this.dropConnection(fd)
          if (c) {
            // a listener that failed to serve fails again at every poll: a busy loop of this line
            this.containers.delete(fd)
            c.listener.close()
          }
        }
      }
    }
    await this.shutdown()
  }

  stop(): void {
    this.stopping = true
    this.poller.wake()
  }

  private acceptAll(): void {
    const max = this.opts.maxPending ?? MAX_PENDING
    for (let fd = acceptUnix(this.listenFd); fd !== undefined; fd = acceptUnix(this.listenFd)) {
      this.conns.set(fd, {chunks: [], bytes: 0, fds: [], since: Date.now()})
      // a runtime has sent its message by now, as a rule: read it before counting this one as
      // pending (containers starting at once must not push each other out)
      this.readOrDrop(fd)
      if (this.conns.size > max) {
        // the oldest has had the most time to send its message (a Map iterates in insertion order)
        const [oldest] = this.conns.keys()
        this.dropConnection(oldest!)
        this.opts.log(`a client dropped: ${max} connections were still sending their message, it was the oldest`)
      }
    }
  }

  /** readConnection; its failure is one line and the end of that connection, not of the accepting. */
  private readOrDrop(fd: number): void {
    try {
      this.readConnection(fd)
    } catch (err) {
      this.opts.log(`a client: ${(err as Error).message}`)
      this.dropConnection(fd)
    }
  }

  /** How long poll may wait before the oldest connection still sending is out of time (-1: no such connection). */
  private untilFirstDeadline(): number {
    const [first] = this.conns.values()
    if (!first) return -1
    return Math.max(0, first.since + (this.opts.messageTimeoutMs ?? MESSAGE_TIMEOUT_MS) - Date.now())
  }

  /** Drop the connections whose message has not come whole in time. */
  private dropStale(): void {
    const limit = this.opts.messageTimeoutMs ?? MESSAGE_TIMEOUT_MS
    const now = Date.now()
    for (const [fd, c] of this.conns) {
      if (now - c.since < limit) break // in order of acceptance: the rest are younger
      this.dropConnection(fd)
      this.opts.log(`a client dropped: no whole message after ${limit} ms (${c.bytes} bytes received)`)
    }
  }

  /** Forget a connection still sending, closing what it sent. */
  private dropConnection(fd: number): void {
    const c = this.conns.get(fd)
    if (!c) return
    this.conns.delete(fd)
    closeFd(fd)
    for (const f of c.fds) closeFd(f)
  }

  private readConnection(fd: number): void {
    const c = this.conns.get(fd)!
    let eof = false
    // stop reading at MAX_MESSAGE (readHello calls more garbage) or MAX_FDS (each fd costs one of ours)
    while (c.bytes <= MAX_MESSAGE && c.fds.length <= MAX_FDS) {
      const r = receiveUnix(fd)
      if (!r) break
      c.chunks.push(r.data)
      c.bytes += r.data.length
      c.fds.push(...r.fds)
      if (r.eof) {
        eof = true
        break
      }
    }
    const got = c.fds.length > MAX_FDS ? {garbage: `${c.fds.length} fds sent (a runtime sends one)`} : readHello(Buffer.concat(c.chunks), eof)
    if ('more' in got) return
    this.conns.delete(fd)
    closeFd(fd) // one message a connection: the runtime expects no answer
    if ('garbage' in got) {
      this.opts.log(`a client's message ignored: ${got.garbage}${c.fds.length ? ` (${c.fds.length} fd(s) it sent closed)` : ''}`)
      for (const f of c.fds) closeFd(f)
      return
    }
    this.adopt(got.hello, c.fds)
  }

  /** A container's listener and state: serve it. */
  private adopt(hello: ContainerHello, fds: number[]): void {
    const lfd = fds[hello.seccompFd]
    for (const f of fds) if (f !== lfd) closeFd(f)
    let source = `container ${hello.id} (bundle ${hello.bundle})`
    if (lfd === undefined || !isListener('self', lfd)) {
      if (lfd !== undefined) closeFd(lfd)
      this.opts.log(`${source}: ignored: ${lfd === undefined ? 'no fd came with the message' : 'the fd that came is not a seccomp listener'}`)
      return
    }
    let meta
    let why = ''
    try {
      meta = decodeMetadata(hello.metadata)
    } catch (err) {
      why = ` (${(err as Error).message})`
    }
    const mode = this.opts.mode ?? meta?.mode ?? 'explain'
    const profile = meta?.profile ?? NO_PROFILE
    for (const [n, idx] of ruleArgsOf(profile)) this.ruleArgs.set(n, [...new Set([...(this.ruleArgs.get(n) ?? []), ...idx])])
    let listener: Listener
    try {
      listener = new Listener(lfd)
    } catch (err) {
      closeFd(lfd)
      throw err
    }
    // the report's rows, and so each container's counts and observation, are told apart by source:
    // a container id run again (runc run NAME after the last NAME ended) must not add to the first's
    const nth = (this.served.get(source) ?? 0) + 1
    this.served.set(source, nth)
    if (nth > 1) source = `container ${hello.id} #${nth} (bundle ${hello.bundle})`
    const container = {id: hello.id, bundle: hello.bundle, ...(nth > 1 ? {run: nth} : {})}
    const noProfile = meta ? undefined : `no profile known (listenerMetadata ${why ? 'of seccomp-gen unreadable' : "is not seccomp-gen's"})`
    const supervisor = new NotifySupervisor(listener, {profile, mode, report: this.report, source, container, noProfile})
    this.containers.set(lfd, {hello, source, listener, supervisor, runtime: runtimeOf(hello.pid)})
    this.containersSeen++
    const rules = profile.syscalls?.length ?? 0
    const errno = profile.defaultErrnoRet !== undefined ? `(${errnoLabel(profile.defaultErrnoRet)})` : ''
    const answers = meta ? `its profile: default ${profile.defaultAction}${errno}, ${rules} rule${rules === 1 ? '' : 's'}` : `no seccomp-gen profile in its listenerMetadata${why}: notified calls ${mode === 'complain' ? 'are let through' : 'get EPERM'}`
    this.opts.log(`${source}: pid ${hello.pid}, ${mode}; ${answers}`)
    // calls may be waiting already (the container started the moment the runtime sent the fd)
    supervisor.drain()
  }

  private async serve(fd: number, revents: number): Promise<void> {
    const c = this.containers.get(fd)!
    if (revents & POLLIN) c.supervisor.drain()
    if (c.supervisor.error) {
      this.opts.log(`${c.source}: ${c.supervisor.error.message}`)
      c.supervisor.error = undefined
    }
    if (revents & (POLLHUP | POLLERR | POLLNVAL)) await this.end(c, 'ended')
  }

  /** The container's tasks are gone (or we stop): write its observation, close its listener. */
  private async end(c: Container, how: string): Promise<void> {
    this.containers.delete(c.listener.fd)
    c.supervisor.drain()
    await c.supervisor.stop()
    const rows = [...this.report.rows.values()].filter((r) => r.first.source === c.source)
    const calls = rows.reduce((n, r) => n + r.count, 0)
    let where = ''
    if (this.opts.observeDir !== undefined) {
      const file = this.observationPath(c.hello.id)
      const obs = this.report.toObservation(commandOf(c.hello.bundle, c.hello.id), {source: c.source, runtime: c.runtime})
      try {
        writeOutput(file, serializeObservation(obs))
        where = `; observation in ${file}`
      } catch (err) {
        where = `; observation not written: ${(err as Error).message}`
      }
    }
    this.opts.log(`${c.source}: ${how}: ${calls} call(s) in ${rows.length} distinct kind(s) reported${where}`)
  }

  /**
   * ID.json in the observe dir; ID-2.json, … for a container id seen again in this run, or whose
   * file an earlier run left there (an agent restarted on the same DIR: the gaps it kept are the
   * point of the directory, never overwritten).
   */
  private observationPath(id: string): string {
    const safe = id.replace(/[^A-Za-z0-9_.-]/g, '_')
    let file = join(this.opts.observeDir!, `${safe}.json`)
    for (let i = 2; this.written.has(file) || existsSync(file); i++) file = join(this.opts.observeDir!, `${safe}-${i}.json`)
    this.written.add(file)
    return file
  }

  private async shutdown(): Promise<void> {
    closeFd(this.listenFd)
    // remove the socket only if it is still the one we bound (not a later agent's)
    try {
      if (lstatSync(this.opts.socket).ino === this.socketIno) unlinkSync(this.opts.socket)
    } catch { /* gone already */ }
    for (const fd of [...this.conns.keys()]) this.dropConnection(fd)
    for (const c of [...this.containers.values()]) {
      // once the last copy of the listener is closed the kernel fails notified calls with ENOSYS;
      // runc 1.1.5 and crun 1.8.1 keep no copy of their own once the container runs (tested)
      const then = c.runtime ? 'they fail with ENOSYS' : 'ENOSYS, or a wait if the runtime keeps a copy of the listener'
      await this.end(c, `still running when the agent stopped (calls it makes that the profile denies are not answered by us any more: ${then})`)
    }
    this.poller.close()
  }
}

function prepareDir(dir: string): void {
  try {
    mkdirSync(dir, {recursive: true})
    if (!statSync(dir).isDirectory()) throw new Error('not a directory')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new SeccompGenError('IO', `--observe-dir ${dir}: ${e.code === 'EEXIST' || !e.code ? 'exists and is not a directory' : `cannot create it: ${errnoWords(e)}`}`)
  }
  // the observations are written when containers end, maybe hours from now: a directory that
  // refuses new files (read-only, /sys, /proc) must be refused now, not lose them then
  const probe = join(dir, `.seccomp-gen-probe-${process.pid}`)
  try {
    closeSync(openSync(probe, 'wx', 0o600))
    unlinkSync(probe)
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new SeccompGenError('IO', `--observe-dir ${dir}: cannot create files in it: ${e.code === 'ENOENT' ? 'its file system does not allow it' : errnoWords(e)}`)
  }
}

/** The container's command (process.args of the bundle's config.json), for the observation. */
function commandOf(bundle: string, id: string): string[] {
  try {
    const args = (JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as {process?: {args?: unknown}}).process?.args
    if (Array.isArray(args) && args.length && args.every((a) => typeof a === 'string')) return args as string[]
  } catch { /* the bundle may be gone */ }
  return [`container ${id}`]
}

/** runc or crun: the runtime process that started the container is its parent at hand-over time. */
function runtimeOf(pid: number): 'runc' | 'crun' | undefined {
  const ppid = /^PPid:\s*(\d+)$/m.exec(readText(`/proc/${pid}/status`) ?? '')?.[1]
  const comm = ppid ? readText(`/proc/${ppid}/comm`)?.trim() : undefined
  return comm === 'runc' || comm === 'crun' ? comm : undefined
}
