/**
 * A containerd daemon of the test's own (Debian's containerd 1.6): config, root, state, socket
 * and opt dir in one temp directory, the CRI plugin disabled, started by hand (no systemd), and
 * a busybox image made here as an OCI image layout tarball and imported with `ctr image import`.
 * Containers run with `ctr run --rm --seccomp --seccomp-profile PROFILE`.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, rmdirSync, rmSync, statSync, writeFileSync, closeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {makeRootfs, runCommand, type RunResult} from './bundle.js'

const which = (b: string): boolean => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0

/** Why the containerd tests cannot run here (undefined: they can). */
export function containerdUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'containerd tests need root (CI runs as root)'
  for (const b of ['containerd', 'ctr', 'containerd-shim-runc-v2', 'runc']) if (!which(b)) return `${b} is not installed (.ci/run installs containerd)`
  if (!existsSync('/bin/busybox')) return 'busybox-static is not installed (/bin/busybox)'
  if (!which('strace')) return 'strace is not installed (the workload is recorded with record --engine strace)'
  return undefined
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex')

/**
 * An OCI image layout (oci-layout, index.json, blobs/sha256/…) of one uncompressed layer holding
 * a busybox rootfs, as a tar file for `ctr image import`. `ref` is the image's name there.
 */
export function busyboxImageTar(dir: string, ref: string): string {
  const rootfs = join(dir, 'rootfs')
  makeRootfs(rootfs)
  const layout = join(dir, 'layout')
  const blobs = join(layout, 'blobs', 'sha256')
  mkdirSync(blobs, {recursive: true})
  const blob = (data: Buffer | string): {digest: string; size: number} => {
    const hex = sha256(data)
    writeFileSync(join(blobs, hex), data)
    return {digest: `sha256:${hex}`, size: Buffer.byteLength(data)}
  }
  const layerTar = join(dir, 'layer.tar')
  const tar = spawnSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', layerTar, '.'], {encoding: 'utf8'})
  if (tar.status !== 0) throw new Error(`tar of the busybox rootfs failed: ${tar.stderr}`)
  const layerBytes = readFileSync(layerTar)
  // uncompressed layer: its digest is also its diff_id
  const layer = blob(layerBytes)
  const config = blob(JSON.stringify({
    architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    os: 'linux',
    config: {Cmd: ['sh'], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin']},
    rootfs: {type: 'layers', diff_ids: [layer.digest]},
  }))
  const manifest = blob(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {mediaType: 'application/vnd.oci.image.config.v1+json', ...config},
    layers: [{mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer}],
  }))
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
  writeFileSync(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest,
      annotations: {'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': ref.split(':').pop()}}],
  }))
  const out = join(dir, 'image.tar')
  const t = spawnSync('tar', ['--numeric-owner', '-C', layout, '-cf', out, 'oci-layout', 'index.json', 'blobs'], {encoding: 'utf8'})
  if (t.status !== 0) throw new Error(`tar of the image layout failed: ${t.stderr}`)
  return out
}

export interface Containerd {
  dir: string
  address: string
  /** `ctr …` against this daemon */
  ctr: (args: string[], timeoutMs?: number) => Promise<RunResult>
  /** `ctr run --rm --seccomp --seccomp-profile PROFILE IMAGE ID ARGS…` (a fresh ID each time) */
  run: (image: string, profile: string, args: string[]) => Promise<RunResult>
  stop: () => Promise<void>
}

const RUN_DIR = '/run/containerd'

/** containerd's own config: everything under `dir`, no CRI plugin. */
function configToml(dir: string): string {
  return [
    'version = 2',
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]',
    `  address = "${dir}/containerd.sock"`,
    '[ttrpc]',
    `  address = "${dir}/containerd.sock.ttrpc"`,
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${dir}/opt"`,
    '',
  ].join('\n')
}

/** Start a daemon and wait until `ctr version` answers (no fixed sleep). */
export async function startContainerd(): Promise<Containerd> {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sg-ctrd-')))
  // the shims put their sockets in /run/containerd/s whatever the config says
  const runDirWasThere = existsSync(RUN_DIR)
  writeFileSync(join(dir, 'config.toml'), configToml(dir))
  const address = join(dir, 'containerd.sock')
  const log = openSync(join(dir, 'containerd.log'), 'a')
  const daemon: ChildProcess = spawn('containerd', ['--config', join(dir, 'config.toml')], {stdio: ['ignore', log, log]})
  closeSync(log)
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()))
  let gone = false
  void exited.then(() => { gone = true })
  const ctr = (args: string[], timeoutMs = 60_000) => runCommand('ctr', ['--address', address, ...args], {timeoutMs})
  // ready when the socket answers; a daemon that died says why in its log
  for (;;) {
    if (gone) throw new Error(`containerd exited at start: ${readFileSync(join(dir, 'containerd.log'), 'utf8').trim().split('\n').slice(-3).join(' | ')}`)
    if (existsSync(address) && (await ctr(['version'], 10_000)).code === 0) break
    await new Promise((r) => setTimeout(r, 50))
  }
  let n = 0
  const fifo = join(dir, 'fifo')
  const runcRoot = join(dir, 'runc')
  mkdirSync(fifo)
  return {
    dir,
    address,
    ctr,
    run: (image, profile, args) => ctr(['run', '--rm', '--fifo-dir', fifo, '--runc-root', runcRoot, '--seccomp', '--seccomp-profile', profile, image, `sg-${process.pid}-${n++}`, ...args]),
    stop: async () => {
      if (!gone) {
        daemon.kill('SIGTERM')
        await exited
      }
      killShims(dir)
      unmountUnder(dir)
      rmSync(dir, {recursive: true, force: true})
      if (!runDirWasThere) for (const d of [join(RUN_DIR, 's'), RUN_DIR]) try { rmdirSync(d) } catch { /* not empty: not ours alone */ }
    },
  }
}

/** Shims this daemon started and left (a container still running): their pid files in its state dir. */
function killShims(dir: string): void {
  const walk = (d: string): void => {
    let entries: string[]
    try { entries = readdirSync(d) } catch { return }
    for (const e of entries) {
      const p = join(d, e)
      if (e === 'shim.pid') {
        const pid = Number(readFileSync(p, 'utf8').trim())
        if (pid > 1) try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
      } else if (statSync(p, {throwIfNoEntry: false})?.isDirectory()) walk(p)
    }
  }
  walk(join(dir, 'state'))
}

/** Mounts left under dir (a snapshot still mounted) go before rm -r can walk into them. */
function unmountUnder(dir: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(`${dir}/`))
  for (const m of mounts.sort().reverse()) spawnSync('umount', ['-l', m])
}
