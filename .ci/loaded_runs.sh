#!/bin/bash
# The default test run N times in a row (default 10) while another process
# keeps one core busy; stops at the first failure. Run from the checkout under
# test: `bash .ci/loaded_runs.sh [N]`. Each run's output: /tmp/loaded-run-I.log.
set -u
runs=${1:-10}
python3 -c "while True: pass" &
busy=$!
trap 'kill $busy 2>/dev/null' EXIT
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  if python3 -m pytest -p no:cacheprovider -q -x > "/tmp/loaded-run-$i.log" 2>&1; then
    echo "run $i passed in $(( $(date +%s) - start )) s"
  else
    echo "run $i FAILED after $(( $(date +%s) - start )) s: see /tmp/loaded-run-$i.log"
    grep -E "^(FAILED|ERROR)" "/tmp/loaded-run-$i.log"
    exit 1
  fi
done
echo "$runs runs in a row passed with one core kept busy"
