"""The report pages in a real browser: headless Chromium from Debian's
package opens the list and a report page served by mailtestd, the test
reads the rendered DOM (--dump-dom, i.e. after the browser parsed the page
and would have run any script) and takes screenshots.  Hostile values (a
Subject and a From: display name carrying markup and script) must arrive
as text, never as elements; a hostile query is refused.
"""
import os
import re
import subprocess
import time

import pytest

from .web import ZONE, get, http_port, send, wait_stored, web_conf

CHROMIUM = '/usr/bin/chromium'
EVIL_SUBJECT = '<script>document.title="pwned"</script><img src=x onerror="document.title=1">'
EVIL_FROM = '"<b onmouseover=alert(1)>Eve</b>" <ci@fail.example>'


@pytest.fixture
def browser(tmp_path):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip('chromium is not installed')
    base = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
            '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync',
            '--user-data-dir=%s' % (tmp_path / 'profile')]

    def dom(url):
        p = subprocess.run(base + ['--dump-dom', url], capture_output=True, timeout=90)
        return p.stdout.decode()

    def shot(url, name, size='1280,900'):
        art = os.environ.get('MAILTEST_ARTIFACTS', str(tmp_path))
        path = os.path.join(art, name)
        subprocess.run(base + ['--screenshot=%s' % path, '--window-size=%s' % size, url],
                       capture_output=True, timeout=90)
        with open(path, 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
        print('screenshot: %s' % path)
        return path

    dom.shot = shot
    return dom


def test_list_and_report_pages_in_chromium(smtpd_factory, dns, browser):
    dns.set_zone(dict(ZONE))
    d = smtpd_factory(**web_conf())
    good = send(d, 'ui-good', 'pass.example', subject='Order confirmation #4711')
    # the list is newest first by arrival, to the second, then by id, which is
    # time-ordered only to 10 ms: let the second message arrive a second later
    time.sleep(1.05 - time.time() % 1)
    evil = send(d, 'ui-evil', 'fail.example', subject=EVIL_SUBJECT, from_hdr=EVIL_FROM)
    wait_stored(d, good)
    wait_stored(d, evil)
    base = 'http://127.0.0.1:%d' % http_port(d)

    # the list
    html = browser(base + '/')
    assert '<title>mailtest reports</title>' in html          # no script changed it
    rows = re.findall(r'<tr data-id="([0-9A-Z]{12})">', html)
    assert rows == [evil, good]                                # newest first
    # the serialized DOM: markup from the message is text (&lt;...), never an element
    assert not re.search(r'<(script|img|b)\b', html)
    assert '&lt;script&gt;document.title="pwned"&lt;/script&gt;&lt;img src=x onerror=' in html
    assert re.search(r'<td class="dmarc"><span class="b fail">fail</span></td>', html)
    assert re.search(r'<td class="spf"><span class="b pass">pass</span></td>', html)
    browser.shot(base + '/', 'reports-list.png')

    # the filter form's GET, as a browser without JavaScript submits it
    html = browser(base + '/?tag=ui-good&domain=&verdict=')
    assert re.findall(r'<tr data-id="([0-9A-Z]{12})">', html) == [good]
    assert 'value="ui-good"' in html
    html = browser(base + '/?tag=&domain=&verdict=dmarc%3Afail')
    assert re.findall(r'<tr data-id="([0-9A-Z]{12})">', html) == [evil]
    assert '<option value="dmarc:fail" selected="">' in html

    # the report page: the mailed HTML report with the bar on top
    html = browser(base + '/reports/' + evil)
    assert '<div id="bar"' in html and '<code id="tag">ui-evil</code>' in html
    mech = re.findall(r'<tr data-mechanism="([^"]+)" data-result="([^"]+)"', html)
    assert [m for m, _ in mech] == ['SPF', 'DKIM', 'DMARC', 'ADSP', 'iprev']
    assert ('SPF', 'fail') in mech and ('DMARC', 'fail') in mech
    assert not re.search(r'<(script|img)\b', html) and '<b onmouseover' not in html
    assert '&lt;b onmouseover=alert(1)&gt;Eve&lt;/b&gt;' in html
    for attr in re.findall(r'(?:src|href|action)\s*=\s*"([^"]*)"', html):
        assert not attr.startswith(('http:', 'https:', '//')), attr
    browser.shot(base + '/reports/' + evil, 'report-page.png', '1000,2200')


def test_pages_headers_and_errors(smtpd_factory, dns):
    dns.set_zone(dict(ZONE))
    d = smtpd_factory(**web_conf())
    mid = send(d, 'ui-h')
    wait_stored(d, mid)
    for path in ('/', '/reports/' + mid):
        st, hd, body = get(d, path)
        assert st == 200 and hd['content-type'] == 'text/html; charset=utf-8'
        assert hd['content-security-policy'] == (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
        assert hd['x-frame-options'] == 'DENY'
    st, hd, body = get(d, '/reports/AAAAAAAAAAAA')
    assert st == 404 and hd['content-type'].startswith('text/html')
    st, hd, body = get(d, '/?tag=%3Cscript%3Ealert(1)%3C/script%3E')
    assert st == 400 and b'<script' not in body and b'tag:' in body
    st, hd, body = get(d, '/nothing-here')
    assert st == 404 and hd['content-type'].startswith('text/html')
