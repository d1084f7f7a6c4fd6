import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {SeccompGenError} from '../../src/errors.js'
import {looksLikeObservation, mergeObservations, readObservation, serializeObservation, validateObservation} from '../../src/trace/observation-io.js'
import {Observer} from '../../src/trace/observe.js'
import type {Observation} from '../../src/trace/observation.js'

const host = {kernel: '6.1.0-test', machine: 'x86_64'}
const dir = mkdtempSync(join(tmpdir(), 'sg-obsio-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

function obs(lines: string[], command = ['prog']): Observation {
  const o = new Observer({command, host})
  o.push(Buffer.from(lines.join('\n') + '\n'))
  return o.end()
}

const sample = (): Observation => ({
  schema: 'seccomp-gen/observation',
  version: 1,
  command: ['prog', 'arg'],
  host: {machine: 'x86_64', kernel: '6.1', strace: 'strace -- version 6.1'},
  abis: {
    x86_64: {
      syscalls: {
        write: {count: 3},
        mmap: {count: 2, args: {'2': {values: ['0x10', '0x3', '0x1']}}},
        ioctl: {errors: {ENOTTY: 1}, count: 1, args: {'1': {values: ['0xffffffffffffffff', '0x5401'], unknown: true}}},
      },
    },
    x86: {syscalls: {mmap2: {count: 1}}},
  },
  execs: ['/usr/bin/z', '/bin/a'],
  stats: {unparsed: 0, lines: 10, processes: 1},
})

describe('serializeObservation', () => {
  it('is canonical: keys sorted, values sorted numerically, trailing newline, stable bytes', () => {
    const text = serializeObservation(sample())
    expect(text.endsWith('}\n')).toBe(true)
    const back = JSON.parse(text) as Observation
    expect(Object.keys(back)).toEqual(['abis', 'command', 'execs', 'host', 'schema', 'stats', 'version'])
    expect(Object.keys(back.abis)).toEqual(['x86', 'x86_64'])
    expect(Object.keys(back.abis.x86_64!.syscalls)).toEqual(['ioctl', 'mmap', 'write'])
    expect(back.abis.x86_64!.syscalls.mmap!.args!['2']!.values).toEqual(['0x1', '0x3', '0x10'])
    expect(back.abis.x86_64!.syscalls.ioctl!.args!['1']!.values).toEqual(['0x5401', '0xffffffffffffffff'])
    expect(back.execs).toEqual(['/bin/a', '/usr/bin/z'])
    // same content in another key/array order -> same bytes
    const shuffled = sample()
    shuffled.abis = {x86: shuffled.abis.x86, x86_64: shuffled.abis.x86_64}
    shuffled.execs.reverse()
    expect(serializeObservation(shuffled)).toBe(text)
    // and a round trip is a fixed point
    expect(serializeObservation(back)).toBe(text)
    validateObservation(back, 'sample')
  })

  it('keeps the runtime a recording names (record --bundle), between host and schema', () => {
    const back = JSON.parse(serializeObservation({...sample(), runtime: 'crun'})) as Observation
    expect(Object.keys(back)).toEqual(['abis', 'command', 'execs', 'host', 'runtime', 'schema', 'stats', 'version'])
    expect(back.runtime).toBe('crun')
    validateObservation(back, 'sample')
  })

  it('an observer run twice over the same log gives the same bytes', () => {
    const lines = ['2 mmap(NULL, 1, PROT_READ|PROT_EXEC, MAP_PRIVATE, 3, 0) = 0x7f', '1 mmap(NULL, 1, PROT_READ, MAP_PRIVATE, 3, 0) = 0x7f', '1 openat(AT_FDCWD, "/x", O_RDONLY) = -1 ENOENT (No such file or directory)']
    expect(serializeObservation(obs(lines))).toBe(serializeObservation(obs(lines)))
  })
})

describe('mergeObservations', () => {
  it('sums counts and errors, unions values and execs, ORs unknown', () => {
    const a = obs(['1 execve("/bin/a", ["a"], NULL) = 0', '1 mmap(NULL, 1, PROT_READ, MAP_PRIVATE, 3, 0) = 0x7f', '1 openat(AT_FDCWD, "/x", O_RDONLY) = -1 ENOENT (No such file or directory)', '1 ioctl(1, TCGETS, 0x7f) = 0'])
    const b = obs(['1 execve("/bin/b", ["b"], NULL) = 0', '1 mmap(NULL, 1, PROT_READ|PROT_WRITE, MAP_PRIVATE, 3, 0) = 0x7f', '1 mmap(NULL, 1, PROT_READ, MAP_PRIVATE, 3, 0) = 0x7f', '1 openat(AT_FDCWD, "/x", O_RDONLY) = -1 ENOENT (No such file or directory)', '1 openat(AT_FDCWD, "/y", O_RDONLY) = -1 EACCES (Permission denied)', '1 ioctl(1, MYSTERY_IOCTL, 0x7f) = 0'])
    const m = mergeObservations([a, b])
    const s = m.abis.x86_64!.syscalls
    expect(s.mmap).toEqual({count: 3, args: {'2': {values: ['0x1', '0x3']}}})
    expect(s.openat).toEqual({count: 3, errors: {ENOENT: 2, EACCES: 1}})
    expect(s.ioctl).toEqual({count: 2, args: {'1': {values: ['0x5401'], unknown: true}}})
    expect(m.execs).toEqual(['/bin/a', '/bin/b'])
    expect(m.stats.lines).toBe(a.stats.lines + b.stats.lines)
    expect(m.command).toEqual(['prog'])
    validateObservation(JSON.parse(serializeObservation(m)), 'merged')
    // merging is order-independent in content
    expect(serializeObservation(mergeObservations([b, a]))).toBe(serializeObservation(m))
    // inputs are not modified
    expect(a.abis.x86_64!.syscalls.mmap!.count).toBe(1)
  })
  it('an argument missing on one side becomes unknown; ABIs stay apart', () => {
    const a = sample()
    const b = sample()
    delete b.abis.x86_64!.syscalls.mmap!.args
    const m = mergeObservations([a, b])
    expect(m.abis.x86_64!.syscalls.mmap!.args!['2']!.unknown).toBe(true)
    expect(m.abis.x86!.syscalls.mmap2!.count).toBe(2)
    expect(m.abis.x86!.syscalls.mmap).toBeUndefined()
  })
  it('keeps the runtime only when every observation names the same one', () => {
    const runc = {...sample(), runtime: 'runc' as const}
    expect(mergeObservations([runc, runc]).runtime).toBe('runc')
    expect(mergeObservations([runc, {...sample(), runtime: 'crun'}])).not.toHaveProperty('runtime')
    expect(mergeObservations([runc, sample()])).not.toHaveProperty('runtime') // a host recording names none
    expect(mergeObservations([sample(), sample()])).not.toHaveProperty('runtime')
  })
  it('rejects an empty list', () => {
    expect(() => mergeObservations([])).toThrow(SeccompGenError)
  })
})

describe('readObservation / validateObservation', () => {
  const write = (name: string, data: unknown) => {
    const p = join(dir, name)
    writeFileSync(p, typeof data === 'string' ? data : JSON.stringify(data))
    return p
  }
  it('reads what serializeObservation wrote', () => {
    const p = write('ok.json', serializeObservation(sample()))
    expect(readObservation(p).abis.x86_64!.syscalls.write!.count).toBe(3)
  })
  const bad: Array<[string, (o: Record<string, any>) => void, string]> = [
    ['wrong schema tag', (o) => { o.schema = 'other' }, '/schema'],
    ['unknown version', (o) => { o.version = 0 }, '/version'],
    ['hex value with a leading zero', (o) => { o.abis.x86_64.syscalls.mmap.args['2'].values = ['0x01'] }, '/abis/x86_64/syscalls/mmap/args/2/values/0'],
    ['value wider than 64 bits', (o) => { o.abis.x86_64.syscalls.mmap.args['2'].values = ['0x10000000000000000'] }, '/abis/x86_64/syscalls/mmap/args/2/values/0'],
    ['argument index 6', (o) => { o.abis.x86_64.syscalls.mmap.args['6'] = {values: []} }, '/abis/x86_64/syscalls/mmap/args'],
    ['negative count', (o) => { o.abis.x86_64.syscalls.write.count = -1 }, '/abis/x86_64/syscalls/write/count'],
    ['unknown ABI', (o) => { o.abis.mips = {syscalls: {}} }, '/abis'],
    ['bad syscall name', (o) => { o.abis.x86_64.syscalls['Write!'] = {count: 1} }, '/abis/x86_64/syscalls'],
    ['extra property', (o) => { o.extra = true }, '/'],
    ['missing stats', (o) => { delete o.stats }, '/'],
    ['duplicate execs', (o) => { o.execs = ['/a', '/a'] }, '/execs'],
    ['a runtime record --bundle does not drive', (o) => { o.runtime = 'lxc' }, '/runtime'],
  ]
  it.each(bad)('rejects %s with OBSERVATION_INVALID and a JSON pointer', (_n, mutate, pointer) => {
    const o = JSON.parse(serializeObservation(sample())) as Record<string, any>
    mutate(o)
    const p = write('bad.json', o)
    try {
      readObservation(p)
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(SeccompGenError)
      const e = err as SeccompGenError
      expect(e.code).toBe('OBSERVATION_INVALID')
      expect(e.file).toBe(p)
      expect(e.message.split('\n')).toHaveLength(1)
      expect(e.message).toContain(` ${pointer} `)
    }
  })
  it('a newer version is one line saying to upgrade, not a schema pointer', () => {
    const o = JSON.parse(serializeObservation(sample())) as Record<string, any>
    o.version = 2
    o.somethingNew = true // a newer writer's field: the version is named first
    const p = write('v2.json', o)
    expect(() => readObservation(p)).toThrow(expect.objectContaining({
      code: 'OBSERVATION_INVALID', file: p, message: 'observation version 2 is newer than this seccomp-gen reads (1); upgrade seccomp-gen',
    }))
  })
  it('rejects non-JSON with its line', () => {
    const p = write('notjson.json', '{\n  "schema": "seccomp-gen/observation",\n  oops\n}')
    expect(() => readObservation(p)).toThrow(expect.objectContaining({code: 'OBSERVATION_INVALID', line: 3}))
  })
  it('missing file is an IO error', () => {
    expect(() => readObservation(join(dir, 'nope.json'))).toThrow(expect.objectContaining({code: 'IO'}))
  })
})

describe('looksLikeObservation', () => {
  it.each([
    ['{"schema":"seccomp-gen/observation"}', true],
    ['\ufeff  \n {', true],
    ['5072  execve("/bin/true", ["true"], 0x7ffe /* 35 vars */) = 0', false],
    ['[pid 3] read(0, "", 1) = 0', false],
    ['execve("/bin/true", ["true"], 0x7ffe) = 0', false],
    ['1795622521.122018 brk(NULL) = 0x55', false],
    ['', false],
  ])('%j -> %s', (text, expected) => {
    expect(looksLikeObservation(Buffer.from(text))).toBe(expected)
  })
})
