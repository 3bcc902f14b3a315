"""Benchmark 2: SMTP intake (bench/README.md, "Intake").

Postfix's smtp-source sends COUNT messages of SIZE octets, one per
connection, over 1, 10 and 50 parallel sessions, to each server in turn:
mailtestd (durable spool), a private Postfix (its queue, delivering to
discard), and smtp-sink (keeps nothing: the protocol ceiling of this load
generator on this machine).  Figure: messages accepted with 250 per second
of smtp-source's wall time, median of RUNS runs; every run must end with
every message accepted (smtp-source stops at the first failure) and the
server's queue is drained between runs.  A separate, untimed run under
strace counts the fsync calls per accepted message (durability evidence).
"""
import benchlib
import postfix_instance
import servers
from benchlib import NA, Invalid, Row, median

SESSIONS = (1, 10, 50)
SIZE = 2048


def params(smoke):
    if smoke:
        return {'count': 50, 'runs': 1, 'warmup': 10, 'probe': 20}
    return {'count': 1000, 'runs': 3, 'warmup': 200, 'probe': 200}


def measure(port, p, drain, progress, name):
    """{sessions: median msg/s or Invalid} for one running server."""
    warm = servers.smtp_source(port, 10, p['warmup'], SIZE)
    if isinstance(warm, Invalid):
        return {s: warm for s in SESSIONS}
    out = {}
    for s in SESSIONS:
        progress('intake %s, %d sessions' % (name, s))
        rates = []
        for _ in range(p['runs']):
            if drain is not None and not drain():
                rates = [Invalid('queue did not drain in 60 s')]
                break
            r = servers.smtp_source(port, s, p['count'], SIZE)
            if isinstance(r, Invalid):
                rates = [r]
                break
            rates.append(r)
        out[s] = rates[0] if isinstance(rates[0], Invalid) else median(rates)
    return out


def probe(pids, port, p, drain):
    if drain is not None:
        drain()
    return servers.durability_probe(
        pids, lambda: servers.smtp_source(port, 10, p['probe'], SIZE), p['probe'])


def run_postfix(ctx, p):
    why = postfix_instance.available()
    why = NA(why) if why else servers.smtp_source_missing()
    if why:
        return {s: why for s in SESSIONS}, why
    pf = postfix_instance.PostfixInstance(ctx.tmpdir, benchlib.free_port())
    try:
        pf.start()
    except RuntimeError as e:
        return {s: Invalid(str(e)) for s in SESSIONS}, None
    try:
        res = measure(pf.port, p, pf.wait_drained, ctx.progress, 'Postfix')
        fs = probe(pf.pids(), pf.port, p, pf.wait_drained)
        pf.wait_drained()
        # every 250 must have become a delivery to discard(8)
        sent = (p['warmup'] + (p['probe'] if isinstance(fs, dict) else 0) +
                len(SESSIONS) * p['runs'] * p['count'])
        if all(isinstance(res[s], float) for s in SESSIONS) and \
                pf.wait_delivered(sent) != sent:
            bad = Invalid('Postfix delivered %d of %d accepted messages' % (
                pf.delivered(), sent))
            res = {s: bad for s in SESSIONS}
    finally:
        pf.stop()
    return res, fs


def run_sink(ctx, p):
    why = servers.SmtpSink.missing() or servers.smtp_source_missing()
    if why:
        return {s: why for s in SESSIONS}
    sink = servers.SmtpSink().start()
    try:
        return measure(sink.port, p, None, ctx.progress, 'smtp-sink')
    finally:
        sink.stop()


def run_mailtestd(ctx, p):
    why = servers.Mailtestd.missing(ctx.mailtestd) or servers.smtp_source_missing()
    if why:
        return {s: why for s in SESSIONS}, why
    d = servers.Mailtestd(ctx.mailtestd, ctx.tmpdir, ctx.dns.address, {
        'smtp_max_connections': 1000, 'smtp_max_connections_per_ip': 1000})
    try:
        d.start()
    except RuntimeError as e:
        return {s: Invalid(str(e)) for s in SESSIONS}, None
    try:
        res = measure(d.port, p, d.wait_drained, ctx.progress, 'mailtestd')
        fs = probe([d.pid], d.port, p, d.wait_drained)
        if not d.alive():
            bad = Invalid('mailtestd exited: %s' % d.tail_log())
            res = {s: bad for s in SESSIONS}
    finally:
        d.stop()
    return res, fs


def durability_text(d):
    if not isinstance(d, dict):
        return str(d)
    n = d['messages']
    t = '%d/%d replies "250 ... queued as ID" came after an fsync of the file of ID' % (
        d['file'], n)
    if d['renamed']:
        t += ', %d/%d after a directory fsync that followed its rename' % (d['dir'], d['renamed'])
    else:
        t += ' (written in place, no directory fsync)'
    return t


def group_commit(d):
    """Messages per covering directory fsync when several share one, else None."""
    if isinstance(d, dict) and d['dir_syncs'] and d['dir'] > d['dir_syncs']:
        return d['dir'] / d['dir_syncs']
    return None


def durability_note(ours, pf):
    """What each side had synced before its 250s (strace of a separate run)."""
    parts = ['Postfix: %s' % durability_text(pf), 'mailtestd: %s' % durability_text(ours)]
    g = group_commit(ours)
    if g:
        parts.append('mailtestd batches fsyncs across sessions (group commit): %.1f '
                     'messages per directory fsync on average, each 250 still waits for '
                     'the fsyncs that cover its message' % g)
    if isinstance(ours, dict) and ours['file'] < ours['messages']:
        parts.append('WARNING: not every mailtestd 250 followed an fsync: not the same '
                     'durability')
    return 'durability (strace of a separate run of %s messages at 10 sessions): %s' % (
        ours['messages'] if isinstance(ours, dict) else
        pf['messages'] if isinstance(pf, dict) else '?', '; '.join(parts))


def run(ctx):
    p = params(ctx.smoke)
    ctx.dns.set_zone(ctx.corpus['zone'])
    pf, pf_fs = run_postfix(ctx, p)
    sink = run_sink(ctx, p)
    ours, ours_fs = run_mailtestd(ctx, p)
    pfname = 'Postfix %s' % postfix_instance.version()
    rows, problems = [], []
    for s in SESSIONS:
        case = '%d session%s, %d x %d B' % (s, '' if s == 1 else 's', p['count'], SIZE)
        want = s in (10, 50)
        rows.append(Row('2 intake', case, 'msg/s', ours[s], pfname + ' (discard)', pf[s],
                        target='>= 2x Postfix' if want else '',
                        check=(lambda o, q, r: r is not None and r >= 2) if want else None))
        rows.append(Row('2 intake', case, 'msg/s', ours[s], 'smtp-sink (no queue)', sink[s]))
        for name, v in (('Postfix', pf[s]), ('smtp-sink', sink[s]), ('mailtestd', ours[s])):
            if isinstance(v, Invalid):
                problems.append('intake %s at %d sessions: %s' % (name, s, v.why))
    notes = [durability_note(ours_fs, pf_fs),
             'intake load: smtp-source -s S -m %d -l %d, one message per connection, '
             'median of %d runs after a warm-up of %d messages; queues drained between runs'
             % (p['count'], SIZE, p['runs'], p['warmup'])]
    details = {'postfix': pf, 'smtp_sink': sink, 'mailtestd': ours,
               'fsync': {'postfix': pf_fs, 'mailtestd': ours_fs}, 'params': p}
    return rows, details, problems, notes
