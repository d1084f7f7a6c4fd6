#!/usr/bin/env node
// Compile the AssemblyScript lexer (src/trace/wasm/lane.ts) to dist/src/trace/lane.wasm.
// Part of `npm run build`; the package ships the .wasm, so users need no compiler.
import {spawnSync} from 'node:child_process'
import {mkdirSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist', 'src', 'trace', 'lane.wasm')
mkdirSync(dirname(out), {recursive: true})
const asc = join(root, 'node_modules', '.bin', 'asc')
const r = spawnSync(asc, [join(root, 'src', 'trace', 'wasm', 'lane.ts'), '-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd', '-o', out], {stdio: 'inherit'})
if (r.error) {
  console.error(`build-wasm: cannot run ${asc}: ${r.error.message}`)
  process.exit(1)
}
process.exit(r.status ?? 1)
