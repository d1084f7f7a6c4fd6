import {describe, expect, it} from 'vitest'
import {parse, parseAllDocuments} from 'yaml'
import {loadProfile} from '../../src/profile/load.js'
import {toOci} from '../../src/profile/resolve.js'
import {defaultCaps} from '../../src/profile/data.js'
import {fromK8s, k8sObject, localhostProfiles, renderK8s} from '../../src/profile/k8s.js'
import type {OciSeccomp} from '../../src/profile/types.js'
import {anchor} from '../helpers/anchors.js'
import {crdValidator} from '../helpers/spo-crd.js'

const crd = crdValidator()
const docker = loadProfile(anchor('docker-default.json'))
const resolved = toOci(docker, {caps: defaultCaps(), arch: 'x86_64'})

describe('renderK8s: a SeccompProfile the CRD accepts', () => {
  it("Docker's default, resolved, is valid against the CRD's v1beta1 schema", () => {
    const text = renderK8s(resolved, {name: 'docker-default'})
    const obj = parse(text) as Record<string, unknown>
    expect(crd(obj), JSON.stringify(crd.errors)).toBe(true)
    expect(obj).toMatchObject({apiVersion: 'security-profiles-operator.x-k8s.io/v1beta1', kind: 'SeccompProfile', metadata: {name: 'docker-default'}})
    expect(text).toContain('localhostProfile: operator/docker-default.json')
  })

  it('the schema check can fail: an unresolved Moby rule (includes.caps) is not a SeccompProfile rule', () => {
    const obj = parse(renderK8s(resolved, {name: 'x'})) as {spec: {syscalls: Array<Record<string, unknown>>}}
    obj.spec.syscalls[0].includes = {caps: ['CAP_SYS_ADMIN']}
    expect(crd(obj)).toBe(false)
    expect(crd.errors?.[0]?.instancePath).toBe('/spec/syscalls/0')
  })

  it('--namespace: metadata.namespace and the operator path of namespaced SPO releases', () => {
    const obj = parse(renderK8s(resolved, {name: 'app', namespace: 'prod'})) as {metadata: Record<string, unknown>}
    expect(obj.metadata).toEqual({name: 'app', namespace: 'prod'})
    expect(localhostProfiles({name: 'app', namespace: 'prod'})).toEqual({operator: 'operator/prod/app.json', node: 'app.json'})
    expect(localhostProfiles({name: 'app'})).toEqual({operator: 'operator/app.json', node: 'app.json'})
  })

  it.each([
    [{name: 'App'}, /--name "App" is not a Kubernetes object name/],
    [{name: ''}, /--name "" is not/],
    [{name: 'a', namespace: 'a.b'}, /--namespace "a.b" is not a Kubernetes namespace name/],
  ])('bad names are refused: %j', (o, msg) => {
    expect(() => renderK8s(resolved, o)).toThrow(msg)
  })

  it('argument values up to 2^63-1 are exact both ways; 2^63 and above cannot be said in the CRD', () => {
    const big = (1n << 63n) - 1n
    const p: OciSeccomp = {defaultAction: 'SCMP_ACT_ERRNO', syscalls: [
      {names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: big, op: 'SCMP_CMP_EQ'}]},
      {names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{index: 1, value: 0xffffffffn, valueTwo: 0x5401n, op: 'SCMP_CMP_MASKED_EQ'}]},
    ]}
    const text = renderK8s(p, {name: 'big'})
    expect(text).toContain(`value: ${big}`)
    expect(fromK8s(text, 'big.yaml').syscalls?.map((r) => r.args)).toEqual(p.syscalls?.map((r) => r.args))
    const over: OciSeccomp = {defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 1n << 63n, op: 'SCMP_CMP_EQ'}]}]}
    expect(() => renderK8s(over, {name: 'x'})).toThrow(/value 9223372036854775808 is above 2\^63-1/)
  })

  it('a default errno other than EPERM is refused (the CRD has no defaultErrnoRet)', () => {
    expect(() => k8sObject({...resolved, defaultErrnoRet: 38}, {name: 'x'})).toThrow(/no defaultErrnoRet.*not 38/)
    expect(k8sObject({...resolved, defaultErrnoRet: 1}, {name: 'x'}).spec).not.toHaveProperty('defaultErrnoRet')
  })
})

describe('fromK8s', () => {
  it("reads back what renderK8s wrote: the same rules as the resolved Docker default", () => {
    const back = fromK8s(renderK8s(resolved, {name: 'd'}), 'd.yaml')
    expect(back.defaultAction).toBe(resolved.defaultAction)
    expect(back.architectures).toEqual(resolved.architectures)
    expect(back.syscalls).toEqual(resolved.syscalls)
  })

  it('finds the SeccompProfile among other documents of a stream', () => {
    const text = `apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n${renderK8s(resolved, {name: 'd'})}`
    expect(parseAllDocuments(text)).toHaveLength(2)
    expect(fromK8s(text, 's.yaml').syscalls).toHaveLength(resolved.syscalls!.length)
  })

  it.each([
    ['not YAML', 'a: [1\n', /^not YAML: /],
    ['a Pod', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n', /^not a SeccompProfile: its YAML holds Pod$/],
    ['nothing', '# only a comment\n', /^not a SeccompProfile: no document has kind: SeccompProfile$/],
    ['another group', 'apiVersion: example.com/v1\nkind: SeccompProfile\nspec: {defaultAction: SCMP_ACT_ERRNO}\n', /apiVersion "example.com\/v1"/],
    ['no spec', 'apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\n', /has no spec/],
    ['a bad action', 'apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls: [{names: [read], action: ALLOW}]\n', /^\/spec\/syscalls\/0\/action: /],
    ['a negative value', 'apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls: [{names: [read], action: SCMP_ACT_ALLOW, args: [{index: 0, value: -1, op: SCMP_CMP_EQ}]}]\n', /^\/spec/],
    ['a base profile', 'apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\nspec: {defaultAction: SCMP_ACT_ERRNO, baseProfileName: runc-v1.1.5}\n', /baseProfileName: "runc-v1.1.5" unions in a base profile/],
  ])('one-line error for %s', (_what, text, msg) => {
    let err: Error | undefined
    try { fromK8s(text, 'bad.yaml') } catch (e) { err = e as Error }
    expect(err?.message).toMatch(msg)
    expect(err?.message).not.toContain('\n')
    expect((err as {code?: string}).code).toBe('PROFILE_INVALID')
  })

  it('ignores the operator-only state field', () => {
    const text = 'apiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\nmetadata: {name: s}\nspec: {defaultAction: SCMP_ACT_ERRNO, state: Disabled, syscalls: [{names: [exit_group], action: SCMP_ACT_ALLOW}]}\n'
    expect(fromK8s(text, 's.yaml')).toEqual({defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['exit_group'], action: 'SCMP_ACT_ALLOW'}]})
  })
})
