"""Internationalized domain names (RFC 8616): in SMTPUTF8 mail the From:
domain, the MAIL FROM domain and the HELO name may be written in U-labels;
SPF and DMARC look records up, and align domains, in their A-label form.
The zones here publish only the A-label names (as DNS does), so a lookup
of the raw UTF-8 name would find nothing."""
import dkimsign

ALABEL = 'xn--bcher-kva.example'        # bücher.example
ULABEL = 'b\u00fccher.example'
IP = '192.0.2.1'


def zone():
    return {
        ALABEL: [{'TXT': 'v=spf1 ip4:%s -all' % IP}],
        'mx.' + ALABEL: [{'TXT': 'v=spf1 ip4:%s -all' % IP}],
        'sel._domainkey.' + ALABEL: dkimsign.zone_entry('rsa2048'),
        '_dmarc.' + ALABEL: [{'TXT': 'v=DMARC1; p=reject; adkim=s; aspf=s'}],
    }


def test_utf8_author_domain_is_looked_up_and_aligned_as_a_labels(dns, verify):
    dns.set_zone(zone())
    msg = dkimsign.sign(dkimsign.message('J\u00fcrgen <j\u00fcrgen@%s>' % ULABEL, 'idn'),
                        ALABEL)
    r, _ = verify(msg, ip=IP, helo='mx.' + ULABEL, mail_from='j\u00fcrgen@' + ULABEL)
    assert r['message']['from_domain'] == ALABEL
    assert r['spf']['result'] == 'pass', r['spf']
    assert r['spf']['helo']['result'] == 'pass', r['spf']['helo']
    assert [s['result'] for s in r['dkim']] == ['pass']
    assert r['dkim'][0]['aligned'] is True
    assert r['dmarc']['result'] == 'pass', r['dmarc']
    assert r['dmarc']['record'] == 'v=DMARC1; p=reject; adkim=s; aspf=s'
    assert r['dmarc']['spf_aligned'] is True and r['dmarc']['dkim_aligned'] is True


def test_same_domain_in_a_labels_gives_the_same_verdicts(dns, verify):
    dns.set_zone(zone())
    msg = dkimsign.sign(dkimsign.message('j@%s' % ALABEL, 'idn ascii'), ALABEL)
    r, _ = verify(msg, ip=IP, helo='mx.' + ALABEL, mail_from='j@' + ALABEL)
    assert (r['spf']['result'], r['dmarc']['result']) == ('pass', 'pass')


def test_invalid_internationalized_author_domain_is_named(dns, verify):
    dns.set_zone(zone())
    # a label may not begin with a combining mark (RFC 5891 4.2.3.2)
    msg = dkimsign.message('x@\u0301b\u00fccher.example', 'bad idn')
    r, _ = verify(msg, ip=IP, mail_from='j@' + ALABEL)
    assert r['dmarc']['result'] == 'permerror', r['dmarc']
    assert 'not a valid internationalized domain name' in r['dmarc']['reason']


def test_dns_check_takes_a_domain_in_u_labels(dns, mailtest):
    import json
    from conftest import run_mailtest
    dns.set_zone(zone())
    p = run_mailtest(mailtest, ['dns-check', '--server', dns.address, '--format', 'json',
                                '--dns-timeout', '300', ULABEL])
    j = json.loads(p.stdout)
    assert j['domain'] == ALABEL
    assert j['dmarc']['record'] == 'v=DMARC1; p=reject; adkim=s; aspf=s', j['dmarc']
    p = run_mailtest(mailtest, ['dns-check', '--server', dns.address, '\u0301x.example'])
    assert p.returncode == 2
    assert b'not a valid internationalized domain name' in p.stderr
