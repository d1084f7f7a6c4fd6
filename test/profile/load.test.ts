import {describe, expect, it} from 'vitest'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {SeccompGenError} from '../../src/errors.js'
import {profileFromJson} from '../../src/profile/from-json.js'
import {loadAnyProfile, loadProfile} from '../../src/profile/load.js'
import {parseJson64} from '../../src/profile/json64.js'
import {renderDocker, renderOci} from '../../src/profile/render.js'
import {toOci} from '../../src/profile/resolve.js'
import {anchors} from '../helpers/anchors.js'
import {repoRoot} from '../helpers/profile.js'

const tmp = mkdtempSync(join(tmpdir(), 'sg-load-'))
const file = (name: string, text: string) => { const p = join(tmp, name); writeFileSync(p, text); return p }

function invalid(data: unknown): SeccompGenError {
  try {
    profileFromJson(data, 'x.json')
  } catch (err) {
    return err as SeccompGenError
  }
  throw new Error('expected PROFILE_INVALID')
}

describe('loadProfile', () => {
  it.each(['docker-default.json', 'podman-default.json'])('accepts %s unchanged', (f) => {
    const p = loadProfile(join(anchors, f))
    expect(p.syscalls!.length).toBeGreaterThan(20)
    expect(p.archMap!.some((m) => m.architecture === 'SCMP_ARCH_X86_64')).toBe(true)
  })

  it('reads podman errno names into errnoRet', () => {
    const p = loadProfile(join(anchors, 'podman-default.json'))
    expect(p.defaultErrnoRet).toBe(38)
    const r = p.syscalls!.find((x) => x.names.includes('socket') && x.action === 'SCMP_ACT_ERRNO' && x.errnoRet === 22)
    expect(r).toBeDefined()
  })

  it('accepts a plain OCI linux.seccomp object and flattens the singular name form', () => {
    const p = profileFromJson({defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW'}, {name: 'write', action: 'SCMP_ACT_ALLOW'}]}, 'oci.json')
    expect(p.syscalls!.map((r) => r.names)).toEqual([['read'], ['write']])
  })

  it.each([
    [{syscalls: []}, ''],
    [{defaultAction: 'SCMP_ACT_NOPE'}, '/defaultAction'],
    [{defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW', arg: []}]}, '/syscalls/0/arg'],
    [{defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{index: 9, value: 1, op: 'SCMP_CMP_EQ'}]}]}, '/syscalls/0/args/0/index'],
    [{defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: [], action: 'SCMP_ACT_ALLOW'}]}, '/syscalls/0/names'],
    [{defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], name: 'read', action: 'SCMP_ACT_ALLOW'}]}, '/syscalls/0'],
  ])('rejects %j with PROFILE_INVALID at pointer %s', (data, pointer) => {
    const e = invalid(data)
    expect(e.code).toBe('PROFILE_INVALID')
    expect(e.message.split('\n')).toHaveLength(1)
    expect(e.message.startsWith(`${pointer || '/'}:`)).toBe(true)
  })

  it('rejects values beyond u64 and negative values', () => {
    const big = parseJson64('{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":18446744073709551616,"op":"SCMP_CMP_EQ"}]}]}')
    expect(invalid(big).code).toBe('PROFILE_INVALID')
    expect(invalid({defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: -1, op: 'SCMP_CMP_EQ'}]}]}).code).toBe('PROFILE_INVALID')
  })

  it.each([
    ['malformed JSON', () => file('bad.json', '{"defaultAction": '), 'PROFILE_INVALID'],
    ['trailing garbage', () => file('bad2.json', '{"defaultAction": "SCMP_ACT_ERRNO"} x'), 'PROFILE_INVALID'],
    ['a missing file', () => join(tmp, 'missing.json'), 'IO'],
    ['a directory', () => tmp, 'IO'],
  ])('%s fails with %s and one line', (_what, make, code) => {
    let err: SeccompGenError | undefined
    try { loadProfile(make()) } catch (e) { err = e as SeccompGenError }
    expect(err).toBeInstanceOf(SeccompGenError)
    expect(err!.code).toBe(code)
    expect(err!.message).not.toContain('\n')
  })

  it('u64 values and masks survive read -> resolve -> write exactly', () => {
    const text = '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["ioctl"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"value":18446744073709551615,"valueTwo":18446744071562351664,"op":"SCMP_CMP_MASKED_EQ"}]},{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":9007199254740993,"op":"SCMP_CMP_EQ"}]}]}'
    const p = loadProfile(file('u64.json', text))
    expect(p.syscalls![0].args![0].value).toBe(0xffffffffffffffffn)
    expect(p.syscalls![0].args![0].valueTwo).toBe(0xffffffff80045430n)
    expect(p.syscalls![1].args![0].value).toBe(9007199254740993n)
    const out = renderDocker(p)
    expect(out).toContain('"value": 18446744073709551615')
    expect(out).toContain('"valueTwo": 18446744071562351664')
    expect(out).toContain('"value": 9007199254740993')
    const oci = renderOci(toOci(p, {caps: [], arch: 'x86_64'}))
    expect(oci).toContain('"value": 18446744073709551615')
    expect(loadProfile(file('u64-again.json', out))).toEqual(p)
  })
})

describe('loadAnyProfile: what is no profile', () => {
  it.each([
    ['an observation', join(repoRoot, 'fixtures', 'tar-gzip.obs.json'), /\/.*must have required property 'defaultAction'|defaultAction/],
    ['a YAML that is not a SeccompProfile', 'cm.yaml', /not a SeccompProfile: its YAML holds ConfigMap/],
    ['a config.json without seccomp', 'nosec.json', /config\.json has no seccomp profile/],
    ['a JSON that is not a profile', 'x.json', /defaultAction/],
    // not JSON and no apiVersion/kind line: a JSON error, not "not a SeccompProfile"
    ['an empty file', 'empty', /^invalid JSON: unexpected end of input$/],
    ['plain text', 'notes.txt', /^invalid JSON: unexpected character/],
  ])('loadAnyProfile refuses %s with one line', (_what, name, message) => {
    writeFileSync(join(tmp, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n')
    writeFileSync(join(tmp, 'nosec.json'), '{"ociVersion": "1.2.0", "linux": {}}')
    writeFileSync(join(tmp, 'x.json'), '{"hello": 1}')
    writeFileSync(join(tmp, 'empty'), '')
    writeFileSync(join(tmp, 'notes.txt'), 'just text\n')
    const path = name.startsWith('/') ? name : join(tmp, name)
    let err: unknown
    try { loadAnyProfile(path) } catch (e) { err = e }
    expect(err).toBeInstanceOf(SeccompGenError)
    expect((err as SeccompGenError).code).toBe('PROFILE_INVALID')
    expect((err as Error).message).toMatch(message)
    expect((err as Error).message).not.toContain('\n')
  })
})
