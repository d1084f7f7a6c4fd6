#!/usr/bin/env node
// `npm run demo`: the whole job on an embedded workload, in a few lines of output.
//   1. record the workload (a node HTTP server + client on 127.0.0.1) under strace
//   2. build the least-privilege profile from the recording
//   3. re-run the workload, with other request paths, under that profile through `apply`
//   4. show a forbidden action (unshare -n: a new network namespace) denied with EPERM
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'bin', 'run.js')
const workload = join(root, 'scripts', 'demo-workload.js')
const dir = mkdtempSync(join(tmpdir(), 'seccomp-gen-demo-'))
const obs = join(dir, 'workload.obs.json')
const profile = join(dir, 'workload.profile.json')

function step(title, args, {expectFail = false} = {}) {
  console.log(`\n$ seccomp-gen ${args.join(' ')}`)
  const r = spawnSync(process.execPath, [cli, ...args], {stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8'})
  const out = `${r.stdout}${r.stderr}`.trimEnd()
  if (out) console.log(out.split('\n').map((l) => `  ${l}`).join('\n'))
  const ok = expectFail ? r.status !== 0 : r.status === 0
  console.log(`${ok ? '✔' : '✘'} ${title} (exit ${r.status ?? r.signal})`)
  if (!ok) {
    rmSync(dir, {recursive: true, force: true})
    process.exit(1)
  }
  return r
}

try {
  step('recorded', ['record', '-o', obs, '--', process.execPath, workload, '/hello', '/index.html'])
  step('built', ['build', '-o', profile, obs])
  const p = JSON.parse(readFileSync(profile, 'utf8'))
  const names = new Set(p.syscalls.flatMap((r) => (r.action === 'SCMP_ACT_ALLOW' ? r.names : [])))
  console.log(`  profile: ${names.size} syscalls allowed, default ${p.defaultAction} (errno ${p.defaultErrnoRet}), arches ${p.architectures.join(' ')}`)
  step('workload runs under the profile, with other requests', ['apply', profile, '--', process.execPath, workload, '/other/path', '/api?x=1'])
  const denied = step('a new network namespace is denied', ['apply', profile, '--', 'unshare', '-n', 'true'], {expectFail: true})
  if (!/Operation not permitted/.test(denied.stderr)) {
    console.log('✘ expected EPERM ("Operation not permitted") from unshare')
    process.exit(1)
  }
  console.log(`\nDemo done: files in ${dir}`)
} catch (err) {
  console.error(`demo failed: ${err.message}`)
  process.exit(1)
}
