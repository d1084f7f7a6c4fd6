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
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {compileLoop} from './loop-program.js'

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

const compiled = compileLoop(dir)
const loop = compiled.path
const out = ['### apply --complain / --explain: cost per call', '']
if (compiled.error) {
  out.push(`n/a: ${compiled.error}`, '')
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
