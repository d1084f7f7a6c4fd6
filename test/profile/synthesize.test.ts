import {describe, expect, it} from 'vitest'
import {evaluator} from '../../src/profile/evaluate.js'
import {ruleData} from '../../src/profile/data.js'
import {listRuntimeLayers} from '../../src/profile/layers.js'
import {renderDocker} from '../../src/profile/render.js'
import {SeccompGenError} from '../../src/errors.js'
import type {SyscallResolver} from '../../src/syscall-table.js'
import {allowedNames, obs, synth} from '../helpers/profile.js'

const NS_NET = 0x40000000
const THREAD_FLAGS = 0x3d0f00 // CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
const FORK_FLAGS = 0x1200011 // CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD

const program = obs({
  x86_64: {
    read: 120, write: 30, openat: {count: 12, errors: {ENOENT: 3}}, close: 12, execve: 1, brk: 3,
    mmap: {count: 20, args: {2: ['0x1', '0x3', '0x5']}},
    mprotect: {count: 4, args: {2: ['0x0', '0x1']}},
    socket: {count: 3, args: {0: ['0x1', '0x2']}},
    clone: {count: 2, args: {0: [`0x${FORK_FLAGS.toString(16)}`, `0x${THREAD_FLAGS.toString(16)}`]}},
    personality: {count: 1, args: {0: ['0xffffffff']}},
    prctl: {count: 2, args: {0: ['0xf', '0x26']}},
    ioctl: {count: 5, args: {1: ['0x5401', '0xffffffff80045430']}},
    mount: {count: 1, errors: {EPERM: 1}},
    getrandom: {count: 2, errors: {ENOSYS: 2}},
  },
})

describe('synthesis rules (evaluated, not compared as text)', () => {
  const p = synth(program, {args: 'strict'}).profile
  const ev = evaluator(p, {host: 'x86_64', caps: []})
  const evAdmin = evaluator(p, {host: 'x86_64', caps: ['CAP_SYS_ADMIN']})

  it.each([
    // rule 1: default ERRNO(EPERM)
    ['x86_64', 'mkdir', [], 'SCMP_ACT_ERRNO', 1],
    ['x86_64', 'unshare', [NS_NET], 'SCMP_ACT_ERRNO', 1],
    // recorded
    ['x86_64', 'read', [], 'SCMP_ACT_ALLOW', undefined],
    ['x86_64', 'brk', [], 'SCMP_ACT_ALLOW', undefined],
    // rule 3: always allowed
    ['x86_64', 'exit_group', [], 'SCMP_ACT_ALLOW', undefined],
    ['x86_64', 'exit', [], 'SCMP_ACT_ALLOW', undefined],
    ['x86_64', 'rt_sigreturn', [], 'SCMP_ACT_ALLOW', undefined],
    ['x86_64', 'restart_syscall', [], 'SCMP_ACT_ALLOW', undefined],
    // rule 2: ENOSYS fallbacks not recorded
    ['x86_64', 'clone3', [], 'SCMP_ACT_ERRNO', 38],
    ['x86_64', 'faccessat2', [], 'SCMP_ACT_ERRNO', 38],
    ['x86_64', 'statx', [], 'SCMP_ACT_ERRNO', 38],
    ['x86_64', 'close_range', [], 'SCMP_ACT_ERRNO', 38],
    // a syscall that always failed ENOSYS in the recording stays ENOSYS
    ['x86_64', 'getrandom', [], 'SCMP_ACT_ERRNO', 38],
    // rule 4: socket family
    ['x86_64', 'socket', [2, 1, 0], 'SCMP_ACT_ALLOW', undefined],
    ['x86_64', 'socket', [1], 'SCMP_ACT_ALLOW', undefined],
    ['x86_64', 'socket', [10], 'SCMP_ACT_ERRNO', 1],
    ['x86_64', 'socket', [16], 'SCMP_ACT_ERRNO', 1],
    // rule 4: clone namespace flags denied, thread/fork flags fine
    ['x86_64', 'clone', [FORK_FLAGS], 'SCMP_ACT_ALLOW', undefined],
    ['x86_64', 'clone', [THREAD_FLAGS], 'SCMP_ACT_ALLOW', undefined],
    ['x86_64', 'clone', [FORK_FLAGS | NS_NET], 'SCMP_ACT_ERRNO', 1],
    ['x86_64', 'clone', [0x10000000 | 17], 'SCMP_ACT_ERRNO', 1],
    // rule 4: W^X
    ['x86_64', 'mmap', [0, 4096, 0x3], 'SCMP_ACT_ALLOW', undefined],
    ['x86_64', 'mmap', [0, 4096, 0x5], 'SCMP_ACT_ALLOW', undefined],
    ['x86_64', 'mmap', [0, 4096, 0x7], 'SCMP_ACT_ERRNO', 1],
    ['x86_64', 'mmap', [0, 4096, 0x6], 'SCMP_ACT_ERRNO', 1],
    ['x86_64', 'mprotect', [0, 4096, 0x4], 'SCMP_ACT_ALLOW', undefined],
    ['x86_64', 'mprotect', [0, 4096, 0x6], 'SCMP_ACT_ERRNO', 1],
    // rule 4: personality, ioctl on the low 32 bits (musl sign-extends)
    ['x86_64', 'personality', [0xffffffff], 'SCMP_ACT_ALLOW', undefined],
    ['x86_64', 'personality', [0xffffffffffffffffn], 'SCMP_ACT_ALLOW', undefined],
    ['x86_64', 'personality', [0x400000], 'SCMP_ACT_ERRNO', 1],
    ['x86_64', 'ioctl', [1, 0x5401], 'SCMP_ACT_ALLOW', undefined],
    ['x86_64', 'ioctl', [1, 0x80045430], 'SCMP_ACT_ALLOW', undefined],
    ['x86_64', 'ioctl', [1, 0xffffffff80045430n], 'SCMP_ACT_ALLOW', undefined],
    ['x86_64', 'ioctl', [1, 0x5412], 'SCMP_ACT_ERRNO', 1],
    // prctl: in the default runtime layer (runc, crun with NNP false), so allowed whole
    ['x86_64', 'prctl', [22], 'SCMP_ACT_ALLOW', undefined],
    // rule 6: runtime layer
    ['x86_64', 'capset', [], 'SCMP_ACT_ALLOW', undefined],
    ['x86_64', 'setresuid', [], 'SCMP_ACT_ALLOW', undefined],
    // rule 7: only the recorded ABI
    ['x86', 'read', [], 'SCMP_ACT_KILL_THREAD', undefined],
    ['x32', 'read', [], 'SCMP_ACT_KILL_THREAD', undefined],
  ] as const)('%s %s(%s) -> %s %s', (arch, name, args, action, errno) => {
    const v = ev(arch, name, [...args])
    expect(v.action).toBe(action)
    if (errno !== undefined) expect(v.errno).toBe(errno)
  })

  it('rule 5: a recorded capability-gated syscall opens only with the capability', () => {
    expect(ev('x86_64', 'mount', []).action).toBe('SCMP_ACT_ERRNO')
    expect(evAdmin('x86_64', 'mount', []).action).toBe('SCMP_ACT_ALLOW')
    // a gated syscall that was not recorded stays closed even with the capability
    expect(evAdmin('x86_64', 'umount2', []).action).toBe('SCMP_ACT_ERRNO')
    const rule = p.syscalls!.find((r) => r.names.includes('mount'))!
    expect(rule.includes?.caps).toEqual(['CAP_SYS_ADMIN'])
  })

  it('rule 9: every rule has a comment, names are sorted, no rule equals the default', () => {
    for (const r of p.syscalls!) {
      expect(r.comment && r.comment.length).toBeGreaterThan(10)
      expect([...r.names].sort()).toEqual(r.names)
      expect(r.action === 'SCMP_ACT_ERRNO' && (r.errnoRet ?? 1) === 1).toBe(false)
      // one comparison per argument per rule (libseccomp)
      const idx = (r.args ?? []).map((a) => a.index)
      expect(new Set(idx).size).toBe(idx.length)
    }
  })

  it('rule 4 levels: strict filters prctl/ioctl, safe does not, none filters nothing', () => {
    const noRt = {runtimes: []}
    const strict = evaluator(synth(program, {...noRt, args: 'strict'}).profile, {host: 'x86_64'})
    const safe = evaluator(synth(program, {...noRt, args: 'safe'}).profile, {host: 'x86_64'})
    const none = evaluator(synth(program, {...noRt, args: 'none'}).profile, {host: 'x86_64'})
    expect(strict('x86_64', 'prctl', [22]).action).toBe('SCMP_ACT_ERRNO')
    expect(strict('x86_64', 'prctl', [15]).action).toBe('SCMP_ACT_ALLOW')
    expect(safe('x86_64', 'prctl', [22]).action).toBe('SCMP_ACT_ALLOW')
    expect(safe('x86_64', 'ioctl', [1, 0x5412]).action).toBe('SCMP_ACT_ALLOW')
    expect(safe('x86_64', 'socket', [10]).action).toBe('SCMP_ACT_ERRNO')
    expect(none('x86_64', 'socket', [10]).action).toBe('SCMP_ACT_ALLOW')
    expect(none('x86_64', 'mmap', [0, 1, 7]).action).toBe('SCMP_ACT_ALLOW')
    expect(none('x86_64', 'clone3', []).errno).toBe(38)
  })

  // The property: --args none allows a superset of safe, safe of strict.
  const probes: Array<[string, Array<number | bigint>]> = []
  for (const name of ['socket', 'socketpair', 'clone', 'unshare', 'mmap', 'mprotect', 'personality', 'prctl', 'ioctl', 'read', 'clone3', 'mount']) {
    for (const v of [0, 1, 2, 3, 4, 5, 6, 7, 10, 16, 0x5401, 0x80045430, 0xffffffff, FORK_FLAGS, THREAD_FLAGS, FORK_FLAGS | NS_NET, 0x10000000]) {
      probes.push([name, [v, v, v]])
    }
  }
  it.each([['none', 'safe'], ['safe', 'strict']] as const)('--args %s allows a superset of %s', (loose, tight) => {
    const a = evaluator(synth(program, {args: loose}).profile, {host: 'x86_64'})
    const b = evaluator(synth(program, {args: tight}).profile, {host: 'x86_64'})
    let compared = 0
    for (const [name, args] of probes) {
      if (b('x86_64', name, args).action === 'SCMP_ACT_ALLOW') expect(a('x86_64', name, args).action, `${name}(${args.join(',')})`).toBe('SCMP_ACT_ALLOW')
      compared++
    }
    expect(compared).toBe(probes.length)
  })

  it('namespace flags that were recorded are allowed, with CAP_SYS_ADMIN only', () => {
    const o = obs({x86_64: {unshare: {count: 1, args: {0: [`0x${NS_NET.toString(16)}`]}}, clone: {count: 1, args: {0: ['0x11']}}}})
    const prof = synth(o, {runtimes: []}).profile
    const plain = evaluator(prof, {host: 'x86_64', caps: []})
    const admin = evaluator(prof, {host: 'x86_64', caps: ['CAP_SYS_ADMIN']})
    expect(plain('x86_64', 'unshare', [NS_NET]).action).toBe('SCMP_ACT_ERRNO')
    expect(admin('x86_64', 'unshare', [NS_NET]).action).toBe('SCMP_ACT_ALLOW')
    expect(admin('x86_64', 'unshare', [NS_NET | 0x20000]).action).toBe('SCMP_ACT_ERRNO')
  })

  it('clone3 recorded: allowed with CAP_SYS_ADMIN, ENOSYS without (glibc falls back to the checked clone)', () => {
    const o = obs({x86_64: {clone3: 4, clone: {count: 1, args: {0: ['0x11']}}}})
    const prof = synth(o, {runtimes: []}).profile
    expect(evaluator(prof, {host: 'x86_64', caps: []})('x86_64', 'clone3').errno).toBe(38)
    expect(evaluator(prof, {host: 'x86_64', caps: ['CAP_SYS_ADMIN']})('x86_64', 'clone3').action).toBe('SCMP_ACT_ALLOW')
    const none = synth(o, {runtimes: [], args: 'none'}).profile
    expect(evaluator(none, {host: 'x86_64'})('x86_64', 'clone3').action).toBe('SCMP_ACT_ALLOW')
  })

  it('clone3 recorded without clone: the clone fallback glibc takes on ENOSYS is allowed, namespace-free', () => {
    const prof = synth(obs({x86_64: {clone3: 4, read: 1}}), {runtimes: []}).profile
    const ev2 = evaluator(prof, {host: 'x86_64', caps: []})
    expect(ev2('x86_64', 'clone3').errno).toBe(38)
    expect(ev2('x86_64', 'clone', [THREAD_FLAGS]).action).toBe('SCMP_ACT_ALLOW')
    expect(ev2('x86_64', 'clone', [FORK_FLAGS]).action).toBe('SCMP_ACT_ALLOW')
    expect(ev2('x86_64', 'clone', [FORK_FLAGS | NS_NET]).action).toBe('SCMP_ACT_ERRNO')
    expect(prof.syscalls!.find((r) => r.names.includes('clone'))!.comment).toContain('clone3')
  })

  it('a W+X mapping that was recorded turns W^X off for that syscall only', () => {
    const o = obs({x86_64: {mmap: {count: 1, args: {2: ['0x7']}}, mprotect: {count: 1, args: {2: ['0x1']}}}})
    const r = synth(o, {runtimes: []})
    const ev2 = evaluator(r.profile, {host: 'x86_64'})
    expect(ev2('x86_64', 'mmap', [0, 1, 7]).action).toBe('SCMP_ACT_ALLOW')
    expect(ev2('x86_64', 'mprotect', [0, 1, 7]).action).toBe('SCMP_ACT_ERRNO')
    expect(r.diagnostics.some((d) => d.startsWith('mmap:'))).toBe(true)
  })

  it('socket family rules on an x86 (socketcall) ABI come with a diagnostic', () => {
    const r = synth(obs({x86: {socket: {count: 1, args: {0: ['0x2']}}}}))
    expect(r.diagnostics.some((d) => d.startsWith('socket:') && d.includes('socketcall'))).toBe(true)
    expect(synth(obs({x86_64: {socket: {count: 1, args: {0: ['0x2']}}}})).diagnostics).toEqual([])
  })

  it('clone recorded on s390x (flags are argument 1 there) is allowed whole, with a diagnostic', () => {
    const r = synth(obs({s390x: {clone: {count: 1, args: {0: ['0x3ffe0000']}}, read: 1}}), {runtimes: []})
    expect(r.profile.architectures).toEqual(['SCMP_ARCH_S390X'])
    expect(evaluator(r.profile, {host: 's390x'})('s390x', 'clone', [0, NS_NET]).action).toBe('SCMP_ACT_ALLOW')
    expect(r.diagnostics.some((d) => d.startsWith('clone:') && d.includes('s390x'))).toBe(true)
  })

  it('unknown argument values disable the rule instead of guessing', () => {
    const o = obs({x86_64: {socket: {count: 2, args: {0: {values: ['0x2'], unknown: true}}}}})
    expect(evaluator(synth(o, {runtimes: []}).profile, {host: 'x86_64'})('x86_64', 'socket', [10]).action).toBe('SCMP_ACT_ALLOW')
  })

  it('rule 6: --no-new-privileges picks the smaller runtime set, none adds nothing', () => {
    const tiny = obs({x86_64: {write: 1}})
    const runc = listRuntimeLayers().filter((l) => l.runtime === 'runc')
    const nnp = allowedNames(synth(tiny, {runtimes: runc, noNewPrivileges: true}).profile)
    const priv = allowedNames(synth(tiny, {runtimes: runc, noNewPrivileges: false}).profile)
    const none = allowedNames(synth(tiny, {runtimes: []}).profile)
    for (const n of runc[0].nnp.true) expect(nnp).toContain(n)
    for (const n of runc[0].nnp.false) expect(priv).toContain(n)
    expect(priv).toContain('setuid')
    expect(nnp).not.toContain('setuid')
    expect(none).toEqual(['exit', 'exit_group', 'restart_syscall', 'rt_sigreturn', 'write'])
  })

  it('rule 6: a layer\'s ENOSYS probes are answered ENOSYS, not allowed (runc probes faccessat2)', () => {
    const tiny = obs({x86_64: {write: 1}})
    const runc = listRuntimeLayers().find((l) => l.runtime === 'runc')!
    expect(runc.enosysProbes.false).toContain('faccessat2')
    const fake = {...runc, runtime: 'fake', nnp: {true: [], false: []}, enosysProbes: {true: [], false: ['io_uring_setup']}}
    const p = synth(tiny, {runtimes: [fake]}).profile
    expect(evaluator(p, {host: 'x86_64'})('x86_64', 'io_uring_setup', []).errno).toBe(38)
    expect(allowedNames(p)).not.toContain('io_uring_setup')
    const nnp = synth(tiny, {runtimes: [fake], noNewPrivileges: true}).profile
    expect(evaluator(nnp, {host: 'x86_64'})('x86_64', 'io_uring_setup', []).errno).toBe(1)
  })

  it('rule 6: a runtime that ignores errnoRet (runsc) is named next to the errno rules it defeats', () => {
    const runsc = listRuntimeLayers().filter((l) => l.runtime === 'runsc')
    expect(runsc[0].ignoresErrnoRet).toBe(true)
    const withRunsc = synth(obs({x86_64: {write: 1}}), {runtimes: runsc}).diagnostics
    expect(withRunsc.some((d) => d.startsWith('runsc ignores errnoRet') && d.includes('clone3'))).toBe(true)
    const runc = listRuntimeLayers().filter((l) => l.runtime === 'runc')
    expect(synth(obs({x86_64: {write: 1}}), {runtimes: runc}).diagnostics.some((d) => d.includes('ignores errnoRet'))).toBe(false)
  })

  it('rule 7: ABIs come from the recording, --arch adds, the table order is kept', () => {
    const o = obs({x86: {read: 1}, x86_64: {read: 1}})
    expect(synth(o).profile.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'])
    expect(synth(obs({x86_64: {read: 1}}), {arches: ['x32']}).profile.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'])
    // 32-bit ABIs get sigreturn too
    expect(allowedNames(synth(o).profile)).toContain('sigreturn')
    expect(allowedNames(synth(obs({x86_64: {read: 1}})).profile)).not.toContain('sigreturn')
  })

  it('rule 8: names libseccomp does not know are one error listing them', () => {
    const o = obs({x86_64: {read: 1, pread: 2, not_a_syscall: 1}})
    try {
      synth(o)
      expect.unreachable()
    } catch (e) {
      expect((e as SeccompGenError).code).toBe('PROFILE_UNKNOWN_SYSCALL')
      expect((e as Error).message).toContain('not_a_syscall (x86_64)')
      expect((e as Error).message).toContain('pread (x86_64)')
    }
  })

  it('rule 8: a name absent on its recorded ABI but present on another listed one is kept with a note', () => {
    const r = synth(obs({x86: {read: 1, newfstatat: 1}, x86_64: {newfstatat: 2}}))
    expect(allowedNames(r.profile)).toContain('newfstatat')
    expect(r.diagnostics.some((d) => d.startsWith('newfstatat was recorded on x86'))).toBe(true)
    // absent on every listed ABI: an error
    expect(() => synth(obs({x86: {read: 1, newfstatat: 1}}))).toThrow(/newfstatat \(x86\)/)
  })

  it('rule 8: x86_64 calls that only the i386 table names (a log without ABI lines) are refused naming the strace option; --arch x86 keeps them', () => {
    const o = obs({x86_64: {read: 3, waitpid: 1, getuid32: 2, frob_test: 1}})
    expect(() => synth(o)).toThrow(/^getuid32, waitpid exist only on i386, but the log has no strace ABI lines .* re-record with strace --quiet=attach \(or -e quiet=none\).* or pass --arch x86$/)
    const r = synth(obs({x86_64: {read: 3, waitpid: 1}}), {arches: ['x86']})
    expect(allowedNames(r.profile)).toContain('waitpid')
    expect(r.profile.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'])
  })

  it('rule 8: syscall_0xNNN that libseccomp can name is kept under its name', () => {
    const o = obs({x86_64: {syscall_0x1b6: 1}}) // 438 = pidfd_getfd on x86_64
    expect(allowedNames(synth(o).profile)).toContain('pidfd_getfd')
    expect(() => synth(obs({x86_64: {syscall_0xfff: 1}}))).toThrow(SeccompGenError)
  })

  it('an empty recording is an error', () => {
    expect(() => synth(obs({x86_64: {}}))).toThrow(/no syscalls/)
    expect(() => synth(obs({}))).toThrow(SeccompGenError)
  })

  it('--default-action and --errno: ENOSYS rules stay, rules equal to the default go', () => {
    const o = obs({x86_64: {read: 1}})
    const kill = synth(o, {defaultAction: 'SCMP_ACT_KILL_PROCESS'}).profile
    expect(kill.defaultErrnoRet).toBeUndefined()
    expect(evaluator(kill, {host: 'x86_64'})('x86_64', 'mkdir').action).toBe('SCMP_ACT_KILL_PROCESS')
    expect(evaluator(kill, {host: 'x86_64'})('x86_64', 'clone3').errno).toBe(38)
    const enosys = synth(o, {defaultErrno: 38}).profile
    expect(enosys.syscalls!.some((r) => r.action === 'SCMP_ACT_ERRNO' && r.errnoRet === 38)).toBe(false)
    expect(evaluator(enosys, {host: 'x86_64'})('x86_64', 'clone3').errno).toBe(38)
  })

  it('--base unions an existing profile in', () => {
    const base = {defaultAction: 'SCMP_ACT_ERRNO' as const, syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_ALLOW' as const}]}
    const prof = synth(obs({x86_64: {read: 1}}), {bases: [{profile: base, source: 'base.json'}]}).profile
    expect(evaluator(prof, {host: 'x86_64'})('x86_64', 'mkdir').action).toBe('SCMP_ACT_ALLOW')
    expect(prof.syscalls!.find((r) => r.names.includes('mkdir'))!.comment).toContain('base.json')
  })

  it('--base that allows a fallback probe outright wins over the ENOSYS rule (union)', () => {
    const base = {defaultAction: 'SCMP_ACT_ERRNO' as const, syscalls: [{names: ['clone3', 'statx'], action: 'SCMP_ACT_ALLOW' as const}]}
    const prof = synth(obs({x86_64: {read: 1}}), {bases: [{profile: base, source: 'base.json'}]}).profile
    const ev2 = evaluator(prof, {host: 'x86_64'})
    expect(ev2('x86_64', 'clone3').action).toBe('SCMP_ACT_ALLOW')
    expect(ev2('x86_64', 'statx').action).toBe('SCMP_ACT_ALLOW')
    expect(ev2('x86_64', 'faccessat2').errno).toBe(38)
    expect(prof.syscalls!.filter((r) => r.action === 'SCMP_ACT_ERRNO').flatMap((r) => r.names)).not.toContain('clone3')
  })
})

describe('properties', () => {
  const a = obs({x86_64: {read: 3, write: 1, socket: {count: 1, args: {0: ['0x2']}}, mmap: {count: 1, args: {2: ['0x3']}}}})
  const b = obs({x86_64: {openat: 2, socket: {count: 1, args: {0: ['0xa']}}, mmap: {count: 1, args: {2: ['0x5']}}}, x86: {read: 1}})

  it('build is deterministic (same input, same bytes; input order does not matter)', () => {
    const one = renderDocker(synth(a).profile)
    expect(renderDocker(synth(structuredClone(a)).profile)).toBe(one)
  })

  it('adding a recording never removes a syscall nor an allowed call', async () => {
    const {mergeObservations} = await import('../../src/trace/observation-io.js')
    const pa = synth(a).profile
    const pab = synth(mergeObservations([a, b])).profile
    for (const n of allowedNames(pa)) expect(allowedNames(pab)).toContain(n)
    const ea = evaluator(pa, {host: 'x86_64'})
    const eab = evaluator(pab, {host: 'x86_64'})
    for (const [name, args] of [['socket', [2]], ['socket', [10]], ['mmap', [0, 1, 3]], ['mmap', [0, 1, 5]], ['read', []]] as const) {
      if (ea('x86_64', name, [...args]).action === 'SCMP_ACT_ALLOW') expect(eab('x86_64', name, [...args]).action).toBe('SCMP_ACT_ALLOW')
    }
    expect(eab('x86', 'read').action).toBe('SCMP_ACT_ALLOW')
  })

  it('tight: nothing is allowed that was neither recorded nor added by a documented rule', () => {
    const data = ruleData()
    const runtimes = listRuntimeLayers().filter((l) => l.runtime === 'runc' || l.runtime === 'crun')
    const documented = new Set([...data.always.map((x) => x.name), ...runtimes.flatMap((l) => l.nnp.false)])
    const recorded = new Set(Object.values(program.abis).flatMap((x) => Object.keys(x!.syscalls)))
    for (const n of allowedNames(synth(program).profile)) {
      expect(recorded.has(n) || documented.has(n) || (n === 'clone' && recorded.has('clone3')), n).toBe(true)
    }
  })
})

describe('synthesis asks the syscall table it is given, not libseccomp', () => {
  // A table of four names on aarch64 only (the kernel tables in profiles/syscalls have no aarch64).
  const known = new Set(['read', 'write', 'exit_group', 'frob_test'])
  const table: SyscallResolver = {
    lookup: (name, arch) => {
      if (arch !== 'SCMP_ARCH_AARCH64') throw new SeccompGenError('PROFILE_INVALID', `unknown architecture ${arch}`)
      return known.has(name) ? {kind: 'direct', nr: 1} : {kind: 'unknown', nr: null}
    },
    name: () => null,
  }
  const o = obs({aarch64: {read: 2, frob_test: 1}})

  it('places the names the table knows, and only those', () => {
    const s = synth(o, {runtimes: [], syscalls: table})
    const names = allowedNames(s.profile)
    expect(names).toEqual(expect.arrayContaining(['frob_test', 'read', 'exit_group']))
    expect(names.filter((n) => !known.has(n))).toEqual([])
    expect(s.profile.architectures).toEqual(['SCMP_ARCH_AARCH64'])
  })

  it('libseccomp does not know the invented name', () => {
    expect(() => synth(o, {runtimes: []})).toThrow(/frob_test \(aarch64\)/)
  })
})
