"""Benchmark 3: end-to-end latency (bench/README.md, "Latency").

A steady, open-loop load: message i is sent at t0 + i/RATE, each on its own
connection, DKIM-signed 2 KB messages from the corpus with distinct
Message-IDs.  The time of "end of DATA" is taken when the client has handed
the final CRLF.CRLF to the kernel.  A local sink (aiosmtpd) stamps each
message it accepts and matches it: mailtestd's report by its In-Reply-To
(the tested Message-ID), the peer's relayed copy by its Message-ID.
Latency = sink time - end of DATA, p50 and p99 over the timed messages,
after a warm-up whose reports must arrive first (warm DNS cache).

mailtestd: reply yes, relay = the sink.  Peer: the private Postfix relaying
every message to the same sink (no checks: how fast a mature MTA turns a
message around on this machine).
"""
import copy
import socket
import threading
import time
from email.parser import BytesHeaderParser

import benchlib
import postfix_instance
import servers
from benchlib import NA, Invalid, Row, percentile

SINK_HOST = '127.0.0.1'


def params(smoke):
    if smoke:
        return {'rate': 10, 'seconds': 0.2, 'warmup': 1, 'wait': 10}
    return {'rate': 25, 'seconds': 12, 'warmup': 3, 'wait': 15}


class Sink:
    """aiosmtpd on loopback; records (monotonic time, In-Reply-To, Message-ID)."""

    def __init__(self):
        from aiosmtpd.controller import Controller
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.arrivals = {'in-reply-to': {}, 'message-id': {}}
        self.count = 0
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                t = time.monotonic()
                h = BytesHeaderParser().parsebytes(envelope.original_content or
                                                   envelope.content)
                with sink.cond:
                    sink.count += 1
                    for key in ('in-reply-to', 'message-id'):
                        v = (h.get(key) or '').strip()
                        if v:
                            sink.arrivals[key].setdefault(v, t)
                    sink.cond.notify_all()
                return '250 2.0.0 accepted'

        self.port = benchlib.free_port()
        self.controller = Controller(Handler(), hostname=SINK_HOST, port=self.port,
                                     decode_data=False)
        self.controller.start()

    def wait_for(self, key, ids, timeout):
        """Waits until every id has arrived under key (or timeout); returns
        {id: time} for those that did."""
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                got = {i: self.arrivals[key][i] for i in ids if i in self.arrivals[key]}
                left = end - time.monotonic()
                if len(got) == len(ids) or left <= 0:
                    return got
                self.cond.wait(min(left, 0.2))

    def stop(self):
        self.controller.stop()


def aiosmtpd_missing():
    try:
        import aiosmtpd.controller  # noqa: F401
    except ImportError:
        return NA('python3-aiosmtpd not installed')
    return None


class SmtpError(Exception):
    pass


def _reply(f):
    lines = []
    while True:
        line = f.readline(4096)
        if not line:
            raise SmtpError('connection closed')
        lines.append(line)
        if len(line) < 4 or line[3:4] != b'-':
            return int(line[:3]), b''.join(lines)


def send_one(port, msg, helo='mail.bench.example', sender=servers.SENDER,
             rcpt=servers.RCPT, timeout=30):
    """One SMTP transaction; returns the monotonic time of end of DATA."""
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        f = s.makefile('rb')

        def cmd(line, want):
            s.sendall(line + b'\r\n')
            code, text = _reply(f)
            if code != want:
                raise SmtpError('%s -> %r' % (line.decode(), text))
        code, text = _reply(f)
        if code != 220:
            raise SmtpError('banner %r' % text)
        cmd(b'EHLO ' + helo.encode(), 250)
        cmd(b'MAIL FROM:<' + sender.encode() + b'>', 250)
        cmd(b'RCPT TO:<' + rcpt.encode() + b'>', 250)
        cmd(b'DATA', 354)
        body = b'\r\n'.join(b'.' + ln if ln.startswith(b'.') else ln
                            for ln in msg.split(b'\r\n'))
        if not body.endswith(b'\r\n'):
            body += b'\r\n'
        s.sendall(body + b'.\r\n')
        t = time.monotonic()
        code, text = _reply(f)
        if code != 250:
            raise SmtpError('end of data -> %r' % text)
        try:
            s.sendall(b'QUIT\r\n')
            _reply(f)
        except (OSError, SmtpError):
            pass
        return t


def message_id(msg):
    return (BytesHeaderParser().parsebytes(msg).get('message-id') or '').strip()


def steady_load(port, msgs, rate, errors):
    """Sends msgs[i] at t0 + i/rate, each from its own thread; returns
    {message-id: end-of-data time}."""
    sent = {}
    lock = threading.Lock()
    t0 = time.monotonic() + 0.1

    def one(i, msg):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            t = send_one(port, msg)
            with lock:
                sent[message_id(msg)] = t
        except (OSError, SmtpError) as e:
            with lock:
                errors.append(str(e))
    threads = [threading.Thread(target=one, args=(i, m), daemon=True)
               for i, m in enumerate(msgs)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    return sent


def measure(port, key, msgs, p, sink):
    """p50/p99 ms, or Invalid."""
    warm, timed = msgs[:p['warmup']], msgs[p['warmup']:]
    errors = []
    for m in warm:
        try:
            send_one(port, m)
        except (OSError, SmtpError) as e:
            return Invalid('warm-up message refused: %s' % e)
    got = sink.wait_for(key, [message_id(m) for m in warm], p['wait'])
    if len(got) != len(warm):
        return Invalid('%d of %d warm-up messages reached the sink in %d s' % (
            len(got), len(warm), p['wait']))
    sent = steady_load(port, timed, p['rate'], errors)
    if errors:
        return Invalid('%d of %d messages refused: %s' % (len(errors), len(timed),
                                                           errors[0]))
    got = sink.wait_for(key, list(sent), p['wait'])
    if len(got) != len(sent):
        return Invalid('%d of %d reached the sink within %d s' % (len(got), len(sent),
                                                                  p['wait']))
    lat = [(got[i] - sent[i]) * 1000 for i in sent]
    return {'p50': percentile(lat, 50), 'p99': percentile(lat, 99), 'n': len(lat),
            'max': max(lat)}


def latency_zone(zone):
    """The corpus zone, with 127.0.0.1 (where the load comes from) allowed by
    SPF and given a PTR, so every check passes as in production."""
    z = copy.deepcopy(zone)
    z['_spf-b.bench.example'] = [{'TXT': 'v=spf1 ip4:192.0.2.0/24 ip4:127.0.0.1 -all'}]
    z['mail.bench.example'] = [{'A': '192.0.2.25'}, {'A': '127.0.0.1'},
                               {'TXT': 'v=spf1 a -all'}]
    z['1.0.0.127.in-addr.arpa'] = [{'PTR': 'mail.bench.example'}]
    return z


def corpus_messages(ctx, n):
    cell = next(c for c in ctx.corpus['cells'] if c['name'] == '2KB-rsa2048-relaxed')
    out = []
    for path in cell['files'][:n]:
        with open(path, 'rb') as f:
            out.append(f.read())
    return out


def run_ours(ctx, p, msgs, sink):
    why = servers.Mailtestd.missing(ctx.mailtestd)
    if why:
        return why
    d = servers.Mailtestd(ctx.mailtestd, ctx.tmpdir, ctx.dns.address, {
        'reply': 'yes', 'relay': '%s:%d' % (SINK_HOST, sink.port), 'relay_tls': 'none',
        'smtp_client_tls': 'none', 'delivery_port': sink.port,
        'reply_policy': 'always', 'rate_per_address': 1000000,
        'rate_per_domain': 1000000, 'rate_per_ip': 1000000,
        'report_from': 'mailtest@mailtestd.bench.invalid', 'retry_min': '1s'})
    try:
        d.start()
    except RuntimeError as e:
        return Invalid(str(e))
    try:
        return measure(d.port, 'in-reply-to', msgs, p, sink)
    finally:
        d.stop()


def run_postfix(ctx, p, msgs, sink):
    why = postfix_instance.available()
    if why:
        return NA(why)
    pf = postfix_instance.PostfixInstance(ctx.tmpdir, benchlib.free_port(),
                                          relay='%s:%d' % (SINK_HOST, sink.port))
    try:
        pf.start()
    except RuntimeError as e:
        return Invalid(str(e))
    try:
        return measure(pf.port, 'message-id', msgs, p, sink)
    finally:
        pf.stop()


def run(ctx):
    p = params(ctx.smoke)
    n = p['warmup'] + max(1, int(p['rate'] * p['seconds']))
    ctx.dns.set_zone(latency_zone(ctx.corpus['zone']))
    msgs = corpus_messages(ctx, n)
    if len(msgs) < n:	# smoke corpus: fewer files than the plan
        p = dict(p, warmup=min(p['warmup'], len(msgs) - 1))
    why = aiosmtpd_missing()
    if why:
        ours = peer = why
    else:
        ctx.progress('latency mailtestd')
        sink = Sink()
        try:
            ours = run_ours(ctx, p, msgs, sink)
            ctx.progress('latency Postfix relay')
            peer = run_postfix(ctx, p, msgs, sink)
        finally:
            sink.stop()
    timed = len(msgs) - p['warmup']
    case = '%s, %d msg/s x %d (2 KB, rsa-sha256)' % ('%s', p['rate'], timed)

    def fig(r, k):
        return r[k] if isinstance(r, dict) else r
    rows = [
        Row('3 latency', case % 'p50', 'ms', fig(ours, 'p50'), 'Postfix relay (no checks)',
            fig(peer, 'p50'), fmt='%.1f'),
        Row('3 latency', case % 'p99', 'ms', fig(ours, 'p99'), 'Postfix relay (no checks)',
            fig(peer, 'p99'), target='< 50 ms', check=lambda o, q, r: o < 50, needs_peer=False,
            fmt='%.1f'),
    ]
    problems = ['latency %s: %s' % (name, r.why) for name, r in
                (('mailtestd', ours), ('Postfix', peer)) if isinstance(r, Invalid)]
    return rows, {'mailtestd': ours, 'postfix_relay': peer, 'params': p}, problems
