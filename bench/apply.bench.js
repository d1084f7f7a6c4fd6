#!/usr/bin/env node
// ### apply start-up
// Wall time of `seccomp-gen apply PROFILE -- true` against running `true` directly, with bare
// `node -e 0` and `seccomp-gen --version` (oclif start-up alone) as references, and the exec
// child alone (node + koffi + seccomp(2) + execve, what apply adds after its pre-flight).
// Median of RUNS, interleaved, in one run. PROFILE: Docker's default (the largest profile
// users feed in; its names unknown to libseccomp skipped with --allow-unknown) and a small
// hand-written allowlist.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'bin', 'seccomp-gen') // the command as installed (the launcher, then Node)
const dockerDefault = join(root, 'test', 'anchors', 'docker-default.json')
const RUNS = 10
const dir = mkdtempSync(join(tmpdir(), 'seccomp-gen-bench-apply-'))

const small = join(dir, 'small.json')
writeFileSync(small, JSON.stringify({
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  architectures: ['SCMP_ARCH_X86_64'],
  syscalls: [{
    names: ['access', 'arch_prctl', 'brk', 'close', 'execve', 'exit_group', 'fstat', 'getrandom', 'mmap', 'mprotect', 'munmap',
      'newfstatat', 'openat', 'pread64', 'prlimit64', 'read', 'rseq', 'set_robust_list', 'set_tid_address', 'write'],
    action: 'SCMP_ACT_ALLOW',
  }],
}))

function time(cmd, args) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(cmd, args, {stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'})
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`)
  return ms
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]

// the exec child alone needs a compiled program: take it from the library, as apply does
const {prepareFilter} = await import(join(root, 'dist', 'src', 'enforce', 'apply.js'))
const prep = prepareFilter(small, {})
const child = join(root, 'dist', 'native', 'exec-child.js')
const spec = {path: '/bin/true', ignored: [], filter: {bpf: prep.bpf.toString('base64'), flags: prep.loadFlags, seccompNr: prep.seccompNr}}
const childArgs = [child, JSON.stringify(spec), '--', 'true']

const rows = [
  ['`true` directly', 'true', []],
  ['`node -e 0`', process.execPath, ['-e', '0']],
  ['`seccomp-gen --version` (oclif start-up)', cli, ['--version']],
  ['exec child alone (node + koffi + seccomp(2) + execve)', process.execPath, childArgs],
  ['`apply` small allowlist `-- true`', cli, ['apply', small, '--', 'true']],
  ["`apply` Docker's default `-- true`", cli, ['apply', dockerDefault, '--allow-unknown', '--', 'true']],
]
const samples = rows.map(() => [])
for (let i = 0; i < RUNS + 1; i++) {
  rows.forEach(([, cmd, args], k) => {
    const ms = time(cmd, args)
    if (i > 0) samples[k].push(ms) // first round warms the page cache
  })
}
const base = median(samples[0])
const node = median(samples[1])
const out = ['### apply start-up', '', `Wall time, median of ${RUNS} (interleaved, after one warm-up round).`, '', '| command | median ms | vs `true` | vs `node -e 0` |', '|---|---:|---:|---:|']
rows.forEach(([label], k) => {
  const m = median(samples[k])
  out.push(`| ${label} | ${m.toFixed(1)} | +${(m - base).toFixed(1)} ms | ${(m / node).toFixed(2)}× |`)
})
out.push('')
console.log(out.join('\n'))
rmSync(dir, {recursive: true, force: true})
