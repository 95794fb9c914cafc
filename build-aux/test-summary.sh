#!/bin/sh
# Prints the test counts of the last 'make check' as one closing line,
# "N passed, N failed", and exits with make's status.
top=$1; status=$2
log="$top/test-suite.log"
pass=0; fail=0; skip=0
for trs in $(find "$top/tests" -name '*.trs'); do
    pass=$((pass + $(grep -c '^:test-result: PASS' "$trs")))
    fail=$((fail + $(grep -cE '^:test-result: (FAIL|XPASS|ERROR)' "$trs")))
    skip=$((skip + $(grep -c '^:test-result: SKIP' "$trs")))
done
[ "$status" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
[ "$status" -ne 0 ] && [ -f "$log" ] && tail -n 60 "$log"
echo "$pass passed, $fail failed, $skip skipped"
exit "$status"
