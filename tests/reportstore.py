"""Reading the report store of a spool from the tests: the default SQLite
store SPOOL/reports.db (common/store_sqlite.c), through Python's sqlite3
module - an independent reader of the file mailtest writes.

  ids(spool)          {id: created} of every stored report
  report(spool, id)   the stored JSON report (with its "reply" member)
  row(spool, id)      every column as a dict (headers as bytes)
  execute(spool, sql, params)   for tests that tamper with the store
"""
import json
import os
import sqlite3


def path(spool):
    return os.path.join(spool, 'reports.db')


def _connect(spool, readonly=True):
    p = path(spool)
    if readonly:
        db = sqlite3.connect('file:%s?mode=ro' % p, uri=True, timeout=10)
    else:
        db = sqlite3.connect(p, timeout=10)
    db.row_factory = sqlite3.Row
    return db


def ids(spool):
    if not os.path.exists(path(spool)):
        return {}
    db = _connect(spool)
    try:
        return {r['id']: r['created'] for r in db.execute('SELECT id, created FROM mailtest_reports')}
    finally:
        db.close()


def row(spool, msgid):
    db = _connect(spool)
    try:
        r = db.execute('SELECT * FROM mailtest_reports WHERE id = ?', (msgid,)).fetchone()
        return dict(r) if r is not None else None
    finally:
        db.close()


def report(spool, msgid):
    r = row(spool, msgid)
    if r is None:
        raise KeyError('no report %s in %s' % (msgid, path(spool)))
    return json.loads(r['report'])


def execute(spool, sql, params=()):
    db = _connect(spool, readonly=False)
    try:
        with db:
            return db.execute(sql, params).rowcount
    finally:
        db.close()
