"""A private Postfix instance for the benchmarks: its own main.cf and
master.cf, queue and data directories under a temporary folder, smtpd on a
free loopback port, started with `postfix -c DIR start` and stopped with
`postfix -c DIR stop`.  It never reads or changes /etc/postfix/main.cf,
the system queue, or a running system Postfix: every command names our
configuration directory (and MAIL_CONFIG says the same).

  PostfixInstance(tmpdir, port, relay=None).start() / .stop()
      relay None: every recipient goes to the discard(8) transport (the
      intake benchmark); relay HOST:PORT: everything is relayed there by
      smtp(8) (the latency benchmark's peer)
  .pids()            master and its children (for the fsync probe)
  .queue_count()     messages still in incoming/active/deferred/maildrop
  .wait_drained()    until the queue is empty (bounded)
"""
import os
import shutil
import signal
import subprocess
import time

import benchlib

SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
smtp      unix  -       -       n       -       -       smtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

QUEUES = ('maildrop', 'incoming', 'active', 'deferred', 'hold')


def available():
    """None when a private instance can run here, else the reason why not."""
    for prog in ('postfix', 'postconf'):
        if not shutil.which(prog) and not os.path.exists('/usr/sbin/' + prog):
            return 'postfix not installed'
    if os.geteuid() != 0:
        return 'a private Postfix instance needs root'
    try:
        import pwd
        import grp
        pwd.getpwnam('postfix')
        grp.getgrnam('postdrop')
    except KeyError:
        return 'the postfix user or postdrop group is missing'
    return None


def version():
    try:
        out = subprocess.run(['postconf', '-d', '-h', 'mail_version'],
                             capture_output=True, text=True, timeout=20).stdout
        return out.strip() or '?'
    except (OSError, subprocess.SubprocessError):
        return '?'


class PostfixInstance:
    def __init__(self, tmpdir, port, relay=None, process_limit=100):
        self.dir = os.path.join(tmpdir, 'postfix-%d' % port)
        self.etc = os.path.join(self.dir, 'etc')
        self.queue = os.path.join(self.dir, 'queue')
        self.data = os.path.join(self.dir, 'data')
        self.log = os.path.join(self.dir, 'maillog')
        self.port = port
        self.relay = relay
        self.process_limit = process_limit
        self.started = False

    def _env(self):
        env = dict(os.environ)
        env['MAIL_CONFIG'] = self.etc
        return env

    def _postfix(self, *args, timeout=60):
        return subprocess.run(['postfix', '-c', self.etc] + list(args),
                              capture_output=True, text=True, env=self._env(),
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def write_config(self):
        for d in (self.etc, self.queue, self.data):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.dir, 0o755)
        shutil.chown(self.data, 'postfix', 'postfix')
        if self.relay:
            transport = 'relayhost = [%s]:%s\ndefault_transport = smtp\n' \
                'local_transport = smtp\nrelay_transport = smtp\n' \
                'smtp_tls_security_level = none\n' % tuple(self.relay.rsplit(':', 1))
        else:
            transport = 'default_transport = discard:bench\n' \
                'local_transport = discard:bench\nrelay_transport = discard:bench\n'
        main = (
            '# private benchmark instance (bench/postfix_instance.py)\n'
            'compatibility_level = 3.6\n'
            'queue_directory = %(queue)s\n'
            'data_directory = %(data)s\n'
            'mail_owner = postfix\n'
            'setgid_group = postdrop\n'
            'myhostname = postfix.bench.invalid\n'
            'mydomain = bench.invalid\n'
            'mydestination =\n'
            'inet_interfaces = 127.0.0.1\n'
            'inet_protocols = ipv4\n'
            'mynetworks = 127.0.0.0/8\n'
            'maillog_file = %(log)s\n'
            'maillog_file_prefixes = %(dir)s\n'
            'default_process_limit = %(limit)d\n'
            'smtpd_banner = $myhostname ESMTP\n'
            'biff = no\n'
            'alias_maps =\n'
            'alias_database =\n'
            '%(transport)s') % {
                'queue': self.queue, 'data': self.data, 'log': self.log,
                'dir': self.dir, 'limit': self.process_limit, 'transport': transport}
        with open(os.path.join(self.etc, 'main.cf'), 'w') as f:
            f.write(main)
        with open(os.path.join(self.etc, 'master.cf'), 'w') as f:
            f.write('127.0.0.1:%d inet n - n - - smtpd\n' % self.port + SERVICES)

    def start(self):
        self.write_config()
        p = self._postfix('start')
        self.started = True
        if p.returncode != 0 or not benchlib.wait_port(self.port, 15):
            why = self.tail_log() or p.stderr.strip() or 'did not listen'
            self.stop()
            raise RuntimeError('private Postfix did not start: %s' % why)
        return self

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, 'pid', 'master.pid')) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def pids(self):
        m = self.master_pid()
        if m is None:
            return []
        out = subprocess.run(['ps', '-o', 'pid=', '--ppid', str(m)],
                             capture_output=True, text=True).stdout.split()
        return [m] + [int(x) for x in out]

    def queue_count(self):
        n = 0
        for q in QUEUES:
            for _, _, files in os.walk(os.path.join(self.queue, q)):
                n += len(files)
        return n

    def wait_drained(self, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.queue_count() == 0:
                return True
            time.sleep(0.05)
        return False

    def delivered(self):
        try:
            with open(self.log, errors='replace') as f:
                return sum(1 for line in f if 'status=sent' in line)
        except OSError:
            return 0

    def wait_delivered(self, n, timeout=10):
        """Deliveries logged so far, once they reach n or after timeout
        (postlogd writes the log asynchronously)."""
        end = time.monotonic() + timeout
        while self.delivered() < n and time.monotonic() < end:
            time.sleep(0.1)
        return self.delivered()

    def tail_log(self, n=3):
        try:
            with open(self.log, errors='replace') as f:
                return ' / '.join(line.strip() for line in f.readlines()[-n:])
        except OSError:
            return ''

    def stop(self):
        if not self.started:
            return
        self.started = False
        master = self.master_pid()
        try:
            self._postfix('stop', timeout=60)
        except subprocess.SubprocessError:
            pass
        if master is not None:
            end = time.monotonic() + 15
            while time.monotonic() < end and _alive(master):
                time.sleep(0.1)
            if _alive(master):
                try:
                    self._postfix('abort', timeout=30)
                except subprocess.SubprocessError:
                    os.kill(master, signal.SIGKILL)


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
