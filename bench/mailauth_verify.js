#!/usr/bin/env node
'use strict';
/*
 * mailauth_verify.js - the peer side of the verification benchmark.
 *
 *   node mailauth_verify.js JOB.json
 *
 * JOB: { "cells": [{ "name", "files": [...] }], "passes": N,
 *        "dns": "127.0.0.1:PORT", "ip", "helo", "sender", "mta" }
 *
 * Runs mailauth's authenticate() (DKIM, SPF, DMARC; ARC and BIMI off, as
 * mailtest does neither) on every file of a cell, one message at a time,
 * N passes over the cell, then the next cell, all in one process; pass 0
 * of each cell is its warm-up.  Every DNS question goes to the
 * loopback server through a node:dns Resolver, behind a cache that keeps
 * answers (and NXDOMAIN/NODATA) for the zone's TTL, so the timed passes run
 * with a warm cache as mailtest's do.  Each file is read from disk in each
 * pass (mailtest reads its files too).
 *
 * Prints one JSON object: { "version", "node", "cells": { NAME: { "passes":
 * [{ "seconds", "messages" }], "verdicts": { "dkim": {word: n}, "spf": {...},
 * "dmarc": {...} } (timed passes only), "dns_queries": n (questions that
 * reached the server during the cell) } } }.
 */
const fs = require('node:fs');
const { Resolver } = require('node:dns').promises;
const { authenticate } = require('mailauth');

const ZONE_TTL_MS = 300 * 1000; /* tests/dnsd.py's default TTL */
const CACHEABLE_ERRORS = new Set(['ENOTFOUND', 'ENODATA']);

function cachingResolver(server) {
    const r = new Resolver({ timeout: 2000, tries: 2 });
    r.setServers([server]);
    const cache = new Map();
    const stats = { queries: 0 };
    const resolve = async (name, type) => {
        const key = type + ' ' + String(name).toLowerCase();
        const now = Date.now();
        const hit = cache.get(key);
        if (hit && hit.expires > now) {
            if (hit.error) throw hit.error;
            return hit.value;
        }
        stats.queries++;
        try {
            const value = await r.resolve(name, type);
            cache.set(key, { expires: now + ZONE_TTL_MS, value });
            return value;
        } catch (err) {
            if (CACHEABLE_ERRORS.has(err.code))
                cache.set(key, { expires: now + ZONE_TTL_MS, error: err });
            throw err;
        }
    };
    return { resolve, stats };
}

function count(tally, word) {
    tally[word] = (tally[word] || 0) + 1;
}

async function main() {
    if (process.argv.length !== 3) {
        process.stderr.write('usage: node mailauth_verify.js JOB.json\n');
        process.exit(2);
    }
    const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
    const dns = cachingResolver(job.dns);
    const opts = {
        ip: job.ip,
        helo: job.helo,
        sender: job.sender,
        mta: job.mta || 'mailauth.bench.invalid',
        resolver: dns.resolve,
        disableArc: true,
        disableBimi: true
    };
    const cells = {};
    for (const cell of job.cells) {
        const q0 = dns.stats.queries;
        const verdicts = { dkim: {}, spf: {}, dmarc: {} };
        const passes = [];
        for (let p = 0; p < job.passes; p++) {
            const t0 = process.hrtime.bigint();
            for (const file of cell.files) {
                const res = await authenticate(fs.readFileSync(file), opts);
                if (p === 0)
                    continue;
                const d = res.dkim && res.dkim.results && res.dkim.results[0];
                count(verdicts.dkim, d ? d.status.result : 'none');
                count(verdicts.spf, res.spf ? res.spf.status.result : 'none');
                count(verdicts.dmarc, res.dmarc ? res.dmarc.status.result : 'none');
            }
            const t1 = process.hrtime.bigint();
            passes.push({ seconds: Number(t1 - t0) / 1e9, messages: cell.files.length });
        }
        cells[cell.name] = { passes, verdicts, dns_queries: dns.stats.queries - q0 };
    }
    const version = require('mailauth/package.json').version;
    process.stdout.write(JSON.stringify({ version, node: process.version, cells }) + '\n');
}

main().catch(err => {
    process.stderr.write('mailauth_verify: ' + (err && err.stack || err) + '\n');
    process.exit(1);
});
