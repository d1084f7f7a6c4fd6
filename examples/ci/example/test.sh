#!/bin/sh
# The example project's test suite: runs greet.sh and compares what it wrote. This is the
# command the CI step records (SECCOMP_TEST_CMD='sh test.sh'), so the committed profile
# seccomp.json covers what these tests make the program do.
set -eu
case $0 in */*) cd "${0%/*}" ;; esac
out=$(mktemp)
trap 'rm -f "$out"' EXIT
failed=0

expect() { # NAME WANTED
  sh ./greet.sh "$1" "$out"
  got=$(cat "$out")
  if [ "$got" = "$2" ]; then
    echo "ok - $1"
  else
    echo "not ok - $1: got '$got', wanted '$2'"
    failed=1
  fi
}

expect world 'Hello, World!'
expect ada 'Hello, Ada!'
expect Grace 'Hello, Grace!'
if sh ./greet.sh 2>/dev/null; then
  echo 'not ok - no arguments: exit 0'
  failed=1
else
  echo 'ok - no arguments: refused'
fi
exit "$failed"
