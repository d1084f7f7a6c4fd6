/**
 * Profiles for the runtime tests, made the way a user makes them: record the busybox workload on
 * the host (`seccomp-gen record`), build the profile for the runtime (`seccomp-gen build
 * --runtime R`), then hand it to the runtime (`apply --bundle`, podman's --security-opt, or
 * `export --bpf` for bwrap).
 */
import {existsSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {cli, makeRootfs, repoRoot} from './bundle.js'

/**
 * The workload: writes and reads a file on /tmp, lists /. `$$` keeps host recordings of parallel
 * test files apart; in the container /tmp is a tmpfs.
 */
export const WORKLOAD = 'f=/tmp/sg-rt.$$; echo hi > $f && cat $f && rm $f && ls /'

/** The forbidden op: mkdir is never recorded, so it must be denied (EPERM) and not happen. */
export const FORBIDDEN = 'mkdir /tmp/d; echo "mkdir=$?"; ls /tmp'

/** Is the CLI pipeline compiled? `npm test` builds first (pretest). */
export function pipelineMissing(): string | undefined {
  for (const c of ['record', 'build', 'apply', 'export']) {
    if (!existsSync(join(repoRoot, 'dist/src/commands', `${c}.js`))) return `seccomp-gen ${c} is not built (dist/src/commands/${c}.js); run npm run build`
  }
  return undefined
}

let hostBin: string | undefined

/**
 * PATH for recording on the host: busybox applets first, so `ls`/`cat` are busybox's as in the
 * container (a host sh would find GNU coreutils otherwise and record glibc's syscalls).
 */
function hostPath(dir: string): string {
  if (!hostBin) {
    hostBin = join(dir, 'host-busybox')
    mkdirSync(hostBin, {recursive: true})
    makeRootfs(hostBin)
  }
  const dirs = ['bin', 'sbin', 'usr/bin', 'usr/sbin'].map((d) => join(hostBin!, d))
  return [...dirs, process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'].join(':')
}

/** `seccomp-gen record -o OBS -- busybox sh -c SCRIPT` on the host. */
export function record(dir: string, name: string, script: string): string {
  const obs = join(dir, `${name}.obs.json`)
  const r = cli(['record', '-o', obs, '--', 'busybox', 'sh', '-c', script], {env: {...process.env, PATH: hostPath(dir)}, timeoutMs: 60_000})
  if (r.code !== 0 || !existsSync(obs)) throw new Error(`record failed (exit ${r.code}): ${r.stderr.trim()}`)
  return obs
}

/** `seccomp-gen build --runtime R [--no-new-privileges] [--format F] -o PROFILE OBS…`. */
export function build(dir: string, name: string, obs: string[], opts: {runtime: string; nnp?: boolean; format?: 'docker' | 'oci'}): string {
  const out = join(dir, `${name}.profile.json`)
  const args = ['build', '--runtime', opts.runtime, '-o', out]
  if (opts.nnp && opts.runtime !== 'none') args.push('--no-new-privileges') // it only selects a layer
  if (opts.format) args.push('--format', opts.format)
  const r = cli([...args, ...obs], {timeoutMs: 60_000})
  if (r.code !== 0 || !existsSync(out)) throw new Error(`build failed (exit ${r.code}): ${r.stderr.trim()}`)
  return out
}

/** `seccomp-gen apply PROFILE --bundle DIR`. */
export function applyBundle(profile: string, bundleDir: string): void {
  const r = cli(['apply', profile, '--bundle', bundleDir])
  if (r.code !== 0) throw new Error(`apply --bundle failed (exit ${r.code}): ${r.stderr.trim()}`)
}

/** `seccomp-gen export PROFILE --bpf FILE`. */
export function exportBpf(profile: string, bpf: string): void {
  const r = cli(['export', profile, '--bpf', bpf])
  if (r.code !== 0 || !existsSync(bpf)) throw new Error(`export --bpf failed (exit ${r.code}): ${r.stderr.trim()}`)
}
