"""The Prometheus endpoint (metrics_listen): its content after real traffic,
parsed with python3-prometheus-client's text-format parser as the oracle;
counters for sessions, accepted and refused messages (by reason),
verdicts, replies queued / suppressed / deferred / sent / given up, DNS,
the latency histogram and the queue gauges."""
import http.client
import os
import smtplib
import sys
import time

import pytest

from . import smtpscript
from .harness import CHECK, free_port, message

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from smtpsink import Sink  # noqa: E402

parser = pytest.importorskip('prometheus_client.parser')

ZONE = {'example.org': [{'SPF': 'v=spf1 ip4:127.0.0.1 -all'}]}


def scrape(port, path='/metrics', method='GET'):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    c.request(method, path)
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return r, body


def families(text):
    """{name: family} through the reference parser (fails on bad syntax)."""
    return {f.name: f for f in parser.text_string_to_metric_families(text)}


def value(fams, name, sample=None, **labels):
    """A sample of family `name` (the parser names counter families without
    _total; their samples keep it)."""
    f = fams[name]
    names = [sample] if sample else [name, name + '_total']
    for s in f.samples:
        if s.name in names and s.labels == labels:
            return s.value
    return None


def metrics_daemon(smtpd_factory, dns, **conf):
    dns.set_zone(ZONE)
    port = free_port()
    d = smtpd_factory(start=False, metrics_listen='127.0.0.1:%d' % port, **conf)
    d.metrics_port = port
    d.start()
    d.wait_log(r'metrics listen addr=127\.0\.0\.1:%d path=/metrics' % port)
    return d


def wait_metric(d, name, want, timeout=30, **labels):
    deadline = time.monotonic() + timeout
    while True:
        fams = families(scrape(d.metrics_port)[1])
        v = value(fams, name, **labels)
        if v == want:
            return fams
        if time.monotonic() > deadline:
            raise AssertionError('%s%r = %r, want %r' % (name, labels, v, want))
        time.sleep(0.1)


@pytest.mark.valgrind
def test_metrics_after_traffic(smtpd_factory, dns):
    sink = Sink(temp_failures=1).start()
    try:
        d = metrics_daemon(smtpd_factory, dns, relay='127.0.0.1:%d' % sink.port,
                           relay_tls='none', retry_min='1s', retry_max='2s',
                           report_from='mailtest@mx.mailtest.example')
        r, body = scrape(d.metrics_port)
        assert r.status == 200
        assert r.getheader('Content-Type') == 'text/plain; version=0.0.4; charset=utf-8'
        fams = families(body)
        # one family per HELP line: no two names collide once _total is dropped
        assert len(fams) == body.count('# HELP ') > 15
        assert value(fams, 'mailtest_smtp_messages_accepted') == 0
        assert fams['mailtest_report_latency_seconds'].type == 'histogram'

        # 1: a good message, answered; 2: from <>, suppressed
        with smtplib.SMTP('127.0.0.1', d.port, timeout=30) as s:
            s.sendmail('user@example.org', [CHECK], message('metrics one'))
            s.sendmail('', [CHECK], message('metrics two'))
        # refusals: not a check address, too big, bare LF (smuggling)
        smtpscript.run(d.port, r'''
            expect 220
            send "EHLO client.example"
            expect 250
            send "MAIL FROM:<user@example.org>"
            expect 250
            send "RCPT TO:<someone@elsewhere.example>"
            expect 550 5.7.1
            send "RSET"
            expect 250
            send "MAIL FROM:<user@example.org> SIZE=999999999999"
            expect 552 5.3.4
            send "MAIL FROM:<user@example.org>"
            expect 250
            send "RCPT TO:<check@mailtest.example>"
            expect 250
            send "DATA"
            expect 354
            sendraw "Subject: x\r\n\r\nbare\nLF\r\n.\r\n"
            expect 554 5.6.0
            send "QUIT"
            expect 221
        ''')
        ids = d.queued_ids()
        assert len(ids) == 2
        for i in ids:
            d.wait_processed(i)
        sink.wait(1, timeout=30)
        fams = wait_metric(d, 'mailtest_replies_sent', 1)
        d.wait_log(r'deliver delivered')
        fams = wait_metric(d, 'mailtest_smtp_sessions_active', 0)

        assert value(fams, 'mailtest_smtp_sessions') == 2
        assert value(fams, 'mailtest_smtp_messages_accepted',
                     sample='mailtest_smtp_messages_accepted_total') == 2
        refused = {s.labels['reason']: s.value for s in fams['mailtest_smtp_refused'].samples}
        assert refused == {'relay_denied': 1, 'size': 1, 'smuggling': 1}, refused
        v = {(s.labels['mechanism'], s.labels['result']): s.value
             for s in fams['mailtest_verdicts'].samples}
        assert v[('spf', 'pass')] == 1          # user@example.org from 127.0.0.1
        assert v[('dkim', 'none')] == 2
        assert sum(n for (m, _), n in v.items() if m == 'dmarc') == 2
        assert sum(n for (m, _), n in v.items() if m == 'iprev') == 2
        assert value(fams, 'mailtest_messages_verified',
                     sample='mailtest_messages_verified_total') == 2
        assert value(fams, 'mailtest_replies_queued',
                     sample='mailtest_replies_queued_total') == 1
        assert value(fams, 'mailtest_replies_suppressed',
                     sample='mailtest_replies_suppressed_total', reason='null-sender') == 1
        assert value(fams, 'mailtest_replies_deferred',
                     sample='mailtest_replies_deferred_total') == 1
        assert value(fams, 'mailtest_replies_sent', sample='mailtest_replies_sent_total') == 1
        lat = fams['mailtest_report_latency_seconds']
        buckets = [(s.labels['le'], s.value) for s in lat.samples if s.name.endswith('_bucket')]
        counts = [n for _, n in buckets]
        assert counts == sorted(counts) and buckets[-1] == ('+Inf', 2)
        assert value(fams, 'mailtest_report_latency_seconds',
                     sample='mailtest_report_latency_seconds_count') == 2
        assert value(fams, 'mailtest_report_latency_seconds',
                     sample='mailtest_report_latency_seconds_sum') >= 0
        assert value(fams, 'mailtest_dns_lookups', sample='mailtest_dns_lookups_total') > 0
        assert value(fams, 'mailtest_dns_queries', sample='mailtest_dns_queries_total') > 0
        assert value(fams, 'mailtest_spool_messages') == 0
        assert value(fams, 'mailtest_outbound_messages') == 0
    finally:
        sink.stop()


def test_given_up_and_outbound_gauge(smtpd_factory, dns):
    sink = Sink(perm_code=550).start()
    try:
        d = metrics_daemon(smtpd_factory, dns, relay='127.0.0.1:%d' % sink.port,
                           relay_tls='none', report_from='mailtest@mx.mailtest.example')
        with smtplib.SMTP('127.0.0.1', d.port, timeout=30) as s:
            s.sendmail('user@example.org', [CHECK], message('given up'))
        fams = wait_metric(d, 'mailtest_replies_given_up', 1,
                           sample='mailtest_replies_given_up_total', reason='permanent')
        assert value(fams, 'mailtest_replies_sent', sample='mailtest_replies_sent_total') == 0
        assert value(fams, 'mailtest_outbound_messages') == 0
    finally:
        sink.stop()


def test_outbound_gauge_counts_deferred_reports(smtpd_factory, dns):
    sink = Sink(temp_failures=10 ** 6).start()
    try:
        d = metrics_daemon(smtpd_factory, dns, relay='127.0.0.1:%d' % sink.port,
                           relay_tls='none', retry_min='1h',
                           report_from='mailtest@mx.mailtest.example')
        with smtplib.SMTP('127.0.0.1', d.port, timeout=30) as s:
            s.sendmail('user@example.org', [CHECK], message('deferred a'))
            s.sendmail('user@example.org', [CHECK], message('deferred b'))
        fams = wait_metric(d, 'mailtest_replies_deferred', 2,
                           sample='mailtest_replies_deferred_total')
        assert value(fams, 'mailtest_outbound_messages') == 2
    finally:
        sink.stop()


def test_tls_handshake_failure_and_limits_are_counted(smtpd_factory, dns):
    d = metrics_daemon(smtpd_factory, dns, smtp_max_connections_per_ip=1)
    a = smtpscript.Client(d.port)
    a.expect(220)
    b = smtpscript.Client(d.port)               # over the per-address limit
    b.expect(421, '4.7.0')
    b.close()
    a.send('EHLO c.example')
    a.expect(250)
    a.send('STARTTLS')
    a.expect(220)
    a.sock.sendall(b'this is not a TLS client hello\r\n' * 4)
    try:
        a.sock.recv(100)
    except OSError:
        pass
    a.close()
    fams = wait_metric(d, 'mailtest_smtp_refused', 1, sample='mailtest_smtp_refused_total',
                       reason='tls')
    assert value(fams, 'mailtest_smtp_refused', sample='mailtest_smtp_refused_total',
                 reason='connections') == 1


def test_http_surface(smtpd_factory, dns):
    d = metrics_daemon(smtpd_factory, dns)
    r, body = scrape(d.metrics_port, '/')
    assert r.status == 404
    r, body = scrape(d.metrics_port, '/metrics?x=1')
    assert r.status == 200 and 'mailtest_smtp_sessions_total' in body
    r, body = scrape(d.metrics_port, method='HEAD')
    assert r.status == 200 and body == ''
    r, body = scrape(d.metrics_port, method='POST')
    assert r.status in (405, 501)
    # the endpoint is on the event loop: SMTP still answers while scraping
    c = smtpscript.Client(d.port)
    c.expect(220)
    for _ in range(20):
        assert scrape(d.metrics_port)[0].status == 200
    c.send('QUIT')
    c.expect(221)
    c.close()


def test_metrics_on_a_bare_port_listen_on_loopback(smtpd_factory, dns):
    port = free_port()
    d = smtpd_factory(start=False, metrics_listen=str(port))
    d.start()
    d.wait_log(r'metrics listen addr=127\.0\.0\.1:%d ' % port)
    assert scrape(port)[0].status == 200
