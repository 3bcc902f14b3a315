"""Reports are kept for report_retention, then removed (reply/retention.c):
at start-up and on the daemon's timer, by the time the outcome was recorded
(the file's mtime); newer reports, other files and a fresh report made by
the daemon itself are kept."""
import os
import smtplib
import time

from .harness import CHECK, message

OLD_ID = 'AAAAAAAAAAA1'
OLD_ID2 = 'AAAAAAAAAAA2'
NEW_ID = 'AAAAAAAAAAA3'


def put(d, name, age_s):
    path = os.path.join(d.spool, 'reports', name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('{}\n')
    t = time.time() - age_s
    os.utime(path, (t, t))
    return path


def test_reports_older_than_retention_are_removed(smtpd_factory, dns):
    dns.set_zone({})
    d = smtpd_factory(start=False, report_retention='2m', reply='no')
    old = put(d, OLD_ID + '.json', 3 * 60)
    tmp = put(d, '.' + OLD_ID2 + '.tmp', 3 * 60)          # an interrupted write
    new = put(d, NEW_ID + '.json', 60)
    other = put(d, 'README', 3 * 60)                       # not ours: never touched
    d.start()
    d.wait_log(r'retention pruned reports=2 older_than=120s')
    assert not os.path.exists(old) and not os.path.exists(tmp)
    assert os.path.exists(new) and os.path.exists(other)
    # the timer: report_retention/60 = every 2 s
    d.wait_log(r'retention started keep=120s every=2s')
    later = put(d, OLD_ID2 + '.json', 10 * 60)
    d.wait_log(r'retention pruned reports=1 older_than=120s', timeout=15)
    assert not os.path.exists(later)
    # a report the daemon writes now is kept
    with smtplib.SMTP('127.0.0.1', d.port, timeout=30) as s:
        s.sendmail('user@example.org', [CHECK], message('kept'))
    msgid = d.queued_ids()[0]
    d.wait_processed(msgid)
    assert msgid in d.reports()
    assert os.path.exists(new)
