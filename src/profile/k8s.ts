/**
 * The Kubernetes form of a profile: a SeccompProfile object of the security-profiles-operator
 * (SPO, security-profiles-operator.x-k8s.io/v1beta1) as YAML, and the reader of such a file.
 *
 * The object's spec has only plain OCI fields (the CRD has no includes/excludes, archMap,
 * comment or defaultErrnoRet, and the API server prunes what its schema does not list), so it is
 * rendered from an already resolved OciSeccomp. Argument values are unsigned 64-bit in the
 * model but int64 in the CRD: a value >= 2^63 cannot be said there and is refused; every other
 * value is written and read back exactly (YAML integers as bigint, never through a double).
 */
import {createRequire} from 'node:module'
import {SeccompGenError} from '../errors.js'
import {profileFromJson} from './from-json.js'
import type {DockerProfile, OciSeccomp} from './types.js'

/**
 * The YAML library, loaded on first use: every command reads profiles through load.ts, and
 * importing yaml costs ~40 ms of start-up that only a Kubernetes file needs.
 */
let yamlLib: typeof import('yaml') | undefined
const yaml = (): typeof import('yaml') => (yamlLib ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'))

const SPO_API_VERSION = 'security-profiles-operator.x-k8s.io/v1beta1'
const SPO_KIND = 'SeccompProfile'
/** The kubelet's seccomp root: localhostProfile paths are relative to it. */
export const KUBELET_SECCOMP_ROOT = '/var/lib/kubelet/seccomp'

const INT64_MAX = (1n << 63n) - 1n
/** metadata.name: an RFC 1123 subdomain (SPO also makes it the file name NAME.json). */
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
/** metadata.namespace: an RFC 1123 label. */
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

export interface K8sOptions {
  name: string
  /**
   * Only for SPO before 0.9, where SeccompProfile was namespaced (the vendored CRD is
   * cluster-scoped, and the API server ignores a namespace on a cluster-scoped object).
   */
  namespace?: string
}

/** One-line usage error for a bad --name / --namespace, or undefined. */
export function k8sNameProblem(o: K8sOptions): string | undefined {
  if (!o.name || o.name.length > 253 || !NAME.test(o.name)) {
    return `--name ${JSON.stringify(o.name)} is not a Kubernetes object name (lower-case letters, digits, '-' and '.', at most 253 characters)`
  }
  if (o.namespace !== undefined && (o.namespace.length > 63 || !LABEL.test(o.namespace))) {
    return `--namespace ${JSON.stringify(o.namespace)} is not a Kubernetes namespace name (lower-case letters, digits and '-', at most 63 characters)`
  }
  return undefined
}

/**
 * Where the profile is on a node, relative to the kubelet's seccomp root: SPO writes
 * operator/NAME.json (operator/NAMESPACE/NAME.json when namespaced); without the operator the
 * plain JSON is copied to NAME.json there by hand.
 */
export function localhostProfiles(o: K8sOptions): {operator: string; node: string} {
  return {operator: o.namespace ? `operator/${o.namespace}/${o.name}.json` : `operator/${o.name}.json`, node: `${o.name}.json`}
}

/** The pod (or container) securityContext that selects a profile file on the node. */
export function securityContext(localhostProfile: string): {seccompProfile: {type: 'Localhost'; localhostProfile: string}} {
  return {seccompProfile: {type: 'Localhost', localhostProfile}}
}

/** The SeccompProfile object as plain data (bigint argument values). Throws PROFILE_INVALID when the CRD cannot say it. */
export function k8sObject(p: OciSeccomp, o: K8sOptions): Record<string, unknown> {
  const problem = k8sNameProblem(o)
  if (problem) throw new SeccompGenError('USAGE', problem)
  if (p.defaultErrnoRet !== undefined && p.defaultErrnoRet !== 1) {
    throw new SeccompGenError('PROFILE_INVALID', `the SeccompProfile CRD has no defaultErrnoRet: its default errno is EPERM (1), not ${p.defaultErrnoRet}; build with the default --errno`)
  }
  const spec: Record<string, unknown> = {defaultAction: p.defaultAction}
  if (p.architectures?.length) spec.architectures = [...p.architectures]
  if (p.flags?.length) spec.flags = [...p.flags]
  if (p.listenerPath !== undefined) spec.listenerPath = p.listenerPath
  if (p.listenerMetadata !== undefined) spec.listenerMetadata = p.listenerMetadata
  spec.syscalls = (p.syscalls ?? []).map((r, i) => {
    const o: Record<string, unknown> = {names: [...r.names], action: r.action}
    if (r.errnoRet !== undefined) o.errnoRet = r.errnoRet
    if (r.args?.length) {
      o.args = r.args.map((a, k) => {
        for (const v of [a.value, a.valueTwo]) {
          if (v !== undefined && v > INT64_MAX) {
            throw new SeccompGenError('PROFILE_INVALID', `syscalls/${i}/args/${k} (${r.names.join(',')}): value ${v} is above 2^63-1, which the SeccompProfile CRD (int64) cannot hold; use --format oci for the node file`)
          }
        }
        return {index: a.index, value: a.value, ...(a.valueTwo !== undefined ? {valueTwo: a.valueTwo} : {}), op: a.op}
      })
    }
    return o
  })
  const metadata: Record<string, unknown> = {name: o.name}
  if (o.namespace) metadata.namespace = o.namespace
  return {apiVersion: SPO_API_VERSION, kind: SPO_KIND, metadata, spec}
}

/** The SeccompProfile YAML, led by comments that say how a pod uses it. */
export function renderK8s(p: OciSeccomp, o: K8sOptions): string {
  const doc = new (yaml().Document)(k8sObject(p, o))
  const paths = localhostProfiles(o)
  doc.commentBefore = [
    ` SeccompProfile for the security-profiles-operator (kubectl apply -f THIS_FILE). A pod or`,
    ` container selects it with:`,
    `   securityContext: {seccompProfile: {type: Localhost, localhostProfile: ${paths.operator}}}`,
    ` Without the operator, the profile as JSON (build --node-json FILE) goes on every node as`,
    ` ${KUBELET_SECCOMP_ROOT}/${paths.node}, with localhostProfile: ${paths.node}`,
  ].join('\n')
  return doc.toString({lineWidth: 0})
}

const invalid = (source: string, msg: string) => new SeccompGenError('PROFILE_INVALID', msg, {file: source})

/**
 * Is this profile file a Kubernetes object? YAML (not starting with '{') with an apiVersion or
 * kind line, or JSON (`parsed`) whose top level has apiVersion or kind (`kubectl get -o json`).
 * Both readers ask here (load.ts for every command, validate.ts), so they take the same files as
 * SeccompProfiles.
 */
export function isK8sText(text: string, parsed?: unknown): boolean {
  if (!text.replace(/^\uFEFF/, '').trimStart().startsWith('{')) return /^(apiVersion|kind)\s*:/m.test(text)
  return isObject(parsed) && ('apiVersion' in parsed || 'kind' in parsed)
}

/**
 * Read a SeccompProfile YAML (one object, alone or among other documents of a stream) into the
 * profile model. Integers are read as bigint, so u64 argument values are exact.
 */
export function fromK8s(text: string, source: string): DockerProfile {
  return fromK8sSpec(k8sSpec(text, source), source)
}

/** A SeccompProfile's spec (k8sSpec) into the profile model; a problem is pointed at under /spec. */
export function fromK8sSpec(spec: Record<string, unknown>, source: string): DockerProfile {
  try {
    return profileFromJson(spec, source)
  } catch (err) {
    // profileFromJson words problems with a pointer into what it was given: the spec
    if (!(err instanceof SeccompGenError)) throw err
    throw invalid(source, err.message.startsWith('/') ? `/spec${err.message.replace(/^\/:/, ':')}` : `/spec: ${err.message}`)
  }
}

/**
 * The spec of the one SeccompProfile in a YAML stream, as parsed data (integers as bigint),
 * without the operator-only `state`; not yet checked against the profile schema.
 */
export function k8sSpec(text: string, source: string): Record<string, unknown> {
  const docs = yaml().parseAllDocuments(text, {intAsBigInt: true})
  const list = Array.isArray(docs) ? docs : [docs]
  for (const d of list) {
    if (d.errors.length) {
      const e = d.errors[0]
      throw new SeccompGenError('PROFILE_INVALID', `not YAML: ${e.message.split('\n')[0]}`, {file: source, line: e.linePos?.[0].line})
    }
  }
  const objects = list.map((d) => d.toJS({maxAliasCount: 100}) as unknown).filter((x) => x !== null && x !== undefined)
  const found = objects.filter((x): x is Record<string, unknown> => isObject(x) && x.kind === SPO_KIND)
  if (found.length === 0) {
    const kinds = objects.map((x) => (isObject(x) && typeof x.kind === 'string' ? x.kind : undefined)).filter(Boolean)
    throw invalid(source, `not a SeccompProfile: ${kinds.length ? `its YAML holds ${kinds.join(', ')}` : 'no document has kind: SeccompProfile'}`)
  }
  if (found.length > 1) throw invalid(source, `${found.length} SeccompProfile documents in one file; give one`)
  const obj = found[0]
  const api = String(obj.apiVersion ?? '')
  if (!api.startsWith('security-profiles-operator.x-k8s.io/')) {
    throw invalid(source, `not a SeccompProfile of the security-profiles-operator: apiVersion ${JSON.stringify(obj.apiVersion ?? null)}`)
  }
  if (!isObject(obj.spec)) throw invalid(source, 'SeccompProfile has no spec')
  const {baseProfileName, state: _state, ...spec} = obj.spec
  // The operator unions the named base profile in; its rules are not in this file.
  if (baseProfileName !== undefined) throw invalid(source, `/spec/baseProfileName: ${JSON.stringify(baseProfileName)} unions in a base profile whose rules are not in this file`)
  return spec
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}
