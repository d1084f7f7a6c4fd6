/**
 * Reading a profile file, in every format seccomp-gen reads: Docker/Moby or plain OCI JSON
 * (lossless JSON, json64), an OCI bundle's config.json (its linux.seccomp), or a Kubernetes
 * SeccompProfile (YAML, or JSON as `kubectl get -o json` prints it). Every command that reads a
 * profile reads it here (apply, export, build --base, check, diff), so each takes the same
 * files. The parsed data goes to the model through from-json.ts.
 */
import {readTextFile} from '../fsutil.js'
import {SeccompGenError} from '../errors.js'
import {profileFromJson} from './from-json.js'
import {parseJson64} from './json64.js'
import {fromK8sSpec, isK8sText, k8sSpec} from './k8s.js'
import type {DockerProfile} from './types.js'

export type ProfileFormat = 'docker' | 'oci' | 'bundle-config' | 'k8s'

export interface LoadedProfile {file: string; format: ProfileFormat; profile: DockerProfile}

export type ProfileData = {k8s: true; data: Record<string, unknown>} | {k8s: false; data: unknown}

/**
 * What a profile file's text holds, not yet checked: the spec of a Kubernetes SeccompProfile
 * (YAML, or JSON as `kubectl get -o json` prints it), else the parsed JSON (a profile, or a
 * bundle's config.json). validate.ts reads files through it too, so validate and the loaders
 * take the same files for Kubernetes objects. Errors: SeccompGenError, PROFILE_INVALID from the
 * SeccompProfile reader, USAGE (with its line) from the JSON parser.
 */
export function profileData(text: string, file: string): ProfileData {
  // YAML (or JSON) of a Kubernetes object: the SeccompProfile reader says what else it is
  if (isK8sText(text)) return {k8s: true, data: k8sSpec(text, file)}
  const data = parseJson64(text, file)
  return isK8sText(text, data) ? {k8s: true, data: k8sSpec(text, file)} : {k8s: false, data}
}

/** Read, parse and validate a profile file. Errors: SeccompGenError('PROFILE_INVALID' | 'IO'). */
export function loadProfile(path: string): DockerProfile {
  return loadAnyProfile(path).profile
}

/** loadProfile, and the format the file was in. */
export function loadAnyProfile(file: string): LoadedProfile {
  const text = readTextFile(file, 'profile')
  let parsed: ProfileData
  try {
    parsed = profileData(text, file)
  } catch (err) {
    const e = err as SeccompGenError
    if (e.code === 'PROFILE_INVALID') throw err
    throw new SeccompGenError('PROFILE_INVALID', e.message, {file, line: e.line})
  }
  if (parsed.k8s) return {file, format: 'k8s', profile: fromK8sSpec(parsed.data, file)}
  const obj = parsed.data as Record<string, unknown>
  if (obj && typeof obj === 'object' && typeof obj.ociVersion === 'string') {
    const seccomp = (obj.linux as {seccomp?: unknown} | undefined)?.seccomp
    if (!seccomp) throw new SeccompGenError('PROFILE_INVALID', 'this runtime-spec config.json has no seccomp profile (/linux/seccomp)', {file})
    return {file, format: 'bundle-config', profile: profileFromJson(seccomp, `${file}#/linux/seccomp`)}
  }
  const profile = profileFromJson(obj, file)
  const mobyOnly = 'archMap' in obj || (profile.syscalls ?? []).some((r) => r.includes || r.excludes || r.comment)
  return {file, format: mobyOnly ? 'docker' : 'oci', profile}
}
