/**
 * The whole loop on real programs, through the built CLI: `record` a workload, `build` its
 * profile, then `apply` it to the same program given other inputs (other files, other request
 * paths, more workers). The re-run must succeed with the same output as without a filter, and
 * with 0 denials: the profile is built with an errno no program produces by itself
 * (EHWPOISON) as its default, and a second, strace'd re-run counts the calls answered with it.
 */
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {cliPath, runCli} from '../helpers/cli.js'
import {realPython} from '../apply/profiles.js'

const DENIAL_ERRNO = 'EHWPOISON'
const dir = mkdtempSync(join(tmpdir(), 'seccomp-gen-roundtrip-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const haveStrace = spawnSync('strace', ['-V']).status === 0
const python = realPython()
if (!haveStrace) console.warn('round-trip tests skipped: strace is not installed (.ci/run installs it)')
if (!python) console.warn('round-trip http.server test skipped: python3 not found')

interface Workload {
  name: string
  record: string[]
  /** the re-run; a function when each run needs fresh output paths (0: apply, 1: direct, 2: traced) */
  rerun: string[] | ((run: number) => string[])
  /** checked on the re-run's stdout, besides equality with the unfiltered run */
  expectOut?: (stdout: string) => void
}

async function roundTrip(w: Workload): Promise<void> {
  const obs = join(dir, `${w.name}.obs.json`)
  const profile = join(dir, `${w.name}.profile.json`)
  const rec = await runCli(['record', '-q', '-o', obs, '--', ...w.record], {timeoutMs: 120_000})
  expect(rec.status, `record: ${rec.stderr}`).toBe(0)
  const b = await runCli(['build', '-q', '--errno', DENIAL_ERRNO, '-o', profile, obs])
  expect(b.status, `build: ${b.stderr}`).toBe(0)
  const built = JSON.parse(readFileSync(profile, 'utf8'))
  expect(built.defaultAction).toBe('SCMP_ACT_ERRNO')

  // 1. the re-run under the profile, as a user runs it
  const rerun = (i: number) => (typeof w.rerun === 'function' ? w.rerun(i) : w.rerun)
  const r = await runCli(['apply', profile, '--', ...rerun(0)], {timeoutMs: 120_000})
  const [cmd, ...args] = rerun(1)
  const direct = spawnSync(cmd!, args, {encoding: 'utf8', maxBuffer: 64 << 20})
  expect(r.status, `apply: ${r.stderr}`).toBe(0)
  expect(r.stdout).toBe(direct.stdout)
  w.expectOut?.(r.stdout)

  // 2. the same re-run under strace: no call answered with the profile's default errno
  const log = join(dir, `${w.name}.rerun.strace`)
  const traced = spawnSync('strace', ['-f', '-qq', '-o', log, cliPath, 'apply', profile, '--', ...rerun(2)], {encoding: 'utf8', maxBuffer: 64 << 20, timeout: 180_000})
  expect(traced.status, `traced apply: ${traced.stderr}`).toBe(0)
  const denials = readFileSync(log, 'utf8').split('\n').filter((l) => l.includes(`= -1 ${DENIAL_ERRNO}`))
  expect(denials, 'calls denied by the profile').toEqual([])
}

function files(root: string, spec: Record<string, string>): string {
  for (const [rel, text] of Object.entries(spec)) {
    const p = join(root, rel)
    mkdirSync(join(p, '..'), {recursive: true})
    writeFileSync(p, text)
  }
  return root
}

describe.runIf(haveStrace && process.arch === 'x64')('record → build → apply on real programs', () => {
  it('a shell pipeline with subshells, on other files', async () => {
    const script = 'set -e; cat "$1" | grep -c "$2"; sort "$1" | head -n 3 | wc -c; (cd "$3" && ls | wc -l); echo "$(basename "$1")" | tr a-z A-Z'
    await roundTrip({
      name: 'shell',
      record: ['sh', '-c', script, 'sh', '/etc/passwd', 'root', '/tmp'],
      rerun: ['sh', '-c', script, 'sh', '/etc/group', 'x', '/usr'],
      expectOut: (out) => expect(out).toMatch(/GROUP\n$/),
    })
  }, 300_000)

  it.runIf(python)('python3 http.server answering other paths than recorded', async () => {
    const server = join(dir, 'serve.py')
    writeFileSync(server, [
      'import functools, http.server, sys, threading, urllib.error, urllib.request',
      'class Quiet(http.server.SimpleHTTPRequestHandler):',
      '    def log_message(self, *a):',
      '        pass',
      'srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))',
      'threading.Thread(target=srv.serve_forever, daemon=True).start()',
      'for p in sys.argv[2:]:',
      '    try:',
      '        with urllib.request.urlopen(f"http://127.0.0.1:{srv.server_port}{p}", timeout=20) as r:',
      '            print(p, r.status, len(r.read()))',
      '    except urllib.error.HTTPError as e:',
      '        print(p, e.code)',
      'srv.shutdown()',
    ].join('\n'))
    const a = files(join(dir, 'www-a'), {'index.html': '<p>a</p>\n', 'a.txt': 'aaa\n'})
    const b = files(join(dir, 'www-b'), {'b.txt': 'b'.repeat(100_000), 'sub/c.txt': 'c\n', 'sub/d.txt': 'd\n'})
    await roundTrip({
      name: 'http',
      record: [python!, server, a, '/', '/a.txt'],
      rerun: [python!, server, b, '/b.txt', '/sub/', '/sub/c.txt', '/missing'],
      expectOut: (out) => {
        expect(out).toMatch(/^\/b\.txt 200 100000$/m)
        expect(out).toMatch(/^\/missing 404$/m)
      },
    })
  }, 300_000)

  it('tar + gzip round trip of other files', async () => {
    // the recording has a subdirectory too: extracting one restores its mode (fchmodat), a
    // code path a flat archive never takes
    const a = files(join(dir, 'tar-a'), {'one.txt': 'one\n', 'sub/two.txt': 'two\n'})
    const b = files(join(dir, 'tar-b'), {'x/y/z.txt': 'z\n'.repeat(5000), 'two.txt': 'two\n', 'three.bin': 'x'.repeat(300_000)})
    const script = 'set -e; tar -czf "$2" -C "$1" . && gzip -t "$2" && mkdir -p "$3" && tar -xzf "$2" -C "$3" && (cd "$3" && find . -type f | sort | xargs cat | md5sum)'
    await roundTrip({
      name: 'tar',
      record: ['sh', '-c', script, 'sh', a, join(dir, 'a.tgz'), join(dir, 'a-out')],
      rerun: (i) => ['sh', '-c', script, 'sh', b, join(dir, `b${i}.tgz`), join(dir, `b${i}-out`)],
    })
  }, 300_000)

  it('node with worker threads, more workers than recorded', async () => {
    const js = join(dir, 'workers.cjs')
    writeFileSync(js, [
      "const {Worker, isMainThread, parentPort, workerData} = require('node:worker_threads')",
      'if (isMainThread) {',
      '  const n = Number(process.argv[2]), size = Number(process.argv[3])',
      '  let done = 0, total = 0',
      '  for (let i = 0; i < n; i++) {',
      '    new Worker(__filename, {workerData: {i, size}}).on("message", (m) => { total += m; if (++done === n) console.log(n, size, total) })',
      '  }',
      '} else {',
      '  let s = 0',
      '  for (let k = 0; k < workerData.size; k++) s += (k * (workerData.i + 1)) % 7',
      '  parentPort.postMessage(s)',
      '}',
    ].join('\n'))
    await roundTrip({
      name: 'node-workers',
      record: [process.execPath, js, '2', '1000'],
      rerun: [process.execPath, js, '4', '200000'],
      expectOut: (out) => expect(out).toMatch(/^4 200000 \d+\n$/),
    })
  }, 300_000)
})
