/**
 * profiles/arches.json is the one list of architectures: the observation schema's ABI enum is
 * generated from it (scripts/compile-schemas.js), and every spelling resolves through it.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {abiNames, archProfileName, archShortName, archShortNames} from '../../src/arches.js'

const root = join(__dirname, '..', '..')

describe('the arch table', () => {
  it('gives the observation schema its ABI enum', () => {
    const schema = JSON.parse(readFileSync(join(root, 'schemas', 'observation.schema.json'), 'utf8'))
    expect(schema.properties.abis.propertyNames.enum).toEqual(abiNames())
    expect(abiNames()).toEqual(expect.arrayContaining(['x86_64', 'x86', 'x32', 'aarch64']))
  })

  it.each([
    ['SCMP_ARCH_X86_64', 'x86_64'],
    ['amd64', 'x86_64'],
    ['i686', 'x86'],
    ['arm64', 'aarch64'],
    ['armv7l', 'arm'],
    ['SCMP_ARCH_MIPSEL64N32', 'mipsel64n32'],
    // a token's own name wins over another arch's alias (Node calls ppc64le "ppc64")
    ['ppc64', 'ppc64'],
    ['x64', 'x86_64'],
    ['vax', 'vax'],
  ])('%s is libseccomp\'s %s', (name, short) => {
    expect(archShortName(name)).toBe(short)
  })

  it('spells every table arch as a profile token', () => {
    expect(archShortNames().map(archProfileName)).toContain('SCMP_ARCH_LOONGARCH64')
    expect(archProfileName('x32')).toBe('SCMP_ARCH_X32')
  })
})
