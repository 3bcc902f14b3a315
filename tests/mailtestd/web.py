"""Helpers for the report API, page and `mailtest wait` suites: a mailtestd
with an HTTP listener on a given store, test messages sent to it with
Python's smtplib, and HTTP requests with Python's http.client (a real
client, independent of ours).

ZONE gives the loopback DNS server two sender domains:
  pass.example  SPF allows 127.0.0.1, DMARC p=none: spf=pass dmarc=pass
  fail.example  SPF -all, DMARC p=reject:             spf=fail dmarc=fail
"""
import http.client
import json
import smtplib
import time

from .harness import CHECK, free_port

ZONE = {
    'pass.example': [{'TXT': 'v=spf1 ip4:127.0.0.1 -all'}],
    '_dmarc.pass.example': [{'TXT': 'v=DMARC1; p=none'}],
    'fail.example': [{'TXT': 'v=spf1 -all'}],
    '_dmarc.fail.example': [{'TXT': 'v=DMARC1; p=reject'}],
}
TOKEN = 'k3Q-9fT_2mXz.Lw7~Ab+c/Dd=='


def check_addr(tag=None):
    local, domain = CHECK.split('@')
    return '%s+%s@%s' % (local, tag, domain) if tag else CHECK


def web_conf(store='', **extra):
    conf = {'http_listen': '127.0.0.1:%d' % free_port(), 'reply': 'no'}
    if store:
        conf['store'] = store
    conf.update(extra)
    return conf


def http_port(daemon):
    return int(daemon.conf['http_listen'].rsplit(':', 1)[1])


def send(daemon, tag=None, domain='pass.example', subject='hello', from_hdr=None,
         extra_headers=()):
    """Send one message with smtplib; returns the queue id from the 250."""
    mail_from = 'ci@%s' % domain
    hdrs = ['From: %s' % (from_hdr or 'CI <%s>' % mail_from), 'To: <%s>' % check_addr(tag),
            'Subject: %s' % subject, 'Date: Thu, 26 Nov 2026 12:00:00 +0000',
            'Message-ID: <%s.%f@%s>' % (tag or 'x', time.time(), domain)] + list(extra_headers)
    msg = ('\r\n'.join(hdrs) + '\r\n\r\nHello.\r\n').encode('utf-8')
    s = smtplib.SMTP('127.0.0.1', daemon.port, local_hostname='client.pass.example', timeout=30)
    try:
        s.ehlo()
        s.mail(mail_from)
        s.rcpt(check_addr(tag))
        code, resp = s.data(msg)
        assert code == 250, (code, resp)
        return resp.decode().split()[-1]
    finally:
        s.quit()


def get(daemon, path, token=None, headers=None, method='GET', timeout=60):
    """(status, headers dict with lower-case names, body bytes)"""
    c = http.client.HTTPConnection('127.0.0.1', http_port(daemon), timeout=timeout)
    h = dict(headers or {})
    if token:
        h['Authorization'] = 'Bearer %s' % token
    try:
        c.request(method, path, headers=h)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def get_json(daemon, path, token=None, expect=200):
    st, hd, body = get(daemon, path, token)
    assert st == expect, (st, body[:2000])
    assert hd['content-type'] == 'application/json', hd
    return json.loads(body)


def wait_stored(daemon, msgid, timeout=30):
    daemon.wait_processed(msgid, timeout=timeout)
