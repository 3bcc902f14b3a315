#!/usr/bin/python3
"""mailtest's benchmarks against its peers, in one run, as one table.

  bench/bench.py [--smoke] [--only verify,intake,latency,memory] [--out FILE]

Prints the machine's description, the table (our figures, the peers'
figures, the ratios, the targets with a pass/MISS mark) and the notes that
say how each figure was taken; writes the same to bench/out/latest.md
(bench/out/smoke.md with --smoke) and the raw figures to the .json beside it.
Where a peer or our binary is missing the row says "n/a: why"; where a run
happened but did not verify (a verdict that is not pass, a refused message)
it says "invalid: why" instead of a number.

--smoke runs every benchmark once on a tiny input: it proves the harness
works, its figures mean nothing.  Exit status 1 when the harness itself
failed or a peer did not verify (or, outside placeholders, we did not).
Method: bench/README.md.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import benchlib  # noqa: E402
import gen_corpus  # noqa: E402
import intake_bench  # noqa: E402
import latency_bench  # noqa: E402
import memory_bench  # noqa: E402
import postfix_instance  # noqa: E402
import verify_bench  # noqa: E402
from benchlib import Invalid, NA  # noqa: E402

SECTIONS = ('verify', 'intake', 'latency', 'memory')


class Context:
    def __init__(self, args):
        self.smoke = args.smoke
        bindir = os.path.join(benchlib.ROOT, os.environ.get('MAILTEST_BINDIR', 'bin'))
        self.mailtest = os.path.join(bindir, 'mailtest')
        self.mailtestd = os.path.join(bindir, 'mailtestd')
        self.t0 = time.monotonic()
        self.tmpdir = None
        self.dns = None
        self.corpus = None

    def progress(self, what):
        sys.stderr.write('bench: [%5.1fs] %s\n' % (time.monotonic() - self.t0, what))
        sys.stderr.flush()


def fs_type(path):
    """"ext4 /dev/vda", and for ext4 whether it has a journal (jbd2 lists
    the journaled devices): on ext4 without one, fsync is cheap but creating
    an inode scans for recently deleted ones (the intake figures show it)."""
    try:
        out = subprocess.run(['findmnt', '-n', '-o', 'FSTYPE,SOURCE', '-T', path],
                             capture_output=True, text=True).stdout.strip() or '?'
    except OSError:
        return '?'
    f = out.split()
    out = ' '.join(f)
    if len(f) == 2 and f[0] == 'ext4' and f[1].startswith('/dev/'):
        dev = os.path.basename(f[1])
        try:
            journaled = any(e.startswith(dev + '-') for e in os.listdir('/proc/fs/jbd2'))
        except OSError:
            journaled = False
        out += ' (journal)' if journaled else ' (no journal)'
    return out


def section_error(name, exc):
    inv = Invalid('harness error in %s: %s' % (name, exc))
    return [benchlib.Row(name, 'harness error', '', inv, '', inv)], \
        ['%s: harness error: %s' % (name, traceback.format_exc().strip())]


def run_sections(ctx, only):
    rows, problems, notes, details = [], [], [], {}
    for name in SECTIONS:
        if name not in only:
            continue
        try:
            if name == 'verify':
                r, d, p = verify_bench.run(ctx)
                notes.append(verify_bench.speed_note(d['openssl_speed']))
                notes.extend(verify_notes(ctx, d))
            elif name == 'intake':
                r, d, p, n = intake_bench.run(ctx)
                notes.extend(n)
            elif name == 'latency':
                r, d, p = latency_bench.run(ctx)
                lp = d['params']
                notes.append('latency: open-loop load of %s msg/s, one message per '
                             'connection, end of DATA (client) to acceptance by an aiosmtpd '
                             'sink (matched by In-Reply-To for mailtestd, Message-ID for '
                             'the Postfix relay), after %d warm-up messages; ratio = '
                             'mailtest / peer (lower is better)' % (lp['rate'], lp['warmup']))
            else:
                r, d, p = memory_bench.run(ctx)
                notes.append('memory: VmRSS of the server process before and after '
                             'opening %d connections that each read the banner and stay '
                             'idle; per connection = difference / %d' % (
                                 d['connections'], d['connections']))
        except Exception as e:  # the harness itself broke: say where, go on
            r, p = section_error(name, e)
            d = {'error': str(e)}
        rows.extend(r)
        problems.extend(p)
        details[name] = d
    return rows, problems, notes, details


def verify_notes(ctx, d):
    q = {'mailtest': 0, 'mailauth': 0}
    for c in d['cells']:
        for side in q:
            if isinstance(c[side], dict):
                q[side] += c[side]['dns_queries']
    n = len(ctx.corpus['cells'])
    passes = verify_bench.TIMED_PASSES[ctx.smoke]
    return [
        'verify: mailtest in batch mode and mailauth in node, one process per side and '
        'cell, the sides alternating cell by cell; both pinned with taskset to CPU %s (DNS server '
        'on CPU %s); each cell: a warm-up pass, then %d timed passes, median reported; every timed '
        'verdict must be spf=pass, dkim=pass, dmarc=pass or the figure is "invalid"' % (
            benchlib.measured_cpu(), benchlib.aux_cpu(), passes),
        'verify DNS: loopback tests/dnsd.py, TTL 300 s; mailtest caches in its resolver '
        '(common/dns.h), mailauth behind a cache in bench/mailauth_verify.js that keeps '
        'answers and NXDOMAIN/NODATA for the TTL; questions that reached the server over '
        'all %d cells: mailtest %d, mailauth %d' % (n, q['mailtest'], q['mailauth']),
        'verify work: mailtest checks SPF (MAIL FROM and HELO), DKIM, DMARC, ADSP and '
        'iprev, checks the author domain\'s records (dns-check: MX, SPF tree, DKIM keys, '
        'DMARC, ADSP, MTA-STS, TLS-RPT, BIMI) and renders the JSON report; mailauth 4 authenticate() checks DKIM, SPF '
        '(MAIL FROM) and DMARC (ARC and BIMI off)',
    ]


def render(ctx, rows, notes, problems, elapsed, tmp_fs, load, busy):
    out = ['# mailtest benchmarks%s' % (' (SMOKE RUN: tiny inputs, figures '
                                         'meaningless)' if ctx.smoke else ''), '']
    out.append('Run %s, %.0f s, `%s`.' % (
        time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), elapsed,
        'make bench-smoke' if ctx.smoke else 'make bench'))
    out.append('')
    for line in benchlib.machine(['spool, queue and corpus on %s' % tmp_fs,
                                  benchlib.pinning_line(busy)], load):
        out.append('- ' + line)
    out.append('')
    out.append(benchlib.render_table(rows))
    out.append('')
    out.append('Ratio = mailtest / peer. Marks: pass or MISS against the target; n/a '
               'where a figure is missing.')
    out.append('')
    for n in notes:
        out.append('- ' + n)
    if problems:
        out.append('')
        out.append('Problems:')
        for p in problems:
            out.append('- ' + p.replace('\n', '\n  '))
    return '\n'.join(out) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--smoke', action='store_true', help='each benchmark once, tiny input')
    ap.add_argument('--only', default=','.join(SECTIONS),
                    help='comma-separated subset of %s' % ', '.join(SECTIONS))
    ap.add_argument('--out', help='Markdown output (default bench/out/latest.md, '
                    'or bench/out/smoke.md with --smoke)')
    ap.add_argument('--keep', action='store_true', help='keep the temporary folder')
    args = ap.parse_args()
    only = [s.strip() for s in args.only.split(',') if s.strip()]
    for s in only:
        if s not in SECTIONS:
            ap.error('unknown benchmark %r' % s)
    benchlib.measured_cpu()	# a bad BENCH_CPU / BENCH_AUX_CPU stops here
    benchlib.aux_cpu()
    outdir = os.path.join(HERE, 'out')
    os.makedirs(outdir, exist_ok=True)
    out = args.out or os.path.join(outdir, 'smoke.md' if args.smoke else 'latest.md')

    # a terminated run still stops what it started (the finally clauses)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    ctx = Context(args)
    load_at_start = os.getloadavg()
    busy_at_start = benchlib.cpu_busy()
    servers_fd = None
    try:
        import servers
        servers_fd = servers.raise_fd_limit()
    except (ImportError, ValueError, OSError):
        pass
    ctx.tmpdir = tempfile.mkdtemp(prefix='run-', dir=outdir)
    os.chmod(ctx.tmpdir, 0o755)
    skipped = []
    pf = postfix_instance.available()
    for what, why in (('mailauth', verify_bench.mailauth_available()),
                      ('Postfix', NA(pf) if pf else None),
                      ('mailtestd', NA('bin/mailtestd not built')
                       if not os.access(ctx.mailtestd, os.X_OK) else None)):
        if why is not None:
            skipped.append('%s: %s' % (what, why.why))
    try:
        ctx.progress('corpus')
        ctx.corpus = gen_corpus.generate(os.path.join(
            outdir, 'corpus-smoke' if args.smoke else 'corpus'), smoke=args.smoke)
        os.sync()	# no writeback of a fresh corpus during the measurements
        ctx.dns = benchlib.Dnsd(cpu=benchlib.aux_cpu())
        rows, problems, notes, details = run_sections(ctx, only)
    finally:
        if ctx.dns:
            ctx.dns.stop()
        tmp_fs = fs_type(ctx.tmpdir)
        if not args.keep:
            shutil.rmtree(ctx.tmpdir, ignore_errors=True)
    elapsed = time.monotonic() - ctx.t0
    if skipped:
        notes.append('not measured here: ' + '; '.join(skipped))
    if load_at_start[0] > 0.5 * benchlib.cpus():
        notes.append('WARNING: load average %.2f at start on %d CPUs: other work shared the '
                     'machine, the figures are noisy' % (load_at_start[0], benchlib.cpus()))
    if servers_fd:
        notes.append('open-file limit raised to %d for the harness and its servers'
                     % servers_fd)
    text = render(ctx, rows, notes, problems, elapsed, tmp_fs, load_at_start, busy_at_start)
    sys.stdout.write(text)
    with open(out + '.tmp', 'w') as f:
        f.write(text)
    os.rename(out + '.tmp', out)
    benchlib.write_json(os.path.splitext(out)[0] + '.json',
                        {'smoke': args.smoke, 'elapsed': elapsed, 'details': details,
                         'problems': problems})
    for s in skipped:
        sys.stderr.write('bench: SKIPPED %s\n' % s)
    sys.stderr.write('bench: wrote %s\n' % os.path.relpath(out))
    if problems:
        sys.stderr.write('bench: %d problem(s), see the end of the table\n' % len(problems))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
