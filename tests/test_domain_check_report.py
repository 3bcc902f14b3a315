"""The author domain's records in the report (issue 5: "the same findings
appear in the emailed report's what-to-fix section for the sender's domain"):
`mailtest verify` runs dns-check on the From: domain, the JSON report carries
its findings, and "What to fix" lists the domain's errors and warnings with
their corrected records - once, not again when a verdict already said it."""
import json

import pytest

import dkimsign
from conftest import run_mailtest

pytestmark = pytest.mark.valgrind

DOMAIN = 'shop.example'


def zone(extra=None):
    z = {
        DOMAIN: [{'TXT': 'v=spf1 ip4:192.0.2.1 +all'}, {'MX': [10, 'mx.shop.example']}],
        'mx.shop.example': [{'A': '192.0.2.25'}],
        'sel._domainkey.' + DOMAIN: dkimsign.zone_entry('rsa1024'),
        '_dmarc.' + DOMAIN: [{'TXT': 'v=DMARC1; p=none; rua=mailto:dmarc@reports.example'}],
        '_adsp._domainkey.' + DOMAIN: [{'TXT': 'dkim=unknown'}],
    }
    z.update(extra or {})
    return z


def message():
    return dkimsign.sign(dkimsign.message('Shop <news@%s>' % DOMAIN, 'offer'), DOMAIN,
                         key_name='rsa1024')


def run(mailtest, dns, fmt, *extra):
    p = run_mailtest(mailtest, ['verify', '--format', fmt, '--dns', dns.address,
                                '--dns-timeout', '300', '--ip', '192.0.2.1', '--helo',
                                'mx.shop.example', '--mail-from', 'bounce@' + DOMAIN]
                     + list(extra) + ['-'], input=message())
    assert p.returncode == 0, p.stderr
    return p.stdout.decode()


def test_json_carries_the_domain_findings(mailtest, dns):
    dns.set_zone(zone())
    r = json.loads(run(mailtest, dns, 'json'))
    dc = r['domain_check']
    assert dc['domain'] == DOMAIN
    codes = {f['code'] for f in dc['findings']}
    # +all, a 1024-bit key, an external rua that reports.example does not authorize
    assert {'spf-pass-all', 'dkim-key-weak', 'dmarc-report-unauthorized'} <= codes, codes
    # the selector looked at is the signature's own, not the common ones
    assert [k['selector'] for k in dc['dkim']['selectors']] == ['sel']
    assert dc['dkim']['probed'] is False
    assert r['spf']['result'] == 'pass' and r['dkim'][0]['result'] == 'pass'


def test_what_to_fix_lists_domain_findings_with_records(mailtest, dns):
    dns.set_zone(zone())
    text = run(mailtest, dns, 'text')
    fix = text[text.index('What to fix'):text.index('Authentication-Results')]
    # a warning only the domain check can give, with the record to publish
    assert 'reports.example' in fix and '_report._dmarc' in fix, fix
    assert 'publish at shop._report._dmarc.reports.example' in fix or \
        '._report._dmarc.reports.example' in fix
    assert '1024' in fix                                   # the weak key, once
    assert sum(1 for line in fix.splitlines() if '] DKIM:' in line) == 1, fix
    # +all is said once (the verdict advice already says it)
    assert fix.count('+all') >= 1
    assert sum(1 for line in fix.splitlines() if '] SPF:' in line and '+all' in line) == 1
    # ADSP: one note, with the record's name
    assert fix.count('] ADSP:') == 1, fix
    assert '_adsp._domainkey.shop.example' in fix


def test_no_domain_check(mailtest, dns):
    dns.set_zone(zone())
    dns.reset_stats()
    r = json.loads(run(mailtest, dns, 'json', '--no-domain-check'))
    with_off = dns.stats()['queries']
    assert 'domain_check' not in r
    dns.reset_stats()
    run(mailtest, dns, 'json')
    assert dns.stats()['queries'] > with_off
    text = run(mailtest, dns, 'text', '--no-domain-check')
    assert '_report._dmarc' not in text


def test_domain_with_clean_records_adds_nothing(mailtest, dns):
    dns.set_zone(zone({
        DOMAIN: [{'TXT': 'v=spf1 ip4:192.0.2.1 -all'}, {'MX': [10, 'mx.shop.example']}],
        'sel._domainkey.' + DOMAIN: dkimsign.zone_entry('rsa1024'),
        '_dmarc.' + DOMAIN: [{'TXT': 'v=DMARC1; p=reject; rua=mailto:dmarc@shop.example'}],
        '_adsp._domainkey.' + DOMAIN: [],
    }))
    r = json.loads(run(mailtest, dns, 'json'))
    sev = [f['severity'] for f in r['domain_check']['findings']]
    # only the weak key is left as a warning; notes are not put in the report
    text = run(mailtest, dns, 'text')
    fix = text[text.index('What to fix'):text.index('Authentication-Results')]
    assert sev.count('error') == 0
    assert 'dkim' in fix.lower() and '1024' in fix
    assert 'MTA-STS' not in fix and 'BIMI' not in fix
