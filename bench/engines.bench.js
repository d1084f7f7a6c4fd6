#!/usr/bin/env node
// ### Recording engines
// The same workloads natively, under `seccomp-gen record --engine bpf` and under
// `record --engine strace` (bin/seccomp-gen, as users run it: Node start-up, the engine's
// loading, the exec child and the atomic write all count), the fixed cost of a recording, and
// what a process outside the recorded tree pays while a bpf recording runs (the tracepoints
// fire for every task on the host; the program filters first). Every time is the wall clock of
// one process from spawn to exit. Medians, all rows interleaved round by round in one run so
// drift hits them alike. Prints a Markdown section. `npm run bench -- engines` runs only this.
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'bin', 'seccomp-gen') // the command as installed (the launcher, then Node)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const STRACE_ROUNDS = Math.max(1, Math.min(ROUNDS, Number(process.env.BENCH_STRACE_ROUNDS ?? ROUNDS))) // strace runs are the slow ones
const HOST_PER_ROUND = 3 // the dd beside a recording is short and noisy: more samples, cheaply
const title = '### Recording engines'

if (!existsSync(join(root, 'dist', 'src', 'trace', 'bpf', 'engine.js'))) {
  console.error('engines.bench: build first (npm run bench builds)')
  process.exit(1)
}

const tmp = mkdtempSync(join(tmpdir(), 'seccomp-gen-bench-engines-'))
process.on('exit', () => rmSync(tmp, {recursive: true, force: true}))

// `record --engine bpf` where it cannot run says why in one line (exit 4): then this section says it
const probe = spawnSync(cli, ['record', '-q', '--engine', 'bpf', '-o', join(tmp, 'probe.json'), '--', 'true'], {encoding: 'utf8'})
if (probe.status !== 0) {
  console.log(`${title}\n\nskipped: the bpf engine cannot run here: ${probe.stderr.trim()}\n`)
  process.exit(0)
}
const haveStrace = spawnSync('strace', ['-V']).status === 0

// python3 as the user's PATH resolves it, taken down to the interpreter itself: a pyenv shim is
// a bash script that would add its own start-up (and its own syscalls) to every row
const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], {encoding: 'utf8'}).stdout?.trim()
if (!python) {
  console.error('engines.bench: python3 is not installed')
  process.exit(1)
}

const DD_COUNT = 200000
const PY_LOOP = 300000
const dd = ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${DD_COUNT}`]
const workloads = [
  {name: `\`dd if=/dev/zero of=/dev/null bs=1 count=${DD_COUNT}\` (syscall-bound, the worst case)`, short: 'dd',
    argv: dd, target: 3},
  {name: `python loop of ${PY_LOOP.toLocaleString('en')} \`os.getppid()\` (\`${python} -c …\`)`, short: 'python getppid',
    argv: [python, '-c', `import os\nfor _ in range(${PY_LOOP}): os.getppid()`], target: 2.5},
  // stdout is /dev/null (stdio 'ignore'); tar's archive is its pipe to gzip, so tar reads every file
  {name: '`tar czf - /usr/share/doc > /dev/null`', short: 'tar czf', argv: ['tar', 'czf', '-', '/usr/share/doc'], target: 1.2},
]
const engines = haveStrace ? ['bpf', 'strace'] : ['bpf']
const obsPath = (w, e) => join(tmp, `${w.short.replace(/\W+/g, '-')}.${e}.json`)
const record = (engine, obs, argv) => [cli, 'record', '-q', '--engine', engine, '-o', obs, '--', ...argv]

// wall clock of one process from spawn to exit; `ok` lists the exit statuses that are not failures
function time(argv, ok = [0]) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(argv[0], argv.slice(1), {stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20})
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  if (!ok.includes(r.status)) throw new Error(`${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`)
  return s
}

// dd's own CPU time (user + system) besides its wall clock, from GNU time: the BPF program runs
// in the context of the task that makes the call, so its cost is charged there, and CPU time
// moves less than wall time when other work shares the cores
const gnuTime = existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%U', 'true']).status === 0
const cpuFile = join(tmp, 'cpu.txt')
function timeWithCpu(argv) {
  if (!gnuTime) return {wall: time(argv), cpu: NaN}
  const wall = time(['/usr/bin/time', '-f', '%U %S', '-o', cpuFile, ...argv])
  const [user, sys] = readFileSync(cpuFile, 'utf8').trim().split('\n').pop().split(' ').map(Number)
  return {wall, cpu: user + sys}
}

// Raw-tracepoint BPF links held by processes other than this bench's: another recording (or
// tracer) running meanwhile would make "no recording running" untrue, so the section says so
function foreignTracepointLinks() {
  const holders = new Set()
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue
    let fds
    try { fds = readdirSync(`/proc/${pid}/fd`) } catch { continue }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:bpf_link') continue
        if (/link_type:\s*raw_tracepoint/.test(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))) holders.add(Number(pid))
      } catch {} // closed meanwhile
    }
  }
  return [...holders]
}

// Fixed cost: every row is a whole command; `record -- true` minus `true` is what a recording adds
const fixedRows = [
  {name: '`true` directly', argv: ['true']},
  {name: '`node -e 0`', argv: [process.execPath, '-e', '0'], node: true},
  {name: '`seccomp-gen --version` (the CLI\'s own start-up, common to every command)', argv: [cli, '--version'], version: true},
  {name: '`record --engine bpf -- true`', argv: record('bpf', join(tmp, 'true.bpf.json'), ['true']), engine: 'bpf'},
]
if (haveStrace) fixedRows.push({name: '`record --engine strace -- true`', argv: record('strace', join(tmp, 'true.strace.json'), ['true']), engine: 'strace'})

// The pid of a process called `comm` below `top` (record's exec child, or strace's child), once
// it exists. CMD is exec'd only once the recording is live (the bpf probes attached, or strace
// tracing its child), so a `sleep` there says the recording is under way.
async function descendantNamed(top, comm, child) {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`record exited (${child.exitCode}) before ${comm} ran`)
    const parent = new Map()
    const named = []
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue
      let stat
      try { stat = readFileSync(`/proc/${d}/stat`, 'utf8') } catch { continue } // gone meanwhile
      const close = stat.lastIndexOf(')')
      parent.set(Number(d), Number(stat.slice(close + 2).split(' ')[1]))
      if (stat.slice(stat.indexOf('(') + 1, close) === comm) named.push(Number(d))
    }
    for (const pid of named) {
      for (let p = parent.get(pid); p > 1; p = parent.get(p)) if (p === top) return pid
    }
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`no ${comm} under record after 60 s`)
}

// dd run as a separate process, outside the recorded tree, while `record --engine E -- sleep`
// runs; then the sleep is ended (record exits with its status, 128 + SIGTERM) and the
// observation is kept to show that dd's calls are not in it. The strace engine is the control:
// ptrace stops only the tree, so what dd pays beside it is what an idle recorder costs.
const besideObs = (engine) => join(tmp, `beside.${engine}.json`)
async function ddBesideRecording(engine) {
  const rec = spawn(cli, ['record', '-q', '--engine', engine, '-o', besideObs(engine), '--', 'sleep', '600'], {stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  rec.stderr.setEncoding('utf8').on('data', (d) => { stderr += d })
  const exited = new Promise((resolve) => rec.on('exit', (code, signal) => resolve(code ?? signal)))
  let sleepPid, s
  try {
    sleepPid = await descendantNamed(rec.pid, 'sleep', rec) // the launcher execs Node: same pid
    s = timeWithCpu(dd)
  } finally { // never leave a recording behind, even when dd failed
    if (sleepPid) process.kill(sleepPid, 'SIGTERM')
    else if (rec.exitCode === null) rec.kill('SIGINT')
  }
  const status = await exited
  if (status !== 143) throw new Error(`record -- sleep ended with ${status}, not 143: ${stderr}`)
  return s
}

// one warm-up run of each native workload (tar's files into the page cache), not counted
for (const w of workloads) time(w.argv)

const samples = {} // key → seconds
const add = (key, s) => { (samples[key] ??= []).push(s) }
const addWithCpu = (key, {wall, cpu}) => { add(key, wall); add(`${key}/cpu`, cpu) }
// Other recordings on a shared host (other engineers' tests) slow every process: look for them
// between the measurements and say how often they were there
const foreignSeen = new Set()
let checks = 0
let busyChecks = 0
function othersRecording() {
  const pids = foreignTracepointLinks()
  checks++
  if (pids.length) busyChecks++
  for (const p of pids) foreignSeen.add(p)
  return pids.length > 0
}
const HOST_RETRIES = 10 // per round, for the host rows, whose baseline needs a host with no recording
let discarded = 0
let keptBusy = 0 // groups kept with another recording around them, once the retries ran out

const load0 = loadavg()
for (let round = 0; round < ROUNDS; round++) {
  for (const w of workloads) {
    othersRecording()
    add(`${w.short}/native`, time(w.argv))
    for (const e of engines) {
      if (e === 'strace' && round >= STRACE_ROUNDS) continue
      add(`${w.short}/${e}`, time(record(e, obsPath(w, e), w.argv)))
    }
  }
  othersRecording()
  for (const r of fixedRows) add(`fixed/${r.name}`, time(r.argv))
  // a group (dd alone, dd beside each engine) counts only if no other recording was seen
  // before or after it; else it is measured again
  for (let i = 0, tries = 0; i < HOST_PER_ROUND;) {
    const busyBefore = othersRecording()
    const group = [['beside/alone', timeWithCpu(dd)]]
    for (const e of engines) group.push([`beside/${e}`, await ddBesideRecording(e)])
    const busy = busyBefore || othersRecording()
    if (busy && ++tries <= HOST_RETRIES) { discarded++; continue }
    if (busy) keptBusy++
    for (const [k, v] of group) addWithCpu(k, v)
    i++
  }
}
othersRecording()
const load1 = loadavg()

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const med = (key) => median(samples[key])
const min = (key) => Math.min(...samples[key])
const max = (key) => Math.max(...samples[key])
const n = (key) => samples[key].length
const f3 = (x) => x.toFixed(3)
const ms = (x) => (x * 1000).toFixed(0)
const x2 = (x) => `${x.toFixed(2)}×`
const met = (ok) => (ok ? 'met' : '**NOT met**')

// calls an observation holds, summed over ABIs and names (the two engines should agree on dd and python)
function callsIn(path) {
  const o = JSON.parse(readFileSync(path, 'utf8'))
  let total = 0
  for (const abi of Object.values(o.abis)) for (const c of Object.values(abi.syscalls)) total += c.count
  return total
}

const fixedKey = (engine) => `fixed/${fixedRows.find((r) => r.engine === engine).name}`
const trueNative = med(`fixed/${fixedRows[0].name}`)
const fixedCost = Object.fromEntries(engines.map((e) => [e, med(fixedKey(e)) - trueNative])) // what a recording adds to a command

const out = [title, '']
out.push(`Every time is the wall clock of one process from spawn to exit, seconds, median of ${ROUNDS} runs ` +
  `(the strace rows: ${STRACE_ROUNDS}${STRACE_ROUNDS < ROUNDS ? ', fewer because they are slow' : ''}), all rows interleaved round by round. ` +
  'The record rows run `bin/seccomp-gen record -q --engine E -o FILE -- CMD`, so their total includes the fixed cost of a recording ' +
  '(Node and CLI start-up, loading the engine, writing the observation); the last column subtracts that engine\'s fixed cost ' +
  '(its `record -- true` minus `true` directly, from the table below) to show the per-syscall toll alone. Both are given, and each is checked against the issue\'s target below.', '')
out.push('| workload | run | runs | median s | min | max | × native (total) | × native, that engine\'s fixed cost subtracted | calls in the observation |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|')
const verdicts = []
for (const w of workloads) {
  const native = med(`${w.short}/native`)
  out.push(`| ${w.name} | native | ${n(`${w.short}/native`)} | ${f3(native)} | ${f3(min(`${w.short}/native`))} | ${f3(max(`${w.short}/native`))} | 1.00× | | |`)
  for (const e of engines) {
    const k = `${w.short}/${e}`
    const total = med(k) / native
    const net = (med(k) - fixedCost[e]) / native
    out.push(`| | \`record --engine ${e}\` | ${n(k)} | ${f3(med(k))} | ${f3(min(k))} | ${f3(max(k))} | ${x2(total)} | ${x2(net)} | ${callsIn(obsPath(w, e)).toLocaleString('en')} |`)
    if (e === 'bpf') verdicts.push(`${w.short}: bpf ${x2(total)} native (target ≤ ${w.target}×: ${met(total <= w.target)}); ` +
      `${x2(net)} with the fixed cost subtracted (${met(net <= w.target)})`)
  }
}
out.push('')
out.push(`Targets (issue #11, bpf engine): ${verdicts.join('; ')}.`, '')

const nodeMed = med(`fixed/${fixedRows.find((r) => r.node).name}`)
const versionMed = med(`fixed/${fixedRows.find((r) => r.version).name}`)
out.push('Fixed cost of a recording: whole commands, milliseconds.', '')
out.push('| command | runs | median ms | min | max | − `node -e 0` | − `seccomp-gen --version` |', '|---|---:|---:|---:|---:|---:|---:|')
for (const r of fixedRows) {
  const k = `fixed/${r.name}`
  const m = med(k)
  out.push(`| ${r.name} | ${n(k)} | ${ms(m)} | ${ms(min(k))} | ${ms(max(k))} | ${m - nodeMed >= 0 ? '+' : ''}${ms(m - nodeMed)} | ${r.engine ? `+${ms(m - versionMed)}` : ''} |`)
}
out.push('')
const bpfOverNode = med(fixedKey('bpf')) - nodeMed
out.push(`**\`record --engine bpf -- true\` − \`node -e 0\`: ${ms(bpfOverNode)} ms** (target ≤ 150 ms: ${met(bpfOverNode <= 0.150)}); ` +
  `of it, the CLI's own start-up (\`--version\` − \`node -e 0\`) is ${ms(versionMed - nodeMed)} ms and the bpf engine ` +
  `(\`record --engine bpf -- true\` − \`--version\`) ${ms(med(fixedKey('bpf')) - versionMed)} ms.`, '')

const alone = med('beside/alone')
const beside = med('beside/bpf')
out.push('What other processes pay: the dd above, run as a separate process outside the recorded tree, with no recording running ' +
  'and while `record --engine E -- sleep 600` runs (started, waited for until its exec child has become `sleep`, so the recording is live; ' +
  'ended after dd by SIGTERM to the sleep). The strace row is the control: ptrace stops only the recorded tree.', '')
const aloneCpu = med('beside/alone/cpu')
const cpuCell = (k) => (gnuTime ? `${med(`${k}/cpu`).toFixed(2)} | ${x2(med(`${k}/cpu`) / aloneCpu)}` : '— | —')
out.push('| dd outside the tree | runs | wall median s | min | max | wall × alone | dd\'s CPU s (user + sys, GNU time, 10 ms steps), median | CPU × alone | calls in the sleep\'s observation |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|')
out.push(`| no recording running | ${n('beside/alone')} | ${f3(alone)} | ${f3(min('beside/alone'))} | ${f3(max('beside/alone'))} | 1.00× | ${cpuCell('beside/alone')} | |`)
for (const e of engines) {
  const k = `beside/${e}`
  out.push(`| while \`record --engine ${e} -- sleep\` runs | ${n(k)} | ${f3(med(k))} | ${f3(min(k))} | ${f3(max(k))} | ${x2(med(k) / alone)} | ${cpuCell(k)} | ${callsIn(besideObs(e)).toLocaleString('en')} |`)
}
out.push('')
out.push(`A process outside the tree takes **${x2(beside / alone)}** its time alone while a bpf recording runs ` +
  `(≈${(((beside - alone) / (2 * DD_COUNT)) * 1e9).toFixed(0)} ns more per syscall over dd's ≈${(2 * DD_COUNT / 1000).toFixed(0)}k calls` +
  `${gnuTime ? `; its CPU time ${x2(med('beside/bpf/cpu') / aloneCpu)}` : ''}); ` +
  (callsIn(besideObs('bpf')) < DD_COUNT ? 'none of its calls is in the recording (the sleep\'s observation holds only the sleep\'s own).'
    : '**its calls are in the sleep\'s observation: the engine recorded outside its tree**.'), '')
out.push(`Other recordings on the host: checked ${checks} times between measurements (processes holding raw-tracepoint BPF links, ` +
  `this bench's own excluded): ${busyChecks ? `**seen ${busyChecks} times** (pids ${[...foreignSeen].join(', ')}); they slow whatever runs meanwhile` : 'none seen'}. ` +
  `Host rows: ${discarded} group${discarded === 1 ? '' : 's'} measured again because another recording was running around ${discarded === 1 ? 'it' : 'them'}` +
  `${keptBusy ? `; **${keptBusy} kept with one around, the retries having run out**` : ''}.`, '')
out.push(`Python: \`${python}\`. Load average ${load0.map((l) => l.toFixed(2)).join(' ')} at the start, ${load1.map((l) => l.toFixed(2)).join(' ')} at the end.`, '')
console.log(out.join('\n'))
