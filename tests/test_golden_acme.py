"""Golden files of the text report for the acme.com scenarios (issue 4), from
the live engine: committed messages (tests/golden/acme-*.eml, signed once
with tests/keys/rsa2048.pem), the acme.com zone of tests/test_acme.py, a
pinned clock and authserv-id.  A difference prints a diff; regenerate with
MAILTEST_GOLDEN_UPDATE=1 after checking the new text by eye."""
import difflib
import os

import pytest

from conftest import ROOT, run_mailtest
from test_acme import GOOGLE_IP, SPOOF_IP, acme_zone

GOLDEN = os.path.join(ROOT, 'tests', 'golden')
NOW = '1795740000'      # shortly after the signature's t=


@pytest.mark.parametrize('name,ip,helo', [
    ('acme-pass', GOOGLE_IP, 'mail-sor-f41.google.com'),
    ('acme-spoof', SPOOF_IP, 'spoofer.example'),
])
def test_acme_text_report_golden(name, ip, helo, dns, mailtest):
    dns.set_zone(acme_zone())
    p = run_mailtest(mailtest, ['verify', '--format', 'text', '--dns', dns.address,
                                '--dns-timeout', '300', '--ip', ip, '--helo', helo,
                                '--mail-from', 'alice@acme.com', '--authserv-id',
                                'mailtest.example', '--time', NOW,
                                os.path.join(GOLDEN, name + '.eml')])
    assert p.returncode == 0, p.stderr
    got = p.stdout.decode()
    ref = os.path.join(GOLDEN, name + '.ref')
    if os.environ.get('MAILTEST_GOLDEN_UPDATE') == '1':
        with open(ref, 'w') as f:
            f.write(got)
    with open(ref) as f:
        want = f.read()
    assert got == want, ''.join(difflib.unified_diff(
        want.splitlines(True), got.splitlines(True), ref, 'mailtest verify'))
