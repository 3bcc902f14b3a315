"""The servers the SMTP benchmarks talk to, each started and stopped by the
harness on a free loopback port, and the probes run against them.

  Mailtestd(binary, tmpdir, dns_address, conf={})   bin/mailtestd -f -c CONF
  SmtpSink(tmpdir, max_sessions)                    Postfix's smtp-sink(1)
  smtp_source(port, sessions, count, size)          Postfix's smtp-source(1)
  durability_probe(pids, load, n)                   fsyncs before each 250, by strace
  rss_kib(pid)                                      VmRSS from /proc/PID/status
"""
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import time

import benchlib
from benchlib import Invalid, NA

SENDER = 'bench@bench.example'
RCPT = 'check@localhost'
HELO = 'mail.bench.example'
FD_LIMIT = 16384


def raise_fd_limit(want=FD_LIMIT):
    """Raise this process's open-file limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new = min(want, hard) if hard != resource.RLIM_INFINITY else want
    if soft < new:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        m = re.search(r'^VmRSS:\s+(\d+) kB', f.read(), re.M)
    return int(m.group(1))


def _tail(path, n=3):
    try:
        with open(path, errors='replace') as f:
            return ' / '.join(x.strip() for x in f.readlines()[-n:])
    except OSError:
        return ''


class Mailtestd:
    """bin/mailtestd in the foreground with a temporary configuration (only
    keys of common/config.h)."""

    def __init__(self, binary, tmpdir, dns_address, conf=None):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix='mailtestd-', dir=tmpdir)
        self.port = benchlib.free_port()
        self.spool = os.path.join(self.dir, 'spool')
        self.conf_path = os.path.join(self.dir, 'mailtest.conf')
        self.log = os.path.join(self.dir, 'mailtestd.log')
        self.conf = {
            'listen': '127.0.0.1:%d' % self.port,
            'spool_dir': self.spool,
            'dns_server': dns_address,
            'hostname': 'mailtestd.bench.invalid',
            'check_address': RCPT,
            'tls': 'no',
            'log_level': 'info',
            'shutdown_timeout': '5s',
            'reply': 'no',
        }
        self.conf.update(conf or {})
        self.proc = None

    @staticmethod
    def missing(binary):
        if not os.access(binary, os.X_OK):
            return NA('bin/mailtestd not built')
        return None

    def start(self):
        with open(self.conf_path, 'w') as f:
            for k, v in self.conf.items():
                f.write('%s %s\n' % (k, v))
        logf = open(self.log, 'wb')
        self.proc = subprocess.Popen([self.binary, '-f', '-c', self.conf_path],
                                     stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        logf.close()
        if not benchlib.wait_port(self.port, 15, self.proc):
            why = _tail(self.log) or 'did not listen'
            self.stop()
            raise RuntimeError('mailtestd did not start: %s' % why)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def pending(self):
        """Messages still in the spool's incoming/ (not yet handed on)."""
        try:
            return len(os.listdir(os.path.join(self.spool, 'incoming')))
        except FileNotFoundError:
            return 0

    def wait_drained(self, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.pending() == 0:
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def tail_log(self):
        return _tail(self.log)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class SmtpSink:
    """smtp-sink: answers every command with success and keeps nothing."""

    def __init__(self, max_sessions=1024):
        self.port = benchlib.free_port()
        cmd = ['smtp-sink']
        if os.geteuid() == 0:
            cmd += ['-u', 'nobody']
        cmd += ['-m', str(max_sessions), '127.0.0.1:%d' % self.port, '1024']
        self.cmd = cmd
        self.proc = None

    @staticmethod
    def missing():
        if not shutil.which('smtp-sink') and not os.path.exists('/usr/sbin/smtp-sink'):
            return NA('smtp-sink not installed (postfix)')
        return None

    def start(self):
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not benchlib.wait_port(self.port, 10, self.proc):
            self.stop()
            raise RuntimeError('smtp-sink did not start')
        return self

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def smtp_source_missing():
    if not shutil.which('smtp-source') and not os.path.exists('/usr/sbin/smtp-source'):
        return NA('smtp-source not installed (postfix)')
    return None


def smtp_source(port, sessions, count, size, timeout=120):
    """Sends count messages of size octets over `sessions` parallel sessions,
    one message per connection (smtp-source's default); returns messages per
    second, or Invalid when any reply was not a success or it timed out."""
    cmd = ['smtp-source', '-s', str(sessions), '-m', str(count), '-l', str(size),
           '-f', SENDER, '-t', RCPT, '-M', HELO, '127.0.0.1:%d' % port]
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Invalid('smtp-source did not finish in %d s' % timeout)
    t1 = time.monotonic()
    err = (p.stderr or '').strip()
    if p.returncode != 0 or err:
        return Invalid('smtp-source exit %d: %s' % (p.returncode, err.splitlines()[-1]
                                                     if err else ''))
    return count / (t1 - t0)


_LINE_RE = re.compile(r'^(\d+)\s+(\d+\.\d+)\s+(.*)$')
_RESUMED_RE = re.compile(r'^<\.\.\. (\w+) resumed>')
_CALL_RE = re.compile(r'^(\w+)\(')
_DUR_RE = re.compile(r'<(\d+\.\d+)>\s*$')
_FD_PATH_RE = re.compile(r'^\w+\(\d+<([^>]*)>')
_QUEUED_RE = re.compile(r'queued as ([A-Za-z0-9]+)')
_RENAME_RE = re.compile(r'"([^"]*)"')
SYNC_CALLS = ('fsync', 'fdatasync', 'sync_file_range', 'syncfs')
TRACED = 'fsync,fdatasync,sync_file_range,syncfs,rename,renameat,renameat2,write,writev,' \
    'sendto,sendmsg'


def strace_calls(text):
    """Completed system calls from `strace -f -ttt -T -y` output, as
    (name, start, end, text), unfinished/resumed pairs joined."""
    calls, pending = [], {}
    for line in text.splitlines():
        m = _LINE_RE.match(line)
        if not m:
            continue
        pid, ts, rest = m.group(1), float(m.group(2)), m.group(3)
        r = _RESUMED_RE.match(rest)
        if r:
            if pid in pending:
                name, start, head = pending.pop(pid)
                d = _DUR_RE.search(rest)
                calls.append((name, start, start + float(d.group(1)) if d else ts,
                              head + rest))
            continue
        c = _CALL_RE.match(rest)
        if not c:
            continue
        if rest.endswith('<unfinished ...>'):
            pending[pid] = (c.group(1), ts, rest)
            continue
        d = _DUR_RE.search(rest)
        calls.append((c.group(1), ts, ts + float(d.group(1)) if d else ts, rest))
    calls.sort(key=lambda x: x[2])
    return calls


def durability(text):
    """For every message whose "250 ... queued as ID" reply appears in the
    trace: was its queue file (the first file synced whose name contains ID)
    synced before that reply was written; when that file was then renamed
    into place, was the destination directory synced after the rename and
    before the reply?  Also counts the distinct directory syncs that covered
    messages (group commit when fewer than the messages)."""
    calls = strace_calls(text)
    replies, fsyncs, renames = {}, [], {}
    for name, start, end, t in calls:
        if name in SYNC_CALLS:
            m = _FD_PATH_RE.match(t)
            path = m.group(1) if m else ''
            fsyncs.append((start, end, path, os.path.isdir(path)))
        elif name.startswith('rename'):
            p = _RENAME_RE.findall(t)
            if len(p) >= 2:
                renames.setdefault(p[0], (end, p[1]))
        else:
            for qid in _QUEUED_RE.findall(t):
                replies.setdefault(qid, end)
    out = {'messages': len(replies), 'file': 0, 'renamed': 0, 'dir': 0,
           'dir_syncs': 0, 'syncs': len(fsyncs)}
    covering = set()
    for qid, t250 in replies.items():
        synced = [(e, p) for s, e, p, d in fsyncs if not d and qid in os.path.basename(p)]
        if not synced or min(synced)[0] > t250:
            continue
        out['file'] += 1
        qfile = min(synced)[1]
        if qfile not in renames or renames[qfile][0] > t250:
            continue
        t_rename, dst = renames[qfile]
        out['renamed'] += 1
        dirs = [(s, e) for s, e, p, d in fsyncs
                if d and p == os.path.dirname(dst) and s >= t_rename and e <= t250]
        if dirs:
            out['dir'] += 1
            covering.add(min(dirs, key=lambda x: x[1]))
    out['dir_syncs'] = len(covering)
    return out


def durability_probe(pids, load, messages):
    """Runs load() (messages through smtp-source) with strace attached to
    pids, following forks and threads; returns durability()'s counts or NA."""
    if not shutil.which('strace'):
        return NA('strace not installed')
    fd, out = tempfile.mkstemp(prefix='strace-', suffix='.txt')
    os.close(fd)
    cmd = ['strace', '-f', '-qq', '-ttt', '-T', '-y', '-s', '256', '-e',
           'trace=' + TRACED, '-o', out]
    for p in pids:
        cmd += ['-p', str(p)]
    st = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    try:
        if not _wait_traced(pids[0], st):
            return NA('strace could not attach')
        res = load()
    finally:
        if st.poll() is None:
            st.send_signal(signal.SIGINT)
            try:
                st.wait(20)
            except subprocess.TimeoutExpired:
                st.kill()
                st.wait()
    try:
        with open(out, errors='replace') as f:
            counts = durability(f.read())
    finally:
        os.unlink(out)
    if not isinstance(res, float):
        return res
    if counts['messages'] < messages:
        return Invalid('the trace shows %d of %d "queued as" replies' % (
            counts['messages'], messages))
    return counts


def _wait_traced(pid, st, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if st.poll() is not None:
            return False
        try:
            with open('/proc/%d/status' % pid) as f:
                m = re.search(r'^TracerPid:\s+(\d+)', f.read(), re.M)
            if m and int(m.group(1)) != 0:
                time.sleep(0.2)		# let it reach the other pids too
                return True
        except OSError:
            return False
        time.sleep(0.05)
    return False
