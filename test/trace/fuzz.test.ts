// Property tests: mutated real strace lines never make the parser throw, hang or go
// quadratic (its work is counted, not timed). Mutations are seeded, so a failure reproduces.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {KIND, LexState, lexInto, rescanExact} from '../../src/trace/lex-line.js'
import {lexLine} from '../helpers/lex-line.js'
import {Observer} from '../../src/trace/observe.js'
import type {Observation} from '../../src/trace/observation.js'
import {serializeObservation, validateObservation} from '../../src/trace/observation-io.js'
import {SHAPES} from '../../bench/parse-shapes.js'
import {rng} from '../helpers/rng.js'
import {bufferWork, countingView} from '../helpers/work.js'

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

  // Linear in the input, proved by counting work, not by timing it (bench/parse.bench.js
  // times the same shapes). Each shape is measured at n and 8n: a quadratic path would make
  // the work per byte grow with n, so a fixed bound per byte fails on it at 8n.
  const lineShapes = SHAPES.filter(([name]) => name.startsWith('one line'))

  /** Element reads of the lexer on one line: lexInto() + rescanExact() (what an inspected call gets). */
  const lexerReads = (line: Uint8Array): number => {
    const exact = countingView(line)
    const st = new LexState()
    const kind = lexInto(exact.view, 0, line.length, st)
    if (kind === KIND.CALL || kind === KIND.RESUMED) rescanExact(exact.view, st)
    return exact.reads()
  }

  it('linear work: the lexer reads each byte of a line a bounded number of times (real, mutated and long lines)', () => {
    const r = rng(99)
    const samples = [...lines, ...Array.from({length: 5000}, () => mutate(lines[Math.floor(r() * lines.length)]!, r))]
    for (const [, build] of lineShapes) for (const n of [4000, 32000]) samples.push(build(n, lines).toString('latin1').trimEnd())
    for (const text of samples) {
      const line = Buffer.from(text.replace(/\n/g, ' '), 'latin1')
      // a few reads per line on top (the prefix, the return part looked at from both ends)
      expect(lexerReads(line), text.slice(0, 80)).toBeLessThanOrEqual(3 * line.length + 32)
    }
  })

  // What the Observer does with bytes beyond lexing them: line search, lines carried over from
  // one chunk to the next, argument text kept for pending calls, decoding.
  // Fed whole, in 4 KiB chunks and in 7-byte chunks (every line cut, many times).
  const BUFFER_WORK_PER_BYTE = 8
  it.each(SHAPES)('linear work: Observer on %s (bytes copied, searched or decoded per input byte)', (_name, build) => {
    for (const n of [4000, 32000]) {
      const log = build(n, lines)
      for (const chunk of [log.length, 4096, 7]) {
        let obs: Observation | undefined
        const bytes = bufferWork(() => {
          const o = new Observer({command: ['t'], host})
          for (let at = 0; at < log.length; at += chunk) o.push(log.subarray(at, at + chunk))
          obs = o.end()
        })
        expect(obs!.stats.lines).toBe(log.toString('latin1').split('\n').length - 1)
        expect(bytes / log.length, `n=${n} chunk=${chunk}`).toBeLessThanOrEqual(BUFFER_WORK_PER_BYTE)
      }
    }
  })
})
