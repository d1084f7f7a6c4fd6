/**
 * The boundaries of the source tree:
 * - native/ is the only place that imports koffi (walks every source directory of the repo);
 * - every import in src/ and native/ points down the layers of README's "Architecture": LAYERS
 *   below says what each layer may import, and a test feeds the checker arrows that point up.
 */
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {describe, expect, it} from 'vitest'

const root = join(__dirname, '..')
const DIRS = ['src', 'test', 'bench', 'scripts', 'bin']
const IMPORT = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]koffi(?:\/[^'"]*)?['"]/

function* files(dir: string): Generator<string> {
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return
  }
  for (const e of entries) {
    const p = join(dir, e)
    if (e === 'node_modules' || e.startsWith('.')) continue
    if (statSync(p).isDirectory()) yield* files(p)
    else if (/\.(ts|js|mjs|cjs)$/.test(e)) yield p
  }
}

it('nothing outside native/ imports koffi', () => {
  const offenders = DIRS.flatMap((d) => [...files(join(root, d))]).filter((f) => IMPORT.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f))
  expect(offenders).toEqual([])
  // and the check itself sees native/'s imports
  const native = [...files(join(root, 'native'))].filter((f) => IMPORT.test(readFileSync(f, 'utf8')))
  expect(native.length).toBeGreaterThan(0)
})

// --- layers ------------------------------------------------------------------------------------

type Layer = 'core' | 'native' | 'observation' | 'trace' | 'profile' | 'enforce' | 'build' | 'commands'

/** Which layers each layer may import (its own included). Bottom to top. */
const LAYERS: Record<Layer, readonly Layer[]> = {
  core: ['core'],
  native: ['core', 'native'],
  observation: ['core', 'observation'],
  trace: ['core', 'native', 'observation', 'trace'],
  profile: ['core', 'observation', 'profile'],
  enforce: ['core', 'native', 'observation', 'profile', 'enforce'],
  build: ['core', 'native', 'observation', 'trace', 'profile', 'build'],
  commands: ['core', 'native', 'observation', 'trace', 'profile', 'enforce', 'build', 'commands'],
}

/** The files at src/'s top that belong to the commands layer. */
const COMMAND_FILES = new Set(['src/command.ts', 'src/cli-argv.ts', 'src/stdin-input.ts', 'src/file-kind.ts'])

/** The layer of a repo-relative source path ('src/profile/load.ts'). */
function layerOf(path: string): Layer {
  if (path.startsWith('native/')) return 'native'
  if (path === 'src/trace/observation.ts' || path === 'src/trace/observation-io.ts') return 'observation'
  const m = /^src\/(trace|profile|enforce|build|commands)\//.exec(path)
  if (m) return m[1] as Layer
  // the oclif base class, the argv splitter, "-" as stdin and the file-kind guess (for error
  // lines) serve only the commands; the rest of src/*.ts is the core
  if (COMMAND_FILES.has(path)) return 'commands'
  if (/^src\/[^/]+\.ts$/.test(path)) return 'core'
  throw new Error(`${path}: in no layer (add it to layerOf)`)
}

interface Arrow {from: string; to: string}

/** The arrows that point up or sideways: importer and imported, with their layers. */
function violations(arrows: readonly Arrow[]): string[] {
  return arrows.flatMap(({from, to}) => {
    const a = layerOf(from)
    const b = layerOf(to)
    return LAYERS[a].includes(b) ? [] : [`${from} (${a}) imports ${to} (${b})`]
  })
}

const RELATIVE = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm

/** Every relative import (static, dynamic, side-effect) in src/ and native/, as repo paths. */
function arrowsInTree(): Arrow[] {
  const out: Arrow[] = []
  for (const file of [...files(join(root, 'src')), ...files(join(root, 'native'))]) {
    if (!file.endsWith('.ts')) continue
    const from = relative(root, file)
    for (const m of readFileSync(file, 'utf8').matchAll(RELATIVE)) {
      out.push({from, to: relative(root, resolve(dirname(file), m[1]!)).replace(/\.js$/, '.ts')})
    }
  }
  return out
}

describe('imports point down the layers', () => {
  it('every import in src/ and native/ is allowed by LAYERS', () => {
    const arrows = arrowsInTree()
    expect(arrows.length).toBeGreaterThan(100) // the scan sees the tree's imports
    expect(violations(arrows)).toEqual([])
  })

  it('names each arrow that points up', () => {
    expect(violations([
      {from: 'native/libseccomp.ts', to: 'src/profile/types.ts'},
      {from: 'src/profile/synthesize.ts', to: 'native/libseccomp.ts'},
      {from: 'src/trace/record.ts', to: 'src/profile/load.ts'},
      {from: 'src/profile/load.ts', to: 'src/trace/observe.ts'},
      {from: 'src/errors.ts', to: 'src/command.ts'},
      {from: 'src/profile/load.ts', to: 'src/enforce/bundle.ts'},
      {from: 'src/enforce/apply.ts', to: 'src/build/pipeline.ts'},
      {from: 'src/build/pipeline.ts', to: 'src/commands/build.ts'},
    ])).toEqual([
      'native/libseccomp.ts (native) imports src/profile/types.ts (profile)',
      'src/profile/synthesize.ts (profile) imports native/libseccomp.ts (native)',
      'src/trace/record.ts (trace) imports src/profile/load.ts (profile)',
      'src/profile/load.ts (profile) imports src/trace/observe.ts (trace)',
      'src/errors.ts (core) imports src/command.ts (commands)',
      'src/profile/load.ts (profile) imports src/enforce/bundle.ts (enforce)',
      'src/enforce/apply.ts (enforce) imports src/build/pipeline.ts (build)',
      'src/build/pipeline.ts (build) imports src/commands/build.ts (commands)',
    ])
    // and the arrows that are fine
    expect(violations([
      {from: 'src/profile/validate.ts', to: 'src/trace/observation.ts'},
      {from: 'src/enforce/compile.ts', to: 'native/libseccomp.ts'},
      {from: 'native/exec.ts', to: 'src/caller.ts'},
      {from: 'src/commands/validate.ts', to: 'native/libseccomp.ts'},
    ])).toEqual([])
  })

  it('knows the layer of every file in src/ and native/', () => {
    for (const f of [...files(join(root, 'src')), ...files(join(root, 'native'))]) {
      if (f.endsWith('.ts')) expect(() => layerOf(relative(root, f))).not.toThrow()
    }
  })
})

describe('size is a design signal', () => {
  const lines = (f: string) => readFileSync(f, 'utf8').split('\n').length - 1
  const sources = () => [...files(join(root, 'src')), ...files(join(root, 'native'))].filter((f) => f.endsWith('.ts'))

  it('no source file is over 600 lines (a stage that wants splitting)', () => {
    const big = sources().filter((f) => lines(f) > 600).map((f) => `${relative(root, f)}: ${lines(f)}`)
    expect(big).toEqual([])
  })

  it('src/trace/, the recording and its one parse path, stays under 2,800 lines (the bpf engine apart)', () => {
    const total = sources().filter((f) => relative(root, f).startsWith('src/trace/') && !relative(root, f).startsWith('src/trace/bpf/')).reduce((n, f) => n + lines(f), 0)
    expect(total).toBeGreaterThan(1000) // the walk found the parser
    expect(total).toBeLessThan(2800)
  })

  it("src/trace/bpf/, the bpf engine's user space, stays under 800 lines", () => {
    const total = sources().filter((f) => relative(root, f).startsWith('src/trace/bpf/')).reduce((n, f) => n + lines(f), 0)
    expect(total).toBeGreaterThan(200) // the walk found the engine
    expect(total).toBeLessThan(800)
  })
})
