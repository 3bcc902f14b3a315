"""Tests of the benchmark harness's own logic (no timing): the parsers, the
ceiling arithmetic, the validity rules, the table marks, and the corpus
(which python3-dkim must verify against the zone we serve).

  /usr/bin/python3 -m pytest -q bench/test_bench.py      (run by make bench-smoke)
"""
import os
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import benchlib  # noqa: E402
import gen_corpus  # noqa: E402
import intake_bench  # noqa: E402
import servers  # noqa: E402
import verify_bench  # noqa: E402
from benchlib import NA, Invalid, Row  # noqa: E402

# `openssl speed -seconds 1 -bytes 16384 -mr rsa2048 ed25519 sha256`, OpenSSL 3.0.19
SPEED_MR = """\
+DT:sha256:1:16384
+R:66530:sha256:0.610000
+DTP:2048:private:rsa:1
+R1:2889:2048:0.74
+DTP:2048:public:rsa:1
+R2:32199:2048:0.56
+DTP:253:sign:Ed25519:1
+R8:15064:253:Ed25519:0.72
+DTP:253:verify:Ed25519:1
+R9:5740:253:Ed25519:0.74
+H:16384
+F:6:sha256:1786930360.66
+F2:2:2048:3904.054054:57498.214286
+F6:0:253:Ed25519:20922.222222:7756.756757
"""


def test_parse_openssl_speed_machine_readable():
    s = verify_bench.parse_openssl_speed(SPEED_MR)
    assert s['sha256_Bps'] == pytest.approx(1786930360.66)
    assert s['rsa2048_sign'] == pytest.approx(3904.054054)
    assert s['rsa2048_verify'] == pytest.approx(57498.214286)
    assert s['ed25519_sign'] == pytest.approx(20922.222222)
    assert s['ed25519_verify'] == pytest.approx(7756.756757)


def test_parse_openssl_speed_ignores_human_output():
    assert verify_bench.parse_openssl_speed('rsa 2048 bits 0.000256s 0.000017s\n') == {}


@pytest.mark.parametrize('key,nbytes,verify_rate', [
    ('rsa2048', 2048, 57498.214286),
    ('ed25519', 204800, 7756.756757),
])
def test_ceiling_is_one_verify_plus_hashing_every_byte(key, nbytes, verify_rate):
    s = verify_bench.parse_openssl_speed(SPEED_MR)
    want = 1.0 / (1.0 / verify_rate + nbytes / 1786930360.66)
    assert verify_bench.ceiling_rate(s, key, nbytes) == pytest.approx(want)
    # hashing makes big messages slower, never faster
    assert verify_bench.ceiling_rate(s, key, nbytes * 10) < want


def test_classify_all_pass_is_valid():
    v = {'spf': {'pass': 4}, 'dkim': {'pass': 4}, 'dmarc': {'pass': 4}}
    assert verify_bench.classify(v, 4, ours=True) is None


def test_classify_placeholder_modules_are_invalid_but_tolerated():
    v = {'spf': {'none': 4}, 'dkim': {'none': 4}, 'dmarc': {'fail': 4}}
    r = verify_bench.classify(v, 4, ours=True)
    assert isinstance(r, Invalid)
    assert r.placeholder
    assert 'DKIM none 4/4' in r.why and 'SPF none 4/4' in r.why


def test_classify_real_failures_are_not_placeholders():
    v = {'spf': {'pass': 4}, 'dkim': {'pass': 3, 'fail': 1}, 'dmarc': {'pass': 4}}
    r = verify_bench.classify(v, 4, ours=True)
    assert isinstance(r, Invalid) and not r.placeholder
    assert 'fail 1/4' in r.why


def test_classify_peer_is_never_a_placeholder():
    v = {'spf': {'none': 4}, 'dkim': {'none': 4}, 'dmarc': {'none': 4}}
    assert not verify_bench.classify(v, 4, ours=False).placeholder


def test_rate_is_messages_over_median_pass():
    res = {'messages': 100, 'seconds': [0.5, 0.1, 0.2],
           'verdicts': {m: {'pass': 300} for m in ('spf', 'dkim', 'dmarc')}}
    assert verify_bench.rate(res, True) == pytest.approx(500.0)


def test_rate_refuses_a_run_that_did_not_verify():
    res = {'messages': 2, 'seconds': [0.1],
           'verdicts': {'spf': {'pass': 2}, 'dkim': {'none': 2}, 'dmarc': {'fail': 2}}}
    assert isinstance(verify_bench.rate(res, False), Invalid)


def test_median_and_nearest_rank_percentile():
    assert benchlib.median([3, 1, 2]) == 2
    assert benchlib.median([4, 1, 2, 3]) == 2.5
    xs = list(range(1, 101))	# 1..100
    assert benchlib.percentile(xs, 50) == 50
    assert benchlib.percentile(xs, 99) == 99
    assert benchlib.percentile([7.0], 99) == 7.0
    assert benchlib.percentile([1, 2, 3, 1000], 99) == 1000


def test_row_marks():
    five = (lambda o, p, r: r is not None and r >= 5)
    assert Row('1', 'c', 'u', 500.0, 'peer', 100.0, check=five).mark() == 'pass'
    assert Row('1', 'c', 'u', 400.0, 'peer', 100.0, check=five).mark() == 'MISS'
    assert Row('1', 'c', 'u', NA('x'), 'peer', 100.0, check=five).mark() == 'n/a'
    assert Row('1', 'c', 'u', Invalid('x'), 'peer', 100.0, check=five).mark() == 'invalid'
    assert Row('1', 'c', 'u', 500.0, 'peer', NA('y'), check=five).mark() == 'n/a'
    # a target on our figure alone does not need the peer
    lt = (lambda o, p, r: o < 50)
    assert Row('3', 'c', 'ms', 20.0, 'peer', NA('y'), check=lt,
               needs_peer=False).mark() == 'pass'
    assert Row('1', 'c', 'u', 500.0, 'peer', 100.0).mark() == ''


def test_table_shows_ratio_and_reasons():
    t = benchlib.render_table([
        Row('1 verify', 'a|b', 'msg/s', 600.0, 'mailauth', 100.0),
        Row('2 intake', 'x', 'msg/s', NA('bin/mailtestd not built'), 'Postfix', 400.0),
    ])
    lines = t.splitlines()
    assert lines[0].startswith('| benchmark |')
    assert '| 600 |' in lines[2] and '| 6.00x |' in lines[2]
    assert 'a\\|b' in lines[2]	# a pipe in a cell does not break the table
    assert 'n/a: bin/mailtestd not built' in lines[3]


def _trace(d):
    """A `strace -f -ttt -T -y` excerpt: message AAA is fsynced, renamed into
    incoming/, the directory is fsynced, then 250 is written; BBB's 250 is
    written after its rename but before any directory fsync; CCC's queue
    file is written in place (Postfix) and fsynced before its 250."""
    inc = os.path.join(d, 'incoming')
    tmp = os.path.join(d, 'tmp')
    return '\n'.join([
        '10  1.000000 fsync(5<%s/AAA>) = 0 <0.000500>' % tmp,
        '10  1.001000 rename("%s/AAA", "%s/AAA") = 0 <0.000010>' % (tmp, inc),
        '10  1.002000 fsync(6<%s/BBB> <unfinished ...>' % tmp,
        '11  1.002100 fsync(7<%s> <unfinished ...>' % inc,
        '10  1.002600 <... fsync resumed>) = 0 <0.000600>',
        '11  1.002900 <... fsync resumed>) = 0 <0.000800>',
        '12  1.003000 writev(9<socket:[1]>, [{iov_base="250 2.0.0 Ok: queued as AAA\\r\\n", '
        'iov_len=29}], 1) = 29 <0.000020>',
        '10  1.004000 rename("%s/BBB", "%s/BBB") = 0 <0.000010>' % (tmp, inc),
        '12  1.005000 write(9<socket:[2]>, "250 2.0.0 Ok: queued as BBB\\r\\n", 29) = 29 '
        '<0.000020>',
        '11  1.006000 fsync(7<%s>) = 0 <0.000500>' % inc,
        '13  1.007000 fsync(8<%s/CCC>) = 0 <0.000500>' % inc,
        '14  1.008000 write(3<socket:[3]>, "250 2.0.0 Ok: queued as CCC\\r\\n", 29) = 29 '
        '<0.000020>',
        '14  1.009000 openat(AT_FDCWD, "/x", O_RDONLY) = 3 <0.000010>',
    ]) + '\n'


def test_strace_calls_join_unfinished_and_resumed():
    with tempfile.TemporaryDirectory() as d:
        calls = servers.strace_calls(_trace(d))
    fs = [c for c in calls if c[0] == 'fsync']
    assert len(fs) == 5
    bbb = [c for c in fs if 'BBB' in c[3]][0]
    assert bbb[1] == pytest.approx(1.002) and bbb[2] == pytest.approx(1.0026)


def test_durability_orders_fsyncs_before_each_250():
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, 'incoming'))
        os.makedirs(os.path.join(d, 'tmp'))
        r = servers.durability(_trace(d))
    assert r['messages'] == 3
    assert r['file'] == 3		# every queue file synced before its 250
    assert r['renamed'] == 2	# AAA and BBB were renamed into incoming/
    assert r['dir'] == 1		# only AAA's directory sync came before its 250
    assert r['dir_syncs'] == 1


def test_durability_note_names_group_commit():
    many = {'messages': 20, 'file': 20, 'renamed': 20, 'dir': 20, 'dir_syncs': 5}
    one_each = dict(many, dir_syncs=20)
    postfix = {'messages': 20, 'file': 20, 'renamed': 0, 'dir': 0, 'dir_syncs': 0}
    note = intake_bench.durability_note(many, postfix)
    assert 'group commit' in note and '4.0 messages per directory fsync' in note
    assert 'Postfix: 20/20' in note and 'written in place' in note
    assert 'group commit' not in intake_bench.durability_note(one_each, postfix)
    unsafe = dict(many, file=19)
    assert 'not the same durability' in intake_bench.durability_note(unsafe, postfix)


@pytest.fixture(scope='module')
def smoke_corpus():
    out = os.path.join(HERE, 'out', 'corpus-smoke')
    return gen_corpus.generate(out, smoke=True)


def test_corpus_has_every_cell(smoke_corpus):
    names = {c['name'] for c in smoke_corpus['cells']}
    assert len(names) == 12
    for size in ('2KB', '20KB', '200KB'):
        for key in ('rsa2048', 'ed25519'):
            for canon in ('relaxed', 'simple'):
                assert '%s-%s-%s' % (size, key, canon) in names


def test_corpus_sizes_are_near_their_label(smoke_corpus):
    for c in smoke_corpus['cells']:
        assert 0.95 * c['size'] < c['mean_bytes'] < 1.1 * c['size'], c['name']


def test_corpus_verifies_with_python3_dkim_against_the_zone(smoke_corpus):
    import dkimsign
    for c in smoke_corpus['cells']:
        for path in c['files']:
            with open(path, 'rb') as f:
                msg = f.read()
            assert dkimsign.dkimpy_verify(msg, smoke_corpus['zone']) == [True], path
            want = 'c=%s;' % c['canon']
            assert want.encode() in msg.replace(b'\r\n ', b' '), path


def test_zone_spf_uses_includes_and_matches_only_in_the_second():
    z = gen_corpus.zone()
    top = z['bench.example'][0]['TXT']
    assert top.count('include:') == 2
    assert '192.0.2.0/24' in z['_spf-b.bench.example'][0]['TXT']
    assert '192.0.2.' not in z['_spf-a.bench.example'][0]['TXT']
