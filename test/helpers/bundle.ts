/**
 * Test-side view of the runtime harness (scripts/runtime-harness.js, shared with
 * scripts/derive-layer.js): busybox OCI bundles and runners for runc, crun, runsc, podman and
 * bwrap, plus the bits the tests add (skip reasons printed once, CLI invocation).
 */
import {spawnSync} from 'node:child_process'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import * as harness from '../../scripts/runtime-harness.js'

export type RuntimeName = 'runc' | 'crun' | 'runsc' | 'podman' | 'bwrap'

export interface RunResult {
  code: number | null
  signal: string | null
  stdout: string
  stderr: string
  timedOut: boolean
  ms: number
}

export interface Bundle {
  dir: string
  rootfs: string
  configPath: string
  cleanup: () => void
}

export interface Podman {
  dir: string
  image: string
  run: (args: string[], extra?: string[], timeoutMs?: number) => Promise<RunResult>
  cleanup: () => Promise<void>
}

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export const makeBundle = harness.makeBundle as (opts?: {args?: string[]; noNewPrivileges?: boolean; parent?: string}) => Bundle
export const makeRootfs = harness.makeRootfs as (dir: string) => void
export const runBundle = harness.runBundle as (rt: 'runc' | 'crun' | 'runsc', bundleDir: string, opts?: {timeoutMs?: number}) => Promise<RunResult>
export const makePodman = harness.makePodman as () => Promise<Podman>
export const runBwrap = harness.runBwrap as (rootfs: string, bpfPath: string | undefined, args: string[], timeoutMs?: number) => Promise<RunResult>
export const setBundleSeccomp = harness.setBundleSeccomp as (configPath: string, seccomp: object | undefined, p?: {args?: string[]; noNewPrivileges?: boolean}) => void
export const setBundleArgs = harness.setBundleArgs as (configPath: string, args: string[]) => void
export const runCommand = harness.runCommand as (cmd: string, args: string[], opts?: {timeoutMs?: number; env?: NodeJS.ProcessEnv}) => Promise<RunResult>

const printed = new Set<string>()

/**
 * Why `rt` cannot run here (undefined: it can). The reason is printed once, so a skipped test
 * says why in the test output (vitest's skipIf itself is silent).
 */
export function unavailable(rt: RuntimeName): string | undefined {
  const why = (harness.runtimeUnavailable as (r: RuntimeName) => string | undefined)(rt)
  if (why && !printed.has(rt)) {
    printed.add(rt)
    console.warn(`[skip] ${rt} runtime tests: ${why}`)
  }
  return why
}

/** Run the compiled CLI (bin/run.js) synchronously: {code, stdout, stderr}. */
export function cli(args: string[], opts: {timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv} = {}): {code: number | null; stdout: string; stderr: string} {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin/run.js'), ...args], {
    encoding: 'utf8', cwd: opts.cwd ?? repoRoot, timeout: opts.timeoutMs ?? 60_000, stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env,
  })
  return {code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? ''}
}
