#!/usr/bin/python3
"""Profile `mailtest verify` on one cell of the benchmark corpus.

  bench/profile.py [--bin bin/mailtest] [--cell 2KB-rsa2048-relaxed]
                   [--out FILE] [--top N] [--cpu N]

Starts the benchmark's loopback DNS server (tests/dnsd.py) with the
corpus zone, runs `mailtest verify --format json` over the cell's files in
one process under valgrind's callgrind (as the throughput benchmark runs it,
minus the timing markers), and prints the instruction count, the count per
message after the start-up (a run over the cell's first file alone gives
the start-up), and the N functions with the most inclusive instructions.
The callgrind file is kept (default bench/out/callgrind.CELL) for
callgrind_annotate.  Instruction counts do not depend on what else runs on
the machine, which makes them the figure to compare before and after a
change on a shared machine; bench/README.md ("Profiling: before/after")
lists the results.  The corpus is made by `make bench` (or bench/run.sh).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import benchlib  # noqa: E402


def callgrind(cmd, out):
    p = subprocess.run(['valgrind', '--tool=callgrind', '--callgrind-out-file=' + out]
                       + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True, timeout=1800)
    m = re.search(r'I\s+refs:\s+([\d,]+)', p.stderr)
    if p.returncode != 0 or m is None:
        raise SystemExit('callgrind failed (exit %d): %s' % (p.returncode,
                                                              p.stderr.strip()[-500:]))
    return int(m.group(1).replace(',', ''))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--bin', default=os.path.join(benchlib.ROOT, 'bin', 'mailtest'))
    ap.add_argument('--cell', default='2KB-rsa2048-relaxed')
    ap.add_argument('--out', help='callgrind output (default bench/out/callgrind.CELL)')
    ap.add_argument('--top', type=int, default=25)
    ap.add_argument('--cpu', help='pin valgrind to this CPU (taskset)')
    args = ap.parse_args()
    if not shutil.which('valgrind'):
        raise SystemExit('valgrind is not installed')
    corpus = os.path.join(HERE, 'out', 'corpus')
    try:
        with open(os.path.join(corpus, 'manifest.json')) as f:
            manifest = json.load(f)
    except OSError:
        raise SystemExit('no corpus in %s: run make bench (or bench/run.sh) first' % corpus)
    cells = {c['name']: c for c in manifest['cells']}
    if args.cell not in cells:
        raise SystemExit('no cell %r; cells: %s' % (args.cell, ', '.join(sorted(cells))))
    files = cells[args.cell]['files']
    out = args.out or os.path.join(HERE, 'out', 'callgrind.' + args.cell)
    pin = benchlib.pin(int(args.cpu)) if args.cpu is not None else []
    dns = benchlib.Dnsd(cpu=None)
    try:
        dns.set_zone(manifest['zone'])
        base = pin + [args.bin, 'verify', '--format', 'json',
                      '--ip', manifest['client_ip'], '--helo', manifest['helo'],
                      '--mail-from', manifest['sender'], '--rcpt', manifest['rcpt'],
                      '--dns', dns.address]
        one = callgrind(base + files[:1], out + '.one')
        total = callgrind(base + files, out)
    finally:
        dns.stop()
    n = len(files)
    print('cell %s, %d messages, %s' % (args.cell, n, args.bin))
    print('instructions: %s in all; one message alone %s; per message after the '
          'start-up: %.2fM' % (format(total, ','), format(one, ','),
                               (total - one) / (n - 1) / 1e6 if n > 1 else one / 1e6))
    ann = subprocess.run(['callgrind_annotate', '--inclusive=yes', out],
                         capture_output=True, text=True).stdout.splitlines()
    # the call chain above cmd_verify (loader, libc start-up, main) says nothing
    skip = re.compile(r'ld-linux|below main|libc_start|libc-start|:main \[|:main$')
    rows = [x for x in ann if re.match(r'\s*[\d,]+ \(\s*[\d.]+%\)\s+\S', x)
            and not skip.search(x)]
    print('top %d by inclusive instructions (callgrind_annotate --inclusive=yes %s):'
          % (args.top, os.path.relpath(out)))
    for x in rows[:args.top]:
        print('  ' + x.strip()[:140])
    return 0


if __name__ == '__main__':
    sys.exit(main())
