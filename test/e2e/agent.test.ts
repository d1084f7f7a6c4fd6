/**
 * `seccomp-gen agent` with real runtimes (runc, crun), real filters and real kernel
 * notifications: a bundle written by `apply --bundle --complain|--explain --listener PATH`
 * whose profile misses mkdir runs under the agent; under complain the mkdir happens and the agent
 * names it, under explain the container sees EPERM and the agent names it; one observation per
 * container. The agent goes on serving after a container that exits, a client that disconnects
 * mid-message, garbage, and an fd that is no seccomp listener; SIGTERM/SIGINT end it with the
 * summary and remove its socket.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync, lstatSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {createConnection} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cliPath, repoRoot} from '../helpers/cli.js'
import {makeBundle, runBundle, unavailable, type Bundle} from '../helpers/bundle.js'
import {Agent, agentSupportProblem} from '../../src/enforce/agent.js'
import {MAX_MESSAGE} from '../../src/enforce/agent-message.js'

const MISSING = ['mkdir', 'mkdirat']
const WORK = 'mkdir /tmp/d; echo mkdir=$?; ls /tmp'

/** Every x86_64 syscall but mkdir/mkdirat allowed, the rest EPERM: a profile that misses one call. */
function profileMissingMkdir(dir: string, kill = false): string {
  const table = JSON.parse(readFileSync(join(repoRoot, 'profiles/syscalls/x86_64.json'), 'utf8')) as {syscalls: Record<string, number>}
  const names = Object.keys(table.syscalls).filter((n) => !MISSING.includes(n)).sort()
  const file = join(dir, kill ? 'kill-mkdir.json' : 'no-mkdir.json')
  const rules = [{names, action: 'SCMP_ACT_ALLOW'}, ...(kill ? [{names: MISSING, action: 'SCMP_ACT_KILL_PROCESS'}] : [])]
  writeFileSync(file, JSON.stringify({defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64'], syscalls: rules}))
  return file
}

function cli(args: string[]): {code: number | null; stdout: string; stderr: string} {
  const r = spawnSync(cliPath, args, {encoding: 'utf8', cwd: repoRoot, timeout: 60_000})
  return {code: r.status, stdout: r.stdout, stderr: r.stderr}
}

/** A running agent: its output so far, a wait for a line, and its end. */
class RunningAgent {
  stdout = ''
  stderr = ''
  private readonly child: ChildProcess
  private readonly waiters: Array<() => void> = []
  readonly closed: Promise<number | null>

  /** `prefix`: a command that runs the agent (prlimit …) */
  constructor(args: string[], prefix: string[] = []) {
    const argv = [...prefix, cliPath, 'agent', ...args]
    this.child = spawn(argv[0]!, argv.slice(1), {cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe']})
    const wake = () => { for (const w of this.waiters.splice(0)) w() }
    this.child.stdout!.on('data', (d) => { this.stdout += d; wake() })
    this.child.stderr!.on('data', (d) => { this.stderr += d; wake() })
    this.closed = new Promise((resolve) => this.child.on('close', (code) => { wake(); resolve(code) }))
  }

  /** Where the output is now: waitFor(re, mark) looks only at what comes after. */
  mark(): {out: number; err: number} {
    return {out: this.stdout.length, err: this.stderr.length}
  }

  /** Resolve when stdout or stderr (after `from`) match `re` (the test's own timeout fails a wait that never ends). */
  async waitFor(re: RegExp, from = {out: 0, err: 0}): Promise<RegExpMatchArray> {
    for (;;) {
      const m = this.stdout.slice(from.out).match(re) ?? this.stderr.slice(from.err).match(re)
      if (m) return m
      if (this.child.exitCode !== null) throw new Error(`agent exited (${this.child.exitCode}) before ${re}:\n${this.stderr}`)
      await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
  }

  kill(sig: NodeJS.Signals): void {
    this.child.kill(sig)
  }
}

/** Connect to the agent's socket, send `data`, and close (or keep the connection open). */
function sendRaw(path: string, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = createConnection({path}, () => c.end(data, () => { c.destroy(); resolve() }))
    c.on('error', reject)
  })
}

const why = unavailable('runc') && unavailable('crun') ? 'neither runc nor crun can run here' : process.arch !== 'x64' ? `the test profile is x86_64's (this is ${process.arch})` : undefined
if (why) console.warn(`[skip] agent tests: ${why}`)

describe.skipIf(why !== undefined)('seccomp-gen agent', () => {
  let dir: string
  let sock: string
  let obsDir: string
  let profile: string
  let agent: RunningAgent
  let bundle: Bundle

  beforeAll(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'sg-agent-')))
    sock = join(dir, 'agent.sock')
    obsDir = join(dir, 'obs')
    profile = profileMissingMkdir(dir)
    bundle = makeBundle({args: ['sh', '-c', WORK], parent: dir})
    agent = new RunningAgent(['--socket', sock, '--observe-dir', obsDir])
    await agent.waitFor(/listening on /)
  })

  afterAll(async () => {
    agent?.kill('SIGKILL')
    await agent?.closed
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  /** Apply in `mode`, run under `rt`, and return the run with the container's report line and end line. */
  async function runUnder(rt: 'runc' | 'crun', mode: 'complain' | 'explain', p = profile) {
    const a = cli(['apply', p, '--bundle', bundle.dir, `--${mode}`, '--listener', sock])
    expect(a.stderr).toContain(`denials go to the agent on ${sock} (${mode})`)
    expect(a.code).toBe(0)
    const mark = agent.mark()
    const r = await runBundle(rt, bundle.dir)
    // the container's id is the runtime's; the agent's status lines name it
    const id = (await agent.waitFor(new RegExp(`container (${rt}-\\S+) \\(bundle ${bundle.dir}\\): pid \\d+, ${mode}`), mark))[1]!
    const ended = await agent.waitFor(new RegExp(`container ${id} \\(bundle ${bundle.dir}\\): ended: .*observation in (\\S+)`), mark)
    const line = agent.stdout.slice(mark.out).split('\n').find((l) => l.includes(`container ${id} `)) ?? ''
    return {r, id, line, observation: ended[1]!}
  }

  for (const rt of ['runc', 'crun'] as const) {
    describe.skipIf(unavailable(rt) !== undefined)(rt, () => {
      it('--complain: the container makes the call the profile misses, and the agent names it', async () => {
        const {r, id, line, observation} = await runUnder(rt, 'complain')
        expect(r.stderr).toBe('')
        expect(r.stdout).toMatch(/mkdir=0/)
        expect(r.stdout.split('\n')).toContain('d')
        expect(line).toMatch(new RegExp(`^seccomp-gen: container ${id} \\(bundle ${bundle.dir}\\): x86_64 mkdir by pid \\d+ mkdir \\(/bin/busybox\\): allowed \\(complain\\); matched defaultAction SCMP_ACT_ERRNO\\(EPERM\\)$`))
        // one observation for the container, for build
        const obs = JSON.parse(readFileSync(observation, 'utf8'))
        expect(observation).toBe(join(obsDir, `${id}.json`))
        expect(obs.abis.x86_64.syscalls.mkdir.count).toBe(1)
        expect(obs.command).toEqual(['sh', '-c', WORK])
        expect(obs.runtime).toBe(rt)
      })

      it('--explain: the container sees EPERM, and the agent names the call', async () => {
        const {r, id, line} = await runUnder(rt, 'explain')
        expect(r.stderr).toMatch(/mkdir: can't create directory '\/tmp\/d': Operation not permitted/)
        expect(r.stdout).toMatch(/mkdir=1/)
        expect(r.stdout.split('\n')).not.toContain('d')
        expect(line).toMatch(new RegExp(`container ${id} .*: x86_64 mkdir by pid \\d+ .*: SCMP_ACT_ERRNO\\(EPERM\\); matched defaultAction`))
      })

      it('--explain with a kill rule: the calling process dies of SIGSYS, as under the plain filter', async () => {
        const {r, line} = await runUnder(rt, 'explain', profileMissingMkdir(dir, true))
        expect(r.stdout).toMatch(/mkdir=159/) // 128 + SIGSYS: busybox sh's status for its mkdir child
        expect(r.stdout.split('\n')).not.toContain('d')
        expect(line).toMatch(/x86_64 mkdir by pid \d+ .*: SCMP_ACT_KILL_PROCESS \(killed with SIGSYS\); matched the rule for mkdir, mkdirat: SCMP_ACT_KILL_PROCESS/)
      })
    })
  }

  describe('bad clients: one line each, and the agent goes on serving', () => {
    it('garbage', async () => {
      let mark = agent.mark()
      await sendRaw(sock, 'GET / HTTP/1.0\r\n\r\n')
      await agent.waitFor(/a client's message ignored: not JSON \(starts "GET \/ HTTP/, mark)
      mark = agent.mark()
      await sendRaw(sock, '{"ociVersion": "1.0.2", "fds": ]}')
      await agent.waitFor(/a client's message ignored: not JSON \(\d+ bytes\)/, mark)
      mark = agent.mark()
      await sendRaw(sock, '{"ociVersion": "1.0.2", "fds": ["seccompFd"]}')
      await agent.waitFor(/a client's message ignored: JSON without a container state/, mark)
    })

    it('a client that disconnects mid-message', async () => {
      const mark = agent.mark()
      await sendRaw(sock, '{"ociVersion":"1.0.2-dev","fds":["seccompFd"],"pid":1,"state":{"id":"half')
      await agent.waitFor(/a client's message ignored: the client disconnected mid-message \(\d+ bytes received\)/, mark)
    })

    it('an fd that is no seccomp listener', async (ctx) => {
      const py = spawnSync('python3', ['-c', `
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
fd = os.open('/etc/hostname', os.O_RDONLY)
s.sendmsg([b'{"fds":["seccompFd"],"pid":1,"state":{"id":"fake","bundle":"/nowhere"}}'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [fd]))])
s.close()`, sock], {encoding: 'utf8'})
      if (py.error) {
        console.warn(`[skip] fd test: python3 not found (${py.error.message})`)
        return ctx.skip()
      }
      expect(py.status).toBe(0)
      await agent.waitFor(/container fake \(bundle \/nowhere\): ignored: the fd that came is not a seccomp listener/)
      expect(agent.stderr).not.toMatch(/container fake .*pid/) // not served
    })

    it('a container that exits without a notified call, then another is served', async () => {
      const rt = unavailable('runc') ? 'crun' : 'runc'
      const quiet = makeBundle({args: ['true'], parent: dir})
      expect(cli(['apply', profile, '--bundle', quiet.dir, '--explain', '--listener', sock]).code).toBe(0)
      const r = await runBundle(rt, quiet.dir)
      expect(r.code).toBe(0)
      await agent.waitFor(new RegExp(`container \\S+ \\(bundle ${quiet.dir}\\): ended: 0 call\\(s\\)`))
      expect(existsSync(join(obsDir, `${/container (\S+) \(bundle [^)]*\): ended: 0/.exec(agent.stderr)![1]}.json`))).toBe(true)
      // and after all of the above, a container is still answered
      const {r: again, line} = await runUnder(rt, 'explain')
      expect(again.stdout).toMatch(/mkdir=1/)
      expect(line).toMatch(/x86_64 mkdir by pid/)
    })

    it('serves containers that run at the same time (one poll for all of them)', async () => {
      const rts = (['runc', 'crun'] as const).filter((rt) => !unavailable(rt))
      // six containers whose calls overlap: a thread of libuv's pool (4) each would not do
      const work = 'mkdir /tmp/d; echo mkdir=$?; sleep 1; mkdir /tmp/e; echo mkdir=$?'
      const many = Array.from({length: 6}, () => makeBundle({args: ['sh', '-c', work], parent: dir}))
      for (const b of many) expect(cli(['apply', profile, '--bundle', b.dir, '--explain', '--listener', sock]).code).toBe(0)
      const mark = agent.mark()
      const runs = await Promise.all(many.map((b, i) => runBundle(rts[i % rts.length]!, b.dir)))
      for (const r of runs) expect(r.stdout).toBe('mkdir=1\nmkdir=1\n')
      for (const b of many) await agent.waitFor(new RegExp(`container \\S+ \\(bundle ${b.dir}\\): ended: 2 call\\(s\\) in 1 distinct`), mark)
    })

    it('a container id run again is a container of its own: its counts and observation are its own; an earlier observation is kept', async (ctx) => {
      if (unavailable('runc')) return ctx.skip()
      expect(cli(['apply', profile, '--bundle', bundle.dir, '--complain', '--listener', sock]).code).toBe(0)
      const state = join(dir, 'runc-state')
      const id = `again-${process.pid}`
      // an earlier agent's observation of a container of that name: kept
      writeFileSync(join(obsDir, `${id}.json`), 'an earlier run\n')
      const mark = agent.mark()
      for (let i = 0; i < 2; i++) expect(spawnSync('runc', ['--root', state, 'run', '-b', bundle.dir, id], {encoding: 'utf8'}).stdout).toMatch(/mkdir=0/)
      await agent.waitFor(new RegExp(`container ${id} \\(bundle [^)]*\\): ended: 1 call\\(s\\)`), mark)
      const second = await agent.waitFor(new RegExp(`container ${id} #2 \\(bundle [^)]*\\): ended: 1 call\\(s\\) in 1 distinct kind\\(s\\) reported; observation in (\\S+)`), mark)
      expect(readFileSync(join(obsDir, `${id}.json`), 'utf8')).toBe('an earlier run\n')
      expect(JSON.parse(readFileSync(join(obsDir, `${id}-2.json`), 'utf8')).abis.x86_64.syscalls.mkdir.count).toBe(1)
      expect(second[1]).toBe(join(obsDir, `${id}-3.json`))
      expect(JSON.parse(readFileSync(second[1]!, 'utf8')).abis.x86_64.syscalls.mkdir.count).toBe(1)
    })

    it('SIGTERM ends it with the summary and removes its socket', async () => {
      agent.kill('SIGTERM')
      expect(await agent.closed).toBe(0)
      expect(agent.stdout).toMatch(/seccomp-gen: \d+ call\(s\) reported, \d+ distinct:\n\s+count\s+source\s+abi\s+call/)
      expect(agent.stdout).toMatch(/x86_64\s+mkdir\s+\d+\s+allowed \(complain\)/)
      expect(agent.stderr).toMatch(/seccomp-gen agent: \d+ container\(s\) served/)
      expect(existsSync(sock)).toBe(false)
    })
  })
})

for (const rt of ['runc', 'crun'] as const) describe.skipIf(why !== undefined || unavailable(rt) !== undefined)(`agent: SIGTERM while a container runs (${rt})`, () => {
  it('answers what is pending, writes its observation, says what the container gets next', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sg-agent-stop-')))
    try {
      const sock = join(dir, 'agent.sock')
      const profile = profileMissingMkdir(dir)
      // the container waits on a fifo in its rootfs until the test has stopped the agent
      const b = makeBundle({args: ['sh', '-c', 'mkdir /tmp/d; echo mkdir=$?; read x < /go; mkdir /tmp/e; echo mkdir=$?'], parent: dir})
      expect(spawnSync('mkfifo', [join(b.rootfs, 'go')]).status).toBe(0)
      expect(cli(['apply', profile, '--bundle', b.dir, '--explain', '--listener', sock]).code).toBe(0)
      const a = new RunningAgent(['--socket', sock, '--observe-dir', join(dir, 'obs')])
      await a.waitFor(/listening on /)
      const run = runBundle(rt, b.dir)
      await a.waitFor(/x86_64 mkdir by pid \d+ .*SCMP_ACT_ERRNO\(EPERM\)/)
      a.kill('SIGTERM')
      expect(await a.closed).toBe(0)
      const id = /container (\S+) \(bundle [^)]*\): still running when the agent stopped \(.*they fail with ENOSYS\): 1 call\(s\)/.exec(a.stderr)?.[1]
      expect(id).toBeDefined()
      expect(JSON.parse(readFileSync(join(dir, 'obs', `${id}.json`), 'utf8')).abis.x86_64.syscalls.mkdir.count).toBe(1)
      expect(a.stdout).toMatch(/seccomp-gen: 1 call\(s\) reported, 1 distinct:/)
      writeFileSync(join(b.rootfs, 'go'), 'go\n') // let the container go on: its next mkdir has nobody to answer it
      const r = await run
      expect(r.stdout).toBe('mkdir=1\nmkdir=1\n')
      expect(r.stderr).toMatch(/can't create directory '\/tmp\/e': Function not implemented/)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe.skipIf(why !== undefined)('agent --json: the container as fields; a container without our metadata', () => {
  it('report lines and summary rows carry container {id, bundle}; a foreign listenerMetadata is named as no profile, not as a rule', async () => {
    const rt = unavailable('runc') ? 'crun' : 'runc'
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sg-agent-json-')))
    const a = new RunningAgent(['--socket', join(dir, 'agent.sock'), '--json'])
    let complain: RunningAgent | undefined
    try {
      const sock = join(dir, 'agent.sock')
      await a.waitFor(/listening on /)
      const profile = profileMissingMkdir(dir)
      const ours = makeBundle({args: ['sh', '-c', WORK], parent: dir})
      const foreign = makeBundle({args: ['sh', '-c', WORK], parent: dir})
      for (const b of [ours, foreign]) expect(cli(['apply', profile, '--bundle', b.dir, '--explain', '--listener', sock]).code).toBe(0)
      // someone else's agent metadata: the filter notifies, but no profile comes with it
      const cfgPath = join(foreign.dir, 'config.json')
      const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'))
      cfg.linux.seccomp.listenerMetadata = 'not ours'
      writeFileSync(cfgPath, JSON.stringify(cfg))
      for (const b of [ours, foreign]) {
        expect((await runBundle(rt, b.dir)).stdout).toMatch(/mkdir=1/) // EPERM both ways
        await a.waitFor(new RegExp(`"container \\S+ \\(bundle ${b.dir}\\): ended: 1 call`))
      }
      a.kill('SIGTERM')
      expect(await a.closed).toBe(0)
      const lines = a.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>)
      const denials = lines.filter((l) => l.type === 'denial')
      const rows = lines.find((l) => l.type === 'summary')!.rows as Array<Record<string, any>>
      expect(denials).toHaveLength(2)
      expect(rows).toHaveLength(2)
      for (const [b, o] of [[ours, denials[0]!], [foreign, denials[1]!], [ours, rows.find((r) => r.container.bundle === ours.dir)!], [foreign, rows.find((r) => r.container.bundle === foreign.dir)!]] as const) {
        expect(o.container).toEqual({id: expect.stringMatching(new RegExp(`^${rt}-`)), bundle: b.dir})
        expect(o.source).toBe(`container ${o.container.id} (bundle ${b.dir})`)
        expect(o.syscall).toBe('mkdir')
      }
      expect(denials[0]).toMatchObject({action: 'SCMP_ACT_ERRNO(EPERM)', rule: 'defaultAction SCMP_ACT_ERRNO(EPERM)'})
      expect(denials[1]!.action).toBe("no profile known (listenerMetadata is not seccomp-gen's): answered EPERM")
      expect(denials[1]).not.toHaveProperty('rule')
      // agent --complain: the foreign container's call runs, and the text line says why, naming no rule
      complain = new RunningAgent(['--socket', sock, '--complain'])
      await complain.waitFor(/listening on /)
      expect((await runBundle(rt, foreign.dir)).stdout).toMatch(/mkdir=0/)
      const line = (await complain.waitFor(/^seccomp-gen: container .*$/m))[0]
      expect(line).toMatch(new RegExp(`^seccomp-gen: container ${rt}-\\S+ \\(bundle ${foreign.dir}\\): x86_64 mkdir by pid \\d+ .*: no profile known \\(listenerMetadata is not seccomp-gen's\\): let through$`))
    } finally {
      for (const x of [a, complain]) x?.kill('SIGKILL')
      await Promise.all([a.closed, complain?.closed])
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('agent: the socket path', () => {
  let dir: string
  beforeAll(() => { dir = realpathSync(mkdtempSync(join(tmpdir(), 'sg-agent-path-'))) })
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('refuses a path that exists and is not a socket, and leaves it alone', () => {
    const file = join(dir, 'not-a-socket')
    writeFileSync(file, 'keep me\n')
    const r = cli(['agent', '--socket', file])
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain(`${file} exists and is not a socket`)
    expect(readFileSync(file, 'utf8')).toBe('keep me\n')
  })

  it('names a directory that does not exist, an empty path, a path too long (one line each), and makes no --observe-dir', () => {
    const r = cli(['agent', '--socket', join(dir, 'no-such-dir', 'a.sock'), '--observe-dir', join(dir, 'obs')])
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain(`cannot listen on ${join(dir, 'no-such-dir', 'a.sock')}: the directory ${join(dir, 'no-such-dir')} does not exist`)
    expect(existsSync(join(dir, 'obs'))).toBe(false)
    for (const [path, msg] of [['', '--socket: an empty path'], [join(dir, 'x'.repeat(110)), 'a unix socket path has at most 107']]) {
      const bad = cli(['agent', '--socket', path, '--observe-dir', join(dir, 'obs')])
      expect(bad.code).toBe(2)
      expect(bad.stderr.trim().split('\n')).toHaveLength(1)
      expect(bad.stderr).toContain(msg)
      expect(existsSync(join(dir, 'obs'))).toBe(false)
    }
  })

  it('refuses an --observe-dir that exists but takes no new files (/sys), before it listens', () => {
    // else the agent would serve for hours and lose every observation when its containers end
    const sock = join(dir, 'sys.sock')
    const r = cli(['agent', '--socket', sock, '--observe-dir', '/sys'])
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain('--observe-dir /sys: cannot create files in it: permission denied')
    expect(existsSync(sock)).toBe(false)
  })

  it('replaces a stale socket (nobody listens on it), and SIGINT ends it cleanly', async (ctx) => {
    const stale = join(dir, 'stale.sock')
    // bound, never listened on, left behind: what an agent killed with -9 leaves
    const py = spawnSync('python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', stale])
    if (py.error) {
      console.warn(`[skip] stale socket test: python3 not found (${py.error.message})`)
      return ctx.skip()
    }
    expect(lstatSync(stale).isSocket()).toBe(true)
    const a = new RunningAgent(['--socket', stale])
    await a.waitFor(/listening on /)
    expect(a.stderr).toContain(`replaced the stale socket ${stale}`)
    // a second agent on the same path is refused: the first one answers there
    const second = cli(['agent', '--socket', stale])
    expect(second.code).not.toBe(0)
    expect(second.stderr).toContain('another process listens on this socket')
    a.kill('SIGINT')
    expect(await a.closed).toBe(0)
    expect(a.stdout).toContain('seccomp-gen: no call was reported')
    expect(existsSync(stale)).toBe(false)
  })
})

describe('agent: out of fds', () => {
  const noPrlimit = spawnSync('prlimit', ['--version']).error ? 'prlimit (util-linux) not found' : undefined
  if (noPrlimit) console.warn(`[skip] agent out of fds: ${noPrlimit}`)
  it.skipIf(noPrlimit !== undefined)('accept4 failing with EMFILE rests the socket (no busy loop of lines), and serving goes on once fds are free', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sg-agent-fds-')))
    const clients: Array<ReturnType<typeof createConnection>> = []
    try {
      const sock = join(dir, 'agent.sock')
      // node and the agent hold about 22 fds: 40 runs out after some 18 connections
      const a = new RunningAgent(['--socket', sock], ['prlimit', '--nofile=40:40'])
      await a.waitFor(/listening on /)
      for (let i = 0; i < 30; i++) {
        const c = createConnection({path: sock})
        c.on('error', () => {})
        c.write('{')
        clients.push(c)
      }
      await a.waitFor(/cannot accept a connection: accept4 \(fd \d+\) failed: EMFILE \(too many open files\); trying again in 1000 ms/)
      // the second try fails too (the clients still hold their connections): one more line, not a
      // flood (the busy loop this replaced wrote thousands a second)
      await a.waitFor(/cannot accept[^]*cannot accept/)
      expect(a.stderr.match(/cannot accept/g)!.length).toBeLessThan(10)
      for (const c of clients) c.destroy()
      const mark = a.mark()
      await sendRaw(sock, 'hello')
      await a.waitFor(/a client's message ignored: not JSON \(starts "hello"\)/, mark)
      a.kill('SIGTERM')
      expect(await a.closed).toBe(0)
    } finally {
      for (const c of clients) c.destroy()
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('agent: the kernel', () => {
  it('names the kernel version when it is too old (the command exits 4 with that line)', () => {
    expect(agentSupportProblem('5.7.19')).toMatch(/^this kernel \(5\.7\.19\) cannot run the agent: it needs Linux 5\.8 or later/)
    expect(agentSupportProblem('4.19.0-26-amd64')).toMatch(/this kernel \(4\.19\.0-26-amd64\)/)
    expect(agentSupportProblem('5.8.0')).toBeUndefined()
  })
})

const noAgent = agentSupportProblem()
if (noAgent) console.warn(`[skip] agent bounds tests: ${noAgent}`)
describe.skipIf(noAgent !== undefined)('agent: clients that never finish their message (in process, short limits)', () => {
  let dir: string
  beforeAll(() => { dir = realpathSync(mkdtempSync(join(tmpdir(), 'sg-agent-bounds-'))) })
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  /** An agent in this process whose status lines a test can wait for. */
  async function openAgent(name: string, limits: {messageTimeoutMs?: number; maxPending?: number}, before?: (socket: string) => Promise<void>) {
    const lines: string[] = []
    let wake = () => {}
    const agent = await Agent.open({socket: join(dir, name), format: 'text', out: {write: () => true}, log: (l) => { lines.push(l); wake() }, ...limits})
    await before?.(join(dir, name)) // clients waiting in the socket's backlog before the agent looks
    const running = agent.run()
    const waitFor = async (re: RegExp) => {
      while (!lines.some((l) => re.test(l))) await new Promise<void>((resolve) => { wake = resolve })
      return lines.find((l) => re.test(l))!
    }
    return {socket: join(dir, name), waitFor, lines, stop: async () => { agent.stop(); await running }}
  }

  /** Connect, send `data`, keep the connection open; `closed` resolves when the agent closes it. */
  function halfSend(path: string, data: string | Buffer) {
    const c = createConnection({path})
    c.on('error', () => { /* the agent may close it while we still write */ })
    c.write(data)
    c.resume()
    return {closed: new Promise<void>((resolve) => c.once('close', () => resolve())), end: () => c.destroy()}
  }

  it('the socket is made mode 0600 (bound under umask 0177, not chmod-ed after: no moment anyone may connect); the umask is restored', async () => {
    const before = process.umask(0)
    try {
      const a = await openAgent('mode.sock', {})
      expect(lstatSync(a.socket).mode & 0o777).toBe(0o600)
      expect(process.umask(0)).toBe(0) // what open() found: set back
      await a.stop()
    } finally {
      process.umask(before)
    }
  })

  it('drops a connection that has not sent a whole message in time', async () => {
    const a = await openAgent('timeout.sock', {messageTimeoutMs: 50})
    const c = halfSend(a.socket, '{"ociVersion":"1.0.2-dev","fds":["seccompFd"],"pid":1,"state":{"id":"slow')
    // how many of its bytes came before the limit depends on the machine's load: not asserted
    expect(await a.waitFor(/a client dropped: /)).toMatch(/^a client dropped: no whole message after 50 ms \(\d+ bytes received\)$/)
    await c.closed // the agent closed its end
    await a.stop()
  })

  it('keeps at most maxPending connections still sending: the oldest is dropped', async () => {
    const a = await openAgent('pending.sock', {maxPending: 2})
    const first = halfSend(a.socket, '{"ociVersion"')
    const others = [halfSend(a.socket, '{'), halfSend(a.socket, '{')]
    await a.waitFor(/a client dropped: 2 connections were still sending their message, it was the oldest/)
    await first.closed
    expect(a.lines.filter((l) => /dropped/.test(l))).toHaveLength(1)
    for (const o of others) o.end()
    await a.stop()
  })

  it('containers connecting at once are not pushed out by the pending bound: each message is read as it is accepted', async () => {
    const sent: Array<{closed: Promise<void>}> = []
    // five whole messages queued before the agent's first accept: one batch, more than maxPending
    const a = await openAgent('burst.sock', {maxPending: 2}, async (socket) => {
      for (let i = 0; i < 5; i++) {
        const c = createConnection({path: socket})
        c.on('error', () => {})
        c.resume()
        sent.push({closed: new Promise<void>((resolve) => c.once('close', () => resolve()))})
        await new Promise<void>((resolve) => c.write(`{"fds":["seccompFd"],"pid":1,"state":{"id":"burst${i}"}}`, () => resolve()))
      }
    })
    for (let i = 0; i < 5; i++) await a.waitFor(new RegExp(`container burst${i}: state without a bundle`))
    for (const c of sent) await c.closed
    expect(a.lines.filter((l) => /dropped/.test(l))).toEqual([])
    await a.stop()
  })

  it('a message larger than MAX_MESSAGE is garbage, and the agent stops reading it', async () => {
    const a = await openAgent('huge.sock', {})
    const c = halfSend(a.socket, Buffer.alloc(MAX_MESSAGE + 65536, '{'))
    await a.waitFor(new RegExp(`a client's message ignored: more than ${MAX_MESSAGE} bytes without a complete JSON object`))
    await c.closed
    await a.stop()
  })
})
