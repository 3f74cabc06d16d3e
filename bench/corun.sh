#!/usr/bin/env bash
# The best two cores give independent runs here: the same run twice one after the other
# against twice side by side (two processes), as wall seconds and their ratio. A `-j 2`
# sweep cannot beat this ratio (BENCHMARKS.md "Sweeps"). Usage: bench/corun.sh [reps]
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >/dev/null
run() { node bin/svasim.mjs run default --duration 40ms --seed "$1" -q >/dev/null; }
now() { node -e 'console.log(Number(process.hrtime.bigint()) / 1e9)'; }
for rep in $(seq "${1:-3}"); do
  t0=$(now); run 1; run 2; t1=$(now)
  run 1 & a=$!; run 2 & b=$!; wait "$a" "$b"; t2=$(now)
  node -e 'const [a,b,c]=process.argv.slice(1).map(Number);
    console.log(`rep ${process.argv[4]}: sequential ${(b-a).toFixed(2)} s, side by side ${(c-b).toFixed(2)} s, ratio ${((b-a)/(c-b)).toFixed(2)}`)' "$t0" "$t1" "$t2" "$rep"
done
