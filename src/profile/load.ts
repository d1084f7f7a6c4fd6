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
import {fromK8s, isK8sText} from './k8s.js'
import type {DockerProfile} from './types.js'

export type ProfileFormat = 'docker' | 'oci' | 'bundle-config' | 'k8s'

export interface LoadedProfile {file: string; format: ProfileFormat; profile: DockerProfile}

/** Read, parse and validate a profile file. Errors: SeccompGenError('PROFILE_INVALID' | 'IO'). */
export function loadProfile(path: string): DockerProfile {
  return loadAnyProfile(path).profile
}

/** loadProfile, and the format the file was in. */
export function loadAnyProfile(file: string): LoadedProfile {
  const text = readTextFile(file, 'profile')
  // YAML (or JSON) of a Kubernetes object: the SeccompProfile reader says what else it is
  if (isK8sText(text)) return {file, format: 'k8s', profile: fromK8s(text, file)}
  let data: unknown
  try {
    data = parseJson64(text, file)
  } catch (err) {
    throw new SeccompGenError('PROFILE_INVALID', (err as Error).message, {file, line: (err as SeccompGenError).line})
  }
  if (isK8sText(text, data)) return {file, format: 'k8s', profile: fromK8s(text, file)}
  const obj = data as Record<string, unknown>
  if (obj && typeof obj === 'object' && typeof obj.ociVersion === 'string') {
    const seccomp = (obj.linux as {seccomp?: unknown} | undefined)?.seccomp
    if (!seccomp) throw new SeccompGenError('PROFILE_INVALID', 'this runtime-spec config.json has no seccomp profile (/linux/seccomp)', {file})
    return {file, format: 'bundle-config', profile: profileFromJson(seccomp, `${file}#/linux/seccomp`)}
  }
  const profile = profileFromJson(obj, file)
  const mobyOnly = 'archMap' in obj || (profile.syscalls ?? []).some((r) => r.includes || r.excludes || r.comment)
  return {file, format: mobyOnly ? 'docker' : 'oci', profile}
}
