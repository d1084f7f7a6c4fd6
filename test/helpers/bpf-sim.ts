/**
 * A small classic-BPF interpreter for seccomp programs, written from the kernel's
 * struct sock_filter / struct seccomp_data layout, used as a test oracle: run an exported
 * program on (arch, nr, args) and get the 32-bit action it returns. Unknown opcodes throw,
 * so a program this cannot read fails the test instead of passing silently.
 */
export interface SeccompData {
  arch: number
  nr: number
  args?: bigint[]
  ip?: bigint
}

export interface Insn {
  code: number
  jt: number
  jf: number
  k: number
}

export function decode(bpf: Buffer): Insn[] {
  if (bpf.length % 8 !== 0) throw new Error(`BPF length ${bpf.length} is not a multiple of 8`)
  const out: Insn[] = []
  for (let o = 0; o < bpf.length; o += 8) {
    out.push({code: bpf.readUInt16LE(o), jt: bpf.readUInt8(o + 2), jf: bpf.readUInt8(o + 3), k: bpf.readUInt32LE(o + 4)})
  }
  return out
}

function dataWord(d: SeccompData, off: number): number {
  if (off === 0) return d.nr >>> 0
  if (off === 4) return d.arch >>> 0
  const args = d.args ?? []
  const word = (v: bigint, hi: boolean) => Number(hi ? (v >> 32n) & 0xffffffffn : v & 0xffffffffn)
  if (off === 8 || off === 12) return word(d.ip ?? 0n, off === 12)
  if (off >= 16 && off < 64 && off % 4 === 0) {
    const i = Math.floor((off - 16) / 8)
    return word(args[i] ?? 0n, (off - 16) % 8 === 4)
  }
  throw new Error(`load from seccomp_data offset ${off}`)
}

/** Run the program; returns the action (SECCOMP_RET_*) as an unsigned 32-bit number. */
export function run(prog: Insn[], d: SeccompData): number {
  let A = 0
  let X = 0
  const M = new Array<number>(16).fill(0)
  let pc = 0
  for (let steps = 0; steps < 100_000; steps++) {
    const i = prog[pc]
    if (!i) throw new Error(`pc ${pc} out of the program (${prog.length} instructions)`)
    const cls = i.code & 0x07
    switch (i.code) {
      case 0x20: A = dataWord(d, i.k); pc++; continue // ld [k]
      case 0x00: A = i.k >>> 0; pc++; continue // ld #k
      case 0x01: X = i.k >>> 0; pc++; continue // ldx #k
      case 0x60: A = M[i.k]!; pc++; continue // ld M[k]
      case 0x61: X = M[i.k]!; pc++; continue // ldx M[k]
      case 0x02: M[i.k] = A; pc++; continue // st M[k]
      case 0x03: M[i.k] = X; pc++; continue // stx M[k]
      case 0x54: A = (A & i.k) >>> 0; pc++; continue // and #k
      case 0x44: A = (A | i.k) >>> 0; pc++; continue // or #k
      case 0x04: A = (A + i.k) >>> 0; pc++; continue // add #k
      case 0x14: A = (A - i.k) >>> 0; pc++; continue // sub #k
      case 0x07: X = A; pc++; continue // tax
      case 0x87: A = X; pc++; continue // txa
      case 0x05: pc += 1 + i.k; continue // ja
      case 0x15: pc += 1 + (A === i.k >>> 0 ? i.jt : i.jf); continue // jeq #k
      case 0x25: pc += 1 + (A > i.k >>> 0 ? i.jt : i.jf); continue // jgt #k
      case 0x35: pc += 1 + (A >= i.k >>> 0 ? i.jt : i.jf); continue // jge #k
      case 0x45: pc += 1 + ((A & i.k) !== 0 ? i.jt : i.jf); continue // jset #k
      case 0x06: return i.k >>> 0 // ret #k
      case 0x16: return A >>> 0 // ret a
      default:
        throw new Error(`unsupported BPF opcode 0x${i.code.toString(16)} (class ${cls}) at ${pc}`)
    }
  }
  throw new Error('BPF program did not finish')
}

/** Kernel SECCOMP_RET_* values (the top 16 bits; the low 16 are data). */
export const RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const

export function describeRet(ret: number): string {
  const action = (ret & 0xffff0000) >>> 0
  const data = ret & 0xffff
  const name = Object.entries(RET).find(([, v]) => v >>> 0 === action)?.[0] ?? `0x${action.toString(16)}`
  return action === RET.ERRNO || action === RET.TRACE ? `${name}(${data})` : name
}
