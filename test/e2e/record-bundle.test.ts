/**
 * `record --bundle DIR` under runc and crun (real runtimes, the bpf engine, as root): the
 * workload recorded from the container's entrypoint on, built into a profile (`build`), written
 * into the bundle (`apply --bundle`), runs the bundle under that runtime as it ran unfiltered; a
 * control workload's mkdir is denied; and none of the syscalls the runtime's own init makes
 * before the exec (a strace of the runtime shows them) is in the observation or the profile.
 * Also: record exits with the container's status, stops it on SIGTERM, and a bundle that does
 * not start gives one error line and writes nothing.
 */
import {spawn, spawnSync, type SpawnSyncReturns} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {bpfUnavailable} from '../../src/trace/bpf/engine.js'
import {cli, makeBundle, repoRoot, runBundle, setBundleArgs, unavailable, type Bundle} from '../helpers/bundle.js'
import {applyBundle, pipelineMissing} from '../helpers/runtime-profile.js'

/** echo, ls, cat of files: what the profile must allow. */
const WORKLOAD = 'echo hi; ls /; cat /etc/passwd /etc/group'
/** The control: mkdir is never recorded, so it must be denied (EPERM) and not happen. */
const FORBIDDEN = 'mkdir /tmp/d; echo "mkdir=$?"; ls /tmp'
/**
 * Syscalls runc's and crun's init make before they exec the entrypoint (the container's mounts,
 * root, hostname, session keyring, capabilities, mount points), which the busybox workload never
 * makes. The strace of each runtime below checks that the runtime really makes every one.
 */
const RUNTIME_ONLY = ['pivot_root', 'mount', 'umount2', 'sethostname', 'keyctl', 'capset', 'mkdirat']

/** Run argv as the runtime needs it here (see privateCgroups); the record's TMPDIR is `tmp`. */
function wrapped(rt: 'runc' | 'crun', argv: string[]): string[] {
  return rt === 'crun' ? ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"', 'sh', ...argv] : argv
}

/**
 * `seccomp-gen record ARGS`. crun on hybrid cgroups (v1 + a cgroup2 mount holding only hugetlb,
 * this kind of machine) refuses to create a container; in a private mount namespace without
 * /sys/fs/cgroup/unified it uses cgroup v1, as the runtime tests run it (scripts/runtime-harness.js).
 * The record runs there whole, so every crun it starts sees the same cgroups.
 */
function record(rt: 'runc' | 'crun', args: string[], env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  const [cmd, ...rest] = wrapped(rt, [process.execPath, join(repoRoot, 'bin/run.js'), 'record', ...args])
  return spawnSync(cmd!, rest, {encoding: 'utf8', cwd: repoRoot, env, timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe']})
}

/** The syscall names a strace -f of the runtime running the bundle shows (every process of it). */
function straceOfRuntime(rt: 'runc' | 'crun', bundle: string, dir: string): Set<string> {
  const log = join(dir, `${rt}.strace`)
  const state = mkdtempSync(join(dir, 'state-'))
  const argv = wrapped(rt, ['strace', '-f', '-o', log, rt, '--root', state, 'run', '--bundle', bundle, `sg-strace-${process.pid}`])
  const r = spawnSync(argv[0]!, argv.slice(1), {encoding: 'utf8', timeout: 30_000})
  expect(r.status).toBe(0)
  const names = new Set<string>()
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const m = /^\d+ +(?:<\.\.\. )?([a-z0-9_]+)(?:\(| resumed>)/.exec(line)
    if (m) names.add(m[1]!)
  }
  return names
}

const observed = (file: string): Set<string> => {
  const o = JSON.parse(readFileSync(file, 'utf8')) as {abis: Record<string, {syscalls: Record<string, unknown>}>}
  return new Set(Object.values(o.abis).flatMap((a) => Object.keys(a.syscalls)))
}

/** The names linux.seccomp in the bundle's config.json allows (what the runtime enforces). */
const allowedInBundle = (bundle: Bundle): Set<string> => {
  const seccomp = (JSON.parse(readFileSync(bundle.configPath, 'utf8')) as {linux: {seccomp: {syscalls: Array<{names: string[]; action: string}>}}}).linux.seccomp
  return new Set(seccomp.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names))
}

const bpfWhy = bpfUnavailable()
const pipelineWhy = pipelineMissing()
for (const why of [bpfWhy, pipelineWhy]) if (why) console.warn(`[skip] record --bundle tests: ${why}`)

for (const rt of ['runc', 'crun'] as const) {
  const why = unavailable(rt) ?? bpfWhy ?? pipelineWhy

  describe.skipIf(why !== undefined)(`record --bundle --runtime ${rt}`, () => {
    let dir: string
    let tmp: string
    let bundle: Bundle
    let obs: string
    let recorded: SpawnSyncReturns<string>
    const env = () => ({...process.env, TMPDIR: tmp})

    beforeAll(() => {
      dir = realpathSync(mkdtempSync(join(tmpdir(), `sg-record-bundle-${rt}-`)))
      tmp = mkdtempSync(join(dir, 'tmp-'))
      bundle = makeBundle({args: ['sh', '-c', WORKLOAD], parent: dir})
      obs = join(dir, 'work.obs.json')
      recorded = record(rt, ['--bundle', bundle.dir, '--runtime', rt, '-o', obs], env())
      if (recorded.status !== 0) throw new Error(`record --bundle failed (exit ${recorded.status}): ${recorded.stderr}`)
      // The bundle runs with no_new_privileges (runc spec's default): the layers for that
      // setting; no --runtime, so the default layers and the runtime the observation names.
      const profile = join(dir, 'work.profile.json')
      const b = cli(['build', '--no-new-privileges', '-o', profile, obs])
      if (b.code !== 0) throw new Error(`build failed (exit ${b.code}): ${b.stderr}`)
      applyBundle(profile, bundle.dir)
    })
    afterAll(() => {
      if (dir) rmSync(dir, {recursive: true, force: true})
    })

    it('records the workload from its entrypoint on, and says which runtime ran it', () => {
      expect(recorded.stdout).toMatch(/^hi\n/) // the container's stdout is record's
      expect(recorded.stdout).toContain('root:x:0:0:root:/root:/bin/sh\n')
      expect(recorded.stderr).toMatch(/^seccomp-gen: \d+ syscalls, \d+ distinct, \d+ process(es)?; wrote .*work\.obs\.json\n$/)
      const o = JSON.parse(readFileSync(obs, 'utf8')) as {runtime?: string; command: string[]; execs: string[]}
      expect(o.runtime).toBe(rt)
      expect(o.command).toEqual(['sh', '-c', WORKLOAD])
      expect(o.execs).toContain('/bin/sh')
      const names = observed(obs)
      for (const n of ['execve', 'write', 'getdents64', 'openat', 'sendfile', 'exit_group']) expect(names).toContain(n)
      expect(readdirSync(tmp)).toEqual([]) // the runtime's state root is gone
    })

    it("has none of the runtime's own syscalls (a strace of the runtime shows them), in the observation or the profile", () => {
      const plain = makeBundle({args: ['sh', '-c', WORKLOAD], parent: dir})
      const straced = straceOfRuntime(rt, plain.dir, dir)
      expect(RUNTIME_ONLY.filter((n) => !straced.has(n))).toEqual([])
      const names = observed(obs)
      expect(RUNTIME_ONLY.filter((n) => names.has(n))).toEqual([])
      const allowed = allowedInBundle(bundle)
      expect(allowed.has('execve')).toBe(true) // the check reads the filter
      expect(RUNTIME_ONLY.filter((n) => allowed.has(n))).toEqual([])
    })

    it(`the profile runs the bundle under ${rt} as it ran unfiltered`, async () => {
      setBundleArgs(bundle.configPath, ['sh', '-c', WORKLOAD])
      const r = await runBundle(rt, bundle.dir)
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      expect(r.stdout).toBe(recorded.stdout)
    })

    it('denies mkdir in a control workload (never recorded), and it does not happen', async () => {
      const allowed = allowedInBundle(bundle)
      expect(allowed.has('mkdir') || allowed.has('mkdirat')).toBe(false)
      setBundleArgs(bundle.configPath, ['sh', '-c', FORBIDDEN])
      try {
        const r = await runBundle(rt, bundle.dir)
        expect(r.stderr).toMatch(/mkdir: can't create directory '\/tmp\/d': Operation not permitted/)
        expect(r.stdout).toMatch(/mkdir=1/)
        expect(r.stdout.split('\n')).not.toContain('d')
      } finally {
        setBundleArgs(bundle.configPath, ['sh', '-c', WORKLOAD])
      }
    })

    it("exits with the container's status, and still writes the observation", () => {
      const b = makeBundle({args: ['sh', '-c', 'echo bye; exit 3'], parent: dir})
      const out = join(dir, 'exit3.obs.json')
      const r = record(rt, ['--bundle', b.dir, '--runtime', rt, '-o', out], env())
      expect(r.stdout).toBe('bye\n')
      expect(r.stderr).toMatch(/; command exited with 3\n$/)
      expect(r.status).toBe(3)
      expect(JSON.parse(readFileSync(out, 'utf8')).runtime).toBe(rt)
    })

    it('a bundle that does not start: one error line with the runtime\'s words, nothing written', () => {
      const b = makeBundle({parent: dir})
      const config = JSON.parse(readFileSync(b.configPath, 'utf8'))
      config.root.path = join(b.dir, 'no-rootfs')
      writeFileSync(b.configPath, JSON.stringify(config, null, 2))
      const out = join(dir, 'nostart.obs.json')
      const r = record(rt, ['--bundle', b.dir, '--runtime', rt, '-o', out], env())
      expect(r.status).toBe(1)
      const lines = r.stderr.split('\n').filter(Boolean)
      expect(lines).toHaveLength(1)
      // runc: "invalid rootfs: stat …/no-rootfs: no such file …"; crun: "make `…/no-rootfs` private: No such file …"
      expect(lines[0]).toMatch(new RegExp(`Error: the bundle .* does not start under ${rt}: .*no-rootfs.*[Nn]o such file`))
      expect(r.stdout).toBe('')
      expect(existsSync(out)).toBe(false)
      expect(readdirSync(tmp)).toEqual([])
    })

    it('SIGTERM to record stops the container (runtime kill), whose status record exits with', async () => {
      const script = 'trap "echo term; exit 7" TERM; echo ready; while :; do sleep 0.1; done'
      const b = makeBundle({args: ['sh', '-c', script], parent: dir})
      const out = join(dir, 'term.obs.json')
      const [cmd, ...rest] = wrapped(rt, [process.execPath, join(repoRoot, 'bin/run.js'), 'record', '--bundle', b.dir, '--runtime', rt, '-o', out])
      const child = spawn(cmd!, rest, {cwd: repoRoot, env: env(), stdio: ['ignore', 'pipe', 'pipe']})
      let stdout = ''
      let stderr = ''
      child.stderr!.on('data', (d) => (stderr += d))
      const code = await new Promise<number | null>((resolveCode) => {
        child.stdout!.on('data', (d) => {
          stdout += d
          // the container runs its loop: record is waiting for it (unshare execs, so child.pid is record)
          if (stdout === 'ready\n') child.kill('SIGTERM')
        })
        child.on('close', (c) => resolveCode(c))
      })
      expect(stdout).toBe('ready\nterm\n')
      expect(stderr).toMatch(/; command exited with 7\n$/)
      expect(code).toBe(7)
      expect(observed(out)).toContain('wait4')
    })
  })
}

describe.skipIf(pipelineWhy !== undefined)('record --bundle: refused before anything runs', () => {
  let dir: string
  beforeAll(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'sg-record-bundle-')))
    // a directory with a config.json is all these checks look at: nothing may run
    writeFileSync(join(dir, 'config.json'), '{}\n')
  })
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  const refused = (args: string[], env: NodeJS.ProcessEnv = process.env) => {
    const out = join(dir, 'out.obs.json')
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin/run.js'), 'record', '--bundle', dir, '-o', out, ...args], {encoding: 'utf8', env, timeout: 30_000})
    expect(existsSync(out)).toBe(false)
    expect(r.stdout).toBe('')
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1)
    return r
  }

  it('--engine strace: a usage error (exit 2)', () => {
    const r = refused(['--engine', 'strace'])
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/--bundle records with the bpf engine/)
  })

  it('where the bpf engine cannot run: its reason, exit 4 (as --engine bpf)', () => {
    const r = refused([], {...process.env, SECCOMP_GEN_BTF: join(dir, 'no-btf')})
    expect(r.status).toBe(4)
    expect(r.stderr).toMatch(/the bpf engine cannot run: .*no BTF/)
  })

  it.skipIf(bpfWhy !== undefined)('a runtime that is not installed: exit 127', () => {
    const r = refused(['--runtime', 'crun'], {...process.env, PATH: join(dir, 'empty-path')})
    expect(r.status).toBe(127)
    expect(r.stderr).toMatch(/crun \(the container runtime\) cannot run: crun: command not found/)
  })

  it('a command as well as --bundle, or --runtime without it: usage errors', () => {
    expect(refused(['--', 'true']).status).toBe(2)
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin/run.js'), 'record', '--runtime', 'crun', '--', 'true'], {encoding: 'utf8', timeout: 30_000})
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/--bundle/)
  })
})
