"""Shared pieces of the benchmark harness (bench/bench.py).

  Row, NA, Invalid        one line of the table, and the two ways a figure
                          can be missing (n/a: what is absent; invalid: the
                          run happened but did not verify, so no number)
  Dnsd                    tests/dnsd.py as a child process on loopback,
                          zone set through its control port
  free_port(), wait_port(), cpus(), pin(cpu)
  median(), percentile()
  machine()               the machine's description (CPU, cores, kernel,
                          compiler, library and peer versions)
  render_table()          the one table, as Markdown
"""
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYTHON = '/usr/bin/python3'
sys.path.insert(0, os.path.join(ROOT, 'tests'))


class NA:
    """A figure that could not be measured because something is absent."""

    def __init__(self, why):
        self.why = why

    def __str__(self):
        return 'n/a: ' + self.why


class Invalid:
    """A run that happened but whose verdicts prove it did not verify."""

    def __init__(self, why):
        self.why = why

    def __str__(self):
        return 'invalid: ' + self.why


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Row:
    """One line of the table.

    ours, peer: a number, NA or Invalid.  ratio = ours / peer when both are
    numbers.  target: text, and check(ours, peer, ratio) -> True/False for
    the pass/miss mark (None: no target for this row); needs_peer=False when
    the target is on our figure alone."""

    def __init__(self, section, case, unit, ours, peer_name, peer, target='',
                 check=None, needs_peer=True, fmt='%.0f'):
        self.section = section
        self.case = case
        self.unit = unit
        self.ours = ours
        self.peer_name = peer_name
        self.peer = peer
        self.target = target
        self.check = check
        self.needs_peer = needs_peer
        self.fmt = fmt

    @property
    def ratio(self):
        if is_number(self.ours) and is_number(self.peer) and self.peer > 0:
            return self.ours / self.peer
        return None

    def mark(self):
        if self.check is None:
            return ''
        if not is_number(self.ours):
            return 'n/a' if isinstance(self.ours, NA) else 'invalid'
        if self.needs_peer and not is_number(self.peer):
            return 'n/a'
        return 'pass' if self.check(self.ours, self.peer, self.ratio) else 'MISS'

    def cells(self):
        def fig(v):
            if v is None:
                return ''
            if is_number(v):
                return self.fmt % v
            return str(v)
        r = self.ratio
        return [self.section, self.case, self.unit, fig(self.ours),
                self.peer_name, fig(self.peer),
                '' if r is None else ('%.2fx' % r if r < 10 else '%.1fx' % r),
                self.target, self.mark()]


HEADER = ['benchmark', 'case', 'unit', 'mailtest', 'peer', 'peer figure', 'ratio',
          'target', 'mark']


def _esc(s):
    return str(s).replace('|', '\\|').replace('\n', ' ')


def render_table(rows):
    out = ['| ' + ' | '.join(HEADER) + ' |',
           '|' + '|'.join(['---'] * len(HEADER)) + '|']
    for r in rows:
        out.append('| ' + ' | '.join(_esc(c) for c in r.cells()) + ' |')
    return '\n'.join(out)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        raise ValueError('median of nothing')
    if n % 2:
        return xs[n // 2]
    return (xs[n // 2 - 1] + xs[n // 2]) / 2


def percentile(xs, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    xs = sorted(xs)
    if not xs:
        raise ValueError('percentile of nothing')
    k = max(1, -(-len(xs) * p // 100))	# ceil(n * p / 100), at least 1
    return xs[int(k) - 1]


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0, proc=None):
    """Wait until something accepts on 127.0.0.1:port; False on timeout or
    when proc exited first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def cpus():
    return os.cpu_count() or 1


def pin(cpu):
    """Command prefix that pins to one CPU (nothing on a one-CPU machine)."""
    if cpu is None or cpus() < 2 or not shutil.which('taskset'):
        return []
    return ['taskset', '-c', str(cpu)]


def _cpu_from_env(var, default):
    """A CPU number from the environment (BENCH_CPU, BENCH_AUX_CPU): an
    integer below cpus(), or "none" for no pinning; default when unset."""
    v = os.environ.get(var, '').strip()
    if not v:
        return default
    if v == 'none':
        return None
    if not v.isdigit() or int(v) >= cpus():
        raise SystemExit('bench: %s=%r: a CPU number below %d, or none' % (var, v, cpus()))
    return int(v)


def measured_cpu():
    """The CPU the measured processes (mailtest verify, mailauth, openssl
    speed) run on: $BENCH_CPU, by default the last CPU."""
    return _cpu_from_env('BENCH_CPU', cpus() - 1 if cpus() >= 2 else None)


def aux_cpu():
    """The CPU of the loopback DNS server: $BENCH_AUX_CPU, by default CPU 0
    (so not the measured one)."""
    return _cpu_from_env('BENCH_AUX_CPU', 0 if cpus() >= 2 else None)


def cpu_busy(seconds=1.0):
    """Per-CPU busy fraction over `seconds` from /proc/stat (other work on
    the machine before the run starts): {cpu number: fraction}."""
    def sample():
        out = {}
        with open('/proc/stat') as f:
            for line in f:
                m = re.match(r'cpu(\d+)\s+(.*)', line)
                if m:
                    v = [int(x) for x in m.group(2).split()]
                    idle = v[3] + (v[4] if len(v) > 4 else 0)
                    out[int(m.group(1))] = (sum(v[:8]), idle)
        return out
    try:
        a = sample()
        time.sleep(seconds)
        b = sample()
    except OSError:
        return {}
    busy = {}
    for c in a:
        dt = b[c][0] - a[c][0]
        busy[c] = (1 - (b[c][1] - a[c][1]) / dt) if dt > 0 else 0.0
    return busy


def pinning_line(busy):
    """The machine description's line on pinning and on other work."""
    mc, ac = measured_cpu(), aux_cpu()
    line = ('pinning: verification (mailtest and mailauth, alternating cell by cell) '
            'and openssl speed on %s; DNS server on %s; SMTP servers, smtp-source and '
            'the latency/memory clients unpinned (both CPUs)' % (
                'CPU %d' % mc if mc is not None else 'no CPU in particular',
                'CPU %d' % ac if ac is not None else 'any CPU'))
    if busy:
        line += '; CPU busy in the second before the run: ' + ', '.join(
            'CPU %d %.0f%%' % (c, 100 * busy[c]) for c in sorted(busy))
    cond = os.environ.get('BENCH_CONDITIONS', '').strip()
    if cond:
        line += '; conditions: ' + cond
    return line


class Dnsd:
    """tests/dnsd.py as a child process (loopback UDP/TCP + control port)."""

    ATTEMPTS = 5	# it binds TCP to the port UDP got: that port can be taken

    def __init__(self, cpu=0):
        cmd = pin(cpu) + [PYTHON, os.path.join(ROOT, 'tests', 'dnsd.py'),
                          '--port', '0', '--control-port', '0']
        for attempt in range(self.ATTEMPTS):
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True)
            line = self.proc.stdout.readline().split()
            if len(line) == 4 and line[0] == 'port':
                break
            self.stop()
            err = self.proc.stderr.read().strip().splitlines()
            if attempt == self.ATTEMPTS - 1:
                raise RuntimeError('tests/dnsd.py did not start: %s' % (
                    err[-1] if err else line))
        self.port = int(line[1])
        self.control_port = int(line[3])
        self.address = '127.0.0.1:%d' % self.port

    def _control(self, req):
        import dnsd
        res = dnsd.control(self.control_port, req)
        if 'error' in res:
            raise RuntimeError('dnsd: %s' % res['error'])
        return res

    def set_zone(self, zone):
        self._control({'zone': zone})

    def queries(self):
        return self._control({'cmd': 'stats'})['queries']

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _run(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (p.stdout or p.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return ''


def _pkg(name):
    return _run(['dpkg-query', '-W', '-f', '${Version}', name]) or 'not installed'


def _pc(name):
    return _run(['pkg-config', '--modversion', name]) or '?'


def machine(extra=None, load=None):
    """Lines describing the machine and the software under test; load: the
    1, 5 and 15 minute load averages taken when the run started."""
    lscpu = _run(['lscpu'])
    model = re.search(r'^Model name:\s*(.+)$', lscpu, re.M)
    mem = ''
    try:
        with open('/proc/meminfo') as f:
            kb = int(re.search(r'MemTotal:\s+(\d+)', f.read()).group(1))
            mem = '%.1f GiB' % (kb / 1024 / 1024)
    except (OSError, AttributeError):
        pass
    hyper = re.search(r'^Hypervisor vendor:\s*(.+)$', lscpu, re.M)
    try:
        with open('/etc/debian_version') as f:
            debian = 'Debian ' + f.read().strip()
    except OSError:
        debian = platform.platform()
    cc = _run(['cc', '--version']).splitlines()
    load = ', '.join('%.2f' % x for x in load) if load else '?'
    lines = [
        'CPU: %s, %d cores%s; memory %s; load average at start %s' % (
            model.group(1) if model else platform.processor() or '?', cpus(),
            ' (%s guest)' % hyper.group(1) if hyper else '', mem, load),
        'OS: %s, kernel %s' % (debian, platform.release()),
        'compiler: %s (-O2)' % (cc[0] if cc else '?'),
        'libraries: OpenSSL %s, libevent %s, libopendkim %s, libspf2 %s, '
        'libopendmarc %s, jansson %s, libpsl %s' % (
            _pc('openssl'), _pc('libevent'), _pkg('libopendkim11'),
            _pkg('libspf2-2'), _pkg('libopendmarc2'), _pc('jansson'), _pc('libpsl')),
        'peers: Node %s, Postfix %s, python3-dkim %s (corpus signer), dnsd on '
        'python3-dnslib %s' % (
            _run(['node', '--version']) or 'not installed', _pkg('postfix'),
            _pkg('python3-dkim'), _pkg('python3-dnslib')),
    ]
    try:
        rev = subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(['git', '-C', ROOT, 'status', '--porcelain',
                                '--untracked-files=no'],
                               capture_output=True, text=True).stdout.strip()
        lines.append('mailtest: commit %s%s' % (rev, ' (with local changes)' if dirty else ''))
    except OSError:
        pass
    for x in extra or []:
        lines.append(x)
    return lines


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=1, default=str)
    os.rename(tmp, path)
