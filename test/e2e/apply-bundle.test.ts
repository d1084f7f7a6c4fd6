/**
 * applyToBundle (what `apply --bundle DIR [--dry-run]` calls): resolution against the bundle,
 * lossless and atomic rewrite of config.json, and config.json byte-identical after any failure.
 * The official runtime-spec schema (test/anchors/runtime-spec-schema) is the independent oracle
 * for the result.
 */
import {Ajv, type ValidateFunction} from 'ajv'
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {SeccompGenError} from '../../src/errors.js'
import {applyToBundle} from '../../src/enforce/bundle.js'
import {parseJson64} from '../../src/profile/json64.js'
import {anchor} from '../helpers/anchors.js'
import {repoRoot} from '../helpers/bundle.js'

const specSchema = anchor('runtime-spec-schema')

let specValidator: ValidateFunction | undefined
function specValid(config: unknown): string[] {
  if (!specValidator) {
    const ajv = new Ajv({strict: false, allErrors: true})
    for (const f of readdirSync(specSchema)) {
      const s = JSON.parse(readFileSync(join(specSchema, f), 'utf8')) as Record<string, unknown>
      delete s.$schema // draft-04 files; their keywords are the same for what we check
      s.$id = f
      ajv.addSchema(s)
    }
    specValidator = ajv.getSchema('config-schema.json')!
  }
  const ok = specValidator(JSON.parse(JSON.stringify(config, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))))
  return ok ? [] : (specValidator.errors ?? []).map((e) => `${e.instancePath} ${e.message}`)
}

/** A config.json shaped like `runc spec` output (tab-indented), with a few extras to preserve. */
function runcSpecText(extra: Record<string, unknown> = {}): string {
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']
  const config = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false, user: {uid: 0, gid: 0}, args: ['sh'], env: ['PATH=/bin'], cwd: '/',
      capabilities: {bounding: caps, effective: caps, permitted: caps, ambient: caps},
      rlimits: [{type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024}], noNewPrivileges: true,
    },
    root: {path: 'rootfs', readonly: true},
    hostname: 'runc',
    mounts: [{destination: '/proc', type: 'proc', source: 'proc'}],
    linux: {
      resources: {devices: [{allow: false, access: 'rwm'}], memory: {limit: 'BIG'}},
      namespaces: [{type: 'pid'}, {type: 'mount'}],
      maskedPaths: ['/proc/kcore'],
    },
    ...extra,
  }
  // int64 max: must survive exactly (a double would turn it into ...5808)
  return JSON.stringify(config, null, '\t').replace('"BIG"', '9223372036854775807') + '\n'
}

const PROFILE = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  archMap: [
    {architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32']},
    {architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM']},
  ],
  syscalls: [
    {names: ['execve', 'exit_group', 'read', 'write'], action: 'SCMP_ACT_ALLOW', comment: 'observed'},
    {names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 18446744073709551615n, op: 'SCMP_CMP_EQ'}], comment: 'u64'},
    {names: ['unshare', 'mount'], action: 'SCMP_ACT_ALLOW', includes: {caps: ['CAP_SYS_ADMIN']}, comment: 'capability'},
    {names: ['kill'], action: 'SCMP_ACT_ALLOW', includes: {caps: ['CAP_KILL']}},
    {names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, excludes: {caps: ['CAP_SYS_ADMIN']}},
    {names: ['arm_only'], action: 'SCMP_ACT_ALLOW', includes: {arches: ['arm64']}},
  ],
}

function profileText(p: unknown): string {
  return JSON.stringify(p, (_k, v) => (typeof v === 'bigint' ? `@@${v}@@` : v), 2).replace(/"@@(\d+)@@"/g, '$1') + '\n'
}

let dir: string
let bundle: string
let profile: string
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'sg-bundle-test-')))
  bundle = join(dir, 'bundle')
  mkdirSync(bundle)
  writeFileSync(join(bundle, 'config.json'), runcSpecText())
  profile = join(dir, 'profile.json')
  writeFileSync(profile, profileText(PROFILE))
})
afterEach(() => {
  spawnSync('umount', [join(dir, 'ro')], {stdio: 'ignore'})
  rmSync(dir, {recursive: true, force: true})
})

const readConfig = () => parseJson64(readFileSync(join(bundle, 'config.json'), 'utf8')) as any
const rawConfig = () => readFileSync(join(bundle, 'config.json'))

describe('applyToBundle: the result', () => {
  it('sets linux.seccomp resolved for this bundle and keeps everything else', async () => {
    const before = readConfig()
    const r = await applyToBundle(profile, bundle, {dryRun: false, arch: 'x64'})
    expect(r.changed).toBe(true)
    expect(r.summary).toMatch(/set linux\.seccomp/)
    const after = readConfig()
    // other content, key order and the big integer are untouched
    expect(Object.keys(after)).toEqual(Object.keys(before))
    expect(Object.keys(after.linux)).toEqual([...Object.keys(before.linux), 'seccomp'])
    const {seccomp, ...linuxRest} = after.linux
    expect(linuxRest).toEqual(before.linux)
    expect({...after, linux: undefined}).toEqual({...before, linux: undefined})
    expect(after.linux.resources.memory.limit).toBe(9223372036854775807n)
    const text = rawConfig().toString()
    expect(text).toContain('9223372036854775807')
    expect(text).toContain('18446744073709551615')
    expect(text.split('\n')[1]).toMatch(/^\t"ociVersion"/) // runc spec's tab indent kept

    // includes/excludes against bounding {AUDIT_WRITE, KILL, NET_BIND_SERVICE}; arch map -> host
    expect(seccomp.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'])
    const names = seccomp.syscalls.flatMap((s: any) => s.names)
    expect(names).toContain('kill')
    expect(names).not.toContain('unshare')
    expect(names).not.toContain('arm_only')
    expect(seccomp.syscalls.find((s: any) => s.names.includes('clone3'))).toMatchObject({action: 'SCMP_ACT_ERRNO', errnoRet: 38})
    expect(seccomp.syscalls.find((s: any) => s.names.includes('personality')).args[0].value).toBe(18446744073709551615n)
    // Moby-only fields dropped
    for (const s of seccomp.syscalls) for (const k of Object.keys(s)) expect(['names', 'action', 'errnoRet', 'args']).toContain(k)
    expect(seccomp.archMap).toBeUndefined()
    // the official runtime-spec schema accepts the whole config
    expect(specValid(after)).toEqual([])
  })

  it('opens capability-gated rules only when the bounding set has the capability', async () => {
    writeFileSync(join(bundle, 'config.json'), runcSpecText().replace('"CAP_KILL",', '"CAP_KILL",\n\t\t\t\t"CAP_SYS_ADMIN",'))
    await applyToBundle(profile, bundle, {dryRun: false, arch: 'x64'})
    const names = readConfig().linux.seccomp.syscalls.flatMap((s: any) => s.names)
    expect(names).toContain('unshare')
    expect(names).toContain('mount')
    expect(names).not.toContain('clone3') // excluded for CAP_SYS_ADMIN, as in Docker's default
  })

  it('treats a config without process.capabilities as holding no capability', async () => {
    const c = JSON.parse(runcSpecText().replace('9223372036854775807', '1'))
    delete c.process.capabilities
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(c, null, 2))
    await applyToBundle(profile, bundle, {dryRun: false, arch: 'x64'})
    const names = readConfig().linux.seccomp.syscalls.flatMap((s: any) => s.names)
    expect(names).not.toContain('kill')
    expect(names).toContain('clone3')
    expect(rawConfig().toString()).toMatch(/^\{\n {2}"ociVersion"/) // 2-space indent kept
  })

  it('resolves the arch map to the host arch given', async () => {
    await applyToBundle(profile, bundle, {dryRun: false, arch: 'arm64'})
    const s = readConfig().linux.seccomp
    expect(s.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'])
    expect(s.syscalls.flatMap((r: any) => r.names)).toContain('arm_only')
  })

  it('adds a linux section when the config has none', async () => {
    const c = JSON.parse(runcSpecText().replace('9223372036854775807', '1'))
    delete c.linux
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(c, null, 4))
    await applyToBundle(profile, bundle, {dryRun: false, arch: 'x64'})
    const after = readConfig()
    expect(Object.keys(after).at(-1)).toBe('linux')
    expect(after.linux.seccomp.defaultAction).toBe('SCMP_ACT_ERRNO')
    expect(specValid(after)).toEqual([])
  })

  it('replaces an existing linux.seccomp in place and is idempotent', async () => {
    const c = JSON.parse(runcSpecText().replace('9223372036854775807', '1'))
    c.linux = {seccomp: {defaultAction: 'SCMP_ACT_ALLOW'}, namespaces: [{type: 'pid'}]}
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(c, null, 2))
    const r1 = await applyToBundle(profile, bundle, {dryRun: false, arch: 'x64'})
    expect(r1.changed).toBe(true)
    expect(Object.keys(readConfig().linux)).toEqual(['seccomp', 'namespaces'])
    const bytes = rawConfig()
    const r2 = await applyToBundle(profile, bundle, {dryRun: false, arch: 'x64'})
    expect(r2.changed).toBe(false)
    expect(rawConfig().equals(bytes)).toBe(true)
  })

  it('writes through a symlinked config.json to its target', async () => {
    const real = join(dir, 'real-config.json')
    writeFileSync(real, runcSpecText())
    rmSync(join(bundle, 'config.json'))
    symlinkSync(real, join(bundle, 'config.json'))
    await applyToBundle(profile, bundle, {dryRun: false, arch: 'x64'})
    expect(lstatSync(join(bundle, 'config.json')).isSymbolicLink()).toBe(true)
    expect(readFileSync(real, 'utf8')).toContain('"seccomp"')
  })
})

describe('applyToBundle --dry-run', () => {
  it('shows the change and writes nothing', async () => {
    const bytes = rawConfig()
    const r = await applyToBundle(profile, bundle, {dryRun: true, arch: 'x64'})
    expect(rawConfig().equals(bytes)).toBe(true)
    expect(r.changed).toBe(true)
    expect(r.summary).toMatch(/would set/)
    expect(r.diff).toMatch(/no linux\.seccomp now/)
    expect(r.diff).toMatch(/default action: SCMP_ACT_ERRNO\(EPERM\)/)
    expect(r.diff).toMatch(/\+execve/)
    expect(r.diff).not.toMatch(/\+unshare/)
  })

  it('lists names added and removed against the current filter', async () => {
    const c = JSON.parse(runcSpecText().replace('9223372036854775807', '1'))
    c.linux.seccomp = {defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{names: ['execve', 'ptrace'], action: 'SCMP_ACT_ALLOW'}]}
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(c, null, 2))
    const bytes = rawConfig()
    const r = await applyToBundle(profile, bundle, {dryRun: true, arch: 'x64'})
    expect(rawConfig().equals(bytes)).toBe(true)
    expect(r.diff).toMatch(/default action: SCMP_ACT_ERRNO -> SCMP_ACT_ERRNO\(EPERM\)/)
    expect(r.diff).toMatch(/architectures: +SCMP_ARCH_X86_64 -> SCMP_ARCH_X86_64 SCMP_ARCH_X86 SCMP_ARCH_X32/)
    expect(r.diff).toMatch(/-ptrace/)
    expect(r.diff).toMatch(/\+read/)
    expect(r.diff).not.toMatch(/\+execve/)
  })
})

describe('applyToBundle: on any error config.json is untouched', () => {
  async function failsUntouched(code: string, setup?: () => void, bundleDir = () => bundle): Promise<SeccompGenError> {
    setup?.()
    const cfg = join(bundleDir(), 'config.json')
    const before = existsSync(cfg) && lstatSync(cfg).isFile() ? readFileSync(cfg) : undefined
    const listing = existsSync(bundleDir()) ? readdirSync(bundleDir()).sort() : []
    let err: unknown
    try {
      await applyToBundle(profile, bundleDir(), {dryRun: false, arch: 'x64'})
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(SeccompGenError)
    expect((err as SeccompGenError).code).toBe(code)
    if (before) expect(readFileSync(cfg).equals(before)).toBe(true)
    if (existsSync(bundleDir())) expect(readdirSync(bundleDir()).sort()).toEqual(listing) // no temp file left
    return err as SeccompGenError
  }

  it('a profile that is not JSON', async () => {
    await failsUntouched('PROFILE_INVALID', () => writeFileSync(profile, '{"defaultAction": "SCMP_ACT_ERRNO",'))
  })
  it('a profile with an unknown action', async () => {
    await failsUntouched('PROFILE_INVALID', () => writeFileSync(profile, profileText({...PROFILE, defaultAction: 'SCMP_ACT_MAYBE'})))
  })
  it('a missing profile', async () => {
    await failsUntouched('IO', () => rmSync(profile))
  })
  it('a profile that denies execve (the container could never start)', async () => {
    await failsUntouched('PROFILE_DENIES_EXEC', () => writeFileSync(profile, profileText({defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW'}]})))
  })
  it('a config.json that is not JSON', async () => {
    const e = await failsUntouched('BUNDLE_INVALID', () => writeFileSync(join(bundle, 'config.json'), '{"ociVersion": "1.0.2",\n  "linux": {,}\n}'))
    expect(e.line).toBe(2)
  })
  it('a config.json that is not a runtime-spec config', async () => {
    await failsUntouched('BUNDLE_INVALID', () => writeFileSync(join(bundle, 'config.json'), '{"hello": 1}\n'))
  })
  it('a linux key that is not an object', async () => {
    await failsUntouched('BUNDLE_INVALID', () => writeFileSync(join(bundle, 'config.json'), '{"ociVersion": "1.0.2", "linux": 5}\n'))
  })
  it('a non-Linux bundle', async () => {
    await failsUntouched('BUNDLE_INVALID', () => writeFileSync(join(bundle, 'config.json'), '{"ociVersion": "1.0.2", "windows": {"layerFolders": []}}\n'))
  })
  it('bounding capabilities that are not strings', async () => {
    await failsUntouched('BUNDLE_INVALID', () => writeFileSync(join(bundle, 'config.json'), '{"ociVersion": "1.0.2", "process": {"capabilities": {"bounding": [1]}}}\n'))
  })
  it('no config.json', async () => {
    const e = await failsUntouched('BUNDLE_INVALID', () => rmSync(join(bundle, 'config.json')))
    expect(e.message).toMatch(/no config\.json/)
  })
  it('an unreadable config.json (a symlink loop)', async () => {
    await failsUntouched('BUNDLE_INVALID', () => {
      rmSync(join(bundle, 'config.json'))
      symlinkSync('config.json', join(bundle, 'config.json'))
    })
  })
  const root = process.getuid?.() === 0
  // root reads any mode: as root, the case runs through the CLI as user nobody (setpriv)
  it('an unreadable config.json (mode 000, read by a non-root user)', async () => {
    if (!root) {
      await failsUntouched('BUNDLE_INVALID', () => chmodSync(join(bundle, 'config.json'), 0))
      return
    }
    const open = mkdtempSync(join(tmpdir(), 'sg-nobody-'))
    try {
      chmodSync(open, 0o755)
      const b = join(open, 'bundle')
      mkdirSync(b)
      const cfg = join(b, 'config.json')
      writeFileSync(cfg, runcSpecText())
      chmodSync(cfg, 0)
      const prof = join(open, 'profile.json')
      writeFileSync(prof, profileText(PROFILE))
      chmodSync(prof, 0o644)
      const before = readFileSync(cfg)
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath,
        join(repoRoot, 'bin', 'run.js'), 'apply', prof, '--bundle', b], {encoding: 'utf8', env: {...process.env, HOME: open}})
      expect(r.error).toBeUndefined()
      expect(r.status).not.toBe(0)
      expect(r.stderr).toMatch(/config\.json/)
      expect(r.stderr).toMatch(/EACCES|permission/i)
      expect(readFileSync(cfg).equals(before)).toBe(true)
      expect(readdirSync(b)).toEqual(['config.json'])
    } finally {
      rmSync(open, {recursive: true, force: true})
    }
  })
  it('a bundle directory that does not exist', async () => {
    await failsUntouched('BUNDLE_INVALID', undefined, () => join(dir, 'nope'))
  })
  it('a read-only bundle directory', async () => {
    const ro = join(dir, 'ro')
    mkdirSync(ro)
    if (process.getuid?.() === 0) {
      // root ignores directory modes: a read-only tmpfs makes the directory really unwritable
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', ro])
      if (m.status !== 0) {
        console.warn(`[skip] read-only bundle dir: cannot mount a tmpfs here: ${String(m.stderr).trim()}`)
        return
      }
      writeFileSync(join(ro, 'config.json'), runcSpecText())
      expect(spawnSync('mount', ['-o', 'remount,ro', ro]).status).toBe(0)
    } else {
      writeFileSync(join(ro, 'config.json'), runcSpecText())
      chmodSync(ro, 0o555)
    }
    await failsUntouched('IO', undefined, () => ro)
    // --dry-run still works on a read-only bundle
    const r = await applyToBundle(profile, ro, {dryRun: true, arch: 'x64'})
    expect(r.changed).toBe(true)
  })
})
