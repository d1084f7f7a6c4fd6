/**
 * build --widen imports, its parts on real host files: the ELF import reading (binutils on
 * /bin/ls, tar, python3, busybox-static), the library search, the libc table checked against
 * the kernel's syscall tables, and synthesis of widened rules (evaluated, never compared as text).
 */
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {buildProfile} from '../../src/build/pipeline.js'
import {isInterpreter, libcTable, syscallsOf, widenImports} from '../../src/build/widen.js'
import {serializeObservation} from '../../src/trace/observation-io.js'
import {programImports, readElf} from '../../src/build/widen-elf.js'
import {ruleData} from '../../src/profile/data.js'
import {evaluator} from '../../src/profile/evaluate.js'
import type {WidenCandidate} from '../../src/profile/synthesize.js'
import {knownSyscall} from '../../src/syscall-table.js'
import {realPython} from '../helpers/apply-profiles.js'
import {allowedNames, obs, synth} from '../helpers/profile.js'

const haveBinutils = spawnSync('nm', ['--version']).status === 0 && spawnSync('readelf', ['--version']).status === 0
if (!haveBinutils) console.warn('ELF import tests skipped: binutils (readelf, nm) is not installed (.ci/run installs it)')
const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p) && spawnSync('readelf', ['-d', p], {encoding: 'utf8'}).stdout.includes('no dynamic section'))
if (!busybox) console.warn('static-binary test skipped: busybox-static is not installed')
const python = realPython()
if (!python) console.warn('python3 import test skipped: python3 not found')
const cc = ['cc', 'clang', 'gcc'].find((c) => spawnSync(c, ['--version']).status === 0)
if (!cc) console.warn('RUNPATH $ORIGIN test skipped: no C compiler')
const nodeDynamic = haveBinutils && spawnSync('readelf', ['-d', process.execPath], {encoding: 'utf8'}).stdout.includes('(NEEDED)')
if (haveBinutils && !nodeDynamic) console.warn(`socketpair candidate test skipped: ${process.execPath} is a static binary`)
const dir = mkdtempSync(join(tmpdir(), 'seccomp-gen-widen-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe.runIf(haveBinutils && process.arch === 'x64')('reading what an ELF file imports (binutils)', () => {
  it('/bin/ls: dynamic x86_64, its needed list, imports without version suffixes', () => {
    const ls = readElf('/bin/ls')!
    expect(ls.abi).toBe('x86_64')
    expect(ls.dynamic).toBe(true)
    expect(ls.needed).toContain('libc.so.6')
    expect(ls.imports).toEqual(expect.arrayContaining(['opendir', 'readdir', 'closedir', 'fwrite']))
    expect(ls.imports.filter((n) => n.includes('@'))).toEqual([])
    expect(ls.imports).toEqual([...ls.imports].sort())
  })

  it('/bin/ls: the libraries it loads are found as ld.so finds them, libc among them', () => {
    const r = programImports('/bin/ls')!
    expect(r.missing).toEqual([])
    expect(r.objects[0]!.path).toBe('/bin/ls')
    const libc = r.objects.find((o) => /\/libc\.so\.6$/.test(o.path))
    expect(libc, r.objects.map((o) => o.path).join(' ')).toBeDefined()
    // what ldd says, the loader's own answer
    const ldd = spawnSync('ldd', ['/bin/ls'], {encoding: 'utf8'}).stdout
    for (const o of r.objects.slice(1)) expect(ldd).toContain(o.path.split('/').pop())
  })

  it('/usr/bin/tar imports the *at calls an extraction makes', () => {
    const tar = readElf('/usr/bin/tar')!
    expect(tar.imports).toEqual(expect.arrayContaining(['unlinkat', 'mkdirat', 'utimensat', 'fchownat', 'fchmod']))
  })

  it.runIf(!!python)('python3: an interpreter, imports much of libc; --widen imports leaves it out, all reads it', () => {
    const r = programImports(python!)!
    const known = new Set(r.objects.flatMap((o) => o.imports).filter((f) => libcTable().functions[f]))
    expect(known.size).toBeGreaterThan(200)
    expect(isInterpreter(python!)).toBe(true)
    expect(widenImports([python!], {interpreters: false})).toMatchObject({candidates: [], programs: [{status: 'interpreter'}]})
    const all = widenImports([python!], {interpreters: true})
    expect(all.programs[0]!.status).toBe('dynamic')
    expect(all.candidates.length).toBeGreaterThan(100)
    expect(isInterpreter('/usr/bin/tar')).toBe(false)
  })

  it.runIf(!!busybox)('busybox-static imports nothing: static, no candidates', () => {
    const r = programImports(busybox!)!
    expect(r).toMatchObject({static: true, objects: []})
    expect(widenImports([busybox!], {interpreters: false})).toEqual({candidates: [], programs: [expect.objectContaining({program: busybox, status: 'static'})]})
  })

  it('a #! script is read through its interpreter; a missing file is unread', () => {
    const script = join(dir, 'script.sh')
    writeFileSync(script, '#!/bin/sh -e\necho hi\n')
    chmodSync(script, 0o755)
    const w = widenImports([script, join(dir, 'gone')], {interpreters: false})
    expect(w.programs).toEqual([
      expect.objectContaining({program: join(dir, 'gone'), status: 'unread'}),
      expect.objectContaining({program: script, elf: '/bin/sh', status: 'dynamic'}),
    ])
    expect(w.candidates.length).toBeGreaterThan(0)
    expect(w.candidates.every((c) => c.program === script)).toBe(true)
  })

  it('a recorded /proc/self/exe, /dev/fd/N or relative path is never opened here (it would be the build\'s own node): not a file, nothing widened', () => {
    const w = widenImports(['/proc/self/exe', '/dev/fd/3', 'bin/tool', '/usr/bin/tar', '/dev/shm/gone'], {interpreters: true})
    expect(w.programs.map((p) => [p.program, p.status])).toEqual([
      ['/dev/fd/3', 'not-a-file'], ['/dev/shm/gone', 'unread'], ['/proc/self/exe', 'not-a-file'], ['/usr/bin/tar', 'dynamic'], ['bin/tool', 'not-a-file']])
    expect(w.programs.find((p) => p.program === 'bin/tool')!.why).toMatch(/relative path/)
    expect(w.candidates.length).toBeGreaterThan(0)
    expect(w.candidates.every((c) => c.program === '/usr/bin/tar')).toBe(true)
  })

  it('busybox-sh.obs.json (busybox re-runs applets via /proc/self/exe) under --widen all: nothing added, the summary says why', async () => {
    const r = await buildProfile({inputs: [join(__dirname, '..', '..', 'fixtures', 'busybox-sh.obs.json')], widen: 'all'})
    expect(r.widen!.added).toBe(0)
    expect(r.widen!.line).toContain('not a file at build time, not widened: /proc/self/exe')
    expect(r.diagnostics).toContainEqual(expect.stringMatching(/^widen: \/proc\/self\/exe: not a file at build time .*; nothing widened for it$/))
  })

  it('one clear reason per program not read: missing here, not an ELF file, a #! interpreter that is not ELF; `#!/usr/bin/env X` reads env', () => {
    const text = join(dir, 'notes.txt')
    writeFileSync(text, 'just text\n')
    const odd = join(dir, 'odd.sh')
    writeFileSync(odd, `#!${text}\n`)
    const env = join(dir, 'env.py')
    writeFileSync(env, '#!/usr/bin/env python3\nprint(1)\n')
    const rel = join(dir, 'rel.sh')
    writeFileSync(rel, '#!sh\n')
    const w = widenImports([join(dir, 'nowhere', 'prog'), text, odd, env, rel], {interpreters: false})
    const by = new Map(w.programs.map((p) => [p.program, p]))
    expect(by.get(join(dir, 'nowhere', 'prog'))).toMatchObject({status: 'unread', why: expect.stringMatching(/^not found on this host/)})
    expect(by.get(text)).toMatchObject({status: 'unread', why: 'not an ELF file nor a #! script'})
    expect(by.get(rel)).toMatchObject({status: 'unread', why: expect.stringMatching(/^its #! interpreter sh: a relative path/)})
    expect(by.get(odd)).toMatchObject({status: 'unread', why: `its #! interpreter ${text} is not an ELF file on this host`})
    // the kernel runs env, whose own code then runs; python3's exec is a recording's own entry
    expect(by.get(env)).toMatchObject({status: 'dynamic', elf: '/usr/bin/env'})
  })

  it.runIf(nodeDynamic)('node imports socketpair: its candidate carries AF_UNIX, the one family socketpair(2) works with', () => {
    const w = widenImports([process.execPath], {interpreters: true})
    expect(w.candidates.find((c) => c.name === 'socketpair')).toMatchObject({values: [{name: 'AF_UNIX', value: '0x1'}]})
    expect(w.candidates.find((c) => c.name === 'socket')?.values).toBeUndefined()
  })

  it('a truncated ELF file is left out with the reader\'s reason, and the others are still read', () => {
    const cut = join(dir, 'cut')
    writeFileSync(cut, readFileSync('/usr/bin/tar').subarray(0, 2000))
    const w = widenImports([cut, '/usr/bin/tar'], {interpreters: false})
    expect(w.programs).toEqual([
      expect.objectContaining({program: cut, status: 'unread', why: expect.stringMatching(/^readelf .*Error/)}),
      expect.objectContaining({program: '/usr/bin/tar', status: 'dynamic'}),
    ])
  })

  it('a candidate names the import: the one named like the syscall, the program\'s own first', () => {
    const w = widenImports(['/usr/bin/tar'], {interpreters: false})
    const by = new Map(w.candidates.map((c) => [c.name, c]))
    expect(by.get('unlinkat')).toEqual({name: 'unlinkat', program: '/usr/bin/tar', import: 'unlinkat'})
    expect(by.get('mkdirat')).toMatchObject({import: 'mkdirat'})
    expect(w.candidates.filter((c) => c.via).every((c) => /\.so/.test(c.via!))).toBe(true)
  })

  it.runIf(!!cc)('DT_RUNPATH with $ORIGIN: a library next to the program is found (and its imports read)', () => {
    mkdirSync(join(dir, 'app', 'lib'), {recursive: true})
    writeFileSync(join(dir, 'app', 'lib', 'w.c'), '#include <unistd.h>\nint wipe(const char *p) { return unlink(p) + symlink(p, p); }\n')
    writeFileSync(join(dir, 'app', 'main.c'), 'int wipe(const char *);\nint main(int c, char **v) { return wipe(v[0]); }\n')
    const lib = spawnSync(cc!, ['-shared', '-fPIC', '-o', join(dir, 'app', 'lib', 'libwipe.so'), join(dir, 'app', 'lib', 'w.c')], {encoding: 'utf8'})
    expect(lib.status, lib.stderr).toBe(0)
    const exe = spawnSync(cc!, ['-o', join(dir, 'app', 'main'), join(dir, 'app', 'main.c'), `-L${join(dir, 'app', 'lib')}`, '-lwipe', '-Wl,--enable-new-dtags,-rpath,$ORIGIN/lib'], {encoding: 'utf8'})
    expect(exe.status, exe.stderr).toBe(0)
    const r = programImports(join(dir, 'app', 'main'))!
    expect(r.missing).toEqual([])
    expect(r.objects.map((o) => o.path)).toContain(join(dir, 'app', 'lib', 'libwipe.so'))
    const w = widenImports([join(dir, 'app', 'main')], {interpreters: false})
    expect(w.candidates.find((c) => c.name === 'symlink')).toMatchObject({import: 'symlink', via: 'libwipe.so'})
  })
})

describe.runIf(haveBinutils && !!cc && process.arch === 'x64')('$ORIGIN of a library reached through a link', () => {
  it('is the directory it was found in, links kept, as ld.so (and ldd) take it; the program\'s is its real directory', () => {
    // B/libtop.so -> ../A/libtop.so, whose RUNPATH $ORIGIN must mean B, where libdep.so is
    const o = join(dir, 'origin')
    mkdirSync(join(o, 'A'), {recursive: true})
    mkdirSync(join(o, 'B'), {recursive: true})
    writeFileSync(join(o, 'dep.c'), 'int dep(void) { return 1; }\n')
    writeFileSync(join(o, 'top.c'), '#include <unistd.h>\nint dep(void); int top(void) { return dep() + rmdir("x"); }\n')
    writeFileSync(join(o, 'main.c'), 'int top(void); int main(void) { return top(); }\n')
    const run = (args: string[]) => spawnSync(cc!, args, {encoding: 'utf8', cwd: o})
    for (const r of [run(['-shared', '-fPIC', '-o', 'B/libdep.so', 'dep.c']),
      run(['-shared', '-fPIC', '-o', 'A/libtop.so', 'top.c', '-LB', '-ldep', '-Wl,--enable-new-dtags,-rpath,$ORIGIN']),
      spawnSync('ln', ['-s', '../A/libtop.so', join(o, 'B', 'libtop.so')]),
      run(['-o', 'main', 'main.c', '-LB', '-ltop', '-Wl,--enable-new-dtags,-rpath,$ORIGIN/B'])]) expect(r.status, String(r.stderr)).toBe(0)
    const ldd = spawnSync('ldd', [join(o, 'main')], {encoding: 'utf8'}).stdout
    expect(ldd).toMatch(/libdep\.so => \S*\/B\/libdep\.so/)
    const r = programImports(join(o, 'main'))!
    expect(r.missing).toEqual([])
    expect(r.objects.map((x) => x.path)).toEqual(expect.arrayContaining([join(o, 'B', 'libtop.so'), join(o, 'B', 'libdep.so')]))
    expect(widenImports([join(o, 'main')], {interpreters: false}).candidates.find((c) => c.name === 'rmdir')).toMatchObject({via: 'libtop.so'})
  })
})

describe.runIf(haveBinutils && !!cc && process.arch === 'x64')('DT_RPATH along the loader chain', () => {
  it('a library with no path of its own finds its needed one through the DT_RPATH of the library that loaded it, as ld.so (and ldd) do', () => {
    // main (RUNPATH $ORIGIN/mid) -> libmid.so (DT_RPATH $ORIGIN/deps) -> libleaf.so (none) -> libdeep.so, in deps/
    const o = join(dir, 'chain')
    mkdirSync(join(o, 'mid', 'deps'), {recursive: true})
    writeFileSync(join(o, 'deep.c'), '#include <unistd.h>\nint deep(void) { return rmdir("x"); }\n')
    writeFileSync(join(o, 'leaf.c'), 'int deep(void); int leaf(void) { return deep(); }\n')
    writeFileSync(join(o, 'mid.c'), 'int leaf(void); int mid(void) { return leaf(); }\n')
    writeFileSync(join(o, 'main.c'), 'int mid(void); int main(void) { return mid(); }\n')
    const run = (args: string[]) => spawnSync(cc!, args, {encoding: 'utf8', cwd: o})
    for (const r of [run(['-shared', '-fPIC', '-o', 'mid/deps/libdeep.so', 'deep.c']),
      run(['-shared', '-fPIC', '-o', 'mid/deps/libleaf.so', 'leaf.c', '-Lmid/deps', '-ldeep']),
      run(['-shared', '-fPIC', '-o', 'mid/libmid.so', 'mid.c', '-Lmid/deps', '-lleaf', '-Wl,--disable-new-dtags,-rpath,$ORIGIN/deps']),
      run(['-o', 'main', 'main.c', '-Lmid', '-lmid', '-Wl,--enable-new-dtags,-rpath,$ORIGIN/mid,-rpath-link,mid/deps'])]) expect(r.status, r.stderr).toBe(0)
    expect(spawnSync('ldd', [join(o, 'main')], {encoding: 'utf8'}).stdout).toMatch(/libdeep\.so => \S*\/mid\/deps\/libdeep\.so/)
    const r = programImports(join(o, 'main'))!
    expect(r.missing).toEqual([])
    expect(widenImports([join(o, 'main')], {interpreters: false}).candidates.find((c) => c.name === 'rmdir')).toMatchObject({via: 'libdeep.so'})
  })
})

describe.runIf(haveBinutils && !!cc && process.arch === 'x64')('an i386 ELF file', () => {
  // a 32-bit shared object linked against a stub libc.so.6 next to it (no 32-bit libc needed)
  const m32 = join(dir, 'm32')
  mkdirSync(m32, {recursive: true})
  writeFileSync(join(m32, 'libc.c'), 'void stub(void) {}\n')
  writeFileSync(join(m32, 'p.c'), 'int unlink(const char *); void *mmap(void *, unsigned long, int, int, int, long); int socket(int, int, int);\n' +
    'int f(void) { mmap(0, 0, 0, 0, 0, 0); socket(0, 0, 0); return unlink("x"); }\n')
  const compile = (args: string[]) => (cc ? spawnSync(cc, args, {encoding: 'utf8'}) : {status: 1, stderr: 'no C compiler'})
  const stub = compile(['-m32', '-nostdlib', '-shared', '-fPIC', '-Wl,-soname,libc.so.6', '-o', join(m32, 'libc.so.6'), join(m32, 'libc.c')])
  const prog = stub.status === 0
    ? compile(['-m32', '-nostdlib', '-shared', '-fPIC', '-o', join(m32, 'p.so'), join(m32, 'p.c'), '-Wl,--no-as-needed,--enable-new-dtags,-rpath,$ORIGIN', `-L${m32}`, '-l:libc.so.6'])
    : stub
  if (cc && prog.status !== 0) console.warn(`i386 ELF test skipped: ${cc} -m32 cannot link here: ${prog.stderr.trim().split('\n')[0]}`)

  it.runIf(prog.status === 0)('reads as x86, finds only a 32-bit libc.so.6, and maps its imports to the i386 names', () => {
    const r = programImports(join(m32, 'p.so'))!
    expect(r.abi).toBe('x86')
    expect(r.objects.map((o) => o.path)).toEqual([join(m32, 'p.so'), join(m32, 'libc.so.6')])
    const cands = widenImports([join(m32, 'p.so')], {interpreters: false}).candidates
    expect(cands.map((c) => c.name).sort()).toEqual(['mmap2', 'socket', 'socketcall', 'unlink'])
    expect(cands.find((c) => c.name === 'socketcall')).toMatchObject({import: 'socket', argsOf: 'socket'})
  })
})

describe('profiles/libc-syscalls.json', () => {
  const t = libcTable()
  const abiNames = (names: string[]) => [...new Set(names.flatMap((n) => t.i386.renames[n] ?? [n]))]

  it('every syscall it names exists in the kernel table of each ABI (x86_64 and x32 names, i386 after renames)', () => {
    const bad: string[] = []
    for (const [fn, e] of Object.entries(t.functions)) {
      for (const list of [e.syscalls, e.musl ?? []]) {
        for (const s of list) {
          if (!knownSyscall('x86_64', s)) bad.push(`x86_64 ${fn}: ${s}`)
          if (!knownSyscall('x32', s)) bad.push(`x32 ${fn}: ${s}`)
        }
        for (const s of abiNames(list)) if (!knownSyscall('x86', s)) bad.push(`x86 ${fn}: ${s}`)
      }
    }
    for (const [from, to] of Object.entries(t.i386.renames)) {
      if (!knownSyscall('x86_64', from)) bad.push(`rename of ${from}, not an x86_64 syscall`)
      for (const s of to) if (!knownSyscall('x86', s)) bad.push(`rename ${from} -> ${s}`)
    }
    expect(bad).toEqual([])
    expect(Object.keys(t.functions).length).toBeGreaterThan(500)
  })

  it('an i386 rename of a risky x86_64 name is risky too (clock_adjtime -> clock_adjtime64), or a multiplexer whose argument rule keeps it out', () => {
    const risky = new Set(Object.values(ruleData().classes).flatMap((c) => c.syscalls))
    const leaks = Object.entries(t.i386.renames).filter(([from]) => risky.has(from))
      .flatMap(([from, to]) => to.filter((s) => !risky.has(s) && !t.i386.multiplexers[s]).map((s) => `${from} -> ${s}`))
    expect(leaks).toEqual([])
    // and the multiplexers carry only names whose rule is a value set, which widening never opens unrecorded
    for (const [mux, argsOf] of Object.entries(t.i386.multiplexers)) expect(ruleData().args.syscalls[argsOf]?.kind, mux).toBe('eq-set')
  })

  it('every entry cites a source the file defines', () => {
    const unknown = Object.entries(t.functions).filter(([, e]) => !t.sources[e.source]).map(([f]) => f)
    expect(unknown).toEqual([])
  })

  it('holds the facts the issue names', () => {
    expect(syscallsOf('raise', 'x86_64')).toEqual(expect.arrayContaining(['gettid', 'tgkill', 'rt_sigprocmask']))
    expect(syscallsOf('unlink', 'x86_64')).toContain('unlink')
    expect(syscallsOf('splice', 'x86_64')).toEqual(['splice'])
    expect(syscallsOf('fork', 'x86_64')).toContain('clone')
    expect(syscallsOf('pthread_create', 'x86_64')).toEqual(expect.arrayContaining(['clone3', 'clone']))
    expect(syscallsOf('stat', 'x86_64')).toEqual(expect.arrayContaining(['newfstatat', 'statx']))
    expect(syscallsOf('malloc', 'x86_64')).toEqual(expect.arrayContaining(['brk', 'mmap']))
    // per ABI and per libc
    expect(syscallsOf('mmap', 'x86')).toEqual(['mmap2'])
    expect(syscallsOf('socket', 'x86')).toEqual(['socket', 'socketcall'])
    expect(syscallsOf('open', 'x86_64', 'musl')).toEqual(['open'])
    expect(syscallsOf('no_such_function', 'x86_64')).toEqual([])
  })
})

describe('synthesis with widening (evaluated)', () => {
  const recorded = obs({x86_64: {lseek: 2, read: 5, write: 3, openat: 2, close: 2, execve: 1, mmap: {count: 4, args: {2: ['0x1', '0x3']}}, ptrace: {count: 1, errors: {EPERM: 1}}}})
  const cand = (name: string, fn = name): WidenCandidate => ({name, program: '/usr/bin/tar', import: fn})
  const risky = Object.values(ruleData().classes).flatMap((c) => c.syscalls)

  it('adds what is imported and not recorded, with a comment naming program and import', () => {
    const s = synth(recorded, {widen: [cand('unlinkat'), cand('mkdirat'), cand('lseek'), cand('wait4', 'waitpid')]})
    const allowed = allowedNames(s.profile)
    expect(allowed).toEqual(expect.arrayContaining(['unlinkat', 'mkdirat', 'wait4']))
    const rule = s.profile.syscalls!.find((r) => r.names.includes('unlinkat'))!
    expect(rule.comment).toMatch(/^widened/)
    expect(rule.comment).toContain('unlinkat (/usr/bin/tar imports unlinkat)')
    expect(rule.comment).toContain('wait4 (/usr/bin/tar imports waitpid)')
    // lseek was recorded: it stays in its recorded rule, not credited to widening
    expect(s.widened!.added.map((c) => c.name).sort()).toEqual(['mkdirat', 'unlinkat', 'wait4'])
    expect(s.profile.syscalls!.filter((r) => r.names.includes('lseek')).map((r) => r.comment)).toEqual([expect.stringMatching(/^recorded/)])
    const without = synth(recorded)
    expect(allowedNames(without)).not.toContain('unlinkat')
    expect(without.widened).toBeUndefined()
  })

  it('never adds a syscall of a risky class, whatever is imported; a recorded one stays as it was', () => {
    const every = [...new Set(Object.values(libcTable().functions).flatMap((e) => [...e.syscalls, ...(e.musl ?? [])]))]
    const s = synth(recorded, {widen: [...every, ...risky].map((n) => cand(n, 'anything'))})
    const allowed = new Set(allowedNames(s.profile))
    const widenedRisky = risky.filter((n) => allowed.has(n) && n !== 'ptrace')
    expect(widenedRisky).toEqual([])
    expect(s.widened!.skipped.filter((x) => x.why.startsWith('risky')).length).toBeGreaterThan(20)
    // ptrace was recorded: allowed as without widening (under its capability gate)
    expect(allowed.has('ptrace')).toBe(allowedNames(synth(recorded).profile).includes('ptrace'))
    // and the widened profile still holds back everything dangerous the evaluator can check
    const ev = evaluator(s.profile, {host: 'x86_64', caps: []})
    for (const n of ['unshare', 'mount', 'bpf', 'keyctl', 'setns', 'init_module', 'perf_event_open', 'userfaultfd', 'io_uring_setup']) {
      expect(ev('x86_64', n, []).action, n).not.toBe('SCMP_ACT_ALLOW')
    }
  })

  it('argument rules: no socket family recorded -> socket not added (AF_NETLINK stays denied); --args none adds it', () => {
    const safe = synth(recorded, {widen: [cand('socket', 'getaddrinfo')]})
    expect(allowedNames(safe.profile)).not.toContain('socket')
    expect(safe.widened!.skipped).toEqual([{name: 'socket', why: expect.stringContaining('domain')}])
    const none = synth(recorded, {args: 'none', widen: [cand('socket', 'getaddrinfo')]})
    expect(allowedNames(none.profile)).toContain('socket')
    // i386's socketcall carries socket's family out of seccomp's sight: socket's rule applies to it
    const i386 = synth(obs({x86: {read: 1, write: 1, execve: 1}}), {widen: [{...cand('socketcall', 'connect'), argsOf: 'socket'}]})
    expect(allowedNames(i386.profile)).not.toContain('socketcall')
    expect(i386.widened!.skipped).toEqual([{name: 'socketcall', why: expect.stringContaining('socket domain')}])
  })

  it('argument rules: a widened socketpair allows AF_UNIX only (libc-syscalls.json argValues); AF_NETLINK, AF_INET and i386 socketcall stay denied', () => {
    const unix = [{name: 'AF_UNIX', value: '0x1'}]
    const s = synth(recorded, {widen: [{...cand('socketpair'), values: unix}]})
    const ev = evaluator(s.profile, {host: 'x86_64', caps: []})
    expect(ev('x86_64', 'socketpair', [1, 1, 0]).action).toBe('SCMP_ACT_ALLOW')
    expect(ev('x86_64', 'socketpair', [0xffffffff00000001n, 1, 0]).action).toBe('SCMP_ACT_ALLOW') // the kernel reads an int
    for (const af of [0, 2, 10, 16, 17, 30]) expect(ev('x86_64', 'socketpair', [af, 1, 0]).action, `family ${af}`).not.toBe('SCMP_ACT_ALLOW')
    expect(s.profile.syscalls!.find((r) => r.names.includes('socketpair'))!.comment).toContain('socketpair (/usr/bin/tar imports socketpair), domain (address family) AF_UNIX only')
    expect(s.widened!.added.map((c) => c.name)).toEqual(['socketpair'])
    // without values (the table's word), no family is allowed, as before
    expect(allowedNames(synth(recorded, {widen: [cand('socketpair')]}).profile)).not.toContain('socketpair')
    const i386 = synth(obs({x86: {read: 1, write: 1, execve: 1}}), {widen: [{...cand('socketcall', 'socketpair'), argsOf: 'socket', values: unix}]})
    expect(allowedNames(i386.profile)).not.toContain('socketcall')
  })

  it('libc-syscalls.json argValues: only socketpair, only AF_UNIX, each value a known constant', () => {
    expect(Object.fromEntries(Object.entries(libcTable().argValues).filter(([k]) => k !== '$comment').map(([k, v]) => [k, v.values]))).toEqual({socketpair: ['AF_UNIX']})
    expect(libcTable().sources[libcTable().argValues.socketpair!.source]).toBeDefined()
  })

  it('argument rules: a widened clone has no namespace flags; a widened mprotect keeps W^X', () => {
    const s = synth(recorded, {widen: [cand('clone', 'fork'), cand('mprotect')]})
    const ev = evaluator(s.profile, {host: 'x86_64', caps: []})
    expect(ev('x86_64', 'clone', [0x1200011]).action).toBe('SCMP_ACT_ALLOW')
    expect(ev('x86_64', 'clone', [0x1200011 | 0x10000000]).action).not.toBe('SCMP_ACT_ALLOW') // CLONE_NEWUSER
    expect(ev('x86_64', 'mprotect', [0, 4096, 0x1]).action).toBe('SCMP_ACT_ALLOW')
    expect(ev('x86_64', 'mprotect', [0, 4096, 0x7]).action).not.toBe('SCMP_ACT_ALLOW')
  })

  it('a capability-gated syscall is widened under its gate; an ENOSYS probe stays ENOSYS', () => {
    const s = synth(recorded, {widen: [cand('chroot'), cand('statx', 'stat')]})
    const ev = evaluator(s.profile, {host: 'x86_64', caps: []})
    const evChroot = evaluator(s.profile, {host: 'x86_64', caps: ['CAP_SYS_CHROOT']})
    expect(ev('x86_64', 'chroot', []).action).not.toBe('SCMP_ACT_ALLOW')
    expect(evChroot('x86_64', 'chroot', []).action).toBe('SCMP_ACT_ALLOW')
    expect(ev('x86_64', 'statx', [])).toMatchObject({action: 'SCMP_ACT_ERRNO', errno: 38})
  })
})

describe.runIf(haveBinutils && process.arch === 'x64')('buildProfile with --widen', () => {
  const write = (name: string, runtime?: 'runc') => {
    const o = obs({x86_64: {read: 3, write: 2, openat: 1, close: 1, execve: 1}})
    o.execs = ['/usr/bin/tar']
    if (runtime) o.runtime = runtime
    const f = join(dir, name)
    writeFileSync(f, serializeObservation(o))
    return f
  }

  it('reads the exec\'d programs of a host recording and says what it added', async () => {
    const r = await buildProfile({inputs: [write('host.obs.json')], widen: 'imports'})
    expect(r.widen!.added).toBeGreaterThan(10)
    expect(r.widen!.line).toMatch(/^widened by imports: \+\d+ names from \/usr\/bin\/tar \(\d+\)$/)
    expect(r.stats.allowed).toBe((await buildProfile({inputs: [write('host2.obs.json')]})).stats.allowed + r.widen!.added)
  })

  it('a recording made in a container (record --bundle) is not read on the host', async () => {
    const r = await buildProfile({inputs: [write('bundle.obs.json', 'runc')], widen: 'imports'})
    expect(r.widen!.added).toBe(0)
    expect(r.diagnostics).toContain('widen: /usr/bin/tar ran in a container (record --bundle): not read, its files are not this host\'s')
  })
})
