#!/usr/bin/env node
// ### Widening (`build --widen imports`)
// Issue #14's measurement: does widening a recorded profile with the syscalls a program's ELF
// imports can reach remove the false denials a single recording leaves, while the risky probes
// stay denied and the profile stays well under Docker's default? Counts, not times.
//
// For each program of the corpus (CASES below): input 1 is recorded with `bin/seccomp-gen
// record` (engine auto); the profile is built from that one recording without and with
// `--widen imports` (`--runtime none`: apply runs no container runtime; the default errno
// replaced by a marker, EHWPOISON, that no program here meets natively). Then each input 2 —
// other paths than input 1: other sizes, an error (a missing file, a full disk), a closed pipe
// (SIGPIPE/EPIPE), output to /dev/null, threads, other flags — runs natively twice and under
// `bin/seccomp-gen apply` with each profile, every run in a fresh directory. A false denial:
// under the profile, input 2's exit status, stdout or stderr differs from the native run (a
// stream the two native runs disagree on is not compared). The calls the profile denied are
// named from a recording of the apply run (the names that returned the marker errno: the
// filter's answer, nothing else returns it), and, from a native recording of input 2, the names
// input 2 makes that the profile does not allow (evaluated with their recorded argument values).
// The risky probes (unshare, mount, bpf, keyctl, ptrace, W+X mmap, an AF_NETLINK socket, an
// x32 call) are evaluated on each profile with the project's evaluator
// (dist/src/profile/evaluate.js, Docker's default capabilities, this host's x86_64), not run.
// Names are counted as the project resolves a profile for an x86_64 host (toOci with Docker's
// default capabilities): every name an ALLOW rule lists, argument-conditional rules included;
// Docker's default (test/anchors/docker-default.json) is counted the same way.
//
// Needs (Debian 12 packages): gzip xz-utils bzip2 zstd sqlite3 git curl make python3 perl
// nodejs coreutils tar busybox-static dash openssl grep jq binutils, plus strace or a kernel the
// bpf engine runs on. Runs its programs one at a time. `npm run bench -- widen` runs only this.
import {spawn, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {loadavg, release, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'bin', 'seccomp-gen') // the command as installed (the launcher, then Node)
const dist = join(root, 'dist', 'src')
const MARKER = 'EHWPOISON'
const TIMEOUT_MS = 120_000
const title = '### Widening (`build --widen imports`)'

const {loadProfile} = await import(join(dist, 'profile', 'load.js'))
const {toOci} = await import(join(dist, 'profile', 'resolve.js'))
const {evaluator} = await import(join(dist, 'profile', 'evaluate.js'))
const {defaultCaps} = await import(join(dist, 'profile', 'data.js'))
const {knownSyscall} = await import(join(dist, 'syscall-table.js'))
const caps = defaultCaps()

const tmp = mkdtempSync(join(tmpdir(), 'seccomp-gen-bench-widen-'))
let server
process.on('exit', () => {
  server?.kill()
  rmSync(tmp, {recursive: true, force: true})
})

const widenHelp = spawnSync(cli, ['build', '--help'], {encoding: 'utf8'}).stdout ?? ''
const canWiden = /--widen/.test(widenHelp)

// ---- shared inputs (made once, natively) ----
const S = join(tmp, 'shared')
mkdirSync(join(S, 'tree', 'a', 'b'), {recursive: true})
mkdirSync(join(S, 'home'))
writeFileSync(join(S, 'data.txt'), Array.from({length: 50_000}, (_, i) => `${i + 1}\n`).join('')) // 290 KB
{
  // 4 MB, compressible but not trivially: pseudo-random words from a fixed seed
  let x = 12345
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima']
  const lines = []
  let size = 0
  while (size < 4 << 20) {
    x = (x * 1103515245 + 12345) % 2147483648
    const line = `${x % 99991} ${words[x % 12]} ${words[(x >> 8) % 12]} ${(x >> 4) % 7777}\n`
    lines.push(line)
    size += line.length
  }
  writeFileSync(join(S, 'big.txt'), lines.join(''))
}
writeFileSync(join(S, 'tree', 'numbers.txt'), Array.from({length: 2000}, (_, i) => `${i + 1}\n`).join(''))
writeFileSync(join(S, 'tree', 'a', 'small.txt'), 'small 99\n')
writeFileSync(join(S, 'tree', 'a', 'b', 'zeros.bin'), Buffer.alloc(20000))
symlinkSync('../numbers.txt', join(S, 'tree', 'a', 'link'))
writeFileSync(join(S, 'small.json'), JSON.stringify({a: [1, 2, 3], b: {c: 'd'}}))
writeFileSync(join(S, 'work.py'), `import hashlib, json, os, subprocess, sys, tempfile
from concurrent.futures import ThreadPoolExecutor
data = open(sys.argv[1], 'rb').read()
def digest(k):
    return hashlib.sha256(data[k::4]).hexdigest()[:16]
with ThreadPoolExecutor(2) as ex:
    print(json.dumps(sorted(ex.map(digest, range(4)))))
with tempfile.TemporaryDirectory() as d:
    p = os.path.join(d, 'x')
    os.symlink(sys.argv[1], p)
    print(os.path.getsize(os.path.realpath(p)), len(list(os.scandir(d))))
print(subprocess.run(['echo', 'child'], capture_output=True, text=True).stdout.strip())
for line in data.decode().splitlines():
    print(line)
`)
writeFileSync(join(S, 'work.mjs'), `import {createServer, connect} from 'node:net'
import {readFile} from 'node:fs/promises'
import {gzip} from 'node:zlib'
import {promisify} from 'node:util'
import {createHash} from 'node:crypto'
import {execFileSync} from 'node:child_process'
const data = await readFile(process.argv[2])
const z = await promisify(gzip)(data)
console.log('sha', createHash('sha256').update(z).digest('hex').slice(0, 16), z.length > 0)
console.log(execFileSync('echo', ['child']).toString().trim())
const srv = createServer((s) => s.end('pong')).listen(0, '127.0.0.1', () => {
  const c = connect(srv.address().port, '127.0.0.1')
  let got = ''
  c.on('data', (d) => (got += d)).on('end', () => { console.log(got); srv.close() })
})
`)
writeFileSync(join(S, 'Makefile'), `all: out.txt
out.txt: in.txt
\tcat in.txt > out.txt
in.txt:
\techo hello > in.txt
par: a.out b.out c.out
\t@cat a.out b.out c.out
a.out b.out c.out:
\t@echo $@ > $@
fail:
\t@exit 3
`)
const sh = (cmd, cwd = S) => {
  const r = spawnSync('sh', ['-c', cmd], {cwd, encoding: 'utf8', env: runEnv()})
  if (r.status !== 0) throw new Error(`setup \`${cmd}\` failed: ${r.stderr}`)
}
sh('tar -cf tree.tar tree && tar -czf tree.tgz tree')

function runEnv() {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: join(S, 'home'), LANG: 'C', LC_ALL: 'C', TZ: 'UTC',
    GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@example.org', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@example.org',
    GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z', GIT_CONFIG_NOSYSTEM: '1',
  }
}

// a git repository with three commits, made in each run's directory (input 2 changes it)
const gitRepo = (dir) => sh('git init -q -b main . && for i in 1 2 3; do seq $i 9000 > f$i.txt; git add .; git commit -qm c$i; done', dir)

// a local HTTP server for curl (the corpus' network client talks to it on loopback)
server = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', S], {stdio: ['ignore', 'pipe', 'ignore']})
const port = await new Promise((resolve, reject) => {
  let out = ''
  server.stdout.on('data', (d) => {
    out += d
    const m = / port (\d+)/.exec(out)
    if (m) resolve(Number(m[1]))
  })
  server.on('exit', (c) => reject(new Error(`http.server exited ${c}`)))
  setTimeout(() => reject(new Error('http.server did not start')), 10_000)
})
const url = `http://127.0.0.1:${port}`

const python = '/usr/bin/python3' // the interpreter itself (a pyenv shim would be a bash script)
const scripts = join(root, 'fixtures', 'scripts')
// stdout: 'pipe' (compared), 'null' (/dev/null), 'full' (/dev/full: ENOSPC), 'closed' (a pipe
// whose reader leaves after one byte: SIGPIPE or EPIPE)
const CASES = [
  {name: 'busybox sh (fixture; static)', in1: ['busybox', 'sh', join(scripts, 'shell-workload.sh')],
    in2: [{what: '`busybox gzip -c big.txt`, stdout closed', argv: ['busybox', 'gzip', '-c', join(S, 'big.txt')], stdout: 'closed'},
      {what: '`busybox sh -c` ls a missing dir', argv: ['busybox', 'sh', '-c', 'ls -l /nonexistent; cd /nonexistent']}]},
  {name: 'dash (fixture)', in1: ['dash', join(scripts, 'shell-workload.sh')],
    in2: [{what: 'ulimit, umask, redirection, a missing file', argv: ['dash', '-c', 'ulimit -n; umask 077; echo x > f; cat f nosuchfile']}]},
  {name: 'sh tar-gzip.sh (fixture)', in1: ['sh', join(scripts, 'tar-gzip.sh')],
    in2: [{what: '`tar -xzf tree.tgz` (extract only)', argv: ['tar', '-xzf', join(S, 'tree.tgz')]}]},
  {name: 'python3 http-server.py (fixture)', in1: [python, join(scripts, 'http-server.py')],
    in2: [{what: 'another script: threads, tempdir, symlink, subprocess; stdout closed', argv: [python, join(S, 'work.py'), join(S, 'big.txt')], stdout: 'closed'},
      {what: 'a missing file (traceback)', argv: [python, '-c', 'open("missing")']}]},
  {name: 'node node-workers.mjs (fixture)', in1: [process.execPath, join(scripts, 'node-workers.mjs')],
    in2: [{what: 'another script: fs/promises, zlib, child process, loopback TCP', argv: [process.execPath, join(S, 'work.mjs'), join(S, 'big.txt')]}]},
  {name: 'perl', in1: ['perl', '-ne', '$n++ if /7/; END { print "$n\\n" }', join(S, 'data.txt')],
    in2: [{what: 'readdir, pipe, fork, a missing file', argv: ['perl', '-e', 'opendir(D, "."); my @f = readdir D; pipe(R, W); if (fork) { close W; print <R>; wait } else { close R; print W "child\\n"; exit 0 } open(my $f, "<", "missing") or die "no: $!\\n"']}]},
  {name: 'gzip', in1: ['gzip', '-c', join(S, 'data.txt')], stdout1: 'null',
    in2: [{what: '`-9` on 4 MB, stdout closed', argv: ['gzip', '-9', '-c', join(S, 'big.txt')], stdout: 'closed'},
      {what: '`-t` on a file that is not gzip', argv: ['gzip', '-t', join(S, 'data.txt')]}]},
  {name: 'xz', in1: ['xz', '-c', join(S, 'data.txt')], stdout1: 'null',
    in2: [{what: '`-T2` on 4 MB (threads), stdout /dev/null', argv: ['xz', '-T2', '-c', join(S, 'big.txt')], stdout: 'null'},
      {what: '`-dc` on a file that is not xz', argv: ['xz', '-dc', join(S, 'data.txt')]}]},
  {name: 'bzip2', in1: ['bzip2', '-c', join(S, 'data.txt')], stdout1: 'null',
    in2: [{what: '4 MB to /dev/full (ENOSPC)', argv: ['bzip2', '-c', join(S, 'big.txt')], stdout: 'full'}]},
  {name: 'zstd', in1: ['zstd', '-q', '-c', join(S, 'data.txt')], stdout1: 'null',
    in2: [{what: '`-T2` on 4 MB (threads), stdout /dev/null', argv: ['zstd', '-q', '-T2', '-c', join(S, 'big.txt')], stdout: 'null'},
      {what: '`-d` of a missing file', argv: ['zstd', '-q', '-d', 'missing.zst']}]},
  {name: 'sqlite3', in1: ['sqlite3', 't.db', 'create table t(a); insert into t values (1), (2); select sum(a) from t;'],
    in2: [{what: 'WAL journal, 20,000 rows, an index', argv: ['sqlite3', 'w.db', 'pragma journal_mode=wal; create table t(a, b); with recursive c(x) as (select 1 union all select x + 1 from c limit 20000) insert into t select x, hex(randomblob(20)) from c; create index i on t(b); select count(*) from t;']},
      {what: 'a read-only open of a missing database', argv: ['sqlite3', '-readonly', 'missing.db', 'select 1 from t;']}]},
  {name: 'git', prep: gitRepo, in1: ['git', 'log', '--oneline'],
    in2: [{what: '`git gc` (pack-objects, repack: threads and children)', argv: ['git', 'gc', '--quiet']},
      {what: '`git show` of a missing revision', argv: ['git', 'show', 'nosuchrev']}]},
  {name: 'curl (loopback http.server)', in1: ['curl', '-s', '-o', 'out', `${url}/data.txt`],
    in2: [{what: '404 with `-f`', argv: ['curl', '-sf', `${url}/missing`]},
      {what: '4 MB to a closed stdout (EPIPE)', argv: ['curl', '-s', `${url}/big.txt`], stdout: 'closed'}]},
  {name: 'make', prep: (d) => writeFileSync(join(d, 'Makefile'), readFileSync(join(S, 'Makefile'))), in1: ['make', '-s'],
    in2: [{what: '`-j2` of three targets (jobserver)', argv: ['make', '-s', '-j2', 'par']},
      {what: 'a failing recipe', argv: ['make', '-s', 'fail']}]},
  {name: 'cp', in1: ['cp', join(S, 'data.txt'), 'copy.txt'],
    in2: [{what: '`-a` of a tree (symlink, dirs, attributes)', argv: ['cp', '-a', join(S, 'tree'), 'tree2']},
      {what: 'a missing source', argv: ['cp', 'missing', 'x']}]},
  {name: 'sort', in1: ['sort', join(S, 'data.txt'), '-o', 'sorted'],
    in2: [{what: '`--parallel=2 -S 1M` on 4 MB (threads, temp files), stdout closed', argv: ['sort', '--parallel=2', '-S', '1M', '-T', '.', join(S, 'big.txt')], stdout: 'closed'}]},
  {name: 'tar', in1: ['tar', '-cf', 't.tar', '-C', S, 'tree'],
    in2: [{what: '`-xf` (extract: dirs, symlink, times)', argv: ['tar', '-xf', join(S, 'tree.tar')]},
      {what: '`-tf` of a missing archive', argv: ['tar', '-tf', 'missing.tar']}]},
  {name: 'openssl', in1: ['openssl', 'dgst', '-sha256', join(S, 'data.txt')],
    in2: [{what: '`enc -aes-256-cbc -pbkdf2` of 4 MB, stdout closed', argv: ['openssl', 'enc', '-aes-256-cbc', '-pbkdf2', '-pass', 'pass:x', '-S', '0011223344556677', '-in', join(S, 'big.txt')], stdout: 'closed'}]},
  {name: 'grep', in1: ['grep', '-c', '7', join(S, 'data.txt')],
    in2: [{what: '`-rn` over a tree, and a missing file', argv: ['grep', '-rn', '99', join(S, 'tree'), 'missing']}]},
  {name: 'jq', in1: ['jq', '.a', join(S, 'small.json')],
    in2: [{what: '`-n` generator, compact output', argv: ['jq', '-nc', '[range(50000)] | map(. * 2) | add']},
      {what: 'a missing file', argv: ['jq', '.', 'missing.json']}]},
]

// WIDEN_BENCH_ONLY=gzip,git measures only the programs whose name contains one of these
const only = (process.env.WIDEN_BENCH_ONLY ?? '').split(',').filter(Boolean)
if (only.length) CASES.splice(0, CASES.length, ...CASES.filter((c) => only.some((o) => c.name.includes(o))))

// ---- running ----
let runNo = 0
function freshDir(c) {
  const d = join(tmp, `run-${++runNo}`)
  mkdirSync(d)
  c.prep?.(d)
  return d
}

/** Run prefix + argv in a fresh directory; {status, stdout, stderr}; status 128+N for signal N. */
function run(c, prefix, argv, stdoutMode = 'pipe') {
  const cwd = freshDir(c)
  let cmd = [...prefix, ...argv]
  if (stdoutMode === 'closed') {
    // the reader takes one byte and leaves; the exit status is the command's (bash PIPESTATUS)
    cmd = ['bash', '-c', '"$@" | head -c 1 >/dev/null; exit "${PIPESTATUS[0]}"', 'bash', ...cmd]
  }
  let fd
  let out = 'pipe'
  if (stdoutMode === 'null') out = 'ignore'
  if (stdoutMode === 'full') out = fd = openSync('/dev/full', 'w')
  const r = spawnSync(cmd[0], cmd.slice(1), {cwd, env: runEnv(), stdio: ['ignore', out, 'pipe'], timeout: TIMEOUT_MS, maxBuffer: 256 << 20})
  if (fd !== undefined) closeSync(fd)
  const clean = (b) => (b ?? Buffer.alloc(0)).toString('latin1').split(cwd).join('RUNDIR').split(tmp).join('TMP') // no <…>: Markdown would take it for HTML
  const status = r.error?.code === 'ETIMEDOUT' ? 'timeout' : r.status ?? 128 + (spawnSignal(r.signal) ?? 0)
  rmSync(cwd, {recursive: true, force: true})
  return {status, stdout: clean(r.stdout), stderr: clean(r.stderr)}
}
function spawnSignal(name) {
  const nums = {SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSYS: 31}
  return nums[name]
}

const sg = (args) => spawnSync(cli, args, {encoding: 'utf8', maxBuffer: 64 << 20})
const readObs = (file) => JSON.parse(readFileSync(file, 'utf8'))

/** Every name an ALLOW rule lists once resolved for this x86_64 host with Docker's default caps. */
function allowedNames(profileFile) {
  const oci = toOci(loadProfile(profileFile), {caps, arch: 'x86_64', kernel: release()})
  return new Set((oci.syscalls ?? []).filter((r) => r.action === 'SCMP_ACT_ALLOW' || r.action === 'SCMP_ACT_LOG').flatMap((r) => r.names))
}
const allows = (v) => v.action === 'SCMP_ACT_ALLOW' || v.action === 'SCMP_ACT_LOG'

const PROBES = [
  ['unshare', 'x86_64', 'unshare', [0x10020000]], // CLONE_NEWUSER|CLONE_NEWNS
  ['mount', 'x86_64', 'mount', []],
  ['bpf', 'x86_64', 'bpf', []],
  ['keyctl', 'x86_64', 'keyctl', []],
  ['ptrace', 'x86_64', 'ptrace', []],
  ['W+X mmap', 'x86_64', 'mmap', [0, 4096, 6, 0x22]], // PROT_WRITE|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS
  ['W+X mprotect', 'x86_64', 'mprotect', [0, 4096, 6]],
  ['AF_NETLINK socket', 'x86_64', 'socket', [16, 3, 0]],
  ['x32 getpid', 'x32', 'getpid', []],
  ['x32 openat', 'x32', 'openat', []],
]
/** The probes the profile lets through (empty: all denied). */
function probesAllowed(profileFile) {
  const ev = evaluator(loadProfile(profileFile), {host: 'x86_64', caps, kernel: release()})
  return PROBES.filter(([, arch, name, args]) => allows(ev(arch, name, args))).map(([label]) => label)
}

/** Names the observation has that the profile denies, each with the recorded argument values. */
function lacking(obsFile, profileFile) {
  const ev = evaluator(loadProfile(profileFile), {host: 'x86_64', caps, kernel: release()})
  const out = new Set()
  for (const [abi, {syscalls}] of Object.entries(readObs(obsFile).abis ?? {})) {
    for (const [name, s] of Object.entries(syscalls ?? {})) {
      const tries = []
      for (const [i, a] of Object.entries(s.args ?? {})) for (const v of a.values ?? []) { const args = []; args[Number(i)] = BigInt(v); tries.push(args.map((x) => x ?? 0n)) }
      if (tries.length === 0) tries.push([])
      // an ENOSYS answer is the profile's deliberate one to a libc fallback probe (clone3, statx, …)
      const refused = (v) => !allows(v) && !(v.action === 'SCMP_ACT_ERRNO' && v.errno === 38)
      if (tries.some((args) => refused(ev(abi, name, args)))) out.add(abi === 'x86_64' ? name : `${abi}:${name}`)
    }
  }
  return [...out].sort()
}
/** Names that returned the marker errno in a recording of an apply run: the filter denied them. */
function deniedIn(obsFile) {
  const out = new Set()
  for (const [abi, {syscalls}] of Object.entries(readObs(obsFile).abis ?? {})) {
    for (const [name, s] of Object.entries(syscalls ?? {})) if (s.errors?.[MARKER]) out.add(abi === 'x86_64' ? name : `${abi}:${name}`)
  }
  return [...out].sort()
}

// ---- the measurement ----
// Profiles per program: none / imports / all (`--widen`), each built for apply (--runtime none,
// the marker errno) and as a container profile (default runtime layers and errno: the name
// counts against Docker's). Input 2 runs under `all` only where its names differ from `imports`'.
const MODES = canWiden ? ['none', 'imports', 'all'] : ['none']
const results = []
const problems = []
for (const c of CASES) {
  const tag = c.name.replace(/\W+/g, '-')
  const obs1 = join(tmp, `${tag}.in1.obs.json`)
  const rec1 = run(c, [cli, 'record', '-q', '-o', obs1, '--'], c.in1, c.stdout1 ?? 'pipe')
  if (!existsSync(obs1) || rec1.status !== 0) {
    problems.push(`${c.name}: recording input 1 failed (exit ${rec1.status}): ${rec1.stderr.trim().split('\n').pop()}`)
    continue
  }
  const profiles = {}
  const container = {}
  const summary = {}
  for (const mode of MODES) {
    for (const [into, args] of [[profiles, ['--runtime', 'none', '--errno', MARKER]], [container, []]]) {
      const file = join(tmp, `${tag}.${mode}${into === container ? '.container' : ''}.json`)
      const all = ['build', ...args, ...(mode === 'none' ? [] : ['--widen', mode]), '-o', file, obs1]
      const r = sg(all)
      if (r.status !== 0) problems.push(`${c.name}: \`build ${all.slice(1, -3).join(' ')}\` failed (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}`)
      else {
        into[mode] = file
        const lines = r.stderr.trim().split('\n')
        if (into === container) summary[mode] = (lines.find((l) => / profile: \d+ syscalls allowed/.test(l)) ?? lines[0]).replace(/ -> \S+$/, '')
      }
    }
  }
  if (!profiles.none) continue
  const names = Object.fromEntries(Object.entries(profiles).map(([k, f]) => [k, allowedNames(f)]))
  const containerNames = Object.fromEntries(Object.entries(container).map(([k, f]) => [k, allowedNames(f)]))
  const probes = Object.fromEntries(Object.entries({...profiles, ...Object.fromEntries(Object.entries(container).map(([k, f]) => [`${k}.container`, f]))}).map(([k, f]) => [k, probesAllowed(f)]))
  const added = Object.fromEntries(Object.keys(names).map((k) => [k, [...names[k]].filter((n) => !names.none.has(n)).sort()]))
  const allSame = !names.all || (names.imports && names.all.size === names.imports.size && [...names.all].every((n) => names.imports.has(n)))
  const rows = []
  for (const v of c.in2) {
    const mode = v.stdout ?? 'pipe'
    const n1 = run(c, [], v.argv, mode)
    const n2 = run(c, [], v.argv, mode)
    const obs2 = join(tmp, `${tag}.in2.obs.json`)
    rmSync(obs2, {force: true})
    run(c, [cli, 'record', '-q', '-o', obs2, '--'], v.argv, mode)
    const row = {what: v.what, native: n1.status, out: mode}
    for (const key of MODES) {
      if (!profiles[key] || (key === 'all' && allSame)) continue
      const a = run(c, [cli, 'apply', profiles[key], '--'], v.argv, mode)
      const obsA = join(tmp, `${tag}.${key}.apply.obs.json`)
      rmSync(obsA, {force: true})
      run(c, [cli, 'record', '-q', '-o', obsA, '--', cli, 'apply', profiles[key], '--'], v.argv, mode)
      row[key] = {
        diffs: compare(n1, n2, a),
        denied: existsSync(obsA) ? deniedIn(obsA) : ['(no recording)'],
        lacking: existsSync(obs2) ? lacking(obs2, profiles[key]) : ['(no recording)'],
      }
    }
    if (profiles.all && allSame) row.all = row.imports
    rows.push(row)
  }
  results.push({c, names, containerNames, added, probes, rows, allSame, summary})
  process.stderr.write(`widen.bench: ${c.name} done\n`)
}

/** What differs between a native run n1 and a run under a profile; a stream the native runs n1, n2 disagree on is not compared. */
function compare(n1, n2, a) {
  const diffs = []
  if (a.status !== n1.status) diffs.push(`exit ${a.status} (native ${n1.status})`)
  if (n1.stdout === n2.stdout && a.stdout !== n1.stdout) diffs.push('stdout')
  if (n1.stderr === n2.stderr && a.stderr !== n1.stderr) {
    const extra = a.stderr.split('\n').find((l) => l && !n1.stderr.includes(l))
    diffs.push(`stderr${extra ? ` "${extra.trim().slice(0, 70).replace(/\|/g, '\\|')}"` : ''}`)
  }
  return diffs
}

// ---- Docker's default, counted the same way ----
const docker = allowedNames(join(root, 'test', 'anchors', 'docker-default.json'))
const dockerX64 = [...docker].filter((n) => knownSyscall('x86_64', n)).length
const third = Math.floor(docker.size / 3)
const thirdX64 = Math.floor(dockerX64 / 3)

// ---- report ----
const list = (xs, max = 10) => (xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} … (+${xs.length - max})`)
function cell(r, rest) {
  if (!r) return 'n/a'
  const parts = [r.diffs.length ? `**yes**: ${r.diffs.join('; ')}` : 'no']
  if (r.denied.length) parts.push(`denied: ${list(r.denied)}`)
  const more = r.lacking.filter((n) => !r.denied.includes(n))
  if (more.length) parts.push(`also lacks: ${list(more)}`)
  return parts.join('<br>')
}
const shown = (a) => a.replace(`${scripts}/`, 'fixtures/scripts/').replace(`${S}/`, '').replace(S, 'DIR').replace(`${root}/`, '').replace(`:${port}/`, ':PORT/')
const argv1 = (c) => `\`${c.in1.map(shown).join(' ').slice(0, 70)}\``

const out = [title, '']
out.push(`Each program's input 1 recorded once (\`record\`, engine auto); from that one recording, profiles built with \`--widen none\` (the default), \`--widen imports\` and \`--widen all\` (\`build --runtime none --errno ${MARKER}\`: apply runs no container runtime, and the marker errno names the filter's denials); input 2, which takes other paths, run natively twice and under \`apply\` with each profile, every run in a fresh directory. ` +
  `**False denial**: under the profile, input 2's exit status, stdout or stderr differs from the native run's (a stream the two native runs disagree on is not compared). *denied*: the calls that returned ${MARKER} in a recording of that apply run (the filter's own denials, harmless or not); *also lacks*: names of a native recording of input 2 that the profile denies (with their recorded argument values; an ENOSYS answer to a libc fallback probe such as clone3 is not counted) and that the apply run did not reach. ` +
  `**Names**: every name an ALLOW rule lists, the profile resolved for this x86_64 host with Docker's default capabilities (argument-conditional rules count); the container column is the same build with its default runtime layers (runc, crun) as \`build\` writes it for a container. ` +
  `**Probes**: ${PROBES.map((p) => p[0]).join(', ')}, evaluated on each profile (and its container build) with the project's evaluator (dist/src/profile/evaluate.js, Docker's default capabilities), not run. \`--widen all\` is run only where its names differ from \`imports\`' (the interpreters); elsewhere its column repeats \`imports\`.`)
if (!canWiden) out.push('', '**`build --widen` is not in this build: only the columns without widening are measured.**')
out.push('', '| program, input 1 | input 2 | native exit | names: none / imports / all (container: none / imports / all) | false denial, `--widen none` | `--widen imports` | `--widen all` | probes denied: none / imports / all |',
  '|---|---|---:|---|---|---|---|---|')
const trio = (m) => MODES.map((k) => m[k]?.size ?? 'n/a').join(' / ')
for (const r of results) {
  r.rows.forEach((w, i) => {
    const first = i === 0
    const probes = MODES.map((k) => (r.probes[k].length || r.probes[`${k}.container`]?.length ? `**no**: ${[...new Set([...r.probes[k], ...(r.probes[`${k}.container`] ?? [])])].join(', ')}` : 'yes')).join(' / ')
    out.push(`| ${first ? `${r.c.name}: ${argv1(r.c)}` : ''} | ${w.what} | ${w.native} | ` +
      `${first ? `${trio(r.names)} (${trio(r.containerNames)})` : ''} | ` +
      `${cell(w.none)} | ${cell(w.imports)} | ${r.allSame && canWiden ? '= imports' : cell(w.all)} | ${first ? probes : ''} |`)
  })
}
const allRows = results.flatMap((r) => r.rows)
const count = (key) => allRows.filter((w) => w[key]?.diffs.length).length
const deniedRuns = (key) => allRows.filter((w) => w[key]?.denied.length).length
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN }
const probesOk = (k) => results.filter((r) => r.probes[k] && r.probes[k].length === 0 && (r.probes[`${k}.container`]?.length ?? 0) === 0).length
out.push('')
out.push(`**Totals**: ${results.length} programs, ${allRows.length} input-2 runs. ` +
  `False denials: ${MODES.map((k) => `\`--widen ${k}\` **${count(k)}**`).join(', ')}. ` +
  `Runs in which the filter denied some call: ${MODES.map((k) => `${k} ${deniedRuns(k)}`).join(', ')}. ` +
  `Profiles denying every probe (apply build and container build): ${MODES.map((k) => `${k} ${probesOk(k)}/${results.length}`).join(', ')}.`)
for (const k of MODES) {
  const fails = results.flatMap((r) => r.rows.filter((w) => w[k]?.diffs.length).map((w) => `${r.c.name} (${w.what}: ${w[k].denied.join(', ') || 'nothing denied'})`))
  if (fails.length) out.push('', `False denials left with \`--widen ${k}\`: ${fails.join('; ')}.`)
}
out.push('')
out.push(`**Against Docker's default** (test/anchors/docker-default.json, counted the same way): ${docker.size} names for an x86_64 host with its default capabilities, ${dockerX64} of them x86_64 syscalls (the others are i386/x32 names for its other ABIs); a third is **${third}** (of the x86_64 ones alone: ${thirdX64}).`)
const sizeLine = (m, k, label) => {
  const have = results.filter((r) => m(r)[k])
  if (!have.length) return `${label}: n/a`
  const top = have.reduce((a, r) => (m(r)[k].size > m(a)[k].size ? r : a))
  const over = (n) => have.filter((r) => m(r)[k].size >= n).map((r) => `${r.c.name} ${m(r)[k].size}`).join(', ') || 'none'
  return `${label}: median ${median(have.map((r) => m(r)[k].size))}, max ${m(top)[k].size} (${top.c.name}); at or over ${third}: ${over(third)}; at or over ${thirdX64}: ${over(thirdX64)}`
}
out.push('')
for (const k of MODES) {
  out.push(`- \`--widen ${k}\`: ${sizeLine((r) => r.names, k, 'names')}`)
  out.push(`  - as a container profile: ${sizeLine((r) => r.containerNames, k, 'names')}`)
}
const interp = results.filter((r) => /python|perl|node/.test(r.c.name))
if (interp.length && canWiden) {
  out.push('', '**Interpreters** (names: none → imports → all): ' + interp.map((r) => `${r.c.name}: ${r.names.none.size} → ${r.names.imports?.size} → ${r.names.all?.size} (\`all\` adds ${r.added.all?.length ?? 'n/a'}: ${list(r.added.all ?? [], 25)})`).join('; ') + '.')
}
if (canWiden) {
  out.push('', '`build --widen imports`\'s summary line per program (container build; the profile\'s rule comments name each added call with its program and import):', '')
  for (const r of results) out.push(`- ${r.c.name}: "${(r.summary.imports ?? '').replace(/^seccomp-gen: /, '')}"`)
}
if (problems.length) out.push('', 'Problems:', '', ...problems.map((p) => `- ${p}`))
out.push('', `Load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}. Python: ${python}; Node: ${process.execPath} ${process.version}; ${spawnSync('readelf', ['--version'], {encoding: 'utf8'}).stdout?.split('\n')[0] ?? 'readelf missing'}.`, '')
console.log(out.join('\n'))
server.kill() // the server's pipe would keep this process alive
process.exit(0)
