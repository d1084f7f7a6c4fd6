#!/usr/bin/env node
/**
 * npm run build: compile the BPF recorder (native/bpf/recorder.bpf.c) to
 * dist/native/bpf/recorder.bpf.o with clang. The object is CO-RE (relocated against the running
 * kernel's BTF when it loads), so this one build runs on every kernel with BTF, and the npm
 * package ships it: users need no compiler. Without clang or libbpf-dev's headers the build goes
 * on without it, saying so in one line; `record --engine auto` then uses strace.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, renameSync, rmSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'native', 'bpf', 'recorder.bpf.c')
const out = join(root, 'dist', 'native', 'bpf', 'recorder.bpf.o')
const clang = process.env.CLANG || 'clang'

if (!existsSync('/usr/include/bpf/bpf_helpers.h') && !process.env.BPF_INCLUDE) {
  console.error('build-bpf: skipped: libbpf headers missing (Debian/Ubuntu: apt-get install clang libbpf-dev); record will use strace')
  process.exit(0)
}
mkdirSync(dirname(out), {recursive: true})
const tmp = `${out}.tmp`
const args = ['-g', '-O2', '-target', 'bpf', '-mcpu=v3', '-D__TARGET_ARCH_x86', '-Wall', '-Werror', '-c', src, '-o', tmp]
if (process.env.BPF_INCLUDE) args.unshift(`-I${process.env.BPF_INCLUDE}`)
const r = spawnSync(clang, args, {stdio: ['ignore', 'inherit', 'inherit']})
if (r.error && r.error.code === 'ENOENT') {
  console.error(`build-bpf: skipped: ${clang} not found (Debian/Ubuntu: apt-get install clang libbpf-dev); record will use strace`)
  process.exit(0)
}
if (r.status !== 0) {
  rmSync(tmp, {force: true})
  console.error(`build-bpf: ${clang} failed on ${src}`)
  process.exit(1)
}
renameSync(tmp, out)
