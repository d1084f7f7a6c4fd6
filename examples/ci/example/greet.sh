#!/bin/sh
# The example project's program: `greet.sh NAME FILE` writes "Hello, Name!" to FILE, the first
# letter of the name capitalised. Small on purpose: a pipeline of two programs is enough to show
# a profile being recorded, built and checked in CI (see ../seccomp-ci.sh).
set -eu
if [ $# -ne 2 ]; then
  echo 'usage: greet.sh NAME FILE' >&2
  exit 2
fi
first=$(printf '%s' "$1" | cut -c1 | tr '[:lower:]' '[:upper:]')
printf 'Hello, %s%s!\n' "$first" "${1#?}" >"$2"
