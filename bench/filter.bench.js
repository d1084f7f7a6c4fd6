#!/usr/bin/env node
// ### Filter size and cost
// For the profile built from each fixture (fixtures/*.obs.json, `seccomp-gen build`) and for
// Docker's default (test/anchors/docker-default.json), both compiled the same way by
// `seccomp-gen export --bpf` on this host: the BPF instruction count; then the cost of one
// syscall in a tight loop (a small C program compiled here with `cc`, run natively and under
// each profile through `seccomp-gen apply`, interleaved, median of ROUNDS) for getppid() and
// for a call every profile denies (syscall number 1000: ENOSYS natively, the default action
// under a filter, so the whole dispatch is walked).
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {compileLoop} from './loop-program.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'bin', 'seccomp-gen') // the command as installed (the launcher, then Node)
const dockerDefault = join(root, 'test', 'anchors', 'docker-default.json')
const ROUNDS = 9
const CALLS = 500_000
const DENIED_NR = 1000
const dir = mkdtempSync(join(tmpdir(), 'seccomp-gen-bench-filter-'))
const out = ['### Filter size and cost', '']
const problems = []

function sg(args) {
  return spawnSync(cli, args, {encoding: 'utf8', maxBuffer: 64 << 20})
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN
}
const lastLine = (s) => (s ?? '').trim().split('\n').filter(Boolean).pop() ?? ''

/** BPF instruction count through `export --json`, or null with the reason recorded. */
function instructions(profile, label, extra = []) {
  const r = sg(['export', profile, '--bpf', join(dir, `${label}.bpf`), '--json', ...extra])
  if (r.status !== 0) {
    problems.push(`export of ${label} failed (exit ${r.status}): ${lastLine(r.stderr)}`)
    return null
  }
  return JSON.parse(r.stdout).instructions
}

// 1. Profiles: built from each fixture, and Docker's default (as loaded on this host, and
//    reduced to the x86_64 ABI alone for a like-for-like count with single-ABI built profiles).
const profiles = []
const fixturesDir = join(root, 'fixtures')
const fixtures = existsSync(fixturesDir) ? readdirSync(fixturesDir).filter((f) => f.endsWith('.obs.json')).sort() : []
if (fixtures.length === 0) problems.push('no fixtures/*.obs.json yet: only Docker\'s default is measured')
for (const f of fixtures) {
  const outFile = join(dir, basename(f, '.obs.json') + '.profile.json')
  const r = sg(['build', '-o', outFile, join(fixturesDir, f)])
  if (r.status !== 0 || !existsSync(outFile)) {
    problems.push(`\`build ${f}\` failed (exit ${r.status}): ${lastLine(r.stderr)}`)
    continue
  }
  const p = JSON.parse(readFileSync(outFile, 'utf8'))
  const names = new Set((p.syscalls ?? []).flatMap((s) => (s.action === 'SCMP_ACT_ALLOW' ? s.names : [])))
  profiles.push({label: basename(f, '.obs.json'), path: outFile, names: names.size, arches: (p.architectures ?? []).length, applyArgs: []})
}
const dockerX64 = join(dir, 'docker-default-x86_64.json')
{
  const d = JSON.parse(readFileSync(dockerDefault, 'utf8'))
  delete d.archMap
  d.architectures = ['SCMP_ARCH_X86_64']
  writeFileSync(dockerX64, JSON.stringify(d))
}
const docker = {label: "Docker's default", path: dockerDefault, applyArgs: ['--allow-unknown'], docker: true}
const dockerOne = {label: "Docker's default, x86_64 ABI only", path: dockerX64, applyArgs: ['--allow-unknown'], docker: true}
for (const p of [...profiles, docker, dockerOne]) {
  p.insns = instructions(p.path, p.label.replace(/\W+/g, '_'))
  p.insnsO2 = instructions(p.path, p.label.replace(/\W+/g, '_') + '_o2', ['--optimize'])
}

// 2. The loop program.
const compiled = compileLoop(dir)
const {path: loop, linkage} = compiled
const haveLoop = !compiled.error
if (!haveLoop) problems.push(compiled.error)

function measure(p, nrArgs) {
  const cmd = [loop, String(CALLS), ...nrArgs]
  const r = p ? sg(['apply', p.path, ...p.applyArgs, '--', ...cmd]) : spawnSync(cmd[0], cmd.slice(1), {encoding: 'utf8'})
  const v = Number(lastLine(r.stdout))
  if (r.status !== 0 || !Number.isFinite(v)) return {fail: `exit ${r.status ?? r.signal}${r.stderr ? `: ${lastLine(r.stderr)}` : ''}`}
  return {ns: v}
}

const runs = new Map()
const key = (p, what) => `${p ? p.label : 'native'}|${what}`
if (haveLoop) {
  for (let round = 0; round < ROUNDS; round++) {
    for (const p of [null, ...profiles, docker, dockerOne]) {
      for (const [what, nrArgs] of [['getppid', []], ['denied', [String(DENIED_NR)]]]) {
        const m = measure(p, nrArgs)
        const k = key(p, what)
        if (!runs.has(k)) runs.set(k, {ns: [], fail: undefined})
        if (m.fail) runs.get(k).fail = m.fail
        else runs.get(k).ns.push(m.ns)
      }
    }
  }
}
const cost = (p, what) => {
  const r = runs.get(key(p, what))
  if (!r) return 'n/a'
  if (r.ns.length === 0) return `n/a (the C loop cannot run under this profile: ${r.fail})`
  return median(r.ns).toFixed(1)
}

// Is getppid allowed by the profile? Read from libseccomp's own PFC of the same compile.
const {compilePfc} = await import(join(root, 'dist', 'src', 'enforce', 'compile.js'))
const {loadProfile} = await import(join(root, 'dist', 'src', 'profile', 'load.js'))
const {toOci} = await import(join(root, 'dist', 'src', 'profile', 'resolve.js'))
const {dockerDefaultCaps} = await import(join(root, 'dist', 'src', 'enforce', 'caps.js'))
function getppidVerdict(p) {
  const {pfc} = compilePfc(toOci(loadProfile(p.path), {caps: dockerDefaultCaps()}))
  const m = /# filter for syscall "getppid" \(\d+\)[^\n]*\n\s*if \(\$syscall == \d+\)\n\s*action (\w+)/.exec(pfc)
  if (m) return m[1].toLowerCase()
  const def = /# default action\n\s*action ([\w()0-9]+);/.exec(pfc)
  return def ? `default ${def[1]}` : '?'
}

const dockerInsns = docker.insns
out.push(`BPF instruction counts from \`seccomp-gen export --bpf\` (libseccomp default optimization; binary tree with \`--optimize\` in brackets) on this ${process.arch} host. Docker's default is resolved as Docker does on this host (archMap → x86_64 + x86 + x32, default capabilities); the second Docker row keeps only the x86_64 ABI, like a profile built from x86_64 recordings.`)
out.push('')
out.push('| profile | allowed names | arches | BPF instructions | vs Docker default | target ≤ ⅓ |')
out.push('|---|---:|---:|---:|---:|:---:|')
for (const p of [...profiles, docker, dockerOne]) {
  const ratio = p.insns && dockerInsns ? p.insns / dockerInsns : NaN
  const insns = p.insns === null ? 'n/a' : `${p.insns} (${p.insnsO2 ?? 'n/a'})`
  out.push(`| ${p.label} | ${p.names ?? '—'} | ${p.arches ?? (p === docker ? 3 : 1)} | ${insns} | ${Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a'} | ${p.docker ? '' : ratio <= 1 / 3 ? 'yes' : 'no'} |`)
}
out.push('')
if (haveLoop) {
  out.push(`Cost of one syscall, ns (each run the best of 5 blocks of ${(CALLS / 5).toLocaleString('en')} calls, median of ${ROUNDS} runs, ${linkage} C loop, all rows interleaved in this run). \`denied\` is syscall ${DENIED_NR}: ENOSYS natively, the profile's default action under a filter.`)
  out.push('')
  out.push("| run | getppid ns | getppid under the profile | ×native | denied-call ns | ×native | both ≤ Docker's default |")
  out.push('|---|---:|---|---:|---:|---:|:---:|')
  const dockerCost = {g: Number(cost(docker, 'getppid')), d: Number(cost(docker, 'denied'))}
  const nat = {g: Number(cost(null, 'getppid')), d: Number(cost(null, 'denied'))}
  out.push(`| native | ${cost(null, 'getppid')} | — | 1.00 | ${cost(null, 'denied')} | 1.00 | |`)
  for (const p of [...profiles, docker, dockerOne]) {
    const g = cost(p, 'getppid')
    const d = cost(p, 'denied')
    const x = (v, n) => (Number.isFinite(Number(v)) && n ? (Number(v) / n).toFixed(2) : 'n/a')
    const measured = Number.isFinite(Number(g)) && Number.isFinite(Number(d))
    const ok = p.docker ? '' : !measured ? 'n/a' : Number(g) <= dockerCost.g && Number(d) <= dockerCost.d ? 'yes' : 'no'
    out.push(`| ${p.label} | ${g} | ${getppidVerdict(p)} | ${x(g, nat.g)} | ${d} | ${x(d, nat.d)} | ${ok} |`)
  }
  out.push('')
}
for (const pr of problems) out.push(`- note: ${pr}`)
if (problems.length) out.push('')
console.log(out.join('\n'))
rmSync(dir, {recursive: true, force: true})
