// Property tests: mutated real strace lines never make the parser throw, hang or go
// quadratic. Mutations are seeded, so a failure reproduces.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {lexLine} from '../helpers/lex-line.js'
import {Observer} from '../../src/trace/observe.js'
import {serializeObservation, validateObservation} from '../../src/trace/observation-io.js'
import {rng} from '../helpers/rng.js'

const host = {kernel: '6.1.0-test', machine: 'x86_64'}

function corpus(): string[] {
  const lines: string[] = []
  const fx = join(__dirname, '../../fixtures')
  for (const f of readdirSync(fx).filter((n) => n.endsWith('.strace'))) lines.push(...readFileSync(join(fx, f), 'latin1').split('\n'))
  // plus a fresh real recording in the richest format, when strace is here
  if (spawnSync('strace', ['-V']).status === 0) {
    const dir = mkdtempSync(join(tmpdir(), 'sg-fuzz-'))
    const log = join(dir, 'l')
    spawnSync('strace', ['-f', '-yy', '-ttt', '-T', '-o', log, '/bin/sh', '-c', 'ls / >/dev/null; (cat /etc/hostname | wc -c) >/dev/null'])
    lines.push(...readFileSync(log, 'latin1').split('\n'))
    rmSync(dir, {recursive: true, force: true})
  }
  return lines.filter((l) => l !== '')
}


const SPECIAL = ['"', '(', ')', '[', ']', '{', '}', '<', '>', '\\', ',', ' = ', '/*', '*/', '<unfinished ...>', '<... ', ' resumed>', '+++ ', '--- ', '\u0000', '\u00ff', '\r', '=']

function mutate(line: string, r: () => number): string {
  const k = Math.floor(r() * 7)
  const at = Math.floor(r() * (line.length + 1))
  switch (k) {
    case 0: return line.slice(0, at) // truncate
    case 1: { // insert random bytes
      let ins = ''
      const n = 1 + Math.floor(r() * 8)
      for (let i = 0; i < n; i++) ins += String.fromCharCode(Math.floor(r() * 256))
      return line.slice(0, at) + ins + line.slice(at)
    }
    case 2: return line.replace(/["()]/g, (c) => (r() < 0.3 ? '' : c)) // delete quotes/parens
    case 3: return line.slice(0, at) + line.slice(Math.floor(r() * line.length)) // duplicate / splice
    case 4: return line.slice(0, at) + SPECIAL[Math.floor(r() * SPECIAL.length)] + line.slice(at)
    case 5: return line + line
    default: return line.slice(at) // lose the head (prefix, name)
  }
}

describe('fuzz', () => {
  const lines = corpus()

  it('thousands of mutated lines: lexLine and Observer never throw, output stays valid', () => {
    expect(lines.length).toBeGreaterThan(20)
    const r = rng(20261125)
    const o = new Observer({command: ['fuzz'], host})
    let fed = 0
    for (let n = 0; n < 20000; n++) {
      let line = lines[Math.floor(r() * lines.length)]!
      const rounds = 1 + Math.floor(r() * 3)
      for (let k = 0; k < rounds; k++) line = mutate(line, r)
      expect(() => lexLine(line)).not.toThrow()
      const bytes = Buffer.from(line.replace(/\n/g, ' ') + '\n', 'latin1')
      o.push(bytes)
      fed++
    }
    const obs = o.end()
    expect(obs.stats.lines).toBe(fed)
    expect(obs.stats.unparsed).toBeGreaterThan(0)
    expect(obs.stats.unparsed).toBeLessThan(fed)
    validateObservation(JSON.parse(serializeObservation(obs)), 'fuzz')
  })

  it('random byte soup in random chunks never throws', () => {
    const r = rng(7)
    const o = new Observer({command: ['soup'], host})
    for (let n = 0; n < 2000; n++) {
      const b = Buffer.alloc(1 + Math.floor(r() * 300))
      for (let i = 0; i < b.length; i++) b[i] = r() < 0.05 ? 10 : Math.floor(r() * 256)
      expect(() => o.push(b)).not.toThrow()
    }
    expect(() => validateObservation(JSON.parse(serializeObservation(o.end())), 'soup')).not.toThrow()
  })

  // Time must grow linearly with input. No absolute timings: compare the same work at
  // size N and 8N; a quadratic path would give ~64x, linear ~8x; allow 24x for noise.
  const timeOf = (build: (n: number) => Buffer, n: number) => {
    const buf = build(n)
    let best = Infinity
    for (let k = 0; k < 3; k++) {
      const t = process.hrtime.bigint()
      const o = new Observer({command: ['t'], host})
      o.push(buf)
      o.end()
      best = Math.min(best, Number(process.hrtime.bigint() - t))
    }
    return best
  }
  const shapes: Array<[string, (n: number) => Buffer]> = [
    ['many lines', (n) => Buffer.from(Array.from({length: n}, (_, i) => lines[i % lines.length]!).join('\n') + '\n', 'latin1')],
    ['one line of lone <', (n) => Buffer.from('1 mmap(' + '<a, '.repeat(n) + ') = 0\n')],
    ['one line of nested (', (n) => Buffer.from('1 ioctl(3, ' + '('.repeat(n) + ', 0) = 0\n')],
    ['one line of unclosed quotes and <', (n) => Buffer.from('1 clone(flags=' + '"<\\'.repeat(n) + '\n')],
    ['one line of <x> decorations', (n) => Buffer.from('1 setns(' + 'a<x>'.repeat(n) + ', 0) = 0\n')],
    ['resumed-unfinished chain', (n) => Buffer.from('1 mmap(NULL, 8, <unfinished ...>\n' + '1 <... mmap resumed>x, <unfinished ...>\n'.repeat(n) + '1 <... mmap resumed>) = 0\n')],
  ]
  it.each(shapes)('linear time: %s', (_name, build) => {
    const small = 4000
    timeOf(build, small) // warm up the JIT
    const t1 = timeOf(build, small)
    const t8 = timeOf(build, small * 8)
    expect(t8 / t1).toBeLessThan(24)
  })
})
