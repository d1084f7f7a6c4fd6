/**
 * The one argv splitter of record and apply (src/cli-argv.ts splitAtCommand): where a command's
 * own words end and CMD begins, derived from each command's own flag definitions.
 */
import {describe, expect, it} from 'vitest'
import {splitAtCommand} from '../../src/cli-argv.js'
import Apply from '../../src/commands/apply.js'
import Record from '../../src/commands/record.js'

describe('splitAtCommand', () => {
  const cases: Array<[string, typeof Record | typeof Apply, string[], string[], string[]]> = [
    ['record: CMD at the first word that is not a flag', Record, ['-o', 'x.json', 'sh', '-c', 'exit 3'], ['-o', 'x.json'], ['sh', '-c', 'exit 3']],
    ["record: CMD's own -o is CMD's", Record, ['ls', '-o', 'x'], [], ['ls', '-o', 'x']],
    ['record: -- marks CMD', Record, ['-q', '--', '-weird-name'], ['-q'], ['-weird-name']],
    ['record: --flag=value and -oFILE are one word', Record, ['--output=a.json', '-ob.json', '--raw-log', 'l', 'true'], ['--output=a.json', '-ob.json', '--raw-log', 'l'], ['true']],
    ['record: -o - (stdout) takes "-" as its value', Record, ['-o', '-', 'ls'], ['-o', '-'], ['ls']],
    ['record: --pid and no CMD', Record, ['--pid', '42', '-p', '43'], ['--pid', '42', '-p', '43'], []],
    ['record: an unknown flag stays ours (oclif rejects it)', Record, ['--quite', 'ls'], ['--quite'], ['ls']],
    ['apply: PROFILE, then CMD', Apply, ['p.json', 'ls', '-la'], ['p.json'], ['ls', '-la']],
    ['apply: flags around PROFILE', Apply, ['--caps', 'CAP_SYS_ADMIN', 'p.json', '-v', 'ls'], ['--caps', 'CAP_SYS_ADMIN', 'p.json', '-v'], ['ls']],
    ['apply: --counts takes a value; CMD after --', Apply, ['p.json', '--counts', 'o.json', '--', 'ls'], ['p.json', '--counts', 'o.json'], ['ls']],
    ['apply: --bundle and no CMD', Apply, ['p.json', '--bundle', 'dir', '--dry-run'], ['p.json', '--bundle', 'dir', '--dry-run'], []],
  ]
  it.each(cases)('%s', (_what, command, argv, own, cmd) => {
    expect(splitAtCommand(command, argv)).toEqual({own, cmd})
  })
})
