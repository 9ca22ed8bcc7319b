# Sourced by the CLI test scripts (cli_test.sh, report_test.sh): the pass/fail counters and the
# two checks every case goes through. Needs TMP (a scratch folder) and ROOT (the checkout);
# bad-input cases are also appended to the reliability catalogue (catalogue.sh).
. "$ROOT/system-tests/cli/catalogue.sh"
pass=0; fail=0
ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }

# expect_ok NAME PATTERN CMD...: exit 0 and stdout contains PATTERN.
expect_ok() {
  local name=$1 pattern=$2; shift 2
  local out; out=$("$@" 2>"$TMP/err"); local rc=$?
  if [ $rc -eq 0 ] && grep -q -- "$pattern" <<<"$out"; then ok "$name"; else bad "$name" "rc=$rc $(head -c 300 "$TMP/err") $(head -c 300 <<<"$out")"; fi
}
# expect_error NAME PATTERN CMD...: non-zero exit, exactly one line on stderr, matching PATTERN, no crash.
expect_error() {
  local name=$1 pattern=$2; shift 2
  "$@" >/dev/null 2>"$TMP/err"; local rc=$?
  local lines; lines=$(wc -l <"$TMP/err")
  catalogue_row "$name" $rc "$TMP/err" "$@"
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$lines" -eq 1 ] && grep -q -- "$pattern" "$TMP/err"; then ok "$name"
  else bad "$name" "rc=$rc lines=$lines: $(head -c 300 "$TMP/err")"; fi
}
