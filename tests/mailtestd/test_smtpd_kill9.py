"""mailtestd under kill -9: a bounded load (200 messages from 4 concurrent
clients) while the daemon is killed with SIGKILL at random moments and
restarted on the same spool.  At the end every message that got "250 queued
as ID" has exactly one report (reply_process output; with the placeholder
reply/, SPOOL/reports/ID.json), and no id was processed twice except when a
crash fell between reply_process() and spool_remove() (allowed: the hand-off
is idempotent per id).

  accepted    ids the clients got a 250 for
  processed   accepted ids with a "worker processed" line and a report
  lost        accepted ids without a report at the end
  duplicated  ids processed twice in one run (two workers at once), or
              processed again after a run had logged "removed" for them
"""
import os
import random
import re
import threading
import time

import pytest

from . import smtpscript
from .harness import CHECK, message, under_sanitizer

MESSAGES = 200
CLIENTS = 4


class Load:
    def __init__(self, port):
        self.port = port
        self.lock = threading.Lock()
        self.next = 0
        self.accepted = {}          # msgid -> message number
        self.failures = 0

    def take(self):
        with self.lock:
            if self.next >= MESSAGES:
                return None
            self.next += 1
            return self.next - 1

    def client(self):
        c = None
        i = self.take()
        while i is not None:
            try:
                if c is None:
                    c = smtpscript.Client(self.port, timeout=20)
                    c.expect(220)
                    c.send('EHLO load.example')
                    c.expect(250)
                c.send('MAIL FROM:<load%d@example.org>' % i)
                c.expect(250)
                c.send('RCPT TO:<%s>' % CHECK)
                c.expect(250)
                c.send('DATA')
                c.expect(354)
                c.sendraw(message('kill9-%d' % i, 'message %d\r\n' % i * 20) + '.\r\n')
                msgid = c.expect(250, '2.0.0')[0].split()[-1]
                with self.lock:
                    self.accepted[msgid] = i
                i = self.take()
                if i is not None and i % 3 == 0:    # some sessions end, some go on
                    c.send('QUIT')
                    c.expect(221)
                    c.close()
                    c = None
            except Exception:
                # killed under us: try this message again on a new connection
                with self.lock:
                    self.failures += 1
                if c is not None:
                    c.close()
                c = None
                time.sleep(0.02)
        if c is not None:
            c.close()


def parse_runs(d):
    runs = []
    for i in range(len(d.logs)):
        text = d.log(run=i)
        runs.append({
            'processed': re.findall(r'(\w{12}) worker processed', text),
            'removed': set(re.findall(r'(\w{12}) worker removed', text)),
        })
    return runs


def test_kill9_loses_nothing_and_duplicates_nothing(smtpd_factory, dns):
    dns.set_zone({})
    seed = int(os.environ.get('MAILTEST_KILL9_SEED', time.time()))
    rnd = random.Random(seed)
    d = smtpd_factory(workers=4, smtp_max_connections_per_ip=50, shutdown_timeout='5s')
    load = Load(d.port)
    threads = [threading.Thread(target=load.client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    # kill points spread over the load: after a random number of 250s, plus
    # a random delay (mid-session, mid-commit, mid-verification...)
    nkills = 8 if under_sanitizer() else 12
    points = sorted(rnd.sample(range(5, MESSAGES - 5), nkills))
    kills = 0
    deadline = time.monotonic() + 240
    for point in points:
        while len(load.accepted) < point and any(t.is_alive() for t in threads) and \
                time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(rnd.uniform(0, 0.03))
        d.kill9()
        kills += 1
        d.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), 'clients did not finish'
    assert len(load.accepted) == MESSAGES
    # let the last run finish everything that is spooled, then stop it cleanly
    # (a message leaves incoming/ only once reply_process() succeeded, and a
    # stop lets each worker finish the message it holds)
    end = time.monotonic() + 120
    while d.incoming() and time.monotonic() < end:
        time.sleep(0.05)
    d.stop()

    runs = parse_runs(d)
    accepted = set(load.accepted)
    reports = set(d.reports())
    processed_any = set(i for r in runs for i in r['processed'])
    lost = accepted - reports
    duplicated = set()
    reprocessed = set()
    removed_before = set()
    for r in runs:
        seen = set()
        for i in r['processed']:
            if i in seen or i in removed_before:
                duplicated.add(i)
            elif any(i in rr['processed'] for rr in runs[:runs.index(r)]):
                reprocessed.add(i)
            seen.add(i)
        removed_before |= r['removed']
    print('\nkill -9 (MAILTEST_KILL9_SEED=%d): runs=%d kills=%d client retries=%d'
          % (seed, len(runs), kills, load.failures))
    print('accepted=%d processed=%d lost=%d duplicated=%d '
          '(reprocessed after a crash before spool_remove: %d; spooled without a 250: %d)'
          % (len(accepted), len(accepted & processed_any & reports), len(lost),
             len(duplicated), len(reprocessed), len(reports - accepted)))
    assert lost == set(), sorted(lost)
    assert duplicated == set(), sorted(duplicated)
    assert accepted <= processed_any
    assert d.incoming() == []
    for msgid in accepted:          # each report is whole
        assert d.report(msgid)['envelope']['rcpt'] == [CHECK]
