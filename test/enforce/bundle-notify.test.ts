/**
 * `apply --bundle DIR --complain|--explain --listener PATH`: the notify form of the profile in
 * config.json. runc 1.1.5 refuses SCMP_ACT_NOTIFY as the default action and for write, so the
 * default stays and the names it would catch get a NOTIFY rule; write keeps its answer; answering
 * rules (ENOSYS) keep theirs; listenerMetadata carries the mode and the resolved profile. The
 * runtimes' acceptance of the result is test/e2e/agent.test.ts's business.
 */
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {applyToBundle} from '../../src/enforce/bundle.js'
import {decodeMetadata} from '../../src/enforce/bundle-notify.js'
import {parseJson64} from '../../src/profile/json64.js'
import {cliPath, repoRoot} from '../helpers/cli.js'

const CONFIG = {
  ociVersion: '1.0.2-dev',
  process: {args: ['sh'], cwd: '/', user: {uid: 0, gid: 0}, capabilities: {bounding: ['CAP_KILL']}},
  root: {path: 'rootfs'},
  linux: {namespaces: [{type: 'mount'}]},
}

const PROFILE = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  architectures: ['SCMP_ARCH_X86_64'],
  syscalls: [
    {names: ['execve', 'exit_group', 'read', 'write', 'close'], action: 'SCMP_ACT_ALLOW'},
    {names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 1, op: 'SCMP_CMP_EQ'}]},
    {names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38},
    {names: ['ptrace', 'kexec_load'], action: 'SCMP_ACT_KILL_PROCESS'},
  ],
}

let dir: string
let bundle: string
let profile: string
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'sg-bundle-notify-')))
  bundle = join(dir, 'bundle')
  mkdirSync(bundle)
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(CONFIG, null, 2) + '\n')
  profile = join(dir, 'profile.json')
  writeFileSync(profile, JSON.stringify(PROFILE))
})
afterEach(() => rmSync(dir, {recursive: true, force: true}))

const seccompOf = () => (parseJson64(readFileSync(join(bundle, 'config.json'), 'utf8')) as any).linux.seccomp

if (process.arch !== 'x64') console.warn(`[skip] the notify form in config.json: the test profile is x86_64's (this is ${process.arch})`)
describe.skipIf(process.arch !== 'x64')('the notify form in config.json', () => {
  it('keeps a denying default and catches the names it would deny with a NOTIFY rule', async () => {
    const r = await applyToBundle(profile, bundle, {dryRun: false, notify: {mode: 'explain', listener: 'agent.sock'}})
    expect(r.summary).toContain(`denials go to the agent on ${join(process.cwd(), 'agent.sock')} (explain)`)
    const s = seccompOf()
    expect(s.defaultAction).toBe('SCMP_ACT_ERRNO') // runc: "SCMP_ACT_NOTIFY cannot be used as default action"
    expect(s.defaultErrnoRet).toBe(1)
    expect(s.listenerPath).toBe(join(process.cwd(), 'agent.sock')) // absolute: the runtime connects from elsewhere
    const notify = s.syscalls.filter((x: any) => x.action === 'SCMP_ACT_NOTIFY')
    const caught = new Set(notify.flatMap((x: any) => x.names))
    expect(caught.has('mkdir')).toBe(true)
    expect(caught.has('ptrace')).toBe(true) // KILL_PROCESS rule -> NOTIFY
    // never write (runc refuses), never a name the profile's own rules decide
    for (const n of ['write', 'execve', 'socket', 'clone3']) expect(caught.has(n)).toBe(false)
    // the ENOSYS fallback keeps its answer, the argument-checked ALLOW stays
    expect(s.syscalls).toContainEqual({names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38})
    const sock = s.syscalls.find((x: any) => x.names.includes('socket'))
    expect(sock).toMatchObject({names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, op: 'SCMP_CMP_EQ'}]})
    expect(BigInt(sock.args[0].value)).toBe(1n)
    expect(JSON.stringify(s.syscalls, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))).not.toContain('errnoRet":null')
  })

  it('a default of ERRNO(ENOSYS) denies (every call no rule names), as in apply --complain: its names are notified', async () => {
    writeFileSync(profile, JSON.stringify({...PROFILE, defaultErrnoRet: 38}))
    await applyToBundle(profile, bundle, {dryRun: false, notify: {mode: 'complain', listener: join(dir, 'a.sock')}})
    const s = seccompOf()
    expect(s.defaultAction).toBe('SCMP_ACT_ERRNO')
    expect(s.defaultErrnoRet).toBe(38)
    const caught = new Set(s.syscalls.filter((x: any) => x.action === 'SCMP_ACT_NOTIFY').flatMap((x: any) => x.names))
    expect(caught.has('mkdir')).toBe(true)
    // the clone3 rule is a fallback probe: it keeps its answer
    expect(caught.has('clone3')).toBe(false)
    expect(s.syscalls).toContainEqual({names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38})
  })

  it('a write rule that denies keeps its answer; the other names of that rule are notified', async () => {
    writeFileSync(profile, JSON.stringify({...PROFILE, defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: undefined, syscalls: [{names: ['write', 'mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13}]}))
    await applyToBundle(profile, bundle, {dryRun: false, notify: {mode: 'complain', listener: join(dir, 'a.sock')}})
    const s = seccompOf()
    expect(s.defaultAction).toBe('SCMP_ACT_ALLOW')
    expect(s.syscalls).toEqual([
      {names: ['mkdir'], action: 'SCMP_ACT_NOTIFY'},
      {names: ['write'], action: 'SCMP_ACT_ERRNO', errnoRet: 13},
    ])
  })

  it('listenerMetadata carries the mode and the resolved profile (its answers, not the notify form)', async () => {
    await applyToBundle(profile, bundle, {dryRun: false, notify: {mode: 'complain', listener: join(dir, 'a.sock')}})
    const s = seccompOf()
    const m = decodeMetadata(s.listenerMetadata)!
    expect(m.mode).toBe('complain')
    expect(m.profile.defaultAction).toBe('SCMP_ACT_ERRNO')
    expect(m.profile.syscalls).toContainEqual({names: ['ptrace', 'kexec_load'], action: 'SCMP_ACT_KILL_PROCESS'})
    // another tool's metadata is not ours; ours broken is one error
    expect(decodeMetadata('some other agent')).toBeUndefined()
    expect(decodeMetadata(undefined)).toBeUndefined()
    expect(() => decodeMetadata('{"seccomp-gen": 1, "mode": "loud"}')).toThrow(/without a mode and a profile/)
  })
})

describe('apply --bundle: the notify flags on the command line', () => {
  const run = (args: string[]) => spawnSync(cliPath, ['apply', profile, '--bundle', bundle, ...args], {encoding: 'utf8', cwd: repoRoot})

  it('--complain/--explain and --listener come together; config.json is untouched otherwise', () => {
    const before = readFileSync(join(bundle, 'config.json'))
    for (const [args, msg] of [
      [['--complain'], '--bundle --complain needs --listener PATH'],
      [['--listener', 'x.sock'], '--listener needs --complain or --explain'],
      [['--explain', '--listener', 'x.sock', '--observe', 'o.json'], '--observe is not for --bundle'],
      [['--explain', '--listener', ''], '--listener: an empty path'],
      [['--explain', '--listener', `/run/${'x'.repeat(120)}.sock`], 'bytes long; a unix socket path has at most 107'],
    ] as const) {
      const r = run([...args])
      expect(r.status).toBe(2)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toContain(msg)
      expect(readFileSync(join(bundle, 'config.json'))).toEqual(before)
    }
  })

  it('--dry-run shows the notify form and writes nothing', () => {
    const before = readFileSync(join(bundle, 'config.json'))
    const r = run(['--explain', '--listener', join(dir, 'a.sock'), '--dry-run'])
    expect(r.status).toBe(0)
    expect(r.stderr).toContain(`denials go to the agent on ${join(dir, 'a.sock')} (explain)`)
    expect(readFileSync(join(bundle, 'config.json'))).toEqual(before)
  })
})
