// Inputs that would make a careless strace parser quadratic: many lines, one long line of
// something the lexer must look at again ('<', '(', quotes, decorations), and a call split
// into a long chain of `<unfinished ...>`/`<... resumed>` halves. Each shape builds its input
// from a size n (how many times its repeated part occurs), so the same shape can be measured
// at n and 8n. Shared by test/trace/fuzz.test.ts (which counts the parser's work on them) and
// bench/parse.bench.js (which times it); not a bench itself (bench/run.js runs *.bench.js).
import {readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

/** Every non-empty line of fixtures/*.strace under the repository root `root`. */
export function fixtureLines(root) {
  const dir = join(root, 'fixtures')
  const lines = []
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.strace')).sort()) lines.push(...readFileSync(join(dir, f), 'latin1').split('\n'))
  return lines.filter((l) => l !== '')
}

/**
 * [name, build(n, lines)] pairs; build returns a whole strace log (ending in a newline).
 * `lines` (real strace lines) is used by 'many lines' only.
 * @type {Array<[string, (n: number, lines: string[]) => Buffer]>}
 */
export const SHAPES = [
  ['many lines', (n, lines) => Buffer.from(Array.from({length: n}, (_, i) => lines[i % lines.length]).join('\n') + '\n', 'latin1')],
  ['one line of lone <', (n) => Buffer.from('1 mmap(' + '<a, '.repeat(n) + ') = 0\n')],
  ['one line of nested (', (n) => Buffer.from('1 ioctl(3, ' + '('.repeat(n) + ', 0) = 0\n')],
  ['one line of unclosed quotes and <', (n) => Buffer.from('1 clone(flags=' + '"<\\'.repeat(n) + '\n')],
  ['one line of <x> decorations', (n) => Buffer.from('1 setns(' + 'a<x>'.repeat(n) + ', 0) = 0\n')],
  ['resumed-unfinished chain (mmap: its arguments are inspected, so their text is kept)', (n) => Buffer.from('1 mmap(NULL, 8, <unfinished ...>\n' + '1 <... mmap resumed>x, <unfinished ...>\n'.repeat(n) + '1 <... mmap resumed>) = 0\n')],
  ['resumed-unfinished chain, arguments not inspected', (n) => Buffer.from('1 read(3, <unfinished ...>\n' + '1 <... read resumed>x, <unfinished ...>\n'.repeat(n) + '1 <... read resumed>) = 1\n')],
]
