#!/usr/bin/env node
// Runs every bench/*.bench.js in turn (each in its own process, so peak RSS is its own) and
// prints their Markdown sections after a header with the machine details. Each bench measures
// its baseline in the same run and reports medians and ratios. `npm run bench -- NAME` runs one.
import {spawnSync} from 'node:child_process'
import {readdirSync, mkdirSync, writeFileSync, readFileSync} from 'node:fs'
import {cpus, totalmem, release} from 'node:os'
import {fileURLToPath} from 'node:url'
import {dirname, join} from 'node:path'

const here = dirname(fileURLToPath(import.meta.url))
const only = process.argv.slice(2)
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort()
const strace = spawnSync('strace', ['-V'], {encoding: 'utf8'}).stdout?.split('\n')[0] ?? 'strace missing'
let distro = ''
try { distro = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '' } catch {}
const header = [
  `Machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
    `kernel ${release()}, ${distro}, Node ${process.version}, ${strace}`,
  `Date: ${new Date().toISOString().slice(0, 10)}`,
  '',
].join('\n')
console.log(header)
const out = [header]
let failed = 0
for (const f of files) {
  const r = spawnSync(process.execPath, ['--expose-gc', join(here, f)], {stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 << 20})
  process.stdout.write(r.stdout ?? '')
  out.push(r.stdout ?? '')
  if (r.status !== 0) { failed++; console.error(`bench ${f} failed with status ${r.status ?? r.signal}`) }
}
mkdirSync(join(here, 'out'), {recursive: true})
writeFileSync(join(here, 'out', 'results.md'), out.join('\n'))
process.exitCode = failed ? 1 : 0
