#!/bin/sh
# bench/run.sh [--smoke] [--only verify,intake,latency,memory]
# Runs mailtest's benchmarks against their peers and prints one table
# (also written to bench/out/latest.md).  Method: bench/README.md.
set -eu
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/bench.py "$@"
