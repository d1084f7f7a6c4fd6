#!/usr/bin/env node
// ### apply --complain / --explain: cost per call
// The cost of one getppid() in a tight loop (a small C program compiled here with `cc`, the best
// of 5 blocks, median of ROUNDS runs, rows interleaved) natively, under plain `apply`, and under
// `apply --complain` / `--explain`: once with getppid allowed by the profile (it must cost what
// it costs under plain apply: the kernel answers it, no notification), once with getppid denied
// (ERRNO), so that every call is a seccomp user notification answered by the supervisor
// (CONTINUE under --complain, the errno under --explain). The difference to plain apply's
// denied call is the cost per notified call.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'bin', 'seccomp-gen') // the command as installed (the launcher, then Node)
const ROUNDS = Number(process.env.NOTIFY_BENCH_ROUNDS ?? 7)
const ALLOWED_CALLS = 500_000
const NOTIFIED_CALLS = Number(process.env.NOTIFY_BENCH_CALLS ?? 50_000)
const dir = mkdtempSync(join(tmpdir(), 'seccomp-gen-bench-notify-'))
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN
}
const lastLine = (s) => (s ?? '').trim().split('\n').filter(Boolean).pop() ?? ''

const src = join(dir, 'loop.c')
writeFileSync(src, `#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  for (long i = 0; i < n / 10; i++) syscall(SYS_getppid);
  double best = 1e18;
  for (int b = 0; b < 5; b++) {
    double t0 = now();
    for (long i = 0; i < n / 5; i++) syscall(SYS_getppid);
    double per = (now() - t0) / (n / 5);
    if (per < best) best = per;
  }
  printf("%.2f\\n", best);
  return 0;
}
`)
const loop = join(dir, 'loop')
let cc = spawnSync('cc', ['-O2', '-static', '-o', loop, src], {encoding: 'utf8'})
if (cc.status !== 0) cc = spawnSync('cc', ['-O2', '-o', loop, src], {encoding: 'utf8'})
const out = ['### apply --complain / --explain: cost per call', '']
if (cc.status !== 0 || !existsSync(loop) || statSync(loop).size === 0) {
  out.push(`n/a: cannot compile the loop program with cc: ${lastLine(cc.stderr) || cc.error?.message}`, '')
  console.log(out.join('\n'))
  process.exit(0)
}

// everything allowed (the loop's own start-up included), getppid allowed or denied
const allowAll = join(dir, 'allowed.json')
writeFileSync(allowAll, JSON.stringify({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_ERRNO'}]}))
const denyGetppid = join(dir, 'denied.json')
writeFileSync(denyGetppid, JSON.stringify({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['getppid'], action: 'SCMP_ACT_ERRNO'}]}))

const rows = [
  ['getppid natively', null, [], ALLOWED_CALLS],
  ['allowed, plain `apply`', allowAll, [], ALLOWED_CALLS],
  ['allowed, `apply --complain`', allowAll, ['--complain'], ALLOWED_CALLS],
  ['allowed, `apply --explain`', allowAll, ['--explain'], ALLOWED_CALLS],
  ['denied (ERRNO), plain `apply`', denyGetppid, [], ALLOWED_CALLS],
  ['denied, `apply --complain` (notified, CONTINUE)', denyGetppid, ['--complain'], NOTIFIED_CALLS],
  ['denied, `apply --explain` (notified, errno)', denyGetppid, ['--explain'], NOTIFIED_CALLS],
]
const samples = rows.map(() => [])
const fails = rows.map(() => undefined)
for (let round = 0; round < ROUNDS; round++) {
  rows.forEach(([, profile, flags, calls], k) => {
    const cmd = [loop, String(calls)]
    const r = profile ? spawnSync(cli, ['apply', profile, ...flags, '--', ...cmd], {encoding: 'utf8'}) : spawnSync(cmd[0], cmd.slice(1), {encoding: 'utf8'})
    const v = Number(lastLine(r.stdout))
    if (r.status !== 0 || !Number.isFinite(v)) fails[k] = `exit ${r.status ?? r.signal}: ${lastLine(r.stderr)}`
    else samples[k].push(v)
  })
}
const plainDenied = median(samples[4])
out.push(`ns per getppid() call, median of ${ROUNDS} runs (each the best of 5 blocks; ${ALLOWED_CALLS.toLocaleString('en')} calls a run, ${NOTIFIED_CALLS.toLocaleString('en')} when notified), rows interleaved.`, '')
out.push('| getppid | ns per call | notified call costs |', '|---|---:|---:|')
rows.forEach(([label], k) => {
  const m = median(samples[k])
  const extra = k >= 5 && samples[k].length ? `+${((m - plainDenied) / 1000).toFixed(1)} µs` : ''
  out.push(`| ${label} | ${samples[k].length ? m.toFixed(1) : `n/a (${fails[k]})`} | ${extra} |`)
})
out.push('')
console.log(out.join('\n'))
rmSync(dir, {recursive: true, force: true})
