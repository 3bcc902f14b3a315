"""mailtestd as a process: options, configuration errors, SIGHUP, SIGTERM with
sessions in flight, privilege drop, memory per idle connection."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from . import idle_memory
from . import smtpscript
from .harness import CHECK, HOSTNAME, bindir, message, under_sanitizer


def binary():
    return os.path.join(bindir(), 'mailtestd')


def test_dump_configuration(smtpd_factory):
    p = subprocess.run([binary(), '-n'], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0
    keys = dict(ln.split(' ', 1) for ln in p.stdout.splitlines() if ' ' in ln)
    assert keys['listen'] == '127.0.0.1:2525'
    assert keys['check_address'] == 'check@localhost'
    assert keys['spool_dir'] == './mailtest-spool'
    assert keys['smtp_max_line'] == '512'
    d = smtpd_factory(start=False, smtp_max_recipients=7)
    d.write_conf()
    p = subprocess.run([binary(), '-n', '-c', d.conf_path], capture_output=True, text=True,
                       timeout=30)
    assert 'smtp_max_recipients 7\n' in p.stdout
    assert 'listen 127.0.0.1:%d\n' % d.port in p.stdout


@pytest.mark.parametrize('line,err', [
    ('bogus_key 1', ':2: unknown key "bogus_key"'),
    ('smtp_max_line 100', 'smtp_max_line: 100 is out of range'),
    ('listen localhost', 'is not ADDR:PORT'),
    ('tls_cert /nonexistent.pem', 'tls_cert and tls_key: set both or neither'),
    ('tls_cert /nonexistent.pem\ntls_key /nonexistent.key', '/nonexistent.pem'),
    ('proxy_listen 127.0.0.1:2526', 'proxy_listen needs proxy_trusted'),
    ('metrics_listen 9x', 'metrics_listen: "9x" is not PORT, ADDR:PORT or [ADDR6]:PORT'),
])
def test_bad_configuration_is_a_clear_error(tmp_path, line, err):
    conf = tmp_path / 'bad.conf'
    conf.write_text('spool_dir %s\n%s\n' % (tmp_path / 'spool', line))
    p = subprocess.run([binary(), '-f', '-c', str(conf)], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 1
    assert err in p.stderr, p.stderr


def test_usage_error():
    p = subprocess.run([binary(), '-x'], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert 'usage: mailtestd' in p.stderr


def test_embedded_defaults(tmp_path):
    s = socket.socket()
    try:
        s.bind(('127.0.0.1', 2525))
    except OSError:
        pytest.skip('127.0.0.1:2525 is in use')
    finally:
        s.close()
    log = open(tmp_path / 'log', 'wb')
    p = subprocess.Popen([binary(), '-f'], cwd=str(tmp_path), stderr=log)
    try:
        for _ in range(400):
            try:
                c = smtpscript.Client(2525)
                break
            except OSError:
                import time
                time.sleep(0.05)
        c.expect(220)
        c.send('EHLO c.example')
        c.expect(250)
        c.send('MAIL FROM:<>')
        c.expect(250)
        c.send('RCPT TO:<check@localhost>')
        c.expect(250, '2.1.5')
        c.close()
        assert os.path.isdir(tmp_path / 'mailtest-spool' / 'incoming')
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=60) == 0
        log.close()


def test_sighup_reloads_limits_and_check_addresses(smtpd):
    smtpscript.run(smtpd.port, r'''
        expect 220
        send "EHLO c.example"
        expect 250
        send "MAIL FROM:<a@b.example>"
        expect 250
        send "RCPT TO:<second@mailtest.example>"
        expect 550 5.7.1
    ''')
    smtpd.reload(check_address='%s, second@mailtest.example' % CHECK, smtp_max_recipients=1)
    smtpscript.run(smtpd.port, r'''
        expect 220
        send "EHLO c.example"
        expect 250
        send "MAIL FROM:<a@b.example>"
        expect 250
        send "RCPT TO:<second@mailtest.example>"
        expect 250 2.1.5
        send "RCPT TO:<check@mailtest.example>"
        expect 452 4.5.3
    ''')
    # a change that needs a restart is named as such; a broken file changes nothing
    smtpd.reload(workers=3)
    assert 'take effect at restart' in smtpd.log()
    with open(smtpd.conf_path, 'a') as f:
        f.write('no_such_key 1\n')
    smtpd.proc.send_signal(signal.SIGHUP)
    smtpd.wait_log('reload-failed')
    smtpscript.run(smtpd.port, r'''
        expect 220
        send "EHLO c.example"
        expect 250
        send "MAIL FROM:<a@b.example>"
        expect 250
        send "RCPT TO:<second@mailtest.example>"
        expect 250 2.1.5
    ''')
    smtpd.write_conf()      # a clean file again for the rest


def test_sigterm_finishes_sessions_in_flight(smtpd):
    busy = smtpscript.Client(smtpd.port)
    busy.expect(220)
    busy.send('EHLO c.example')
    busy.expect(250)
    busy.send('MAIL FROM:<a@b.example>')
    busy.expect(250)
    busy.send('RCPT TO:<%s>' % CHECK)
    busy.expect(250)
    busy.send('DATA')
    busy.expect(354)
    busy.sendraw(message('in flight'))
    idle = smtpscript.Client(smtpd.port)
    idle.expect(220)
    idle.send('EHLO c.example')
    idle.expect(250)
    smtpd.wait_log('helo name=c.example', count=2)
    smtpd.proc.send_signal(signal.SIGTERM)
    # the idle session is told at once
    idle.expect(421, '4.3.2')
    idle.expect_closed()
    smtpd.wait_log('smtpd stopping')
    with pytest.raises(OSError):
        socket.create_connection(('127.0.0.1', smtpd.port), timeout=5)
    # the busy one finishes its message, then is told
    busy.sendraw('.\r\n')
    msgid = busy.expect(250, '2.0.0')[0].split()[-1]
    busy.expect(421, '4.3.2')
    busy.expect_closed()
    assert smtpd.proc.wait(timeout=60) == 0
    smtpd.stop()
    # whatever the workers had not finished is picked up at the next start
    smtpd.start()
    smtpd.wait_processed(msgid)
    assert smtpd.incoming() == []


def test_sigterm_bounded_by_shutdown_timeout(smtpd_factory):
    d = smtpd_factory(shutdown_timeout='1s')
    c = smtpscript.Client(d.port)
    c.expect(220)
    c.send('EHLO c.example')
    c.expect(250)
    c.send('MAIL FROM:<a@b.example>')
    c.expect(250)
    c.send('RCPT TO:<%s>' % CHECK)
    c.expect(250)
    c.send('DATA')
    c.expect(354)
    c.sendraw('Subject: never finished\r\n')
    d.proc.send_signal(signal.SIGTERM)
    c.expect(421, '4.3.2')
    c.expect_closed()
    assert d.proc.wait(timeout=60) == 0
    d.stop()
    assert 'shutdown-timeout sessions=1' in d.log()
    assert d.queued_ids() == [] and d.incoming() == []


def free_privileged_port():
    for port in range(1000, 1024):
        s = socket.socket()
        try:
            s.bind(('127.0.0.1', port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    pytest.skip('no free port below 1024')


def proc_ids(pid):
    with open('/proc/%d/status' % pid) as f:
        st = dict(ln.split(':', 1) for ln in f if ':' in ln)
    return st['Uid'].split(), st['Gid'].split(), st['Groups'].split()


def test_drops_privileges_after_binding(smtpd_factory, dns):
    if os.geteuid() != 0:
        pytest.skip('needs root')
    top = tempfile.mkdtemp(prefix='mt-priv-', dir='/tmp')
    os.chmod(top, 0o755)
    try:
        d = smtpd_factory(start=False, user='nobody')
        d.spool = os.path.join(top, 'spool')
        d.conf['spool_dir'] = d.spool
        d.port = free_privileged_port()            # only root can bind it
        d.conf['listen'] = '127.0.0.1:%d' % d.port
        d.start()
        uids, gids, groups = proc_ids(d.proc.pid)
        assert uids == ['65534'] * 4
        assert gids == ['65534'] * 4
        assert groups == ['65534']
        assert 'privileges user=nobody uid=65534' in d.log()
        smtpscript.run(d.port, r'''
            expect 220
            send "EHLO c.example"
            expect 250
            send "STARTTLS"
            expect 220
            starttls
            send "EHLO c.example"
            expect 250
            send "MAIL FROM:<a@b.example>"
            expect 250
            send "RCPT TO:<check@mailtest.example>"
            expect 250
            send "DATA"
            expect 354
            sendraw "Subject: as nobody\r\n\r\nx\r\n.\r\n"
            expect 250 2.0.0
        ''')
        msgid = d.queued_ids()[0]
        d.wait_processed(msgid)
        assert os.stat(os.path.join(d.spool, 'incoming')).st_uid == 65534
        st = os.stat(os.path.join(d.spool, 'tls', 'key.pem'))
        assert st.st_uid == 0 and st.st_mode & 0o077 == 0     # the key stays root's
        d.stop()
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_refuses_to_run_as_root_with_a_missing_user(smtpd_factory):
    if os.geteuid() != 0:
        pytest.skip('needs root')
    d = smtpd_factory(start=False, user='no-such-user-mt')
    d.start(wait=False)
    assert d.proc.wait(timeout=30) == 1
    assert 'user "no-such-user-mt" does not exist: refusing to run as root' in d.log()


@pytest.mark.skipif(under_sanitizer(), reason='sanitizers change the memory per connection')
def test_memory_per_idle_connection_under_32_kib(tmp_path):
    r = idle_memory.measure(binary(), n=400, workdir=str(tmp_path))
    print('\n%d idle connections: %.1f KiB each' % (r['connections'], r['per_connection_kib']))
    assert r['per_connection_kib'] < 32, r


def test_out_of_descriptors_pauses_accepting(smtpd_factory):
    """EMFILE: the listener pauses (no busy loop), sessions go on, and the
    daemon accepts again once descriptors are free."""
    import resource

    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))

    d = smtpd_factory(start=False, smtp_max_connections=1000,
                      smtp_max_connections_per_ip=1000)
    d.start(preexec_fn=low_nofile)
    clients = []
    for _ in range(60):
        clients.append(socket.create_connection(('127.0.0.1', d.port)))
    d.wait_log('not accepting for 1000 ms')
    served = smtpscript.Client(d.port)      # waits in the backlog
    for c in clients:
        c.close()
    served.expect(220)                       # accepted once descriptors are free
    served.send('QUIT')
    served.expect(221)
    served.close()
    log = d.wait_log('accepting again')
    # paused, not spinning: a handful of error lines, not thousands
    assert log.count('accept error=') < 20, log.count('accept error=')
    assert 'Too many open files' in log


def test_daemon_mode_detaches(tmp_path, dns):
    """Without -f: the parent returns at once, the daemon serves (logging to
    syslog), SIGTERM stops it."""
    from .harness import free_port
    port = free_port()
    name = 'bg-%d.conf' % os.getpid()       # one per test process: found by it
    conf = tmp_path / name
    conf.write_text('listen 127.0.0.1:%d\nspool_dir %s\nhostname %s\ndns_server %s\n'
                    % (port, tmp_path / 'spool', HOSTNAME, dns.address))
    p = subprocess.run([binary(), '-c', name], cwd=str(tmp_path), timeout=30)
    assert p.returncode == 0
    def ppid_of(pid):
        with open('/proc/%d/status' % pid) as f:
            return int([ln for ln in f if ln.startswith('PPid:')][0].split()[1])

    # the report signer (reply/signer.h) has the same command line and is
    # the daemon's child (its name, mailtestd-sign, may not be set yet)
    pid = None
    for _ in range(100):
        found = []
        for entry in os.listdir('/proc'):
            if entry.isdigit():
                try:
                    with open('/proc/%s/cmdline' % entry, 'rb') as f:
                        cmd = f.read().split(b'\0')[:3]
                    if cmd == [binary().encode(), b'-c', name.encode()]:
                        found.append((int(entry), ppid_of(int(entry))))
                except (OSError, IndexError):
                    continue
        roots = [p for p, pp in found if pp not in {q for q, _ in found}]
        if len(roots) == 1:
            pid = roots[0]
            break
        time.sleep(0.05)
    assert pid, 'no detached mailtestd found'
    try:
        smtpscript.run(port, r'''
            expect 220
            send "EHLO c.example"
            expect 250
            send "QUIT"
            expect 221
        ''')
        with open('/proc/%d/status' % pid) as f:
            ppid = [ln for ln in f if ln.startswith('PPid:')][0].split()[1]
        assert ppid != str(os.getpid())
        assert os.readlink('/proc/%d/cwd' % pid) == '/'
    finally:
        os.kill(pid, signal.SIGTERM)
    for _ in range(600):
        if not os.path.exists('/proc/%d' % pid):
            break
        time.sleep(0.05)
    assert not os.path.exists('/proc/%d' % pid)


def test_sd_notify_ready_reloading_stopping(smtpd_factory, tmp_path):
    """Type=notify: READY=1 once listening, RELOADING=1/READY=1 on SIGHUP,
    STOPPING=1 on SIGTERM."""
    path = str(tmp_path / 'notify.sock')
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(30)
    d = smtpd_factory(start=False)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    d.start(env=env)
    assert sock.recv(4096) == b'READY=1'
    smtpscript.run(d.port, 'expect 220')     # READY came after the listener
    d.reload()
    assert sock.recv(4096) == b'RELOADING=1'
    assert sock.recv(4096) == b'READY=1'
    d.proc.send_signal(signal.SIGTERM)
    assert sock.recv(4096) == b'STOPPING=1'
    d.stop()
    sock.close()


def test_repeated_sigterm_during_teardown_exits_cleanly(smtpd_factory):
    """A second SIGTERM while mailtestd tears down (systemd, an impatient
    operator) must not kill it by the default action once libevent's signal
    handlers are gone: every thread but the loop's blocks the signals (the
    delivery threads did not, and 14 of 30 rounds died by SIGTERM)."""
    for _ in range(8):
        d = smtpd_factory(start=True, delivery_threads=8)
        d.proc.send_signal(signal.SIGTERM)
        for _ in range(40):
            time.sleep(0.0005)
            if d.proc.poll() is None:
                d.proc.send_signal(signal.SIGTERM)
        d.stop(expect_rc=0)
