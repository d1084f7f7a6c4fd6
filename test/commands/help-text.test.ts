/**
 * Help text wraps at the terminal's width, not at the source's: every command's DESCRIPTION,
 * rendered by the real CLI at 80 and at 120 columns, is wrapped greedily (no line of a
 * paragraph ends where the next line's first word would still have fitted), which a hard
 * break left inside a paragraph of the source would break. And prose(), the tag that joins a
 * paragraph's lines, keeps blank lines, list items and indented lines as they are.
 */
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {prose} from '../../src/command.js'
import {repoRoot, runCli} from '../helpers/cli.js'

const COMMANDS = readdirSync(join(repoRoot, 'src', 'commands')).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''))

/** The paragraphs of the DESCRIPTION section of a help page, each as its rendered lines. */
function descriptionParagraphs(help: string): string[][] {
  const lines = help.split('\n')
  const start = lines.indexOf('DESCRIPTION')
  expect(start, help).toBeGreaterThanOrEqual(0)
  const end = lines.findIndex((l, i) => i > start && /^[A-Z][A-Z ]+$/.test(l))
  const body = lines.slice(start + 1, end < 0 ? undefined : end)
  const paragraphs: string[][] = [[]]
  for (const l of body) {
    if (l.trim() === '') paragraphs.push([])
    else paragraphs.at(-1)!.push(l.trim())
  }
  return paragraphs.filter((p) => p.length)
}

/** The lines broken early: the next line's first word would have fitted after them. */
function raggedLines(paragraph: string[], width: number): string[] {
  return paragraph.slice(0, -1).flatMap((line, i) => {
    const next = paragraph[i + 1]!.split(' ')[0]!
    return line.length + 1 + next.length <= width ? [`${JSON.stringify(line)} then ${JSON.stringify(next)}`] : []
  })
}

describe('help descriptions wrap at the terminal width', () => {
  it('the commands are all here', () => {
    expect(COMMANDS).toEqual(expect.arrayContaining(['apply', 'build', 'check', 'diff', 'export', 'record', 'validate']))
  })

  for (const columns of [80, 120]) {
    it.each(COMMANDS)(`%s --help at ${columns} columns: no line of a paragraph broken early`, async (cmd) => {
      const r = await runCli([cmd, '--help'], {env: {OCLIF_COLUMNS: String(columns)}})
      expect(r.status, r.stderr).toBe(0)
      const paragraphs = descriptionParagraphs(r.stdout)
      // the summary and at least one paragraph of description
      expect(paragraphs.length, r.stdout).toBeGreaterThanOrEqual(2)
      // oclif indents the section by 2 and wraps its text at the width less that indent
      const ragged = paragraphs.flatMap((p) => raggedLines(p, columns - 2))
      expect(ragged, r.stdout).toEqual([])
    })
  }

  it('the check sees a hard break: a paragraph wrapped at 100 in the source is ragged at 80', () => {
    const rendered = ['PROFILE is a profile in any format seccomp-gen reads (Docker/Moby or OCI JSON,', "a bundle's", 'config.json, a Kubernetes SeccompProfile); INPUTs are observation files.']
    expect(raggedLines(rendered, 78)).toEqual([`"a bundle's" then "config.json,"`])
  })
})

describe('prose: the lines of a paragraph joined', () => {
  it('joins the lines of a paragraph; keeps blank lines, list items and indented lines', () => {
    const n = 3
    const text = prose`First line
goes on ${n} times.

- an item
  its code line
- another item
goes on
1. numbered

  indented code
  more code
Then prose again.`
    expect(text).toBe([
      'First line goes on 3 times.',
      '',
      '- an item',
      '  its code line',
      '- another item goes on',
      '1. numbered',
      '',
      '  indented code',
      '  more code',
      'Then prose again.',
    ].join('\n'))
  })
})
