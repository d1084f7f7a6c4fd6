#!/usr/bin/env node
// ### Build throughput: `seccomp-gen build` over a raw strace log of >= 1 GB.
//
// The log is made by repeating the recorded fixtures/*.strace (plus a log of a small python workload
// recorded now with `strace -f`, when the fixtures are tiny) up to 250 MB and 1 GB, in temp
// files deleted afterwards. Each size: the CLI (`bin/seccomp-gen build -q -o OUT LOG`) as a
// child process, its wall time and peak RSS (GNU time's %M, else VmHWM polled from
// /proc/PID/status), median of RUNS; the baseline `wc -l` on the same file in the same run;
// and the CLI on a one-line log to show the fixed start-up cost. Needs `npx tsc -p .` first.
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeSync, closeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'bin', 'seccomp-gen') // the command as installed (the launcher, then Node)
const RUNS = Number(process.env.BUILD_BENCH_RUNS ?? 3)
const SIZES = (process.env.BUILD_BENCH_MB ?? '250,1000').split(',').map((s) => Number(s) * 1e6)
const tmp = mkdtempSync(join(tmpdir(), 'seccomp-gen-bench-build-'))
const gnuTime = existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status === 0

function unit() {
  const fx = join(root, 'fixtures')
  // recorded logs only: the hand-made ones switch ABIs on pids the other logs reuse
  const parts = existsSync(fx) ? readdirSync(fx).filter((f) => f.endsWith('.strace') && !f.startsWith('handmade')).sort().map((f) => readFileSync(join(fx, f))) : []
  let size = parts.reduce((n, b) => n + b.length, 0)
  if (size < 1e6) {
    const log = join(tmp, 'workload.strace')
    const py = 'import os, socket, subprocess, threading\n' +
      'for _ in range(3): socket.socket().close()\n' +
      'ts = [threading.Thread(target=os.listdir, args=("/usr/lib",)) for _ in range(4)]\n' +
      '[t.start() for t in ts]; [t.join() for t in ts]\n' +
      'subprocess.run(["sh", "-c", "echo x | cat >/dev/null; ls /nonexistent 2>/dev/null; mkdir -p /tmp/sg-bench-d"])\n'
    if (spawnSync('strace', ['-f', '-o', log, 'python3', '-c', py], {stdio: 'ignore'}).status === 0) {
      parts.push(readFileSync(log))
      size += parts.at(-1).length
    }
  }
  if (!size) throw new Error('no strace text to repeat (no fixtures/*.strace and strace/python3 unavailable)')
  return Buffer.concat(parts.map((b) => (b.at(-1) === 10 ? b : Buffer.concat([b, Buffer.from('\n')]))))
}

function makeLog(u, bytes, name) {
  const file = join(tmp, name)
  const fd = openSync(file, 'w')
  const block = Buffer.concat(Array(Math.max(1, Math.floor((8 << 20) / u.length))).fill(u))
  let written = 0
  while (written < bytes) { writeSync(fd, block); written += block.length }
  closeSync(fd)
  return file
}

/** Run a command, return {ms, rssKiB}; RSS from GNU time or from /proc VmHWM polling. */
function measure(cmd, args) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const argv = gnuTime ? ['/usr/bin/time', ['-f', 'SGRSS %M', cmd, ...args]] : [cmd, args]
    const child = spawn(argv[0], argv[1], {stdio: ['ignore', 'ignore', 'pipe']})
    let err = ''
    let hwm = 0
    child.stderr.on('data', (d) => (err += d))
    const poll = gnuTime ? null : setInterval(() => {
      try { hwm = Math.max(hwm, Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0)) } catch {}
    }, 20)
    child.on('close', (code) => {
      if (poll) clearInterval(poll)
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))
      const m = /SGRSS (\d+)/.exec(err)
      resolve({ms, rssKiB: m ? Number(m[1]) : hwm})
    })
  })
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]

try {
  const u = unit()
  const tiny = makeLog(u.subarray(0, u.indexOf(10) + 1), 1, 'tiny.strace')
  const rows = []
  const start = []
  for (let i = 0; i < RUNS; i++) start.push((await measure(cli, ['build', '-q', '-o', join(tmp, 'tiny.json'), tiny])).ms)
  for (const target of SIZES) {
    const log = makeLog(u, target, `log-${target}.strace`)
    const size = statSync(log).size
    const build = []
    const wc = []
    let rss = 0
    for (let i = 0; i < RUNS; i++) {
      wc.push((await measure('wc', ['-l', log])).ms)
      const r = await measure(cli, ['build', '-q', '-o', join(tmp, 'out.json'), log])
      build.push(r.ms)
      rss = Math.max(rss, r.rssKiB)
    }
    rows.push({size, build: median(build), wc: median(wc), rss})
    rmSync(log)
  }
  const mb = (b) => b / 1e6
  const out = [
    '### Build throughput',
    '',
    `\`seccomp-gen build -q -o OUT LOG\` on a raw strace log made by repeating the fixture logs` +
      ` (${(u.length / 1024).toFixed(0)} KiB unit, ${u.toString('latin1').split('\n').length - 1} lines), run as a child process;` +
      ` median of ${RUNS}; peak RSS from ${gnuTime ? 'GNU time %M' : '/proc VmHWM'} (max of the runs). Baseline: \`wc -l\` on the same file.` +
      ` CLI start-up (a one-line log): ${median(start).toFixed(0)} ms, included in the build times.`,
    '',
    '| log size | build | build MB/s | MB/s without start-up | `wc -l` | `wc -l` MB/s | build / wc time | build peak RSS |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${mb(r.size).toFixed(0)} MB | ${(r.build / 1000).toFixed(2)} s | ${(mb(r.size) / (r.build / 1000)).toFixed(0)} | ` +
      `${r.build > 2 * median(start) ? (mb(r.size) / ((r.build - median(start)) / 1000)).toFixed(0) : 'n/a'} | ` +
      `${(r.wc / 1000).toFixed(2)} s | ${(mb(r.size) / (r.wc / 1000)).toFixed(0)} | ${(r.build / r.wc).toFixed(1)}× | ${(r.rss / 1024).toFixed(0)} MiB |`),
    '',
    rows.length > 1 ? `Peak RSS from ${mb(rows[0].size).toFixed(0)} MB to ${mb(rows.at(-1).size).toFixed(0)} MB of log: ` +
      `${(rows[0].rss / 1024).toFixed(0)} → ${(rows.at(-1).rss / 1024).toFixed(0)} MiB (the log is streamed; memory holds only the per-syscall tallies).` : '',
    '',
  ]
  process.stdout.write(out.join('\n') + '\n')
} finally {
  rmSync(tmp, {recursive: true, force: true})
}
