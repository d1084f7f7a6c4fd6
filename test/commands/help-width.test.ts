/**
 * Every command's help reads at 80 columns: no line wider, the summary at the top included
 * (oclif prints that one unwrapped unless src/help.ts wraps it). A piped stdout is 80 columns
 * to oclif.
 */
import {describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'

const COMMANDS = ['agent', 'apply', 'build', 'check', 'diff', 'explain', 'export', 'record', 'validate']

describe('help at 80 columns', () => {
  it.each(COMMANDS)('%s --help has no line over 80 columns and starts with its summary', async (cmd) => {
    const r = await runCli([cmd, '--help'], {env: {OCLIF_COLUMNS: undefined}})
    expect(r.status, r.stderr).toBe(0)
    const wide = r.stdout.split('\n').filter((line) => [...line].length > 80)
    expect(wide).toEqual([])
    // the summary is still there, first, before USAGE
    expect(r.stdout.indexOf('USAGE')).toBeGreaterThan(20)
  })

  it('the root help lists every command with its summary, no line over 80 columns', async () => {
    const r = await runCli(['--help'], {env: {OCLIF_COLUMNS: undefined}})
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout.split('\n').filter((line) => [...line].length > 80)).toEqual([])
    const list = r.stdout.slice(r.stdout.indexOf('COMMANDS'))
    for (const cmd of COMMANDS) expect(list).toMatch(new RegExp(`\\n  ${cmd} +\\S`))
  })

  it('only a repeated argument is listed with "..." (apply and check take one PROFILE)', async () => {
    const section = async (cmd: string) => {
      const r = await runCli([cmd, '--help'])
      expect(r.status, r.stderr).toBe(0)
      return r.stdout.slice(r.stdout.indexOf('ARGUMENTS'), r.stdout.indexOf('FLAGS'))
    }
    const apply = await section('apply')
    expect(apply).toMatch(/\n  PROFILE  /)
    expect(apply).not.toContain('PROFILE...')
    const check = await section('check')
    expect(check).toMatch(/\n  PROFILE +the profile/)
    expect(check).toContain('INPUT...')
    expect(check).not.toContain('PROFILE...')
    expect(await section('explain')).toContain('[FILE...]')
    expect(await section('validate')).toContain('PROFILE...')
  })

  it("build's examples show --widen and the LOG default of the explain loop", async () => {
    const r = await runCli(['build', '--help'])
    const examples = r.stdout.slice(r.stdout.indexOf('EXAMPLES'))
    expect(examples).toContain('$ seccomp-gen build --widen imports -o app.json app.obs.json')
    expect(examples).toContain('$ seccomp-gen build --default-action log')
  })
})
