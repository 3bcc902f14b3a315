#!/usr/bin/python3
"""Memory per idle connection of mailtestd: the daemon's RSS with N idle
sessions (greeted, EHLO answered; with --tls also after STARTTLS and a second
EHLO) minus its RSS with none, divided by N.  Kernel socket buffers are not
in the RSS and not counted.

  tests/smtpd/idle_memory.py [--binary bin/mailtestd] [--connections 1000] [--tls]
"""
import argparse
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise RuntimeError('no VmRSS')


def _read_reply(s):
    buf = b''
    while True:
        x = s.recv(4096)
        if not x:
            raise EOFError('closed')
        buf += x
        lines = buf.split(b'\r\n')
        for ln in lines[:-1]:
            if len(ln) >= 4 and ln[3:4] == b' ':
                return buf


def _idle_session(port, tls):
    s = socket.create_connection(('127.0.0.1', port))
    _read_reply(s)
    s.sendall(b'EHLO idle.example\r\n')
    _read_reply(s)
    if tls:
        s.sendall(b'STARTTLS\r\n')
        _read_reply(s)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s)
        s.sendall(b'EHLO idle.example\r\n')
        _read_reply(s)
    return s


def _free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def measure(binary, n=1000, tls=False, workdir=None):
    own = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix='mt-idle-')
    port = _free_port()
    conf = os.path.join(workdir, 'idle.conf')
    with open(conf, 'w') as f:
        f.write('listen 127.0.0.1:%d\nspool_dir %s/spool\nhostname idle.example\n'
                'smtp_max_connections %d\nsmtp_max_connections_per_ip %d\n'
                'workers 1\nlog_level warning\ndns_server 127.0.0.1:9\n'
                % (port, workdir, n + 100, n + 100))
    log = open(os.path.join(workdir, 'idle.log'), 'wb')
    p = subprocess.Popen([binary, '-f', '-c', conf], stderr=log)
    held = []
    try:
        for _ in range(200):
            try:
                socket.create_connection(('127.0.0.1', port)).close()
                break
            except OSError:
                time.sleep(0.05)
        # warm-up: the allocator and libevent reach their steady state
        for _ in range(3):
            warm = [_idle_session(port, tls) for _ in range(50)]
            for s in warm:
                s.close()
        time.sleep(0.3)
        rss0 = rss_kib(p.pid)
        for _ in range(n):
            held.append(_idle_session(port, tls))
        time.sleep(0.3)
        rss_n = rss_kib(p.pid)
    finally:
        for s in held:
            s.close()
        p.terminate()
        p.wait(timeout=60)
        log.close()
        if own:
            shutil.rmtree(workdir, ignore_errors=True)
    return {'connections': n, 'tls': tls, 'rss0_kib': rss0, 'rssN_kib': rss_n,
            'per_connection_kib': (rss_n - rss0) / n}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--binary', default=os.path.join(ROOT, 'bin', 'mailtestd'))
    ap.add_argument('--connections', type=int, default=1000)
    ap.add_argument('--tls', action='store_true')
    a = ap.parse_args()
    r = measure(a.binary, a.connections, a.tls)
    print('%d idle %s connections: RSS %d KiB -> %d KiB: %.1f KiB per connection'
          % (r['connections'], 'TLS' if r['tls'] else 'plain', r['rss0_kib'], r['rssN_kib'],
             r['per_connection_kib']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
