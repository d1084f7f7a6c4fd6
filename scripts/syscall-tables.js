#!/usr/bin/env node
// Regenerate profiles/syscalls/{x86_64,x86,x32}.json: name -> number for every syscall the
// kernel defines for that ABI. Sources, in order:
//   1. the kernel's uapi headers installed here (linux-libc-dev: asm/unistd_64.h, unistd_32.h,
//      unistd_x32.h), which the kernel generates from arch/x86/entry/syscalls/syscall_{64,32}.tbl;
//   2. NEWER below: the entries those tables gained after the headers' kernel, kept by hand from
//      the kernel's syscall_64.tbl / syscall_32.tbl;
//   3. libseccomp (through the built dist/native/libseccomp.js) as a cross-check only: every
//      name it resolves to a real number on an ABI must have that number in the table.
// Usage: node scripts/syscall-tables.js   (after `npm run build`; writes the three files)
import {readFileSync, writeFileSync, mkdirSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const KERNEL = '6.18'
const X32_BIT = 0x40000000
const HEADERS = '/usr/include/x86_64-linux-gnu/asm'

// Entries of syscall_64.tbl (abi "common" unless noted) and syscall_32.tbl added after the
// installed headers' kernel (6.1), up to KERNEL. Each was also checked on a running 6.18 kernel
// (x86_64 and i386: the number is not sys_ni's ENOSYS, or is compiled out where noted).
const NEWER = {
  x86_64: [
    [335, 'uretprobe'], [336, 'uprobe'],
    [451, 'cachestat'], [452, 'fchmodat2'], [453, 'map_shadow_stack'], [454, 'futex_wake'],
    [455, 'futex_wait'], [456, 'futex_requeue'], [457, 'statmount'], [458, 'listmount'],
    [459, 'lsm_get_self_attr'], [460, 'lsm_set_self_attr'], [461, 'lsm_list_modules'], [462, 'mseal'],
    [463, 'setxattrat'], [464, 'getxattrat'], [465, 'listxattrat'], [466, 'removexattrat'],
    [467, 'open_tree_attr'], [468, 'file_getattr'], [469, 'file_setattr'],
  ],
  // i386 has no uretprobe or uprobe (syscall_64.tbl only); map_shadow_stack has been reserved
  // in syscall_32.tbl since 6.7 (for all arches), though shadow stacks are 64-bit only.
  x86: [
    [451, 'cachestat'], [452, 'fchmodat2'], [453, 'map_shadow_stack'], [454, 'futex_wake'], [455, 'futex_wait'],
    [456, 'futex_requeue'], [457, 'statmount'], [458, 'listmount'], [459, 'lsm_get_self_attr'],
    [460, 'lsm_set_self_attr'], [461, 'lsm_list_modules'], [462, 'mseal'], [463, 'setxattrat'],
    [464, 'getxattrat'], [465, 'listxattrat'], [466, 'removexattrat'], [467, 'open_tree_attr'],
    [468, 'file_getattr'], [469, 'file_setattr'],
  ],
}
// x32 takes syscall_64.tbl's "common" entries (all of NEWER.x86_64 are common since
// map_shadow_stack went from "64" to "common" for x32 shadow stacks), with the x32 bit.
NEWER.x32 = NEWER.x86_64.map(([nr, name]) => [nr | X32_BIT, name])

const ABIS = [
  {abi: 'x86_64', header: 'unistd_64.h', token: 'x86_64', from: 'syscall_64.tbl, abi common and 64'},
  {abi: 'x86', header: 'unistd_32.h', token: 'x86', from: 'syscall_32.tbl (abi i386)'},
  {abi: 'x32', header: 'unistd_x32.h', token: 'x32', from: 'syscall_64.tbl, abi common and x32'},
]

/** `#define __NR_name N` and `#define __NR_name (__X32_SYSCALL_BIT + N)` lines of a header. */
function readHeader(file) {
  const out = new Map()
  for (const line of readFileSync(join(HEADERS, file), 'utf8').split('\n')) {
    const m = /^#define __NR_([a-z0-9_]+)\s+(?:\(__X32_SYSCALL_BIT \+ (\d+)\)|(\d+))\s*$/.exec(line)
    if (m) out.set(m[1], m[2] !== undefined ? (X32_BIT | Number(m[2])) >>> 0 : Number(m[3]))
  }
  if (out.size < 300) throw new Error(`${file}: only ${out.size} syscalls read`)
  return out
}

function tableFor({abi, header}) {
  const t = readHeader(header)
  for (const [nr, name] of NEWER[abi]) {
    if (t.has(name) && t.get(name) !== nr) throw new Error(`${abi} ${name}: header says ${t.get(name)}, NEWER says ${nr}`)
    t.set(name, nr)
  }
  const byNr = new Map()
  for (const [name, nr] of t) {
    if (byNr.has(nr)) throw new Error(`${abi}: ${name} and ${byNr.get(nr)} both have number ${nr}`)
    byNr.set(nr, name)
  }
  return new Map([...t].sort((a, b) => a[1] - b[1]))
}

/** Fail when libseccomp resolves a name of this ABI to another number (a typo here or there). */
async function crossCheck({abi, token}, table) {
  const ls = await import(join(root, 'dist', 'native', 'libseccomp.js'))
  const tok = ls.requireArchToken(token)
  const problems = []
  for (const [name, nr] of table) {
    const got = ls.rawSyscallNumber(name, tok)
    if (got >= 0 && got !== nr) problems.push(`${name}: table ${nr}, libseccomp ${got}`)
  }
  for (let nr = 0; nr < 1024; nr++) {
    const n = abi === 'x32' ? (nr | X32_BIT) >>> 0 : nr
    const name = ls.syscallName(n, tok)
    if (name && !table.has(name)) problems.push(`${name} (${n}) is known to libseccomp but not in the table`)
  }
  if (problems.length) throw new Error(`${abi}: ${problems.join('; ')}`)
}

function render(def, table) {
  const comment = `Syscall numbers of the ${def.abi} ABI in Linux ${KERNEL}: every name the kernel's ${def.from} defines, ` +
    `including entries without an implementation (sys_ni_syscall) that keep their number. Generated by scripts/syscall-tables.js ` +
    `from the installed uapi header asm/${def.header} (linux-libc-dev 6.1) plus the entries added in 6.2-${KERNEL} kept by hand in that script, ` +
    `cross-checked against libseccomp 2.5.4. Facts, used by src/syscall-table.ts to name numbers strace or libseccomp cannot name.` +
    (def.abi === 'x32' ? ' x32 numbers include the x32 bit 0x40000000, as the kernel sees them in orig_rax, strace 6.1 prints them (syscall_0x400001cd) and libseccomp returns them.' : '')
  const lines = [...table].map(([name, nr]) => `    ${JSON.stringify(name)}: ${nr}`)
  return `{\n  "$comment": ${JSON.stringify(comment)},\n  "abi": ${JSON.stringify(def.abi)},\n  "kernel": ${JSON.stringify(KERNEL)},\n  "syscalls": {\n${lines.join(',\n')}\n  }\n}\n`
}

const outDir = join(root, 'profiles', 'syscalls')
mkdirSync(outDir, {recursive: true})
for (const def of ABIS) {
  const table = tableFor(def)
  await crossCheck(def, table)
  writeFileSync(join(outDir, `${def.abi}.json`), render(def, table))
  console.log(`${def.abi}: ${table.size} syscalls`)
}
