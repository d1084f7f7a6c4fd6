// Runtime harness shared by scripts/derive-layer.js and the runtime tests (test/helpers/bundle.ts):
// build a busybox OCI bundle and run it under runc, crun, gVisor runsc, podman or bwrap.
// Command lines are ones that ran a container with each runtime as installed on Debian 12.
// Plain JS (with JSDoc types) so the ablation script can run it without a build step.
import {spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/** @typedef {{code: number | null, signal: string | null, stdout: string, stderr: string, timedOut: boolean, ms: number}} RunResult */
/** @typedef {'runc' | 'crun' | 'runsc' | 'podman' | 'bwrap'} RuntimeName */

export const RUNTIMES = /** @type {const} */ (['runc', 'crun', 'runsc', 'podman', 'bwrap'])

/** Where busybox-static puts its binary on Debian; /bin is a symlink to /usr/bin on merged-usr systems. */
const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox']

/** The executables each runtime needs (besides the runtime itself). */
const RUNTIME_BINARIES = {
  runc: ['runc'],
  crun: ['crun', 'unshare'],
  runsc: ['runsc'],
  podman: ['podman', 'runc', 'tar'],
  bwrap: ['bwrap'],
}

/** @param {string} name */
export function which(name) {
  const dirs = (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')
  for (const d of [...dirs, '/usr/sbin', '/sbin']) {
    const p = join(d, name)
    if (existsSync(p)) return p
  }
  return undefined
}

export function busyboxPath() {
  for (const p of BUSYBOX_CANDIDATES) {
    if (!existsSync(p)) continue
    // A dynamically linked busybox would not run in a rootfs without its libraries.
    const r = spawnSync('file', ['-L', p], {encoding: 'utf8'})
    if (r.status === 0 && /dynamically linked/.test(r.stdout)) continue
    return p
  }
  return undefined
}

/**
 * Why a runtime cannot run here, or undefined if it can. Checked once per process.
 * @param {RuntimeName} rt
 * @returns {string | undefined}
 */
export function runtimeUnavailable(rt) {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return `${rt} tests need root (CI runs as root)`
  if (!busyboxPath()) return 'busybox-static is not installed (/bin/busybox)'
  for (const b of RUNTIME_BINARIES[rt]) if (!which(b)) return `${b} is not installed (.ci/run installs it)`
  return undefined
}

/**
 * Run a command with a timeout; never throws for a non-zero exit.
 * @param {string} cmd @param {string[]} args
 * @param {{timeoutMs?: number, env?: NodeJS.ProcessEnv, stdin?: number | 'ignore', extraFds?: number[]}} [opts]
 * @returns {Promise<RunResult>}
 */
export function runCommand(cmd, args, opts = {}) {
  const t0 = performance.now()
  return new Promise((resolve) => {
    const stdio = /** @type {any[]} */ (['ignore', 'pipe', 'pipe'])
    if (opts.extraFds) for (const fd of opts.extraFds) stdio.push(fd)
    const child = spawn(cmd, args, {stdio, env: opts.env ?? process.env, detached: true})
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout?.on('data', (d) => { stdout += d })
    child.stderr?.on('data', (d) => { stderr += d })
    const timer = setTimeout(() => {
      timedOut = true
      try { process.kill(-(child.pid ?? 0), 'SIGKILL') } catch { /* gone */ }
    }, opts.timeoutMs ?? 20_000)
    child.on('error', (err) => {
      clearTimeout(timer)
      resolve({code: 127, signal: null, stdout, stderr: stderr + String(err), timedOut, ms: performance.now() - t0})
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code, signal, stdout, stderr, timedOut, ms: performance.now() - t0})
    })
  })
}

/** A unique container id (runtimes keep state per id). */
export function containerId(prefix = 'sg') {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`
}

/**
 * Make a busybox rootfs: /bin/busybox plus one symlink per applet (what `busybox --install -s`
 * creates), and the mount points the runtimes need.
 * @param {string} dir the rootfs directory to create
 */
export function makeRootfs(dir) {
  const bb = busyboxPath()
  if (!bb) throw new Error('busybox-static is not installed')
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'proc', 'dev', 'sys', 'tmp', 'etc', 'root']) mkdirSync(join(dir, d), {recursive: true})
  copyFileSync(bb, join(dir, 'bin/busybox'))
  spawnSync('chmod', ['0755', join(dir, 'bin/busybox')])
  const list = spawnSync(bb, ['--list-full'], {encoding: 'utf8'})
  for (const rel of list.stdout.split('\n').map((s) => s.trim()).filter(Boolean)) {
    const p = join(dir, rel)
    if (rel === 'bin/busybox' || existsSync(p)) continue
    symlinkSync('/bin/busybox', p)
  }
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n')
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\n')
}

/**
 * A busybox OCI bundle in a fresh temp dir: rootfs + config.json from `runc spec`, terminal off,
 * a tmpfs on /tmp, root.path absolute and symlink-free.
 * @param {{args?: string[], noNewPrivileges?: boolean, parent?: string}} [opts]
 * @returns {{dir: string, rootfs: string, configPath: string, cleanup: () => void}}
 */
export function makeBundle(opts = {}) {
  const base = realpathSync(opts.parent ?? tmpdir())
  const dir = realpathSync(mkdtempSync(join(base, 'sg-bundle-')))
  const rootfs = join(dir, 'rootfs')
  makeRootfs(rootfs)
  const spec = spawnSync(which('runc') ?? 'runc', ['spec', '--bundle', dir], {encoding: 'utf8'})
  let config
  if (spec.status === 0) config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))
  else config = fallbackSpec()
  config.process.terminal = false
  config.process.args = opts.args ?? ['sh', '-c', 'echo hi']
  config.process.noNewPrivileges = opts.noNewPrivileges ?? true
  config.root = {path: rootfs, readonly: true}
  config.hostname = 'sg'
  config.mounts.push({destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=8m']})
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n')
  return {dir, rootfs, configPath: join(dir, 'config.json'), cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

/** A minimal runtime-spec config when runc is absent (runc spec's shape, trimmed). */
function fallbackSpec() {
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false, user: {uid: 0, gid: 0}, args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], cwd: '/',
      capabilities: {bounding: caps, effective: caps, permitted: caps, ambient: caps},
      rlimits: [{type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024}], noNewPrivileges: true,
    },
    root: {path: 'rootfs', readonly: true},
    hostname: 'runc',
    mounts: [
      {destination: '/proc', type: 'proc', source: 'proc'},
      {destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},
      {destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro']},
    ],
    linux: {namespaces: [{type: 'pid'}, {type: 'network'}, {type: 'ipc'}, {type: 'uts'}, {type: 'mount'}]},
  }
}

/**
 * Set or remove linux.seccomp in a bundle's config.json directly (for the ablation script and
 * hand-written test profiles; the product path is `seccomp-gen apply --bundle`).
 * @param {string} configPath @param {object | undefined} seccomp
 * @param {{args?: string[], noNewPrivileges?: boolean}} [process_]
 */
export function setBundleSeccomp(configPath, seccomp, process_ = {}) {
  const config = JSON.parse(readFileSync(configPath, 'utf8'))
  config.linux = config.linux ?? {}
  if (seccomp === undefined) delete config.linux.seccomp
  else config.linux.seccomp = seccomp
  if (process_.args) config.process.args = process_.args
  if (process_.noNewPrivileges !== undefined) config.process.noNewPrivileges = process_.noNewPrivileges
  writeFileSync(configPath, JSON.stringify(config, null, 2) + '\n')
}

/** @param {string} configPath @param {string[]} args */
export function setBundleArgs(configPath, args) {
  const config = JSON.parse(readFileSync(configPath, 'utf8'))
  config.process.args = args
  writeFileSync(configPath, JSON.stringify(config, null, 2) + '\n')
}

/**
 * Run a bundle under an OCI runtime (runc, crun or runsc) with a unique id and private state
 * dir; the state is removed afterwards whatever happens.
 * @param {'runc' | 'crun' | 'runsc'} rt @param {string} bundleDir
 * @param {{timeoutMs?: number, wrap?: string[]}} [opts] wrap: a command prefix (e.g. strace -f -o LOG)
 * @returns {Promise<RunResult>}
 */
export async function runBundle(rt, bundleDir, opts = {}) {
  const state = mkdtempSync(join(tmpdir(), `sg-${rt}-state-`))
  const id = containerId(rt)
  let cmd
  let args
  if (rt === 'runc') {
    cmd = 'runc'
    args = ['--root', state, 'run', '-b', bundleDir, id]
  } else if (rt === 'crun') {
    // Hybrid cgroups (v1 + a cgroup2 mount holding only hugetlb) make crun fail; in a private
    // mount namespace without /sys/fs/cgroup/unified it uses cgroup v1.
    cmd = 'unshare'
    const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`
    args = ['-m', '--propagation', 'private', 'sh', '-c',
      `umount /sys/fs/cgroup/unified 2>/dev/null; exec crun --root ${q(state)} run -b ${q(bundleDir)} ${q(id)}`]
  } else if (rt === 'runsc') {
    cmd = 'runsc'
    args = ['--platform=ptrace', '--network=none', '--oci-seccomp', '--root', state, 'run', '-bundle', bundleDir, id]
  } else {
    throw new Error(`not an OCI bundle runtime: ${rt}`)
  }
  try {
    const [c, a] = opts.wrap?.length ? [opts.wrap[0], [...opts.wrap.slice(1), cmd, ...args]] : [cmd, args]
    return await runCommand(c, a, {timeoutMs: opts.timeoutMs ?? (rt === 'runsc' ? 30_000 : 15_000)})
  } finally {
    // A container left behind by a timeout: delete it, then drop the state dir.
    if (rt !== 'crun') spawnSync(rt === 'runc' ? 'runc' : 'runsc', ['--root', state, 'delete', '--force', id], {stdio: 'ignore', timeout: 10_000})
    else spawnSync('crun', ['--root', state, 'delete', '--force', id], {stdio: 'ignore', timeout: 10_000})
    rmSync(state, {recursive: true, force: true})
  }
}

/**
 * A podman sandbox: all state under one temp dir, vfs storage, cgroupfs, file events, no network,
 * explicit ulimits (runc fails on rlimits otherwise), and the busybox rootfs imported as an image.
 * @returns {Promise<{dir: string, image: string, run: (args: string[], extra?: string[], timeoutMs?: number) => Promise<RunResult>, cleanup: () => Promise<void>}>}
 */
export async function makePodman() {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sg-podman-')))
  const rootfs = join(dir, 'rootfs')
  makeRootfs(rootfs)
  const conf = join(dir, 'containers.conf')
  writeFileSync(conf, [
    '[containers]',
    'netns="none"',
    'default_ulimits=["nofile=20000:20000","nproc=32768:32768"]',
    '[engine]',
    'events_logger="file"',
    'cgroup_manager="cgroupfs"',
    '',
  ].join('\n'))
  const env = {...process.env, CONTAINERS_CONF: conf}
  const global = ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp'),
    '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file']
  const tar = join(dir, 'rootfs.tar')
  const t = await runCommand('tar', ['-C', rootfs, '-cf', tar, '.'])
  if (t.code !== 0) throw new Error(`tar failed: ${t.stderr}`)
  const image = 'localhost/sg-busybox:latest'
  const imp = await runCommand('podman', [...global, 'import', tar, image], {env, timeoutMs: 60_000})
  if (imp.code !== 0) throw new Error(`podman import failed: ${imp.stderr}`)
  return {
    dir,
    image,
    run: (args, extra = [], timeoutMs = 30_000) => runCommand('podman', [...global, 'run', '--rm', '--runtime', 'runc', '--network', 'none',
      '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=4096:4096', ...extra, image, ...args], {env, timeoutMs}),
    cleanup: async () => {
      await runCommand('podman', [...global, 'system', 'reset', '--force'], {env, timeoutMs: 30_000})
      // vfs layers can hold read-only dirs; rm -rf as root handles them.
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

/**
 * Run a command in a busybox rootfs under bubblewrap with a compiled BPF filter on fd 3.
 * @param {string} rootfs @param {string | undefined} bpfPath @param {string[]} args
 * @returns {Promise<RunResult>}
 */
export async function runBwrap(rootfs, bpfPath, args, timeoutMs = 15_000) {
  const {openSync, closeSync} = await import('node:fs')
  const bw = ['--ro-bind', rootfs, '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--unshare-pid', '--die-with-parent']
  if (!bpfPath) return runCommand('bwrap', [...bw, ...args], {timeoutMs})
  const fd = openSync(bpfPath, 'r')
  try {
    return await runCommand('bwrap', [...bw, '--seccomp', '3', ...args], {timeoutMs, extraFds: [fd]})
  } finally {
    closeSync(fd)
  }
}
