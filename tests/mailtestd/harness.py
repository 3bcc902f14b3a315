"""Helpers for the mailtestd suites: Daemon (a mailtestd -f with a temporary
configuration and spool, its logs and spool inspected), free_port(),
message(), the check address and host name the suites configure."""
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import reportstore  # noqa: E402

CHECK = 'check@mailtest.example'
HOSTNAME = 'mx.mailtest.example'


def free_port(family=socket.AF_INET, host='127.0.0.1'):
    """A port that is free on both loopbacks now (the listen syntax takes
    port 0 too, but a restart must find the daemon on the same port)."""
    for _ in range(50):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.bind((host, 0))
        port = s.getsockname()[1]
        s.close()
        try:
            s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s6.bind(('::1', port))
            s6.close()
        except OSError:
            continue
        return port
    raise RuntimeError('no free port')


def bindir():
    root = os.path.dirname(os.path.dirname(HERE))
    return os.path.join(root, os.environ.get('MAILTEST_BINDIR', 'bin'))


def under_sanitizer():
    return os.environ.get('MAILTEST_SAN') == '1' or bool(os.environ.get('MAILTEST_WRAPPER'))


class Daemon:
    def __init__(self, binary, workdir, dns=None, wrapper=(), **conf):
        self.binary = binary
        self.dir = workdir
        os.makedirs(self.dir, exist_ok=True)
        self.spool = os.path.join(self.dir, 'spool')
        self.port = free_port()
        self.wrapper = list(wrapper)
        self.conf = {
            'listen': '127.0.0.1:%d' % self.port,
            'spool_dir': self.spool,
            'hostname': HOSTNAME,
            'check_address': CHECK,
            'dns_timeout_ms': '300',
            'dns_attempts': '1',
            'workers': '2',
            'log_level': 'info',
            'shutdown_timeout': '10s',
        }
        if dns is not None:
            self.conf['dns_server'] = dns.address
        for k, v in conf.items():
            self.conf[k] = str(v)
        self.conf_path = os.path.join(self.dir, 'mailtestd.conf')
        self.proc = None
        self.runs = 0
        self.logs = []

    def write_conf(self):
        with open(self.conf_path, 'w') as f:
            for k, v in self.conf.items():
                f.write('%s %s\n' % (k, v))

    @property
    def log_path(self):
        return os.path.join(self.dir, 'mailtestd.%d.log' % self.runs)

    def start(self, wait=True, extra_args=(), env=None, preexec_fn=None):
        self.write_conf()
        self.runs += 1
        self.logs.append(self.log_path)
        self.logf = open(self.log_path, 'wb')
        cmd = self.wrapper + [self.binary, '-f', '-c', self.conf_path] + list(extra_args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.logf,
                                     env=env, preexec_fn=preexec_fn)
        if wait:
            self.wait_log(r'mailtestd started', timeout=180 if self.wrapper else 20)
        return self

    def log(self, run=None):
        paths = self.logs if run is None else [self.logs[run]]
        out = ''
        for p in paths:
            with open(p, 'rb') as f:
                out += f.read().decode('utf-8', 'replace')
        return out

    def wait_log(self, pattern, timeout=20, count=1, run=-1):
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            text = self.log(run=run if run is not None else None)
            if len(rx.findall(text)) >= count:
                return text
            if self.proc.poll() is not None and len(rx.findall(self.log(run))) < count:
                raise AssertionError('mailtestd exited (%s) before %r:\n%s'
                                     % (self.proc.returncode, pattern, text[-4000:]))
            if time.monotonic() > deadline:
                raise AssertionError('timeout waiting for %r in log:\n%s'
                                     % (pattern, text[-4000:]))
            time.sleep(0.02)

    def stop(self, sig=signal.SIGTERM, timeout=60, expect_rc=0):
        if self.proc is None or self.proc.poll() is not None:
            rc = self.proc.returncode if self.proc else None
        else:
            self.proc.send_signal(sig)
            try:
                rc = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError('mailtestd did not stop on signal %d:\n%s'
                                     % (sig, self.log()[-4000:]))
        self.logf.close()
        if expect_rc is not None:
            assert rc == expect_rc, 'mailtestd exit status %r:\n%s' % (rc, self.log()[-6000:])
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.logf.close()

    def reload(self, **conf):
        for k, v in conf.items():
            self.conf[k] = str(v)
        self.write_conf()
        n = self.log().count('smtpd reload')
        self.proc.send_signal(signal.SIGHUP)
        self.wait_log(r'smtpd reload', count=n + 1)

    # -- the spool -----------------------------------------------------------
    def reports(self):
        """{id: created} of the reports in the spool's store (SQLite)."""
        return reportstore.ids(self.spool)

    def report(self, msgid):
        return reportstore.report(self.spool, msgid)

    def incoming(self):
        return sorted(os.listdir(os.path.join(self.spool, 'incoming')))

    def wait_processed(self, msgid, timeout=30):
        self.wait_log(r'%s worker removed' % re.escape(msgid), timeout=timeout, run=None)

    def queued_ids(self):
        return re.findall(r'(\w{12}) smtpd queued', self.log())


def wrapper_for(request):
    """valgrind (MAILTEST_WRAPPER) wraps only tests marked valgrind."""
    if request.node.get_closest_marker('valgrind'):
        return shlex.split(os.environ.get('MAILTEST_WRAPPER', ''))
    return []


def message(subject='test', body='hello\r\n', headers=()):
    h = ['From: Sender <sender@example.org>', 'To: <%s>' % CHECK,
         'Subject: %s' % subject, 'Message-ID: <%s@example.org>' % subject.replace(' ', '.'),
         'Date: Thu, 01 Jan 2026 00:00:00 +0000'] + list(headers)
    return '\r\n'.join(h) + '\r\n\r\n' + body
