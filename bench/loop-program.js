// The C loop that times one syscall: `loop N [NR]` makes syscall NR (default getppid) N/10
// times to warm up, then 5 blocks of N/5 calls, and prints the best block's ns per call.
// Shared by bench/filter.bench.js and bench/notify.bench.js; not a bench itself (bench/run.js
// runs *.bench.js).
import {spawnSync} from 'node:child_process'
import {existsSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

export const LOOP_SOURCE = `#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  long nr = argc > 2 ? atol(argv[2]) : SYS_getppid;
  for (long i = 0; i < n / 10; i++) syscall(nr);
  double best = 1e18;
  for (int b = 0; b < 5; b++) {
    double t0 = now();
    for (long i = 0; i < n / 5; i++) syscall(nr);
    double per = (now() - t0) / (n / 5);
    if (per < best) best = per;
  }
  printf("%.2f\\n", best);
  return 0;
}
`

/**
 * Compile the loop into `dir` with `cc`, statically when the toolchain can (no dynamic loader in
 * what is timed), else dynamically. Returns {path, linkage: 'static' | 'dynamic'}, or {error}
 * (one line) when cc cannot build it.
 */
export function compileLoop(dir) {
  const src = join(dir, 'loop.c')
  const path = join(dir, 'loop')
  writeFileSync(src, LOOP_SOURCE)
  let cc = spawnSync('cc', ['-O2', '-static', '-o', path, src], {encoding: 'utf8'})
  let linkage = 'static'
  if (cc.status !== 0) {
    cc = spawnSync('cc', ['-O2', '-o', path, src], {encoding: 'utf8'})
    linkage = 'dynamic'
  }
  if (cc.status === 0 && existsSync(path) && statSync(path).size > 0) return {path, linkage}
  const why = (cc.stderr ?? '').trim().split('\n').filter(Boolean).pop() || cc.error?.message
  return {error: `cannot compile the loop program with cc: ${why}`}
}
