"""The report listener as part of mailtestd: the bearer token (401, Basic
for browsers, constant answers for wrong tokens), the refusal to serve a
non-loopback listener without a token, two daemons sharing one PostgreSQL
store (each sees the other's reports, and a long-poll on one is woken by a
report stored by the other: LISTEN/NOTIFY), the delivery state of a reply
as the delivery threads record it, and pruning by report_retention.
"""
import base64
import json
import os
import threading
import time

import pytest

import reportstore
from smtpsink import Sink
from .web import TOKEN, ZONE, get, get_json, http_port, send, wait_stored, web_conf


@pytest.fixture
def zone(dns):
    dns.set_zone(dict(ZONE))


@pytest.mark.valgrind
def test_token_required_when_set(smtpd_factory, zone):
    d = smtpd_factory(**web_conf(http_token=TOKEN))
    mid = send(d, 'tok-1')
    wait_stored(d, mid)
    st, hd, body = get(d, '/api/v1/reports')
    assert st == 401 and hd['www-authenticate'] == 'Bearer realm="mailtest"'
    assert 'token' in json.loads(body)['error']
    for wrong in ('x', TOKEN[:-1], TOKEN + 'x', TOKEN.upper()):
        st, hd, body = get(d, '/api/v1/reports', token=wrong)
        assert st == 401, wrong
    st, hd, body = get(d, '/api/v1/reports', headers={'Authorization': 'Basic !!!'})
    assert st == 401
    j = get_json(d, '/api/v1/reports?tag=tok-1', token=TOKEN)
    assert [r['id'] for r in j['reports']] == [mid]
    # pages: a browser gets a Basic challenge and may give the token as password
    st, hd, body = get(d, '/')
    assert st == 401 and hd['www-authenticate'].startswith('Basic realm="mailtest"')
    assert hd['content-type'].startswith('text/html')
    basic = base64.b64encode(('anyone:%s' % TOKEN).encode()).decode()
    st, hd, body = get(d, '/reports/' + mid, headers={'Authorization': 'Basic ' + basic})
    assert st == 200 and b'mailtest report' in body
    bad = base64.b64encode(b'anyone:nope').decode()
    st, hd, body = get(d, '/', headers={'Authorization': 'Basic ' + bad})
    assert st == 401
    # the long-poll too
    st, hd, body = get(d, '/api/v1/wait?tag=tok-1&timeout=1')
    assert st == 401


@pytest.mark.parametrize('conf,word', [
    ({'http_listen': '0.0.0.0:1'}, 'not a loopback address: set http_token'),
    ({'http_listen': '[::]:1'}, 'not a loopback address: set http_token'),
    ({'http_listen': '127.0.0.1:1', 'http_token': 'short'}, 'http_token'),
    ({'http_listen': '127.0.0.1:1', 'http_token': 'has a space in it, long'}, 'http_token'),
    ({'http_listen': 'nonsense'}, 'expected ADDR:PORT'),
], ids=['any-v4', 'any-v6', 'short-token', 'bad-token', 'no-port'])
def test_listener_refused(smtpd_factory, conf, word):
    d = smtpd_factory(start=False, **conf)
    d.start(wait=False)
    rc = d.proc.wait(timeout=60)
    d.logf.close()
    assert rc == 1 and word in d.log()


def test_two_daemons_share_a_postgresql_store(smtpd_factory, zone, pg):
    spec = 'postgresql:' + pg.new_database()
    a = smtpd_factory(**web_conf(store=spec))
    b = smtpd_factory(**web_conf(store=spec))
    ma = send(a, 'shared-a')
    mb = send(b, 'shared-b')
    wait_stored(a, ma)
    wait_stored(b, mb)
    for d in (a, b):
        ids = sorted(r['id'] for r in get_json(d, '/api/v1/reports?tag=shared-a')['reports'] +
                     get_json(d, '/api/v1/reports?tag=shared-b')['reports'])
        assert ids == sorted([ma, mb])
        assert get_json(d, '/api/v1/reports/' + ma)['envelope']['tag'] == 'shared-a'
    # a long-poll on b is woken by a report stored by a (NOTIFY across instances)
    got = {}

    def waiter():
        got['r'] = get(b, '/api/v1/wait?tag=cross&timeout=20')

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(1)
    assert t.is_alive()
    mid = send(a, 'cross')
    t.join(60)
    assert got['r'][0] == 200 and json.loads(got['r'][2])['id'] == mid
    assert 'store listening channel=mailtest_reports' in b.log()
    # each instance's spool stays its own; no SQLite file was made
    assert not os.path.exists(reportstore.path(a.spool))


@pytest.mark.parametrize('backend', ['sqlite', 'postgresql'])
def test_delivery_state_is_recorded(smtpd_factory, dns, request, backend):
    """queued -> delivered, as the delivery threads record it, seen through
    the API (the report goes to the sender's MX: a test sink)."""
    dns.set_zone(dict(ZONE, **{'pass.example': [{'TXT': 'v=spf1 ip4:127.0.0.1 -all'},
                                                {'MX': [10, 'mx.pass.example']}],
                               'mx.pass.example': [{'A': '127.0.0.1'}]}))
    sink = Sink().start()
    try:
        store = '' if backend == 'sqlite' else 'postgresql:' + request.getfixturevalue('pg').new_database()
        d = smtpd_factory(**web_conf(store=store, reply='yes', delivery_port=sink.port,
                                     retry_min='1s', retry_max='2s'))
        mid = send(d, 'deliver-1')
        wait_stored(d, mid)
        assert sink.wait(1, timeout=30)
        end = time.time() + 30
        while True:
            j = get_json(d, '/api/v1/reports/' + mid)
            if j['reply']['delivery']['state'] == 'delivered':
                break
            assert time.time() < end, j['reply']
            time.sleep(0.1)
        assert j['reply']['status'] == 'queued' and j['reply']['to'] == 'ci@pass.example'
        assert j['reply']['delivery']['attempts'] == 1
        assert '250' in j['reply']['delivery']['detail']
        s = get_json(d, '/api/v1/reports?tag=deliver-1')['reports'][0]
        assert s['reply']['state'] == 'delivered'
    finally:
        sink.stop()


def test_pruned_by_retention_at_start(smtpd_factory, zone):
    d = smtpd_factory(**web_conf(report_retention='1d'))
    mid = send(d, 'prune-new')
    wait_stored(d, mid)
    d.stop()
    # a report stored long ago (the row copied with an old creation time)
    n = reportstore.execute(d.spool, "INSERT INTO mailtest_reports SELECT 'OLD000000001', 1000, "
                            "'prune-old', tag_base, client_ip, helo, mail_from, sender_domain, "
                            "from_domain, subject, spf, dkim, dmarc, adsp, iprev, reply_state, "
                            "reply_detail, reply_attempts, reply_updated, report, headers "
                            "FROM mailtest_reports WHERE id = ?", (mid,))
    assert n == 1 and 'OLD000000001' in reportstore.ids(d.spool)
    d.start()
    d.wait_log(r'store prune removed=1 retention=86400s')
    assert set(reportstore.ids(d.spool)) == {mid}
    assert get_json(d, '/api/v1/reports?tag=prune-old')['reports'] == []


def test_http_off_by_default(smtpd_factory, zone):
    d = smtpd_factory()
    assert 'http listen' not in d.log()
    mid = send(d)
    wait_stored(d, mid)
    assert mid in reportstore.ids(d.spool)


def test_stop_answers_open_long_polls(smtpd_factory, zone):
    d = smtpd_factory(**web_conf())
    got = {}

    def waiter():
        got['r'] = get(d, '/api/v1/wait?tag=stopping&timeout=60')

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.5)
    d.stop()
    t.join(30)
    assert got['r'][0] == 503 and 'shutting down' in json.loads(got['r'][2])['error']
    assert http_port(d) > 0
