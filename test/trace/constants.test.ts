import {describe, expect, it} from 'vitest'
import {ValueResolver, constantTable, resolveValue, toHex64} from '../../src/trace/constants.js'

const hex = (s: string) => {
  const v = resolveValue(s)
  return v === undefined ? undefined : toHex64(v)
}

describe('resolveValue', () => {
  it.each([
    ['0', '0x0'],
    ['4096', '0x1000'],
    ['0x80000', '0x80000'],
    ['0777', '0x1ff'],
    ['NULL', '0x0'],
    ['-1', '0xffffffffffffffff'],
    ['0xffffffffffffffff', '0xffffffffffffffff'],
    ['18446744073709551615', '0xffffffffffffffff'],
    ['0x8000000000000001', '0x8000000000000001'],
    ['PROT_READ|PROT_WRITE', '0x3'],
    ['PROT_NONE', '0x0'],
    ['CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID', '0x3d0f00'],
    ['CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD', '0x1200011'],
    ['0x1200000|17', '0x1200011'],
    ['CLONE_NEWUSER|CLONE_NEWNS|CLONE_IO', '0x90020000'],
    ['AF_INET6', '0xa'],
    ['AF_NETLINK', '0x10'],
    ['PR_SET_NO_NEW_PRIVS', '0x26'],
    ['PR_SET_VMA', '0x53564d41'],
    ['TIOCGWINSZ', '0x5413'],
    ['FIONBIO', '0x5421'],
    ['FIOCLEX', '0x5451'],
    ['SIOCGIFINDEX', '0x8933'],
    ['TCGETS2', '0x802c542a'],
    ['SNDCTL_TMR_TIMEBASE or TCGETS', '0x5401'],
    ['_IOC(_IOC_READ, 0x54, 0x13, 0x8)', '0x80085413'],
    ['_IOC(_IOC_READ|_IOC_WRITE, 0x94, 0x9, 0x8)', '0xc0089409'],
    ['_IOR(0x54, 0x30, 0x4)', '0x80045430'],
    ['_IO(0x54, 0x41)', '0x5441'],
    ['ARCH_SET_FS', '0x1002'],
    ['PER_LINUX', '0x0'],
    ['PER_LINUX32|ADDR_NO_RANDOMIZE', '0x40008'],
    ['0x3 /* PROT_READ|PROT_WRITE */', '0x3'],
    ['0xffffffff /* PER_??? */', '0xffffffff'],
  ])('%s -> %s', (text, expected) => {
    expect(hex(text)).toBe(expected)
  })
  it.each([
    ['MYSTERY_FLAG'],
    ['PROT_READ|MYSTERY'],
    ['{flags=CLONE_VM}'],
    ['"string"'],
    ['~[RTMIN RT_1]'],
    ['0x10000000000000000'],
    ['FOO or BAR'],
    [''],
    ['0x'],
    ['08'],
  ])('%s is unknown', (text) => {
    expect(resolveValue(text)).toBeUndefined()
  })
  it('disagreeing alternatives are unknown', () => {
    expect(resolveValue('TCGETS or FIONBIO')).toBeUndefined()
  })
  it('tables load from profiles/constants and have no conflicting duplicates', () => {
    const t = constantTable()
    expect(t.get('SIGCHLD')).toBe(17n)
    expect(t.get('CLONE_NEWNET')).toBe(0x40000000n)
    expect(t.size).toBeGreaterThan(300)
  })
  it('ValueResolver caches and stays bounded', () => {
    const r = new ValueResolver(8)
    for (let i = 0; i < 100; i++) expect(r.hex(String(i))).toBe('0x' + i.toString(16))
    expect(r.hex('NOPE')).toBeNull()
    expect((r as unknown as {cache: Map<string, unknown>}).cache.size).toBeLessThanOrEqual(8)
  })
})
