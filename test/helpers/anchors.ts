/**
 * Where the tests find the reference data of other projects (Docker's and podman's default
 * profiles, the OCI runtime-spec schema, the Security Profiles Operator CRD): test/anchors,
 * inside the repository. test/anchors/README.md names each file's origin.
 */
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export const anchors = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'anchors')

/** A file of test/anchors, e.g. anchor('docker-default.json'). */
export const anchor = (...parts: string[]): string => join(anchors, ...parts)
