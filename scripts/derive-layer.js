#!/usr/bin/env node
// Re-derive a runtime layer (profiles/runtimes/*.json) against the installed runtime, by ablation.
//
// A layer is the set of syscalls a runtime makes after it has loaded the container's seccomp
// filter and before the container's process runs. We find it from the outside: a busybox bundle
// runs a small workload under an allowlist = workload minimum (always allowed, WORKLOAD_MINIMUM) +
// candidates (by default every name Docker's default profile, test/anchors/docker-default.json,
// allows). Then:
//   1. group elimination: drop a block of candidates; if the container still starts in all
//      --runs tries, the block goes for good, otherwise split it in two and try each half;
//   2. intermittent calls (runc's Go runtime needs futex only now and then): --trace runs go
//      under strace, which widens the races, with a distinctive default errno (EHWPOISON); names
//      denied before the container's execve in a run that failed are kept while traced runs
//      fail without them (not for runsc: its filter lives inside the sandbox, not in the kernel);
//   3. greedy one at a time over the other survivors: each is removed for --confirm tries; it
//      stays only if the container fails without it (what failed is kept as evidence);
//   4. stability: the final set runs --stability times plain and --trace times under strace.
// A control run first checks that the runtime enforces the filter at all (the workload must
// fail without mkdir), so an ignored linux.seccomp cannot pass for an empty layer.
// Done once with process.noNewPrivileges true and once with false. Prints the layer JSON in
// the profiles/runtimes/*.json format; --out also writes it.
//
//   node scripts/derive-layer.js --runtime runc|crun|runsc [--nnp true|false|both]
//        [--runs N] [--confirm N] [--stability N] [--trace N] [--candidates PROFILE.json] [--out FILE] [--verbose]
//
// Needs root and the runtime (runc: 45-90 s; crun: 10-15 s; runsc, ~0.2 s a run: about 35 s).
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {makeBundle, runBundle, runtimeUnavailable, setBundleSeccomp, which} from './runtime-harness.js'

const here = dirname(fileURLToPath(import.meta.url))
const repo = resolve(here, '..')

// What busybox sh itself needs for the workload below once it runs, plus exit and execve's
// companions that are never a runtime's business. Never ablated.
const WORKLOAD_MINIMUM = ['arch_prctl', 'brk', 'clone', 'exit_group', 'mkdir', 'mprotect', 'rt_sigreturn', 'wait4', 'write']
const WORKLOAD = ['/bin/sh', '-c', 'mkdir /tmp/d && echo sg-layer-ok']
const MARK = 'sg-layer-ok'

const HOST_ARCH = {x64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64', ia32: 'SCMP_ARCH_X86', ppc64: 'SCMP_ARCH_PPC64LE', s390x: 'SCMP_ARCH_S390X', riscv64: 'SCMP_ARCH_RISCV64'}

function usage(msg) {
  process.stderr.write(`derive-layer: ${msg}\nusage: node scripts/derive-layer.js --runtime runc|crun|runsc [--nnp true|false|both] [--runs N] [--confirm N] [--stability N] [--trace N] [--candidates PROFILE.json] [--out FILE] [--verbose]\n`)
  process.exit(2)
}

function parseArgs(argv) {
  const o = {runtime: '', nnp: 'both', runs: 2, confirm: 6, stability: 20, trace: 8, candidates: '', out: '', verbose: false}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`))
    if (a === '--runtime') o.runtime = val()
    else if (a === '--nnp') o.nnp = val()
    else if (a === '--runs') o.runs = Number(val())
    else if (a === '--confirm') o.confirm = Number(val())
    else if (a === '--stability') o.stability = Number(val())
    else if (a === '--trace') o.trace = Number(val())
    else if (a === '--candidates') o.candidates = val()
    else if (a === '--out') o.out = val()
    else if (a === '--verbose' || a === '-v') o.verbose = true
    else if (a === '--help' || a === '-h') usage('help')
    else usage(`unknown argument ${a}`)
  }
  if (!['runc', 'crun', 'runsc'].includes(o.runtime)) usage('--runtime must be runc, crun or runsc')
  if (!['true', 'false', 'both'].includes(o.nnp)) usage('--nnp must be true, false or both')
  for (const k of ['runs', 'confirm', 'stability']) if (!Number.isInteger(o[k]) || o[k] < 1) usage(`--${k} must be a positive integer`)
  if (!Number.isInteger(o.trace) || o.trace < 0) usage('--trace must be a non-negative integer')
  return o
}

/** Every name an ALLOW rule of a Docker/OCI profile lists (any condition): the candidate set. */
function loadCandidates(path) {
  const p = path || join(repo, 'test', 'anchors', 'docker-default.json')
  let prof
  try {
    prof = JSON.parse(readFileSync(p, 'utf8'))
  } catch (err) {
    usage(`cannot read candidates ${p}: ${err.message}`)
  }
  const names = new Set()
  for (const r of prof.syscalls ?? []) {
    if (r.action !== 'SCMP_ACT_ALLOW') continue
    for (const n of r.names ?? (r.name ? [r.name] : [])) names.add(n)
  }
  for (const n of WORKLOAD_MINIMUM) names.delete(n)
  return {path: p, names: [...names].sort()}
}

function runtimeVersion(rt) {
  const r = spawnSync(rt, ['--version'], {encoding: 'utf8'})
  const m = /version\s+(\S+)/.exec(r.stdout ?? '')
  return m ? m[1] : 'unknown'
}

const EHWPOISON = 133

/** The threads of `pid`'s process in a strace -f log: linked by clone(CLONE_THREAD) either way. */
function threadGroup(lines, pid) {
  const links = new Map()
  const link = (a, b) => {
    for (const [x, y] of [[a, b], [b, a]]) links.set(x, [...(links.get(x) ?? []), y])
  }
  const pending = new Set()
  for (const l of lines) {
    const m = /^(\d+)\s+(.*)$/.exec(l)
    if (!m) continue
    const [, who, rest] = m
    const cloneThread = /^clone3?\(.*CLONE_THREAD/.test(rest)
    if (cloneThread && rest.endsWith('<unfinished ...>')) { pending.add(who); continue }
    if (cloneThread || (pending.has(who) && /^<\.\.\. clone3? resumed>/.test(rest))) {
      pending.delete(who)
      const ret = /= (\d+)$/.exec(rest)
      if (ret) link(who, ret[1])
    }
  }
  const group = new Set([pid])
  const todo = [pid]
  while (todo.length) for (const n of links.get(todo.pop()) ?? []) if (!group.has(n)) { group.add(n); todo.push(n) }
  return group
}

/** Index of the strace line where the container's process is exec'd (-1: never). */
function workloadExec(lines) {
  return lines.findIndex((l) => l.includes(`execve("${WORKLOAD[0]}"`) && !/= -1 /.test(l))
}

function profileOf(allowed, errno = 1) {
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: errno,
    architectures: [HOST_ARCH[process.arch] ?? 'SCMP_ARCH_NATIVE'],
    syscalls: [{names: [...new Set([...WORKLOAD_MINIMUM, ...allowed])].sort(), action: 'SCMP_ACT_ALLOW'}],
  }
}

function main() {
  const o = parseArgs(process.argv.slice(2))
  const why = runtimeUnavailable(o.runtime)
  if (why) { process.stderr.write(`derive-layer: cannot run: ${why}\n`); process.exit(1) }
  const cand = loadCandidates(o.candidates)
  const log = (s) => { if (o.verbose) process.stderr.write(`${s}\n`) }
  const bundle = makeBundle({args: WORKLOAD})
  let runsTotal = 0
  const t0 = Date.now()

  /** Does the container start and finish the workload under this allowlist, `n` times out of `n`? */
  async function starts(allowed, n, nnp) {
    setBundleSeccomp(bundle.configPath, profileOf(allowed), {noNewPrivileges: nnp})
    for (let i = 0; i < n; i++) {
      runsTotal++
      const r = await runBundle(o.runtime, bundle.dir)
      if (r.code !== 0 || !r.stdout.includes(MARK)) {
        const what = r.timedOut ? 'timed out' : `exit ${r.code ?? r.signal}`
        return {ok: false, evidence: `${what}: ${(r.stderr || r.stdout).trim().split('\n').slice(-1)[0]?.slice(0, 200) ?? ''}`}
      }
    }
    return {ok: true}
  }

  /**
   * Run under strace with a distinctive default errno (EHWPOISON) `o.trace` times; return how
   * many runs failed and, per name, in how many failed runs it was denied before the
   * container's execve. strace slows the runtime down, which makes its races (Go's futex and
   * nanosleep in runc init) show far more often than in plain runs.
   */
  async function traced(allowed, nnp) {
    const found = new Map()
    let failed = 0
    setBundleSeccomp(bundle.configPath, profileOf(allowed, EHWPOISON), {noNewPrivileges: nnp})
    const dir = mkdtempSync(join(tmpdir(), 'sg-derive-trace-'))
    try {
      for (let i = 0; i < o.trace; i++) {
        const log = join(dir, `${i}.log`)
        runsTotal++
        const r = await runBundle(o.runtime, bundle.dir, {wrap: ['strace', '-f', '-qq', '-o', log], timeoutMs: 60_000})
        if (r.code === 0 && r.stdout.includes(MARK)) continue
        failed++
        const lines = existsSync(log) ? readFileSync(log, 'utf8').split('\n') : []
        const seen = new Set()
        const exec = workloadExec(lines)
        for (const l of exec < 0 ? lines : lines.slice(0, exec)) {
          if (!l.includes('EHWPOISON')) continue
          const m = /^\d+\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()/.exec(l)
          const name = m && (m[1] ?? m[2])
          if (name && !allowed.includes(name) && !seen.has(name)) { seen.add(name); found.set(name, (found.get(name) ?? 0) + 1) }
        }
      }
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
    return {failed, found}
  }

  /**
   * What the runtime calls between loading the filter and the workload's execve, in one traced
   * run with every candidate allowed (the union over its processes and threads).
   */
  async function observedAfterLoad(allowed, nnp) {
    setBundleSeccomp(bundle.configPath, profileOf(allowed), {noNewPrivileges: nnp})
    const dir = mkdtempSync(join(tmpdir(), 'sg-derive-obs-'))
    const names = new Set()
    try {
      const log = join(dir, 'obs.log')
      runsTotal++
      await runBundle(o.runtime, bundle.dir, {wrap: ['strace', '-f', '-qq', '-o', log], timeoutMs: 60_000})
      const lines = existsSync(log) ? readFileSync(log, 'utf8').split('\n') : []
      const exec = workloadExec(lines)
      // the filter load that took (runc probes seccomp() with NULL filters first)
      let load = -1
      for (let i = 0; i < exec; i++) if (/prctl\(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, \{|seccomp\(SECCOMP_SET_MODE_FILTER, [^,]*, \{/.test(lines[i])) load = i
      if (load < 0 || exec < 0) return undefined
      // Only the loading process and its threads run under the filter (the runtime's parent
      // process keeps working meanwhile): follow CLONE_THREAD children of the loader's group.
      const group = threadGroup(lines, lines[load].split(/\s/)[0])
      for (const l of lines.slice(load + 1, exec + 1)) {
        const m = /^(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()/.exec(l)
        if (m && group.has(m[1])) names.add(m[2] ?? m[3])
      }
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
    return names
  }

  async function stability(allowed, nnp, runs = o.stability) {
    let fails = 0
    let last = ''
    setBundleSeccomp(bundle.configPath, profileOf(allowed), {noNewPrivileges: nnp})
    for (let i = 0; i < runs; i++) {
      runsTotal++
      const r = await runBundle(o.runtime, bundle.dir)
      if (r.code !== 0 || !r.stdout.includes(MARK)) { fails++; last = (r.stderr || r.stdout).trim().split('\n').slice(-1)[0] ?? '' }
    }
    return {fails, text: `${runs - fails}/${runs} runs started${fails ? ` (last failure: ${last.slice(0, 200)})` : ''}`}
  }

  async function derive(nnp) {
    const base = await starts(cand.names, 3, nnp)
    if (!base.ok) throw new Error(`the container does not start even with every candidate allowed (nnp=${nnp}): ${base.evidence}`)
    // Control: the workload needs mkdir; if it still succeeds without it, the filter is not enforced.
    setBundleSeccomp(bundle.configPath, {...profileOf(cand.names), syscalls: [{names: [...WORKLOAD_MINIMUM, ...cand.names].filter((n) => n !== 'mkdir').sort(), action: 'SCMP_ACT_ALLOW'}]}, {noNewPrivileges: nnp})
    runsTotal++
    const control = await runBundle(o.runtime, bundle.dir)
    if (control.code === 0 && control.stdout.includes(MARK)) throw new Error(`${o.runtime} does not enforce linux.seccomp here (the workload ran with mkdir denied); no layer can be measured`)
    // 1. group elimination (blocks of 32, halving on failure)
    let keep = [...cand.names]
    const queue = []
    for (let i = 0; i < keep.length; i += 32) queue.push(keep.slice(i, i + 32))
    while (queue.length) {
      const block = queue.shift()
      const without = keep.filter((n) => !block.includes(n))
      const r = await starts(without, o.runs, nnp)
      if (r.ok) { keep = without; log(`nnp=${nnp} drop ${block.join(' ')}`) }
      else if (block.length > 1) { const h = block.length >> 1; queue.unshift(block.slice(0, h), block.slice(h)) }
      else log(`nnp=${nnp} keep ${block[0]}`)
    }
    const evidence = {}
    // 2. intermittent calls, seen under strace (runc and crun; runsc filters inside its sandbox)
    let intermittent = []
    const canTrace = o.trace > 0 && o.runtime !== 'runsc' && Boolean(which('strace'))
    if (canTrace) {
      const t = await traced(keep, nnp)
      intermittent = [...t.found.keys()].sort()
      for (const [n, k] of t.found) evidence[n] = `intermittent: denied before exec in ${k} of ${t.failed}/${o.trace} traced runs that failed`
      log(`nnp=${nnp} traced: ${t.failed}/${o.trace} failed; denied before exec: ${intermittent.join(' ') || 'none'}`)
    }
    // 3. one at a time over the survivors, greedily (a name goes if the container still starts
    //    without it, so two interchangeable names cannot both leave); intermittent names stay.
    //    Names the runtime does not call when all is allowed go first: when a denied call has a
    //    fallback (Go's faccessat2 -> getegid/geteuid emulation), the layer keeps the real call.
    const observed = canTrace ? await observedAfterLoad(cand.names, nnp) : undefined
    if (observed) log(`nnp=${nnp} called under the filter before exec (all allowed): ${[...observed].sort().join(' ')}`)
    const order = observed ? [...keep.filter((n) => !observed.has(n)), ...keep.filter((n) => observed.has(n))] : keep
    let layer = [...intermittent, ...keep.filter((n) => !intermittent.includes(n))]
    for (const n of order) {
      if (intermittent.includes(n)) continue
      const r = await starts(layer.filter((k) => k !== n), o.confirm, nnp)
      if (r.ok) { layer = layer.filter((k) => k !== n); log(`nnp=${nnp} ${n} not needed`) } else evidence[n] = r.evidence
    }
    // 4. prune intermittent names: keep one only if traced runs fail without it
    for (const n of intermittent) {
      const without = layer.filter((k) => k !== n)
      const t = await traced(without, nnp)
      if (!t.failed) { layer = without; delete evidence[n]; log(`nnp=${nnp} intermittent ${n} not needed (${o.trace}/${o.trace} traced runs started)`) }
      else evidence[n] += `; without it ${t.failed}/${o.trace} traced runs failed`
    }
    // 5. stability of the final set
    const st = await stability(layer, nnp)
    let text = st.text
    if (canTrace) { const t = await traced(layer, nnp); text += `; ${o.trace - t.failed}/${o.trace} under strace` }
    return {layer: layer.sort(), evidence, stability: text, observed: observed ? [...observed].sort() : undefined}
  }

  return (async () => {
    const result = {}
    try {
      for (const nnp of o.nnp === 'both' ? [true, false] : [o.nnp === 'true']) result[String(nnp)] = await derive(nnp)
    } finally {
      bundle.cleanup()
    }
    const version = runtimeVersion(o.runtime)
    const traceable = o.trace > 0 && o.runtime !== 'runsc' && Boolean(which('strace'))
    const out = {
      runtime: o.runtime,
      measured: {
        version,
        how: `scripts/derive-layer.js: ablation on a busybox bundle (workload ${JSON.stringify(WORKLOAD.join(' '))}), ` +
          `candidates = ALLOW names of ${cand.path.replace(/^.*\//, '')} (${cand.names.length}) minus the workload minimum ` +
          `[${WORKLOAD_MINIMUM.join(' ')}]; group elimination x${o.runs}, greedy one-at-a-time x${o.confirm}, ${traceable ? `strace of ${o.trace} runs for intermittent calls` : (o.runtime === 'runsc' ? 'no strace phase (the filter lives in the sandbox, not the host kernel)' : 'no strace phase')}, ` +
          `${runsTotal} runs in ${Math.round((Date.now() - t0) / 1000)} s on ${process.arch}, ${new Date().toISOString().slice(0, 10)}`,
        stability: Object.fromEntries(Object.entries(result).map(([k, v]) => [k, v.stability])),
        evidence: Object.fromEntries(Object.entries(result).map(([k, v]) => [k, v.evidence])),
        calledAfterLoad: Object.fromEntries(Object.entries(result).filter(([, v]) => v.observed).map(([k, v]) => [k, v.observed])),
      },
      nnp: Object.fromEntries(Object.entries(result).map(([k, v]) => [k, v.layer])),
      comment: `Syscalls ${o.runtime} ${version} makes after loading the container's filter and before the workload runs; ` +
        'a name is kept only if the container fails to start without it.',
    }
    const text = JSON.stringify(out, null, 2) + '\n'
    if (o.out) writeFileSync(o.out, text)
    process.stdout.write(text)
  })()
}

main().catch((err) => {
  process.stderr.write(`derive-layer: ${err.message}\n`)
  process.exit(1)
})
