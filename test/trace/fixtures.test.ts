/**
 * The recorded fixtures stay true to what they claim: each record-made observation is exactly
 * what the parser makes of its raw log, the users'-format logs parse without a single
 * unparsable line, and fixtures/README.md has a line for every file (and no line for a file
 * that is gone). If the parser's output changes on purpose, re-record with
 * fixtures/scripts/regenerate.sh.
 */
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {Observer} from '../../src/trace/observe.js'
import {serializeObservation} from '../../src/trace/observation-io.js'
import type {Observation} from '../../src/trace/observation.js'
import {repoRoot} from '../helpers/cli.js'

const dir = join(repoRoot, 'fixtures')
const files = readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile())
const recorded = files.filter((f) => f.endsWith('.obs.json')).map((f) => f.slice(0, -'.obs.json'.length))
const userLogs = ['dash-sh-default', 'tar-gzip-f-yy-ttt-T']

function parse(path: string, command: string[], host: Observation['host'], chunk = 1 << 16): {o: Observation; text: string; unparsed: number} {
  const obs = new Observer({command, host})
  const buf = readFileSync(path)
  for (let i = 0; i < buf.length; i += chunk) obs.push(buf.subarray(i, i + chunk))
  const o = obs.end()
  return {o, text: serializeObservation(o), unparsed: obs.stats.unparsed}
}

describe('fixtures', () => {
  it('has the real recordings the issue asks for', () => {
    expect(recorded.sort()).toEqual(expect.arrayContaining(['busybox-sh', 'http-server', 'node-workers', 'tar-gzip']))
    for (const u of userLogs) expect(files).toContain(`${u}.strace`)
  })

  it('README.md has one line per file, and only for files that exist', () => {
    const readme = readFileSync(join(dir, 'README.md'), 'utf8')
    const listed = [...readme.matchAll(/^- `([^`]+)`/gm)].map((m) => m[1])
    for (const f of files.filter((f) => f !== 'README.md')) expect(listed, `README line for ${f}`).toContain(f)
    for (const l of listed) expect(() => statSync(join(dir, l)), `${l} listed but missing`).not.toThrow()
  })

  it.each(files.filter((f) => f.endsWith('.strace')))('%s is small (< 2 MB) and has a sidecar or is hand-made', (f) => {
    expect(statSync(join(dir, f)).size).toBeLessThan(2 << 20)
    if (f.startsWith('handmade-')) return
    const cmd = readFileSync(join(dir, f.replace(/\.strace$/, '.cmd')), 'utf8')
    expect(cmd).toMatch(/^command: .*strace|^command: node bin\/run\.js record/m)
    expect(cmd).toMatch(/^strace: strace -- version \d+\.\d+/m)
    expect(cmd).toMatch(/^arch: \w+/m)
  })

  it.each(recorded)('%s.obs.json is exactly what the parser makes of its .strace', (name) => {
    const stored = readFileSync(join(dir, `${name}.obs.json`), 'utf8')
    const o = JSON.parse(stored) as Observation
    const {text, unparsed} = parse(join(dir, `${name}.strace`), o.command, o.host, 4093)
    expect(unparsed).toBe(0)
    expect(text, `re-record with fixtures/scripts/regenerate.sh if the parser changed on purpose`).toBe(stored)
    if (!/-getpid$/.test(name)) expect(o.stats.processes).toBeGreaterThan(1)
  })

  it('the recorded ABI switches land in the right ABI sections', () => {
    const i = JSON.parse(readFileSync(join(dir, 'i386-getpid.obs.json'), 'utf8')) as Observation
    expect(Object.keys(i.abis).sort()).toEqual(['x86', 'x86_64'])
    expect(Object.keys(i.abis.x86!.syscalls).sort()).toEqual(['exit', 'getpid', 'write'])
    expect(Object.keys(i.abis.x86_64!.syscalls)).toEqual(['execve'])
    const x = JSON.parse(readFileSync(join(dir, 'x32-getpid.obs.json'), 'utf8')) as Observation
    expect(x.abis.x32!.syscalls.getpid.count).toBe(1)
    expect(Object.keys(x.abis.x86_64!.syscalls).sort()).toEqual(['execve', 'exit_group'])
  })

  it('the default-format log (dash, decoded arguments) parses completely and makes sense', () => {
    const {o, unparsed} = parse(join(dir, 'dash-sh-default.strace'), ['dash'], {kernel: 'k', machine: 'x86_64'})
    expect(unparsed).toBe(0)
    const sc = o.abis.x86_64!.syscalls
    expect(o.execs.some((e) => e.endsWith('/dash'))).toBe(true)
    expect(o.execs.some((e) => e.endsWith('/tr'))).toBe(true)
    expect(sc.pipe2?.count ?? sc.pipe?.count).toBeGreaterThan(0)
    expect(sc.wait4?.count).toBeGreaterThan(0)
    // decoded flags become the same numbers record's raw mode gives: clone/vfork, mmap prot
    expect(sc.mmap.args!['2'].values).toEqual(expect.arrayContaining(['0x1', '0x3']))
  })

  it('the -yy -ttt -T log (tar + gzip) parses completely and makes sense', () => {
    const {o, unparsed} = parse(join(dir, 'tar-gzip-f-yy-ttt-T.strace'), ['sh'], {kernel: 'k', machine: 'x86_64'})
    expect(unparsed).toBe(0)
    const sc = o.abis.x86_64!.syscalls
    expect(o.execs.some((e) => e.endsWith('/gzip'))).toBe(true)
    expect(o.execs.some((e) => e.endsWith('/tar'))).toBe(true)
    expect(sc.openat?.count).toBeGreaterThan(10)
    expect(sc.openat.errors?.ENOENT).toBeGreaterThan(0)
  })

  it('record-format and decoded logs of the same workload agree on what matters', () => {
    // tar-gzip recorded twice, once in record's raw flag set, once decoded with -yy -ttt -T:
    // different runs, so counts differ, but the programs exec'd and mmap's prot values match.
    const raw = JSON.parse(readFileSync(join(dir, 'tar-gzip.obs.json'), 'utf8')) as Observation
    const {o: dec} = parse(join(dir, 'tar-gzip-f-yy-ttt-T.strace'), ['sh'], raw.host)
    const base = (l: string[]) => [...new Set(l.map((e) => e.slice(e.lastIndexOf('/') + 1)))].sort()
    expect(base(dec.execs)).toEqual(base(raw.execs))
    expect(dec.abis.x86_64!.syscalls.mmap.args!['2'].values).toEqual(raw.abis.x86_64!.syscalls.mmap.args!['2'].values)
  })
})
