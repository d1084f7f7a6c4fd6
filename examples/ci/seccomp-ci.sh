#!/bin/sh
# seccomp-gen's CI step: record the project's test suite, build the profile it needs, and check
# that recording against the profile committed in the repository. Any CI can call it
# (github-actions.yml beside this file is one); run it from the project's directory.
#
#   SECCOMP_TEST_CMD='npm test' sh seccomp-ci.sh
#
# Settings (environment variables):
#   SECCOMP_TEST_CMD     the test suite, a shell command line (default: npm test)
#   SECCOMP_PROFILE      the committed profile (default: seccomp.json)
#   SECCOMP_GEN          the seccomp-gen command (default: seccomp-gen from PATH, else the
#                        bin/seccomp-gen of the seccomp-gen repository this script lies in)
#   SECCOMP_ENGINE       record's engine: auto (default: bpf where it may run, else strace), bpf, strace
#   SECCOMP_BUILD_ARGS   more arguments for build, e.g. '--format oci' (split at blanks)
#   SECCOMP_OUT          directory for what the step writes (default: seccomp-out):
#                        tests.obs.json (the recording), profile.json (the profile the tests
#                        need now), check.txt (check's report)
#   SECCOMP_UPDATE       1: then also write the new profile over SECCOMP_PROFILE (main branch,
#                        or to make the first one); the exit status still judges the old one
#
# Exit status:
#   0  every call the tests made passes the committed profile
#   1  the program needs more than the committed profile (check's report says what)
#   2  seccomp-gen or a setting failed: not found, a bad setting, no committed profile,
#      record, build or check failed (their error line is above)
#   3  the test suite itself failed under record (nothing judged)
set -eu
set -f # the settings are split at blanks, never globbed

say() { printf 'seccomp-ci: %s\n' "$*" >&2; }
fail() { say "$*"; exit 2; }

test_cmd=${SECCOMP_TEST_CMD:-npm test}
profile=${SECCOMP_PROFILE:-seccomp.json}
engine=${SECCOMP_ENGINE:-auto}
out=${SECCOMP_OUT:-seccomp-out}
update=${SECCOMP_UPDATE:-0}

case $engine in auto | bpf | strace) ;; *) fail "SECCOMP_ENGINE must be auto, bpf or strace, not '$engine'" ;; esac
case $update in 0 | 1) ;; *) fail "SECCOMP_UPDATE must be 0 or 1, not '$update'" ;; esac

# The command: as set, else installed (npm install -g), else this repository's own launcher.
if [ -n "${SECCOMP_GEN:-}" ]; then
  sg=$SECCOMP_GEN
elif command -v seccomp-gen >/dev/null 2>&1; then
  sg=seccomp-gen
else
  case $0 in */*) here=${0%/*} ;; *) here=. ;; esac
  if [ -x "$here/../../bin/seccomp-gen" ] && [ -d "$here/../../dist/src/commands" ]; then
    sg="$here/../../bin/seccomp-gen"
  else
    fail 'seccomp-gen not found: install it (npm install -g seccomp-gen) or set SECCOMP_GEN'
  fi
fi
# SECCOMP_GEN may be a command with arguments (npx seccomp-gen): look up its first word
# shellcheck disable=SC2086
set -- $sg
command -v "${1:-}" >/dev/null 2>&1 || fail "SECCOMP_GEN: no command '$sg'"
say "using $sg"

if [ ! -f "$profile" ] && [ "$update" != 1 ]; then
  fail "no committed profile $profile: make the first one with SECCOMP_UPDATE=1 and commit it"
fi
mkdir -p -- "$out" || fail "cannot create $out"
obs=$out/tests.obs.json
new=$out/profile.json
report=$out/check.txt
rm -f -- "$obs" "$new" "$report"

# 1. The test suite under record. record exits with the tests' status, and writes the
#    observation in any case; no observation means record itself failed.
say "recording the tests: $test_cmd"
status=0
# shellcheck disable=SC2086
$sg record --engine "$engine" -o "$obs" -- sh -c "$test_cmd" || status=$?
if [ ! -f "$obs" ]; then
  fail "record failed (exit $status)"
elif [ "$status" -ne 0 ]; then
  say "the test suite failed (exit $status): fix the tests first; the profile is not judged"
  exit 3
fi

# 2. The profile the tests need now: the artifact to review and commit when the check fails.
# shellcheck disable=SC2086
$sg build -o "$new" ${SECCOMP_BUILD_ARGS:-} "$obs" || fail "build failed (exit $?)"

# 3. The gate: every recorded call against the committed profile.
status=0
if [ -f "$profile" ]; then
  say "checking the recording against $profile"
  # shellcheck disable=SC2086
  $sg check "$profile" "$obs" >"$report" || status=$?
  cat -- "$report"
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    { printf '### seccomp-gen check %s\n\n```\n' "$profile"; cat -- "$report"; printf '```\n'; } >>"$GITHUB_STEP_SUMMARY"
  fi
  case $status in
    0) say "pass: every call the tests made is allowed by $profile" ;;
    1) say "FAIL: the program needs more than $profile (above); the profile it needs now is $new" ;;
    *) fail "check failed (exit $status)" ;;
  esac
fi

if [ "$update" = 1 ]; then
  cp -- "$new" "$profile" || fail "cannot write $profile"
  say "updated $profile from this run's recording"
fi
exit "$status"
