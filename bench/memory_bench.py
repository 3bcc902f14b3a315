"""Benchmark 4: memory per idle connection (bench/README.md, "Memory").

The server is started, one full SMTP session warms it up, and its VmRSS
(/proc/PID/status) is read; then N connections are opened and each reads
its 220 banner and stays idle; after a second the RSS is read again.
Figures: (RSS after - RSS before) / N in KiB, and the RSS at N idle
connections.  The harness raises its open-file limit (children inherit it)
and configures smtp_max_connections / smtp_max_connections_per_ip above N.
Peer: smtp-sink, Postfix's single-process event-driven test server (it keeps
no state beyond the protocol), as the floor of what an idle SMTP session
costs.  Postfix's smtpd is a process per session (default_process_limit
100), so it has no comparable figure here.
"""
import selectors
import socket
import time

import latency_bench
import servers
from benchlib import Invalid, Row

def params(smoke):
    return {'connections': 50 if smoke else 5000}


IN_FLIGHT = 64		# connections opened but not yet greeted, at most


def open_idle(port, n, timeout=60):
    """n connections that each got a 220 banner; returns (socks, banners).
    New connections are opened only while fewer than IN_FLIGHT wait for
    their banner: a burst beyond the listen backlog would have the kernel
    drop handshakes (SYN cookies), leaving clients that never get a banner."""
    socks = []
    sel = selectors.DefaultSelector()
    banners = 0
    end = time.monotonic() + timeout
    pending = {}
    try:
        while (len(socks) < n or pending) and time.monotonic() < end:
            while len(socks) < n and len(pending) < IN_FLIGHT:
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(('127.0.0.1', port))
                socks.append(s)
                pending[s] = b''
                sel.register(s, selectors.EVENT_READ)
            banners += _read_banners(sel, pending, 0.05)
    finally:
        sel.close()
    return socks, banners


def _read_banners(sel, pending, wait):
    got = 0
    for key, _ in sel.select(wait):
        s = key.fileobj
        try:
            data = s.recv(512)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            data = b''
        if not data:
            sel.unregister(s)
            del pending[s]
            continue
        pending[s] += data
        if b'\n' in pending[s]:
            if pending[s].startswith(b'220'):
                got += 1
            sel.unregister(s)
            del pending[s]
    return got


def idle_rss(pid, port, n):
    """{'per_conn_kib', 'rss_kib', 'base_kib'} or Invalid."""
    try:
        latency_bench.send_one(port, b'Subject: warm-up\r\n\r\nwarm-up\r\n')
    except (OSError, latency_bench.SmtpError) as e:
        return Invalid('warm-up session failed: %s' % e)
    time.sleep(0.5)
    base = servers.rss_kib(pid)
    socks, banners = open_idle(port, n)
    try:
        time.sleep(1.0)
        rss = servers.rss_kib(pid)
    finally:
        for s in socks:
            s.close()
    if banners != n:
        return Invalid('%d of %d connections got a 220 banner' % (banners, n))
    return {'per_conn_kib': (rss - base) / n, 'rss_kib': rss, 'base_kib': base}


def run_sink(n):
    why = servers.SmtpSink.missing()
    if why:
        return why
    sink = servers.SmtpSink(max_sessions=n + 100).start()
    try:
        return idle_rss(sink.pid, sink.port, n)
    finally:
        sink.stop()


def run_ours(ctx, n):
    why = servers.Mailtestd.missing(ctx.mailtestd)
    if why:
        return why
    d = servers.Mailtestd(ctx.mailtestd, ctx.tmpdir, ctx.dns.address, {
        'smtp_max_connections': n + 100, 'smtp_max_connections_per_ip': n + 100,
        'log_level': 'warning'})
    try:
        d.start()
    except RuntimeError as e:
        return Invalid(str(e))
    try:
        r = idle_rss(d.pid, d.port, n)
        if not d.alive():
            return Invalid('mailtestd exited: %s' % d.tail_log())
        return r
    finally:
        d.stop()


def run(ctx):
    p = params(ctx.smoke)
    n = p['connections']
    limit = servers.raise_fd_limit(2 * n + 1024)
    if limit < 2 * n + 64:
        why = Invalid('open-file limit %d is too low for %d connections' % (limit, n))
        ours = peer = why
    else:
        ctx.dns.set_zone(ctx.corpus['zone'])
        ctx.progress('memory smtp-sink, %d idle connections' % n)
        peer = run_sink(n)
        ctx.progress('memory mailtestd, %d idle connections' % n)
        ours = run_ours(ctx, n)

    def fig(r, k, scale=1.0):
        return r[k] / scale if isinstance(r, dict) else r
    rows = [
        Row('4 memory', 'RSS per idle connection (%d idle)' % n, 'KiB',
            fig(ours, 'per_conn_kib'), 'smtp-sink', fig(peer, 'per_conn_kib'),
            target='< 32 KiB', check=lambda o, q, r: o < 32, needs_peer=False, fmt='%.1f'),
        Row('4 memory', 'RSS at %d idle connections' % n, 'MiB',
            fig(ours, 'rss_kib', 1024), 'smtp-sink', fig(peer, 'rss_kib', 1024), fmt='%.1f'),
    ]
    problems = ['memory %s: %s' % (name, r.why) for name, r in
                (('mailtestd', ours), ('smtp-sink', peer)) if isinstance(r, Invalid)]
    return rows, {'mailtestd': ours, 'smtp_sink': peer, 'connections': n}, problems
