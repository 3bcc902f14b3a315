"""The report API of mailtestd (reply/http*.c) with a real HTTP client
(Python's http.client), against both store backends: SQLite (the default
SPOOL/reports.db) and PostgreSQL (a server from Debian's package started on
loopback by the `pg` fixture).

Each backend gets one daemon for the module, loaded with messages sent over
SMTP; the tests list and filter them, fetch one report, its raw headers,
long-poll for new ones, and check every parameter limit (400 with a JSON
error), 404, 405, 414, 431 and the long-poll limit (503).
"""
import json
import os
import re
import socket
import subprocess
import threading
import time

import pytest

from conftest import run_mailtest
from .harness import Daemon, bindir
from .web import ZONE, get, get_json, send, wait_stored, web_conf

BACKENDS = ['sqlite', 'postgresql']


def store_spec(backend, request):
    if backend == 'sqlite':
        return ''
    return 'postgresql:' + request.getfixturevalue('pg').new_database()


@pytest.fixture(scope='module', params=BACKENDS)
def loaded(request, dns, tmp_path_factory):
    """A daemon on one backend with: api-pass, api-fail, two api-multi, an
    untagged message, api-job.from (the reply tag after the job id)."""
    dns.set_zone(dict(ZONE))
    d = Daemon(os.path.join(bindir(), 'mailtestd'), str(tmp_path_factory.mktemp('api')), dns,
               **web_conf(store_spec(request.param, request)))
    d.start()
    t0 = int(time.time())
    ids = {}
    for tag, dom in [('api-pass', 'pass.example'), ('api-fail', 'fail.example'),
                     ('api-multi', 'pass.example'), ('api-multi', 'fail.example'),
                     (None, 'pass.example'), ('api-job.from', 'pass.example')]:
        mid = send(d, tag, dom, subject='subject of %s' % tag)
        ids.setdefault(tag, []).append(mid)
        time.sleep(0.05)
    for v in ids.values():
        for mid in v:
            wait_stored(d, mid)
    d.backend = request.param
    d.ids = ids
    d.t0 = t0
    yield d
    d.stop()


def test_list_newest_first_with_summaries(loaded):
    j = get_json(loaded, '/api/v1/reports')
    assert j['count'] == 6 and len(j['reports']) == 6 and j['more'] is False
    created = [r['created'] for r in j['reports']]
    assert created == sorted(created, reverse=True)
    assert j['reports'][0]['id'] == loaded.ids['api-job.from'][0]   # the last one sent
    r = [x for x in j['reports'] if x['tag'] == 'api-pass'][0]
    assert r['id'] == loaded.ids['api-pass'][0]
    assert r['from_domain'] == 'pass.example' and r['mail_from'] == 'ci@pass.example'
    assert r['verdicts']['spf'] == 'pass' and r['verdicts']['dmarc'] == 'pass'
    assert r['verdicts']['dkim'] == 'none'
    assert r['reply']['state'] == 'suppressed' and 'reply = no' in r['reply']['detail']
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', r['created'])
    assert r['url'] == '/api/v1/reports/%s' % r['id']


def test_list_filters(loaded):
    def ids(q):
        return sorted(r['id'] for r in get_json(loaded, '/api/v1/reports?' + q)['reports'])
    assert ids('tag=api-multi') == sorted(loaded.ids['api-multi'])
    assert ids('tag=api-job') == loaded.ids['api-job.from']         # the job id finds .from
    assert ids('tag=api-job.from') == loaded.ids['api-job.from']
    assert ids('tag=api') == []                                      # not a prefix search
    fail = sorted(loaded.ids['api-fail'] + [loaded.ids['api-multi'][1]])
    assert ids('domain=fail.example') == fail
    assert ids('domain=FAIL.Example') == fail                        # case-insensitive
    assert ids('verdict=dmarc:fail') == fail
    assert ids('verdict=spf:pass&verdict=dmarc:fail') == []
    assert ids('tag=api-multi&verdict=spf:pass') == [loaded.ids['api-multi'][0]]
    assert len(ids('since=%d' % loaded.t0)) == 6
    assert ids('since=%d' % (int(time.time()) + 3600)) == []
    past = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(loaded.t0 - 3600))
    assert ids('until=' + past) == []
    # RFC 3339 with an offset (the '+' percent-encoded, as it must be in a query)
    local = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(loaded.t0 - 7200)) + '%2B02:00'
    assert len(ids('since=' + local)) == 6


def test_list_limit_offset_more(loaded):
    a = get_json(loaded, '/api/v1/reports?limit=2')
    b = get_json(loaded, '/api/v1/reports?limit=2&offset=2')
    c = get_json(loaded, '/api/v1/reports?limit=2&offset=4')
    assert (a['count'], a['more'], b['more'], c['more']) == (2, True, True, False)
    seen = [r['id'] for r in a['reports'] + b['reports'] + c['reports']]
    assert len(set(seen)) == 6


def test_one_report_is_the_verify_json_plus_envelope(loaded, mailtest, dns):
    mid = loaded.ids['api-pass'][0]
    j = get_json(loaded, '/api/v1/reports/' + mid)
    assert j['id'] == mid
    env = j['envelope']
    assert env['tag'] == 'api-pass' and env['client_ip'] == '127.0.0.1'
    assert env['mail_from'] == 'ci@pass.example' and env['rcpt'] == ['check+api-pass@mailtest.example']
    assert env['received_at'] and env['client_port']
    assert j['reply']['status'] == 'suppressed' and j['reply']['delivery']['state'] == 'suppressed'
    # the same verdicts as `mailtest verify --format json` on the same message
    st, hd, raw = get(loaded, '/api/v1/reports/%s/raw-headers' % mid)
    msg = raw + b'\r\nHello.\r\n'        # the block, the empty line, the body
    p = run_mailtest(mailtest, ['verify', '--format', 'json', '--dns', dns.address,
                                '--dns-timeout', '300', '--ip', '127.0.0.1', '--helo',
                                'client.pass.example', '--mail-from', 'ci@pass.example',
                                '--rcpt', env['rcpt'][0], '-'], input=msg)
    assert p.returncode == 0, p.stderr
    v = json.loads(p.stdout)
    for k in ('message', 'spf', 'dkim', 'dmarc', 'adsp', 'iprev'):
        assert j[k] == v[k], k
    if loaded.backend == 'sqlite':
        # and `mailtest show` reads the same record
        show = run_mailtest(mailtest, ['show', mid, '-c', loaded.conf_path, '--format', 'json'])
        assert show.returncode == 0 and json.loads(show.stdout) == j


def test_raw_headers(loaded):
    mid = loaded.ids['api-fail'][0]
    st, hd, body = get(loaded, '/api/v1/reports/%s/raw-headers' % mid)
    assert st == 200 and hd['content-type'] == 'text/plain; charset=utf-8'
    text = body.decode()
    assert text.startswith('Received: from client.pass.example')
    assert 'with ESMTP id %s' % mid in text
    assert 'Subject: subject of api-fail\r\n' in text and text.endswith('\r\n')
    assert 'Hello.' not in text


def test_not_found(loaded):
    st, hd, body = get(loaded, '/api/v1/reports/AAAAAAAAAAAA')
    assert st == 404 and json.loads(body) == {'error': 'no report AAAAAAAAAAAA'}
    for path in ('/api/v1/reports/aaaa', '/api/v1/nothing', '/api/v1/reports/%s/x'
                 % loaded.ids['api-pass'][0], '/api/v2/reports'):
        st, hd, body = get(loaded, path)
        assert st == 404 and 'error' in json.loads(body), path
    st, hd, body = get(loaded, '/api/v1/reports/AAAAAAAAAAAA/raw-headers')
    assert st == 404


BAD = [
    ('tag=' + 'a' * 65, 'tag'),
    ('tag=a%20b', 'tag'),
    ('tag=%3Cscript%3E', 'tag'),
    ('limit=0', 'limit'),
    ('limit=501', 'limit'),
    ('limit=ten', 'limit'),
    ('offset=-1', 'offset'),
    ('offset=100001', 'offset'),
    ('since=yesterday', 'since'),
    ('since=2026-13-01T00:00:00Z', 'since'),
    ('until=2026-01-01T00:00:00', 'until'),
    ('since=100&until=50', 'until'),
    ('domain=exa_mple.com', 'domain'),
    ('domain=' + 'a' * 254, 'domain'),
    ('verdict=dmarc:maybe', 'verdict'),
    ('verdict=dns:pass', 'verdict'),
    ('verdict=dmarc', 'verdict'),
    ('&'.join(['verdict=spf:pass'] * 6), 'verdict'),
    ('color=red', 'color'),
    ('tag=a&tag=b', 'tag'),
    ('&'.join('x%d=1' % i for i in range(17)), 'parameters'),
]


@pytest.mark.parametrize('query,word', BAD, ids=[b[0][:30] for b in BAD])
def test_bad_parameters_are_400_with_a_json_error(loaded, query, word):
    st, hd, body = get(loaded, '/api/v1/reports?' + query)
    assert st == 400, (st, body)
    assert hd['content-type'] == 'application/json'
    assert word in json.loads(body)['error']


WAIT_BAD = [('timeout=5', 'tag: required'), ('tag=x&timeout=301', 'timeout'),
            ('tag=x&timeout=-1', 'timeout'), ('tag=x&limit=5', 'limit'),
            ('tag=x&since=soon', 'since')]


@pytest.mark.parametrize('query,word', WAIT_BAD, ids=[b[0] for b in WAIT_BAD])
def test_wait_bad_parameters(loaded, query, word):
    st, hd, body = get(loaded, '/api/v1/wait?' + query)
    assert st == 400 and word in json.loads(body)['error']


def test_report_routes_take_no_parameters(loaded):
    st, hd, body = get(loaded, '/api/v1/reports/%s?x=1' % loaded.ids['api-pass'][0])
    assert st == 400 and 'unknown parameter' in json.loads(body)['error']


def test_request_limits(loaded):
    st, hd, body = get(loaded, '/api/v1/reports?tag=' + 'a' * 2100)
    assert st == 414 and 'error' in json.loads(body)
    st, hd, body = get(loaded, '/api/v1/reports', headers={'X-H%d' % i: 'v' for i in range(60)})
    assert st == 431 and 'error' in json.loads(body)
    st, hd, body = get(loaded, '/api/v1/reports', method='POST')
    assert st == 405 and hd['allow'] == 'GET, HEAD'
    st, hd, body = get(loaded, '/api/v1/reports', method='TRACE')
    assert st == 501            # evhttp itself, for methods it was not told to allow
    # a header block over 8 KiB: evhttp refuses it and closes
    s = socket.create_connection(('127.0.0.1', int(loaded.conf['http_listen'].rsplit(':', 1)[1])))
    s.sendall(b'GET /api/v1/reports HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 9000 + b'\r\n\r\n')
    s.settimeout(10)
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    assert re.match(rb'HTTP/1\.1 4\d\d', data), data[:200]
    assert b'"reports"' not in data
    # HEAD: the headers without the body
    st, hd, body = get(loaded, '/api/v1/reports', method='HEAD')
    assert st == 200 and body == b'' and hd['content-type'] == 'application/json'


def test_security_headers(loaded):
    st, hd, body = get(loaded, '/api/v1/reports')
    assert hd['content-security-policy'].startswith("default-src 'none'; style-src 'unsafe-inline'")
    assert hd['x-content-type-options'] == 'nosniff' and hd['cache-control'] == 'no-store'


def test_wait_returns_an_existing_report_at_once(loaded):
    j = get_json(loaded, '/api/v1/wait?tag=api-pass&timeout=20')
    assert j['id'] == loaded.ids['api-pass'][0] and j['envelope']['tag'] == 'api-pass'


def test_wait_timeout_is_204(loaded):
    st, hd, body = get(loaded, '/api/v1/wait?tag=never-sent&timeout=1')
    assert st == 204 and body == b''


def test_wait_is_woken_when_the_report_is_stored(loaded):
    tag = 'late-%s' % loaded.backend
    got = {}

    def waiter():
        got['r'] = get(loaded, '/api/v1/wait?tag=%s&timeout=20' % tag)

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(1)
    assert t.is_alive()             # still waiting: nothing with that tag yet
    mid = send(loaded, tag)
    t.join(60)
    st, hd, body = got['r']
    assert st == 200, (st, body)    # the report, not the 204 of the timeout
    j = json.loads(body)
    assert j['id'] == mid and j['envelope']['tag'] == tag


def test_long_poll_limit_and_fan_out(loaded):
    """64 long-polls at once are served (all woken by one report); the 65th
    is refused with 503 and Retry-After."""
    tag = 'fan-%s' % loaded.backend
    results = []
    lock = threading.Lock()

    def waiter():
        # a probe below may hold a slot for a moment: come back until served
        end = time.time() + 30
        while True:
            r = get(loaded, '/api/v1/wait?tag=%s&timeout=30' % tag)
            if r[0] != 503 or time.time() > end:
                break
            time.sleep(0.2)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=waiter) for _ in range(64)]
    for t in threads:
        t.start()
    deadline = time.time() + 20
    while True:       # until all 64 are held by the server
        st, hd, body = get(loaded, '/api/v1/wait?tag=%s&timeout=1' % tag)
        if st == 503:
            break
        assert time.time() < deadline, 'the 65th long-poll was never refused'
        assert st == 204 and not results, (st, results[:3])
        time.sleep(0.1)
    assert hd['retry-after'] == '5' and 'long-polls' in json.loads(body)['error']
    mid = send(loaded, tag)
    for t in threads:
        t.join(60)
    assert len(results) == 64
    assert all(r[0] == 200 and json.loads(r[2])['id'] == mid for r in results)
    # and the slots are free again
    st, hd, body = get(loaded, '/api/v1/wait?tag=%s&timeout=5' % tag)
    assert st == 200


def test_client_that_leaves_a_long_poll(loaded):
    """A client gone while its long-poll waits costs nothing once it ends."""
    port = int(loaded.conf['http_listen'].rsplit(':', 1)[1])
    for _ in range(5):
        s = socket.create_connection(('127.0.0.1', port))
        s.sendall(b'GET /api/v1/wait?tag=gone&timeout=2 HTTP/1.1\r\nHost: x\r\n\r\n')
        s.close()
    time.sleep(3)
    st, hd, body = get(loaded, '/api/v1/reports?limit=1')
    assert st == 200
    assert loaded.proc.poll() is None
