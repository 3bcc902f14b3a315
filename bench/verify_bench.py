"""Benchmark 1: verification throughput, mailtest vs mailauth, and the
crypto ceiling (bench/README.md, "Verification").

  crypto_ceiling(smoke, cpu)     openssl speed rsa2048 ed25519 sha256
  ceiling_rate(speed, key, bytes) messages/s the crypto alone would allow
  run_mailtest(...)              one batch process per cell
  run_mailauth(...)              one node process per cell (all cells in one
                                 with --smoke); in both, each cell gets a
                                 warm-up pass, then the timed passes
  classify(verdicts, n, ours)    None when every message passed SPF, DKIM and
                                 DMARC; otherwise why the figure is invalid
  run(ctx)                       the table's rows for this benchmark
"""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import benchlib
from benchlib import NA, Invalid, Row, median, pin

HERE = benchlib.HERE
MAILAUTH_DIR = os.path.join(HERE, 'node_modules', 'mailauth')

SPEED_SECONDS = {True: 1, False: 3}	# openssl speed -seconds, smoke/full
TIMED_PASSES = {True: 1, False: 7}	# after one warm-up pass, smoke/full
SHA_BLOCK = 16384			# the fastest block size: the ceiling stays an upper bound


def parse_openssl_speed(text):
    """Rates from `openssl speed -mr` output: {'rsa2048_verify': per s,
    'ed25519_verify': per s, 'sha256_Bps': bytes per s}."""
    out = {}
    for line in text.splitlines():
        f = line.strip().split(':')
        if f[0] == '+F' and len(f) >= 4 and f[2] == 'sha256':
            out['sha256_Bps'] = float(f[-1])	# bytes/s at the largest block asked
        elif f[0] == '+F2' and len(f) == 5 and f[2] == '2048':
            out['rsa2048_sign'] = float(f[3])
            out['rsa2048_verify'] = float(f[4])
        elif f[0] == '+F6' and len(f) == 6 and f[3].lower() == 'ed25519':
            out['ed25519_sign'] = float(f[4])
            out['ed25519_verify'] = float(f[5])
    return out


def crypto_ceiling(smoke, cpu):
    cmd = pin(cpu) + ['openssl', 'speed', '-seconds', str(SPEED_SECONDS[smoke]),
                      '-bytes', str(SHA_BLOCK), '-mr', 'rsa2048', 'ed25519', 'sha256']
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as e:
        return NA('openssl speed: %s' % e)
    speed = parse_openssl_speed(p.stdout)
    need = ('rsa2048_verify', 'ed25519_verify', 'sha256_Bps')
    if p.returncode != 0 or any(k not in speed for k in need):
        return NA('openssl speed gave no rates (exit %d)' % p.returncode)
    speed['openssl'] = subprocess.run(['openssl', 'version'], capture_output=True,
                                      text=True).stdout.strip()
    return speed


def ceiling_rate(speed, key, mean_bytes):
    """Messages/s if a message cost only one signature verification plus
    SHA-256 over all its bytes (body hash and header hash together never
    hash more than the message)."""
    verify = speed['rsa2048_verify' if key.startswith('rsa') else 'ed25519_verify']
    return 1.0 / (1.0 / verify + mean_bytes / speed['sha256_Bps'])


def tally(tallies, name, word):
    t = tallies.setdefault(name, {})
    t[word] = t.get(word, 0) + 1


def classify(verdicts, n, ours):
    """None if all n messages have spf, dkim and dmarc pass; else Invalid.
    For our side, a mechanism that reports none on every message is marked
    .placeholder (the module is not there yet): the smoke run tolerates that
    and nothing else."""
    bad = []
    for mech in ('spf', 'dkim', 'dmarc'):
        t = verdicts.get(mech, {})
        if t.get('pass', 0) != n:
            bad.append('%s %s' % (mech.upper(), ', '.join(
                '%s %d/%d' % (w, c, n) for w, c in sorted(t.items())) or 'no verdicts'))
    if not bad:
        return None
    inv = Invalid('; '.join(bad))
    inv.placeholder = ours and any(verdicts.get(m, {}).get('none', 0) == n
                                   for m in ('spf', 'dkim'))
    return inv


class Marker:
    """A FIFO given to `mailtest verify` among its files: opening it blocks
    mailtest until the harness opens the other end, which tells the harness
    the moment mailtest has finished every file before it (a pass boundary,
    independent of output buffering).  The harness then writes one of the
    cell's messages into it, so each timed interval holds the cell's n files
    plus exactly one more copy of a cell message: rate = (n + 1) / interval."""

    def __init__(self, path, content):
        self.path = path
        self.content = content
        self.when = None
        self.error = None
        os.mkfifo(path, 0o600)
        self.thread = threading.Thread(target=self._feed, daemon=True)

    def _feed(self):
        try:
            fd = os.open(self.path, os.O_WRONLY)
            self.when = time.monotonic()
            try:
                view = memoryview(self.content)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
        except OSError as e:	# mailtest went away mid-message
            self.error = e

    def release(self):
        """Unblocks a writer still waiting for a reader (mailtest died)."""
        if self.thread.is_alive() and self.when is None:
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
                self.thread.join(5)
                os.close(fd)
            except OSError:
                pass


def run_mailtest(mailtest, cell, manifest, dns, passes, cpu, tmpdir):
    """Batch mode, one process: the cell's files `passes` times, each pass
    followed by a Marker; pass 0 is the warm-up, the intervals between
    markers are the timed passes."""
    if not os.access(mailtest, os.X_OK):
        return NA('bin/mailtest not built')
    files = cell['files']
    n = len(files)
    d = tempfile.mkdtemp(prefix='verify-', dir=tmpdir)
    with open(files[0], 'rb') as f:
        content = f.read()
    markers = [Marker(os.path.join(d, 'marker-%d.eml' % k), content)
               for k in range(passes)]
    args = []
    for m in markers:
        args += files + [m.path]
    cmd = pin(cpu) + [mailtest, 'verify', '--format', 'json',
                      '--ip', manifest['client_ip'], '--helo', manifest['helo'],
                      '--mail-from', manifest['sender'], '--rcpt', manifest['rcpt'],
                      '--dns', dns.address] + args
    q0 = dns.queries()
    out_path = os.path.join(d, 'out.ndjson')
    with open(out_path, 'wb') as outf, open(os.path.join(d, 'err'), 'w+b') as errf:
        proc = subprocess.Popen(cmd, stdout=outf, stderr=errf, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        for m in markers:
            m.thread.start()
            while m.thread.is_alive() and m.when is None:
                m.thread.join(0.05)
                if proc.poll() is not None or time.monotonic() > deadline:
                    break
            if m.when is None:
                if proc.poll() is None:
                    proc.kill()
                m.release()
                break
            m.thread.join(60)
        try:
            rc = proc.wait(max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        errf.seek(0)
        err = errf.read().decode(errors='replace').strip()
    queries = dns.queries() - q0
    with open(out_path, 'rb') as f:
        out = f.read().splitlines()
    shutil.rmtree(d, ignore_errors=True)
    when = [m.when for m in markers]
    if rc != 0 or None in when or len(out) != (n + 1) * passes:
        return Invalid('mailtest verify exit %d after %d/%d reports: %s' % (
            rc, len(out), (n + 1) * passes, err.splitlines()[-1] if err else ''))
    verdicts = {}
    for raw in out[n + 1:]:		# after the warm-up pass and its marker
        j = json.loads(raw)
        tally(verdicts, 'spf', (j.get('spf') or {}).get('result', 'none'))
        dk = j.get('dkim') or []
        tally(verdicts, 'dkim', dk[0].get('result', 'none') if dk else 'none')
        tally(verdicts, 'dmarc', (j.get('dmarc') or {}).get('result', 'none'))
    secs = [when[k] - when[k - 1] for k in range(1, passes)]
    return {'seconds': secs, 'verdicts': verdicts, 'dns_queries': queries,
            'messages': n + 1}


def mailauth_available():
    if not shutil.which('node'):
        return NA('node not installed')
    if not os.path.isfile(os.path.join(MAILAUTH_DIR, 'package.json')):
        return NA('mailauth not installed (make bench-deps)')
    return None


def mailauth_version():
    with open(os.path.join(MAILAUTH_DIR, 'package.json')) as f:
        return json.load(f)['version']


def run_mailauth(cells, manifest, dns, passes, cpu, tmpdir):
    """All cells in one node process (each cell: a warm-up pass, then the
    timed passes); returns {cell name: result} or one NA/Invalid for all."""
    na = mailauth_available()
    if na:
        return na
    job = {'cells': [{'name': c['name'], 'files': c['files']} for c in cells],
           'passes': passes, 'dns': dns.address, 'ip': manifest['client_ip'],
           'helo': manifest['helo'], 'sender': manifest['sender']}
    jobfile = os.path.join(tmpdir, 'mailauth-job.json')
    with open(jobfile, 'w') as f:
        json.dump(job, f)
    cmd = pin(cpu) + ['node', os.path.join(HERE, 'mailauth_verify.js'), jobfile]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=HERE)
    except subprocess.TimeoutExpired:
        return Invalid('mailauth timed out')
    if p.returncode != 0:
        return Invalid('mailauth exit %d: %s' % (p.returncode,
                                                 p.stderr.strip()[-300:]))
    r = json.loads(p.stdout)
    out = {}
    for c in cells:
        x = r['cells'][c['name']]
        out[c['name']] = {'seconds': [y['seconds'] for y in x['passes'][1:]],
                          'verdicts': x['verdicts'], 'dns_queries': x['dns_queries'],
                          'messages': len(c['files']), 'version': r['version']}
    return out


def rate(result, ours):
    """messages/s (median timed pass), or the NA/Invalid that replaces it."""
    if not isinstance(result, dict):
        return result
    n = result['messages']
    bad = classify(result['verdicts'], n * len(result['seconds']), ours)
    if bad:
        return bad
    return n / median(result['seconds'])


def cell_label(cell):
    return '%s %s %s (%.1f KB)' % (cell['size_label'], cell['algorithm'], cell['canon'],
                                   cell['mean_bytes'] / 1024)


def run(ctx):
    """Runs benchmark 1; returns (rows, details, problems)."""
    manifest = ctx.corpus
    passes = 1 + TIMED_PASSES[ctx.smoke]	# the warm-up, then the timed passes
    cpu = benchlib.measured_cpu()
    ctx.progress('crypto ceiling (openssl speed)')
    if ctx.smoke:	# figures are meaningless there: overlap to stay fast
        bg = {}
        th = threading.Thread(target=lambda: bg.update(s=crypto_ceiling(True, cpu)))
        th.start()
    else:
        speed = crypto_ceiling(False, cpu)
    dns = ctx.dns
    dns.set_zone(manifest['zone'])
    ours_all, peer_all = {}, {}
    for cell in manifest['cells']:
        ctx.progress('verify mailtest %s' % cell['name'])
        ours_all[cell['name']] = run_mailtest(ctx.mailtest, cell, manifest, dns, passes,
                                              cpu, ctx.tmpdir)
        if not ctx.smoke:	# interleaved, so a drift in background load hits both
            ctx.progress('verify mailauth %s' % cell['name'])
            peer_all[cell['name']] = run_mailauth([cell], manifest, dns, passes, cpu,
                                                  ctx.tmpdir)
    if ctx.smoke:	# one node start-up for all cells
        ctx.progress('verify mailauth, all cells')
        r = run_mailauth(manifest['cells'], manifest, dns, passes, cpu, ctx.tmpdir)
        for cell in manifest['cells']:
            peer_all[cell['name']] = r[cell['name']] if isinstance(r, dict) else r
    if ctx.smoke:
        th.join()
        speed = bg['s']
    na = mailauth_available()
    peer_name = 'mailauth %s' % mailauth_version() if na is None else 'mailauth'
    rows, details, problems = [], {'cells': [], 'openssl_speed': speed}, []
    for cell in manifest['cells']:
        ours_res = ours_all[cell['name']]
        peer_res = peer_all[cell['name']]
        if isinstance(peer_res, dict) and cell['name'] in peer_res:
            peer_res = peer_res[cell['name']]
        ours = rate(ours_res, True)
        peer = rate(peer_res, False)
        if isinstance(peer, Invalid):
            problems.append('mailauth on %s: %s' % (cell['name'], peer.why))
        if isinstance(ours, Invalid) and not getattr(ours, 'placeholder', False):
            problems.append('mailtest on %s: %s' % (cell['name'], ours.why))
        label = cell_label(cell)
        rows.append(Row('1 verify', label, 'msg/s', ours, peer_name, peer,
                        target='>= 5x mailauth',
                        check=lambda o, p, r: r is not None and r >= 5))
        if isinstance(speed, dict):
            ceil = ceiling_rate(speed, cell['key'], cell['mean_bytes'])
        else:
            ceil = speed
        two_kb = cell['size_label'] == '2KB'
        rows.append(Row('1 verify', label, 'msg/s', ours, 'crypto ceiling', ceil,
                        target='>= 0.5x ceiling' if two_kb else '',
                        check=(lambda o, p, r: r is not None and r >= 0.5) if two_kb
                        else None))
        details['cells'].append({
            'cell': cell['name'], 'mean_bytes': cell['mean_bytes'],
            'messages': len(cell['files']),
            'mailtest': ours_res if isinstance(ours_res, dict) else str(ours_res),
            'mailauth': peer_res if isinstance(peer_res, dict) else str(peer_res),
            'ceiling': ceil if isinstance(ceil, float) else str(ceil)})
    return rows, details, problems


def speed_note(speed):
    if not isinstance(speed, dict):
        return 'crypto ceiling: %s' % speed
    return ('crypto ceiling from `%s` (`openssl speed -bytes %d rsa2048 ed25519 sha256`, '
            'same CPU): rsa2048 verify %.0f/s, ed25519 verify %.0f/s, sha256 %.0f MB/s; '
            'ceiling = 1 / (1/verify + message bytes/sha256 rate)' % (
                speed.get('openssl', 'openssl'), SHA_BLOCK, speed['rsa2048_verify'],
                speed['ed25519_verify'], speed['sha256_Bps'] / 1e6))

