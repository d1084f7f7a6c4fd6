#!/usr/bin/env python3
"""The program of the README's explain loop (build --default-action log -> run -> explain -> build).

  app.py FILE           prints the number of words in FILE
  app.py FILE -o OUT    writes the number to OUT instead, atomically: a temporary file next to
                        OUT, fsync, rename; a path (fsync, rename) the first form never takes,
                        so a profile built from a run of the first form denies it
"""
import os
import sys

words = len(open(sys.argv[1]).read().split())
if len(sys.argv) == 4 and sys.argv[2] == '-o':
    out = sys.argv[3]
    with open(out + '.tmp', 'w') as f:
        f.write(f'{words}\n')
        f.flush()
        os.fsync(f.fileno())
    os.rename(out + '.tmp', out)
else:
    print(words)
