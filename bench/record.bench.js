#!/usr/bin/env node
// Record overhead: the same syscall-heavy program natively, under bare strace, under strace with
// record's flag set writing to /dev/null, and under `seccomp-gen record` (bin/seccomp-gen, so
// Node start-up, the strace probe, the FIFO, the parser and the atomic write all count).
// Medians of 5, the variants interleaved round by round so drift hits all of them alike.
// Prints a Markdown section. `npm run bench -- record` runs only this one.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'bin', 'seccomp-gen') // the command as installed (the launcher, then Node)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const COUNT = Number(process.env.BENCH_DD_COUNT ?? 100000)

if (!existsSync(join(root, 'dist', 'src', 'trace', 'strace-args.js'))) {
  console.error('record.bench: build first (npm run bench builds)')
  process.exit(1)
}
if (spawnSync('strace', ['-V']).status !== 0) {
  console.log('### Record overhead\n\nskipped: strace is not installed (apt-get install strace)\n')
  process.exit(0)
}
const {TRACE_FLAGS} = await import(join(root, 'dist', 'src', 'trace', 'strace-args.js'))

const tmp = mkdtempSync(join(tmpdir(), 'seccomp-gen-bench-record-'))
const obs = join(tmp, 'dd.obs.json')
const dd = ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${COUNT}`]
const variants = [
  {name: 'native', argv: dd},
  {name: 'bare `strace -f -qq -o /dev/null`', argv: ['strace', '-f', '-qq', '-o', '/dev/null', ...dd], baseline: true},
  {name: "strace with record's flags, `-o /dev/null`", argv: ['strace', ...TRACE_FLAGS, '-o', '/dev/null', '--', ...dd], sameFlags: true},
  {name: '`seccomp-gen record -o FILE`', argv: [cli, 'record', '-q', '-o', obs, '--', ...dd], record: true},
  {name: '`seccomp-gen record -- true` (fixed start-up cost)', argv: [cli, 'record', '-q', '-o', join(tmp, 'true.obs.json'), '--', 'true']},
]

function time(argv) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(argv[0], argv.slice(1), {stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'})
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`)
  return s
}

const times = variants.map(() => [])
let obsBytes = 0
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < variants.length; i++) times[i].push(time(variants[i].argv))
  }
  obsBytes = statSync(obs).size
} finally {
  rmSync(tmp, {recursive: true, force: true})
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const med = times.map(median)
const base = med[variants.findIndex((v) => v.baseline)]
const rec = med[variants.findIndex((v) => v.record)]
const ratio = rec / base
const same = med[variants.findIndex((v) => v.sameFlags)]
const f = (x) => x.toFixed(3)

const out = []
out.push('### Record overhead', '')
out.push(`\`dd if=/dev/zero of=/dev/null bs=1 count=${COUNT}\` (≈${(2 * COUNT / 1000).toFixed(0)}k syscalls); medians of ${ROUNDS} runs, variants interleaved; seconds.`, '')
out.push('| run | median | min | max | × bare strace |', '|---|---:|---:|---:|---:|')
variants.forEach((v, i) => {
  out.push(`| ${v.name} | ${f(med[i])} | ${f(Math.min(...times[i]))} | ${f(Math.max(...times[i]))} | ${(med[i] / base).toFixed(2)} |`)
})
out.push('')
out.push(`**record / bare strace: ${ratio.toFixed(2)}×** (target ≤ 1.10×: ${ratio <= 1.1 ? 'met' : 'NOT met'}). ` +
  `record / strace with the same flags to /dev/null: ${(rec / same).toFixed(2)}× (isolates what Node start-up, the FIFO and the parser add; a value below 1 means that cost is lost in run-to-run variation). Observation written: ${obsBytes} bytes.`)
out.push('')
console.log(out.join('\n'))
