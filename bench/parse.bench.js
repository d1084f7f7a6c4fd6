#!/usr/bin/env node
// ### Parse throughput: strace parse throughput and peak RSS; then linear time.
//
// Builds a strace log (500 MB by default, PARSE_BENCH_MB; at least 200 MB to matter) by
// repeating every fixtures/*.strace (plus, when the fixtures are small, logs recorded now with
// strace in three formats), then measures on the same file in the same run: `wc -l`, a plain
// Node Buffer.indexOf line count over a createReadStream, observeFile(path) (what `build`
// runs on a raw log), the Observer fed by a createReadStream (what `record` does with
// strace's pipe). Each measurement runs in its own child process (so its peak RSS is its
// own; the time includes importing the parser and V8's warm-up); medians of 5, interleaved,
// with the range of the runs (this VM's speed moves in phases).
// Floors (issue 10): observeFile >= 250 MB/s and >= 0.12x the indexOf line count of the same
// run; peak RSS < 150 MB and flat.
// Both seccomp-gen readers also run on a quarter-size log: peak RSS stays flat, and the
// throughput there shows how much of the time is the fixed warm-up.
// Linear time: the Observer on each input of bench/parse-shapes.js at n and 8n (the work on
// them is counted in test/trace/fuzz.test.ts; here it is timed): linear gives ~8x the time,
// quadratic ~64x; above 24x the row says NOT linear and the bench fails.
// Needs `npm run build` first (imports ../dist).
import {spawnSync} from 'node:child_process'
import {createReadStream, createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, existsSync} from 'node:fs'
import {cpus, loadavg, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {fixtureLines, SHAPES} from './parse-shapes.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const TARGET = Number(process.env.PARSE_BENCH_MB ?? 500) * 1e6
const RUNS = Number(process.env.PARSE_BENCH_RUNS ?? 5)

/** CPU time of this process's main thread so far, ns (/proc: 10 ms steps) — the thread the parser runs on */
function mainThreadNs() {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ')
  return (Number(x[11]) + Number(x[12])) * 1e7
}

if (process.argv[2] === '--child') {
  const [, , , mode, file] = process.argv
  const t0 = process.hrtime.bigint()
  const m0 = mainThreadNs()
  let extra = {}
  if (mode === 'indexof') {
    let lines = 0
    for await (const chunk of createReadStream(file, {highWaterMark: 1 << 20})) {
      let i = -1
      while ((i = chunk.indexOf(10, i + 1)) !== -1) lines++
    }
    extra = {lines}
  } else if (mode === 'observer') {
    const {Observer} = await import(join(root, 'dist/src/trace/observe.js'))
    const o = new Observer({command: ['bench'], host: {kernel: 'bench', machine: 'x86_64'}})
    for await (const chunk of createReadStream(file, {highWaterMark: 1 << 20})) o.push(chunk)
    const obs = o.end()
    extra = {lines: obs.stats.lines, unparsed: obs.stats.unparsed, calls: o.stats.calls, distinct: o.stats.distinct}
  } else if (mode === 'observefile') {
    const {observeFile} = await import(join(root, 'dist/src/trace/observe.js'))
    const {observation: obs} = await observeFile(file, {command: ['bench'], host: {kernel: 'bench', machine: 'x86_64'}})
    extra = {lines: obs.stats.lines, unparsed: obs.stats.unparsed}
  }
  const ns = Number(process.hrtime.bigint() - t0)
  const cpu = process.cpuUsage()
  process.stdout.write(JSON.stringify({ns, cpuNs: (cpu.user + cpu.system) * 1000, mainNs: mainThreadNs() - m0, maxRssKiB: process.resourceUsage().maxRSS, ...extra}))
  process.exit(0)
}

function sources(tmp) {
  const fx = join(root, 'fixtures')
  const files = existsSync(fx) ? readdirSync(fx).filter((f) => f.endsWith('.strace')).sort().map((f) => join(fx, f)) : []
  const total = files.reduce((n, f) => n + statSync(f).size, 0)
  const recorded = []
  if (total < 256e3 && spawnSync('strace', ['-V']).status === 0) {
    // too little fixture text to be representative: add real logs recorded now
    const work = 'import os, socket, threading, subprocess\n' +
      's = socket.socket(); s.close()\n' +
      't = [threading.Thread(target=lambda: [os.listdir("/usr/lib") for _ in range(3)]) for _ in range(4)]\n' +
      '[x.start() for x in t]; [x.join() for x in t]\n' +
      'subprocess.run(["sh", "-c", "ls /nonexistent 2>/dev/null; echo hi | cat >/dev/null; tar -cf - /etc/hostname 2>/dev/null | wc -c >/dev/null"])\n'
    for (const [name, flags] of [['sym', []], ['raw', ['-X', 'raw']], ['yy', ['-yy', '-ttt', '-T']]]) {
      const out = join(tmp, `${name}.strace`)
      spawnSync('strace', ['-f', ...flags, '-o', out, 'python3', '-c', work], {stdio: 'ignore'})
      if (existsSync(out)) recorded.push(out)
    }
  }
  return {fixtures: files, recorded}
}

async function buildLog(path, parts, target) {
  const body = Buffer.concat(parts.map((p) => {
    const b = readFileSync(p)
    return b.length && b[b.length - 1] !== 10 ? Buffer.concat([b, Buffer.from('\n')]) : b
  }))
  const ws = createWriteStream(path)
  let size = 0
  while (size < target) {
    if (!ws.write(body)) await new Promise((r) => ws.once('drain', r))
    size += body.length
  }
  await new Promise((r, j) => ws.end((e) => (e ? j(e) : r())))
  return size
}

function child(mode, file) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, file], {encoding: 'utf8', maxBuffer: 1 << 20})
  if (r.status !== 0) throw new Error(`${mode} child failed: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

function wc(file) {
  // `times` after wc gives the CPU time of the child (user, system), like cpuUsage() for Node
  const t0 = process.hrtime.bigint()
  const r = spawnSync('sh', ['-c', 'wc -l "$1"; times', 'sh', file], {encoding: 'utf8'})
  const ns = Number(process.hrtime.bigint() - t0)
  if (r.status !== 0) throw new Error('wc failed')
  const out = r.stdout.trim().split('\n')
  const secs = (t) => { const m = /(\d+)m([\d.]+)s/.exec(t); return m ? Number(m[1]) * 60 + Number(m[2]) : 0 }
  const child = (out[out.length - 1] ?? '').trim().split(/\s+/)
  return {ns, cpuNs: (secs(child[0] ?? '') + secs(child[1] ?? '')) * 1e9, lines: Number(out[0].trim().split(/\s+/)[0])}
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** Rows of the linear-time table, and whether every shape stayed under 24x from n to 8n. */
async function linearTime() {
  const {Observer} = await import(join(root, 'dist/src/trace/observe.js'))
  const lines = fixtureLines(root)
  // best of 3: the run the other work on this machine disturbed least
  const timeOf = (log) => {
    let best = Infinity
    for (let k = 0; k < 3; k++) {
      const t = process.hrtime.bigint()
      const o = new Observer({command: ['t'], host: {kernel: 'bench', machine: 'x86_64'}})
      o.push(log)
      o.end()
      best = Math.min(best, Number(process.hrtime.bigint() - t))
    }
    return best
  }
  const n = 4000
  const rows = []
  let linear = true
  for (const [name, build] of SHAPES) {
    const small = build(n, lines)
    const big = build(8 * n, lines)
    timeOf(small) // V8 warm-up
    const t1 = timeOf(small)
    const t8 = timeOf(big)
    const ratio = t8 / t1
    if (ratio >= 24) linear = false
    rows.push(`| ${name} | ${(small.length / 1e3).toFixed(0)} kB | ${(t1 / 1e6).toFixed(2)} | ${(t8 / 1e6).toFixed(2)} | ${ratio.toFixed(1)}× | ${ratio < 24 ? 'linear' : 'NOT linear'} |`)
  }
  return {rows, linear}
}

const tmp = mkdtempSync(join(tmpdir(), 'sg-parse-bench-'))
try {
  const {fixtures, recorded} = sources(tmp)
  const parts = [...fixtures, ...recorded]
  if (parts.length === 0) throw new Error('no fixtures/*.strace and no strace to record with')
  const big = join(tmp, 'big.strace')
  const small = join(tmp, 'small.strace')
  const size = await buildLog(big, parts, TARGET)
  const smallSize = await buildLog(small, parts, TARGET / 4)

  // warm the page cache so every contender reads from memory
  for await (const _ of createReadStream(big, {highWaterMark: 1 << 22})) { /* read */ }

  const res = {wc: [], indexof: [], observefile: [], observer: []}
  const resSmall = {observefile: [], observer: []}
  for (let k = 0; k < RUNS; k++) {
    res.wc.push(wc(big))
    res.indexof.push(child('indexof', big))
    res.observefile.push(child('observefile', big))
    res.observer.push(child('observer', big))
  }
  for (let k = 0; k < RUNS; k++) {
    resSmall.observefile.push(child('observefile', small))
    resSmall.observer.push(child('observer', small))
  }

  const lines = res.wc[0].lines
  if (res.indexof[0].lines !== lines || res.observer[0].lines !== lines || res.observefile[0].lines !== lines) {
    throw new Error(`line counts differ: wc ${lines}, indexOf ${res.indexof[0].lines}, observeFile ${res.observefile[0].lines}, observer ${res.observer[0].lines}`)
  }
  const row = (name, xs, rss, bytes = size) => {
    const mbps = (ns) => bytes / 1e6 / (ns / 1e9)
    const ns = median(xs.map((x) => x.ns))
    const cpuNs = median(xs.map((x) => x.cpuNs))
    const mainNs = xs[0].mainNs === undefined ? NaN : median(xs.map((x) => x.mainNs))
    const walls = xs.map((x) => mbps(x.ns))
    return {name, ns, mbps: mbps(ns), lo: Math.min(...walls), hi: Math.max(...walls), cpuNs, cpuMbps: mbps(cpuNs), mainNs, mainMbps: mbps(mainNs), rss}
  }
  const rssOf = (xs) => median(xs.map((x) => x.maxRssKiB))
  const rows = [
    row('`wc -l`', res.wc, undefined),
    row('Node Buffer.indexOf line count (createReadStream, 1 MiB chunks)', res.indexof, rssOf(res.indexof)),
    row('seccomp-gen observeFile(path) (4 MiB reads; `build` on a raw log)', res.observefile, rssOf(res.observefile)),
    row('seccomp-gen Observer.push (createReadStream, 1 MiB chunks; as `record` reads strace)', res.observer, rssOf(res.observer)),
  ]
  const small2 = [
    row('seccomp-gen observeFile(path)', resSmall.observefile, rssOf(resSmall.observefile), smallSize),
    row('seccomp-gen Observer.push (createReadStream)', resSmall.observer, rssOf(resSmall.observer), smallSize),
  ]
  const obs = rows[2]
  const rssSmall = [small2[0].rss]
  // `times` reports CPU in 10 ms steps: wc's can round to 0
  const fmtRate = (x) => (Number.isFinite(x) ? x.toFixed(0) : '—')
  const fmtMB = (kib) => (kib === undefined ? '—' : `${(kib / 1024).toFixed(0)} MB`)
  const out = []
  out.push('### Parse throughput')
  out.push('')
  out.push(`Log: ${(size / 1e6).toFixed(0)} MB, ${lines.toLocaleString('en-US')} lines, built by repeating ` +
    `${parts.length} strace logs (${[...fixtures.map((f) => 'fixtures/' + f.split('/').pop()), ...recorded.map((f) => 'recorded now: ' + f.split('/').pop())].join(', ')}). ` +
    `Parser: ${res.observer[0].calls.toLocaleString('en-US')} calls, ${res.observer[0].distinct} distinct, ${res.observer[0].unparsed} unparsed lines. ` +
    `Median of ${RUNS} runs each, interleaved, page cache warm; each Node contender in its own process (peak RSS = its maxRSS).`)
  out.push('')
  const fmtS = (ns) => (Number.isFinite(ns) ? (ns / 1e9).toFixed(3) : '—')
  out.push('| Reader | Wall (s) | MB/s (wall) | MB/s (wall), range of the runs | CPU, main thread (s) | MB/s (main thread) | CPU, all threads (s) | MB/s (all threads) | observeFile ÷ this (wall) | Peak RSS |')
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const r of rows) {
    out.push(`| ${r.name} | ${(r.ns / 1e9).toFixed(3)} | ${r.mbps.toFixed(0)} | ${r.lo.toFixed(0)}–${r.hi.toFixed(0)} | ${fmtS(r.mainNs)} | ${fmtRate(r.mainMbps)} | ${(r.cpuNs / 1e9).toFixed(3)} | ${fmtRate(r.cpuMbps)} | ${(obs.mbps / r.mbps).toFixed(2)}× | ${fmtMB(r.rss)} |`)
  }
  out.push('')
  out.push(`CPU, main thread = user + system time of the thread that runs the parser (from /proc, 10 ms steps): the single core the parse takes. CPU, all threads = the whole process: Node's ~40 ms start-up and module loading, V8's compiler and GC threads, libuv's file-read thread; it can exceed the wall time, and shows the cost when other work shares the cores (load average now ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs).`)
  out.push('')
  out.push(`Same readers on a ${(smallSize / 1e6).toFixed(0)} MB log (the fixed cost — start-up, import, V8 warm-up — weighs more there):`)
  out.push('')
  out.push('| Reader | Wall (s) | MB/s (wall) | CPU (s) | MB/s (CPU) | Peak RSS |')
  out.push('|---|---:|---:|---:|---:|---:|')
  for (const r of small2) out.push(`| ${r.name} | ${(r.ns / 1e9).toFixed(3)} | ${r.mbps.toFixed(0)} | ${(r.cpuNs / 1e9).toFixed(3)} | ${r.cpuMbps.toFixed(0)} | ${fmtMB(r.rss)} |`)
  out.push('')
  const rssBig = Math.max(rows[2].rss, rows[3].rss)
  out.push(`Peak RSS of observeFile: ${fmtMB(median(rssSmall))} on the ${(smallSize / 1e6).toFixed(0)} MB log, ` +
    `${fmtMB(obs.rss)} on the ${(size / 1e6).toFixed(0)} MB log (flat: memory does not grow with the log). ` +
    `Floors (observeFile, ${(size / 1e6).toFixed(0)} MB log, wall, median): ≥ 250 MB/s → ${obs.mbps.toFixed(0)}, ${obs.mbps >= 250 ? 'met' : 'NOT met'}; ` +
    `≥ 0.12× the indexOf line count of this run (${rows[1].mbps.toFixed(0)} MB/s) → ${(obs.mbps / rows[1].mbps).toFixed(2)}×, ${obs.mbps / rows[1].mbps >= 0.12 ? 'met' : 'NOT met'}; ` +
    `peak RSS < 150 MB → ${rssBig / 1024 < 150 ? 'met' : 'NOT met'}. Load average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}).`)
  out.push('')
  const lin = await linearTime()
  out.push(`Linear time: the Observer on inputs built at size n and 8n (bench/parse-shapes.js), best of 3 after a warm-up; linear ≈ 8×, quadratic ≈ 64×.`)
  out.push('')
  out.push('| Input | Size at n | n (ms) | 8n (ms) | 8n ÷ n | |')
  out.push('|---|---:|---:|---:|---:|---|')
  out.push(...lin.rows)
  out.push('')
  console.log(out.join('\n'))
  if (!lin.linear) process.exitCode = 1
} finally {
  rmSync(tmp, {recursive: true, force: true})
}
