/**
 * Reading: chunks of any size (a pipe's, a file's, one byte at a time) -> whole lines. A line
 * cut by a chunk boundary is carried over in one reused buffer; a "line" longer than 4 MiB is
 * dropped as it streams by (reported once), so memory stays flat whatever the input.
 *
 *   log       := (line "\n")* [line]                     the last line may lack its "\n"
 */
import {read} from 'node:fs'
import {open} from 'node:fs/promises'

const MAX_LINE = 4 << 20
const READ_CHUNK = 4 << 20

/** Where the lines go. */
export interface LineSink {
  /** one line, b[s, e) without its '\n' (b is only valid during the call) */
  line(b: Buffer, s: number, e: number): void
  /** a line longer than MAX_LINE was skipped */
  overlong(): void
}

export class LineSplitter {
  private carry: Buffer | null = null
  private carryLen = 0
  private overlong = false

  constructor(private readonly sink: LineSink) {}

  /** Feed bytes; every line they complete goes to the sink. */
  push(chunk: Buffer): void {
    const s = this.carryLen > 0 || this.overlong ? this.finishCarry(chunk) : 0
    if (s < 0) return
    const rest = this.lines(chunk, s)
    if (rest < chunk.length) this.appendCarry(chunk, rest, chunk.length)
  }

  /**
   * The whole lines of chunk from s on; returns where the unfinished tail starts. (A loop of
   * its own, with no untaken branch in it: V8 optimizes it once and keeps it.)
   */
  private lines(chunk: Buffer, s: number): number {
    const sink = this.sink
    for (;;) {
      const nl = chunk.indexOf(10, s)
      if (nl < 0) return s
      sink.line(chunk, s, nl)
      s = nl + 1
    }
  }

  /** The carried line goes on in chunk: complete it when chunk has its '\n'; returns where the rest starts, -1 when none. */
  private finishCarry(chunk: Buffer): number {
    const nl = chunk.indexOf(10)
    this.appendCarry(chunk, 0, nl < 0 ? chunk.length : nl)
    if (nl < 0) return -1
    this.flush()
    return nl + 1
  }

  /** The last line, when the input did not end in '\n'. */
  end(): void {
    if (this.overlong || this.carryLen > 0) this.flush()
    this.carry = null
  }

  /** The carried line is complete: hand it over (or report it overlong). */
  private flush(): void {
    if (this.overlong) {
      this.overlong = false
      this.sink.overlong()
      return
    }
    const len = this.carryLen
    this.carryLen = 0
    this.sink.line(this.carry!, 0, len)
  }

  private appendCarry(chunk: Buffer, s: number, e: number): void {
    if (this.overlong) return
    const len = this.carryLen + (e - s)
    if (len > MAX_LINE) {
      this.overlong = true
      this.carry = null
      this.carryLen = 0
      return
    }
    if (this.carry === null || len > this.carry.length) {
      const bigger = Buffer.allocUnsafe(Math.max(256, len * 2))
      this.carry?.copy(bigger, 0, 0, this.carryLen)
      this.carry = bigger
    }
    chunk.copy(this.carry, this.carryLen, s, e)
    this.carryLen = len
  }
}

/**
 * Feed a file (regular or FIFO) to push() in 4 MiB chunks through two reused buffers, the
 * next chunk read while the current one is parsed.
 */
export async function readChunks(path: string, push: (chunk: Buffer) => void): Promise<void> {
  const fh = await open(path, 'r')
  const bufs = [Buffer.allocUnsafeSlow(READ_CHUNK), Buffer.allocUnsafeSlow(READ_CHUNK)]
  // fs.read on the descriptor: the FileHandle's promise API costs more per chunk
  const fd = fh.fd
  const readInto = (b: Buffer): Promise<number> =>
    new Promise((resolve, reject) => read(fd, b, 0, READ_CHUNK, null, (err, n) => (err ? reject(err) : resolve(n))))
  let k = 0
  let next = readInto(bufs[0]!)
  try {
    for (;;) {
      const n = await next
      if (n === 0) return
      const cur = bufs[k]!
      k ^= 1
      next = readInto(bufs[k]!)
      push(n === READ_CHUNK ? cur : cur.subarray(0, n))
    }
  } finally {
    await next.catch(() => undefined)
    await fh.close()
  }
}
