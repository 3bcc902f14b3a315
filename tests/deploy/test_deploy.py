"""deploy/: the example configuration (every key, with its default), the man
pages (lint, every key / command / option / metric documented), `make
install` and `make uninstall` into a DESTDIR, the systemd unit
(`systemd-analyze verify` and `security` on the installed tree, the
sysusers.d file through systemd-sysusers), the syscalls, socket families
and writes of a real run against what the unit allows, and DNS.md's zone
snippets."""
import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEPLOY = os.path.join(ROOT, 'deploy')
EXAMPLE = os.path.join(DEPLOY, 'mailtest.conf.example')
MAN = os.path.join(DEPLOY, 'man')
PAGES = ['mailtestd.8', 'mailtest.1', 'mailtest.conf.5']
sys.path.insert(0, os.path.dirname(HERE))


def bindir():
    return os.path.join(ROOT, os.environ.get('MAILTEST_BINDIR', 'bin'))


def under_sanitizer():
    return os.environ.get('MAILTEST_SAN') == '1' or bool(os.environ.get('MAILTEST_WRAPPER'))


def dump(*args):
    p = subprocess.run([os.path.join(bindir(), 'mailtestd'), '-n'] + list(args),
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return dict(ln.split(' ', 1) if ' ' in ln else (ln, '') for ln in p.stdout.splitlines())


def example_defaults():
    """{key: value} of the "#KEY VALUE" lines, in file order."""
    out = {}
    with open(EXAMPLE) as f:
        for line in f:
            m = re.match(r'^#([a-z_]+)(?:[ \t]+(.*))?$', line.rstrip('\n'))
            if m:
                assert m.group(1) not in out, 'key listed twice: ' + m.group(1)
                out[m.group(1)] = m.group(2) or ''
    return out


# ---- the example configuration -------------------------------------------------

def test_example_lists_every_key_with_its_default(tmp_path):
    empty = tmp_path / 'empty.conf'
    empty.write_text('')
    defaults = dump('-c', str(empty))
    assert defaults == dump(), 'an empty file is the embedded defaults'
    ex = example_defaults()
    missing = sorted(set(defaults) - set(ex))
    unknown = sorted(set(ex) - set(defaults))
    assert not missing, 'keys missing from mailtest.conf.example: %s' % missing
    assert not unknown, 'keys in the example that mailtestd does not know: %s' % unknown
    # the example's values, uncommented, through mailtestd's own parser
    conf = tmp_path / 'uncommented.conf'
    conf.write_text(''.join('%s %s\n' % kv for kv in ex.items()))
    got = dump('-c', str(conf))
    wrong = {k: (ex[k], got[k], defaults[k]) for k in defaults if got[k] != defaults[k]}
    assert not wrong, 'documented default differs (example, parsed, real): %r' % wrong


def test_example_explains_every_key():
    with open(EXAMPLE) as f:
        lines = f.read().split('\n')
    for i, line in enumerate(lines):
        if not re.match(r'^#[a-z_]+', line):
            continue
        j = i - 1
        while j >= 0 and re.match(r'^#[a-z_]+', lines[j]):
            j -= 1              # a group of keys shares one explanation
        assert j >= 0 and lines[j].startswith('# ') and len(lines[j]) > 10, \
            'no explanation above %r (line %d)' % (line, i + 1)


@pytest.mark.parametrize('lines,lineno,why', [
    (['listen 127.0.0.1:0', '# a comment', 'lisen 127.0.0.1:25'], 3, 'unknown key "lisen"'),
    (['smtp_max_line 100'], 1, 'smtp_max_line: 100 is out of range (512 to 65536)'),
    (['', 'workers many'], 2, 'workers: "many" is not a number'),
    (['smtp_bare_lf maybe'], 1, 'smtp_bare_lf: "maybe" is not one of reject|normalize'),
    (['retry_min soon'], 1, 'retry_min: "soon" is not a duration (e.g. 30s, 5m, 2h, 3d)'),
    (['tls perhaps'], 1, 'tls: "perhaps" is not yes or no'),
    (['workers 2', 'workers 3'], 2, '"workers" is set twice'),
])
def test_daemon_refuses_a_bad_configuration_with_file_and_line(tmp_path, lines, lineno, why):
    conf = tmp_path / 'mailtest.conf'
    conf.write_text('\n'.join(['spool_dir %s' % (tmp_path / 'spool')] + lines) + '\n')
    p = subprocess.run([os.path.join(bindir(), 'mailtestd'), '-f', '-c', str(conf)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert p.stderr == 'mailtestd: %s:%d: %s\n' % (conf, lineno + 1, why), p.stderr
    assert not (tmp_path / 'spool').exists(), 'nothing is started on a bad file'
    # -n checks a file the same way
    p = subprocess.run([os.path.join(bindir(), 'mailtestd'), '-n', '-c', str(conf)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and ':%d: ' % (lineno + 1) in p.stderr


def test_starter_config_is_valid_and_listens_on_25():
    got = dump('-c', os.path.join(DEPLOY, 'mailtest.conf'))
    assert got['listen'] == '*:25'
    assert got['spool_dir'] == '/var/lib/mailtest'
    assert got['user'] == '', 'the unit starts mailtestd as mailtest: no user switch'


# ---- man pages -------------------------------------------------------------------

@pytest.mark.parametrize('page', PAGES)
def test_man_page_lint_and_render(page):
    path = os.path.join(MAN, page)
    if shutil.which('mandoc'):
        p = subprocess.run(['mandoc', '-Tlint', '-Wstyle', path], capture_output=True,
                           text=True)
        assert p.returncode == 0 and p.stdout + p.stderr == '', p.stdout + p.stderr
    p = subprocess.run(['groff', '-man', '-Tutf8', '-ww', '-z', path], capture_output=True,
                       text=True)
    assert p.returncode == 0 and p.stderr == '', p.stderr
    p = subprocess.run(['man', '-l', path], capture_output=True, text=True,
                       env=dict(os.environ, MANWIDTH='80', MAN_KEEP_FORMATTING='0'))
    assert p.returncode == 0, p.stderr
    plain = re.sub(r'.\x08', '', p.stdout)        # no overstrike bold
    assert 'NAME' in plain and 'SEE ALSO' in plain


def man_source(page):
    with open(os.path.join(MAN, page)) as f:
        return f.read()


def test_conf5_documents_every_key_with_the_example_default():
    text = man_source('mailtest.conf.5')
    items = re.findall(r'^\.TP\n\.B ([a-z_]+)\n(Default: empty\.|Default:\n\.BR "([^"]*)" \.)$',
                       text, re.M)
    documented = {k: (v.replace('\\-', '-').replace('\\e', '\\') if d != 'Default: empty.'
                      else '') for k, d, v in items}
    ex = example_defaults()
    assert set(documented) == set(ex), sorted(set(ex) ^ set(documented))
    assert documented == ex


def test_mailtest1_documents_every_command():
    p = subprocess.run([os.path.join(bindir(), 'mailtest'), '--help'], capture_output=True,
                       text=True, timeout=30)
    cmds = re.findall(r'^  ([a-z][a-z-]+)', p.stdout + p.stderr, re.M)
    assert {'verify', 'queue', 'show', 'flush', 'dkim-record'} <= set(cmds), cmds
    text = man_source('mailtest.1')
    # dns-check and wait are being added by other work: stub sections
    for c in set(cmds) | {'dns-check', 'wait'}:
        assert re.search(r'^\.SS %s$' % re.escape(c.replace('-', '\\-')), text, re.M), c
    for flag in ('--ip', '--helo', '--mail-from', '--rcpt', '--dns', '--format', '--time'):
        assert flag.replace('-', '\\-') in text, flag


def test_mailtestd8_documents_options_signals_and_every_metric():
    text = man_source('mailtestd.8')
    p = subprocess.run([os.path.join(bindir(), 'mailtestd'), '-h'], capture_output=True,
                       text=True, timeout=30)
    for opt in re.findall(r'^  (-[a-z])', p.stdout, re.M):
        assert '.B' in text and ('\\' + opt) in text, opt
    for sig in ('SIGHUP', 'SIGTERM', 'SIGINT'):
        assert sig in text
    with open(os.path.join(ROOT, 'common', 'metrics.c')) as f:
        names = re.findall(r'"(mailtest_[a-z_]+)"', f.read())
    assert len(names) > 15
    for n in names:
        assert n in text, 'metric %s not in mailtestd(8)' % n
    reasons = set()
    for src in ('smtpd/refusal.c', 'smtpd/proxy_conn.c', 'smtpd/session.c'):
        with open(os.path.join(ROOT, src)) as f:
            s = f.read()
        reasons |= set(re.findall(r'"[45]\S* [^"]*", (?:"[^"]*"|NULL), "([a-z_]+)"', s))
        reasons |= set(re.findall(r'METRIC_REFUSED, "([a-z_]+)"', s))
        reasons |= set(re.findall(r'"proxy-[a-z]+", "([a-z_]+)"', s))
    assert {'relay_denied', 'smuggling', 'tls', 'proxy_untrusted'} <= reasons, reasons
    for r in reasons:
        assert '.BR %s ' % r in text or '.BR %s\n' % r in text, 'reason %s undocumented' % r


# ---- make install / uninstall ------------------------------------------------------

def make(*args):
    p = subprocess.run(['make', '-C', ROOT, '--no-print-directory'] + list(args),
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return p


def files_under(d):
    return sorted(os.path.relpath(os.path.join(r, f), d)
                  for r, _, fs in os.walk(d) for f in fs)


INSTALLED = [
    'etc/mailtest/mailtest.conf',
    'etc/mailtest/mailtest.conf.example',
    'usr/local/bin/mailtest',
    'usr/local/lib/systemd/system/mailtestd.service',
    'usr/local/lib/sysusers.d/mailtest.conf',
    'usr/local/sbin/mailtestd',
    'usr/local/share/doc/mailtest/DNS.md',
    'usr/local/share/doc/mailtest/README.md',
    'usr/local/share/man/man1/mailtest.1',
    'usr/local/share/man/man5/mailtest.conf.5',
    'usr/local/share/man/man8/mailtestd.8',
]


@pytest.mark.skipif(under_sanitizer(), reason='installs the normal build')
def test_install_tree_and_uninstall(tmp_path):
    dest = str(tmp_path / 'dest')
    make('install', 'DESTDIR=' + dest, 'PREFIX=/usr/local', 'SYSCONFDIR=/etc')
    assert files_under(dest) == INSTALLED
    mode = lambda p: os.stat(os.path.join(dest, p)).st_mode & 0o7777  # noqa: E731
    assert mode('usr/local/sbin/mailtestd') == 0o755
    assert mode('usr/local/bin/mailtest') == 0o755
    assert mode('usr/local/lib/systemd/system/mailtestd.service') == 0o644
    with open(os.path.join(dest, 'usr/local/lib/systemd/system/mailtestd.service')) as f:
        unit = f.read()
    assert '@' not in unit.replace('@system-service', '').replace('@privileged', '') \
        .replace('@resources', '')
    assert 'ExecStart=/usr/local/sbin/mailtestd -f -c /etc/mailtest/mailtest.conf\n' in unit
    # the installed binaries run and read the installed starter config
    p = subprocess.run([os.path.join(dest, 'usr/local/sbin/mailtestd'), '-n', '-c',
                        os.path.join(dest, 'etc/mailtest/mailtest.conf')],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and 'listen *:25\n' in p.stdout, p.stderr
    p = subprocess.run([os.path.join(dest, 'usr/local/bin/mailtest'), 'version'],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and p.stdout.startswith('mailtest ')
    # man finds the pages where they were put
    for sec, name in (('8', 'mailtestd'), ('1', 'mailtest'), ('5', 'mailtest.conf')):
        p = subprocess.run(['man', '-M', os.path.join(dest, 'usr/local/share/man'), sec, name],
                           capture_output=True, text=True, env=dict(os.environ, MANWIDTH='80'))
        assert p.returncode == 0 and 'NAME' in re.sub(r'.\x08', '', p.stdout), (name, p.stderr)
    # an edited configuration survives a reinstall and the uninstall
    conf = os.path.join(dest, 'etc/mailtest/mailtest.conf')
    with open(conf, 'a') as f:
        f.write('check_address check@check.example.net\n')
    make('install', 'DESTDIR=' + dest, 'PREFIX=/usr/local', 'SYSCONFDIR=/etc')
    assert 'check@check.example.net' in open(conf).read()
    make('uninstall', 'DESTDIR=' + dest, 'PREFIX=/usr/local', 'SYSCONFDIR=/etc')
    assert files_under(dest) == ['etc/mailtest/mailtest.conf']
    # unchanged, it goes too
    shutil.copy(os.path.join(DEPLOY, 'mailtest.conf'), conf)
    make('uninstall', 'DESTDIR=' + dest, 'PREFIX=/usr/local', 'SYSCONFDIR=/etc')
    assert files_under(dest) == []
    assert not os.path.exists(os.path.join(dest, 'etc/mailtest'))


@pytest.fixture
def unit_root(tmp_path):
    """make install PREFIX=/usr into a root that systemd-analyze can use:
    the host's targets and kill(1) copied in (symlinks would point outside)."""
    if not shutil.which('systemd-analyze'):
        pytest.skip('systemd-analyze is not installed')
    if under_sanitizer():
        pytest.skip('installs the normal build')
    root = str(tmp_path / 'root')
    make('install', 'DESTDIR=' + root, 'PREFIX=/usr', 'SYSCONFDIR=/etc')
    unitdir = os.path.join(root, 'usr/lib/systemd/system')
    for d in ('/usr/lib/systemd/system', '/lib/systemd/system'):
        if os.path.isdir(d):
            for f in os.listdir(d):
                if f.endswith('.target') and not os.path.exists(os.path.join(unitdir, f)):
                    shutil.copy(os.path.join(d, f), unitdir)
    os.makedirs(os.path.join(root, 'usr/bin'), exist_ok=True)
    shutil.copy(shutil.which('kill') or '/bin/kill', os.path.join(root, 'usr/bin/kill'))
    os.symlink('usr/bin', os.path.join(root, 'bin'))
    return root


def analyze(root, *args):
    return subprocess.run(['systemd-analyze'] + list(args), capture_output=True, text=True,
                          timeout=120,
                          env=dict(os.environ, MANPATH=os.path.join(root, 'usr/share/man'),
                                   SYSTEMD_LOG_COLOR='0'))


def test_systemd_analyze_verify(unit_root):
    p = analyze(unit_root, 'verify', '--root=' + unit_root, 'mailtestd.service')
    # verify exits 0 on unknown keys and bad values, but says so: nothing at all
    assert p.returncode == 0 and p.stdout + p.stderr == '', p.stdout + p.stderr
    # the check is live: a typo and a missing man page are both reported
    unitdir = os.path.join(unit_root, 'usr/lib/systemd/system')
    with open(os.path.join(unitdir, 'mailtestd.service')) as f:
        text = f.read()
    with open(os.path.join(unitdir, 'typo.service'), 'w') as f:
        f.write(text.replace('ProtectSystem=strict', 'ProtectSystem=strictt'))
    p = analyze(unit_root, 'verify', '--root=' + unit_root, 'typo.service')
    assert 'Failed to parse protect system value' in p.stdout + p.stderr
    os.unlink(os.path.join(unit_root, 'usr/share/man/man8/mailtestd.8'))
    p = analyze(unit_root, 'verify', '--root=' + unit_root, 'mailtestd.service')
    assert p.returncode != 0 and 'mailtestd(8)' in p.stdout + p.stderr


def test_systemd_analyze_security_exposure(unit_root):
    p = analyze(unit_root, 'security', '--offline=yes', '--root=' + unit_root,
                '--threshold=20', 'mailtestd.service')
    out = p.stdout + p.stderr
    level = re.search(r'Overall exposure level for mailtestd.service: ([0-9.]+)', out)
    assert level, out[-2000:]
    print('\nsystemd-analyze security: exposure %s' % level.group(1))
    assert p.returncode == 0 and float(level.group(1)) <= 2.0, out[-3000:]


def test_sysusers_creates_the_mailtest_user(unit_root):
    os.makedirs(os.path.join(unit_root, 'etc'), exist_ok=True)
    p = subprocess.run(['systemd-sysusers', '--root=' + unit_root,
                        os.path.join(unit_root, 'usr/lib/sysusers.d/mailtest.conf')],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    with open(os.path.join(unit_root, 'etc/passwd')) as f:
        pw = [ln.split(':') for ln in f if ln.startswith('mailtest:')]
    assert len(pw) == 1
    assert 0 < int(pw[0][2]) < 1000                     # a system uid
    assert pw[0][5] == '/var/lib/mailtest' and pw[0][6].strip() == '/usr/sbin/nologin'


# ---- what a real run does, against what the unit allows ---------------------------

def syscall_set(group, seen=None):
    """Expand a systemd syscall group (nested groups included)."""
    seen = seen if seen is not None else set()
    if group in seen:
        return set()
    seen.add(group)
    p = subprocess.run(['systemd-analyze', 'syscall-filter', group], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = set()
    for line in p.stdout.splitlines()[1:]:
        w = line.strip()
        if not w or w.startswith('#'):
            continue
        out |= syscall_set(w, seen) if w.startswith('@') else {w}
    return out


@pytest.mark.skipif(under_sanitizer(), reason='sanitizer runtimes make syscalls of their own')
def test_a_real_run_stays_within_the_unit_sandbox(request, dns):
    """mailtestd under strace -f, with the traffic of a day (SMTP with
    STARTTLS, a PROXY connection, a metrics scrape, SIGHUP, SIGTERM): every
    syscall is in SystemCallFilter=@system-service minus ~@privileged
    @resources, every socket is AF_INET/AF_INET6/AF_UNIX
    (RestrictAddressFamilies), every file opened for writing is in the spool
    (ProtectSystem=strict + ReadWritePaths)."""
    if not shutil.which('strace') or not shutil.which('systemd-analyze'):
        pytest.skip('strace or systemd-analyze missing')
    from mailtestd.harness import free_port
    dns.set_zone({})
    # the unit starts mailtestd as User=mailtest, never as root: so does this
    # run (as nobody).  As root, SQLite's unix VFS fchown()s its journal and
    # WAL files to the database's owner - a path the unit never takes.  The
    # working directory is one that nobody can reach (pytest's are 0700).
    import pathlib
    import tempfile
    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix='mt-sandbox-'))
    request.addfinalizer(lambda: shutil.rmtree(str(tmp_path), ignore_errors=True))
    spool = str(tmp_path / 'spool')
    port, pport, mport = free_port(), free_port(), free_port()
    conf = tmp_path / 'mailtest.conf'
    conf.write_text('listen 127.0.0.1:%d\nproxy_listen 127.0.0.1:%d\nproxy_trusted 127.0.0.1\n'
                    'metrics_listen 127.0.0.1:%d\nspool_dir %s\ndns_server %s\n'
                    'dns_timeout_ms 300\ndns_attempts 1\ncheck_address check@localhost\n'
                    'reply no\n' % (port, pport, mport, spool, dns.address))
    trace = str(tmp_path / 'trace')
    log = open(tmp_path / 'log', 'wb')
    drop = []
    if os.geteuid() == 0:
        os.chmod(str(tmp_path), 0o755)
        for p in (tmp_path, tmp_path / 'log', conf):
            os.chown(str(p), 65534, 65534)
        drop = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
    proc = subprocess.Popen(drop + ['strace', '-f', '-qq', '-o', trace,
                                    os.path.join(bindir(), 'mailtestd'), '-f', '-c',
                                    str(conf)],
                            stderr=log, cwd=str(tmp_path))
    pid = None
    try:
        for _ in range(400):
            m = re.search(rb'mailtestd started version=\S+ pid=(\d+)',
                          open(tmp_path / 'log', 'rb').read())
            if m:
                pid = int(m.group(1))       # mailtestd itself: strace is its parent
                break
            assert proc.poll() is None
            time.sleep(0.05)
        assert pid, open(tmp_path / 'log', 'rb').read()[-2000:]
        sw = ['swaks', '--server', '127.0.0.1', '--to', 'check@localhost', '--from',
              'user@example.org', '--timeout', '30']
        assert subprocess.run(sw + ['--port', str(port), '-tls'], capture_output=True,
                              timeout=60).returncode == 0
        assert subprocess.run(sw + ['--port', str(pport), '--proxy-version', '2',
                                    '--proxy-family', 'AF_INET', '--proxy-source',
                                    '192.0.2.9', '--proxy-source-port', '1', '--proxy-dest',
                                    '192.0.2.25', '--proxy-dest-port', '25'],
                              capture_output=True, timeout=60).returncode == 0
        import http.client
        c = http.client.HTTPConnection('127.0.0.1', mport, timeout=10)
        c.request('GET', '/metrics')
        assert c.getresponse().status == 200
        c.close()
        for _ in range(400):
            if open(tmp_path / 'log', 'rb').read().count(b'worker removed') >= 2:
                break
            time.sleep(0.05)
        os.kill(pid, signal.SIGHUP)
        for _ in range(200):
            if b'smtpd reload' in open(tmp_path / 'log', 'rb').read():
                break
            time.sleep(0.05)
        os.kill(pid, signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert b'mailtestd stopped status=0' in open(tmp_path / 'log', 'rb').read()
    finally:
        if proc.poll() is None:
            if pid:         # a killed strace would leave the daemon running
                os.kill(pid, signal.SIGKILL)
            proc.kill()
            proc.wait()
        log.close()
    calls, families, writes = set(), set(), set()
    with open(trace) as f:
        for line in f:
            line = re.sub(r'^\d+\s+', '', line)
            if line.startswith('+++') or line.startswith('---'):
                continue
            m = re.match(r'^(?:<\.\.\. )?([a-z_0-9]+)[( ]', line)
            if m:
                calls.add(m.group(1))
            m = re.match(r'^socket\((AF_[A-Z0-9]+)', line)
            if m:
                families.add(m.group(1))
            m = re.match(r'^openat\([^,]+, "([^"]+)", ([A-Z_|]+)', line)
            if m and re.search(r'O_WRONLY|O_RDWR|O_CREAT', m.group(2)):
                writes.add(m.group(1))
            m = re.match(r'^(?:mkdir|rename|unlink|link)(?:at)?\((?:[^,]+, )?"([^"]+)"', line)
            if m:
                writes.add(m.group(1))
    calls.discard('execve')     # strace starting the daemon (systemd does that part)
    allowed = syscall_set('@system-service') - syscall_set('@privileged') - \
        syscall_set('@resources')
    print('\n%d distinct syscalls, socket families %s, %d paths written'
          % (len(calls), sorted(families), len(writes)))
    assert len(calls) > 30
    assert {'accept4', 'fsync', 'rename'} <= calls     # it did serve, spool and commit
    assert calls <= allowed, 'outside the unit filter: %s' % sorted(calls - allowed)
    assert families <= {'AF_INET', 'AF_INET6', 'AF_UNIX'}, families
    outside = sorted(w for w in writes
                     if not os.path.abspath(os.path.join(str(tmp_path), w)).startswith(spool)
                     and w != '/dev/null')
    assert not outside, 'writes outside the spool: %s' % outside


# ---- DNS.md -------------------------------------------------------------------------

def test_dns_guide_zone_snippets_parse():
    dns_zone = pytest.importorskip('dns.zone')
    import dns.rdatatype
    with open(os.path.join(DEPLOY, 'DNS.md')) as f:
        text = f.read()
    blocks = re.findall(r'```zone\n(.*?)```', text, re.S)
    assert len(blocks) >= 7
    types = set()
    for b in blocks:
        # one zone per $ORIGIN (a block may show two reverse zones)
        for part in re.split(r'\n(?=\$ORIGIN )', b.strip()):
            m = re.match(r'\$ORIGIN (\S+)', part)
            origin = m.group(1) if m else 'example.net.'
            z = dns_zone.from_text('$TTL 3600\n' + part + '\n', origin=origin,
                                   relativize=False, check_origin=False)
            n = 0
            for name, node in z.nodes.items():
                for rds in node.rdatasets:
                    types.add(dns.rdatatype.to_text(rds.rdtype))
                    n += len(rds)
            assert n == len([ln for ln in part.splitlines()
                             if ln.strip() and not ln.startswith(('$', ';'))]), part
    assert {'MX', 'A', 'AAAA', 'PTR', 'TXT', 'CNAME'} <= types


@pytest.mark.skipif(under_sanitizer(), reason='key generation is exercised elsewhere')
def test_dkim_record_line_is_a_zone_line_with_a_usable_key(tmp_path):
    """What DNS.md tells the operator to paste: mailtest dkim-record's line
    parses as a zone record and its p= is a public key."""
    dns_zone = pytest.importorskip('dns.zone')
    serialization = pytest.importorskip('cryptography.hazmat.primitives.serialization')
    conf = tmp_path / 'c.conf'
    conf.write_text('spool_dir %s\nreport_from mailtest@example.net\n' % (tmp_path / 'spool'))
    p = subprocess.run([os.path.join(bindir(), 'mailtest'), 'dkim-record', '-c', str(conf)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    # the whole output pastes into a zone file (its first line is a comment)
    assert re.search(r'^mailtest\._domainkey\.example\.net\. IN TXT \(', p.stdout, re.M), p.stdout
    z = dns_zone.from_text('$TTL 300\n' + p.stdout, origin='example.net.',
                           relativize=False, check_origin=False)
    rds = z.find_rdataset('mailtest._domainkey.example.net.', 'TXT')
    txt = b''.join(next(iter(rds)).strings).decode()
    assert all(len(s) <= 255 for s in next(iter(rds)).strings)
    tags = dict(t.strip().split('=', 1) for t in txt.split(';') if t.strip())
    assert tags['v'] == 'DKIM1' and tags['k'] == 'rsa'
    key = serialization.load_der_public_key(base64.b64decode(tags['p']))
    assert key.key_size == 2048
