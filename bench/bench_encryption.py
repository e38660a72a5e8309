"""Benchmark field encryption, key rotation and blind-index search. Prints figures.

    python bench/bench_encryption.py [--applicants 100000] [--rotation 10000,100000]
                                     [--no-fields] [--json PATH]

Runs on a scratch SQLite database in a temporary data directory (or PostgreSQL when
DATABASE_URL is set, against a scratch database it creates and drops). Targets (issue 3):
field decrypt >= 4x faster than Fernet; issue 16's sign-in unlock and per-request opening of
the organisation key (bench/figures.py); rotation of 100k applicants < 60 s on SQLite;
blind-index lookup >= 100x faster than decrypting every row. Each ratio comes from timings
taken in turn in the same run (rounds of ours and Fernet's alternate; the index lookups are
timed before and after the full scan), so that a busy machine slows both sides alike.
Rotation sizes default to a tenth of --applicants and --applicants. --no-fields skips the
per-field costs, which touch no database (bench/run_all.py measures them once).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from figures import add_json_argument, figure, write_json
from scratch import scratch_data_dir, scratch_django


def per_call_us(
    functions: dict[str, tuple[Callable[[bytes], object], list[bytes]]], repeat: int = 20
) -> dict[str, float]:
    """Best of ``repeat`` rounds per function, in microseconds per value; each round times
    every function in turn, so that drift hits them all alike."""
    best = dict.fromkeys(functions, float("inf"))
    for _ in range(repeat):
        for name, (function, values) in functions.items():
            started = time.perf_counter()
            for value in values:
                function(value)
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: best[name] / len(values) * 1e6 for name, (_, values) in functions.items()}


def bench_fields() -> dict[str, dict[str, Any]]:
    from cryptography.fernet import Fernet

    from crypto import DataKeyCipher, decrypt, encrypt, new_data_key

    values = [f"Ivan Petrovich Sidorov {i} / Иван Петрович Сидоров".encode() for i in range(2000)]
    dek, fernet = new_data_key(), Fernet(Fernet.generate_key())
    aad = b"cases.applicant.legal_name_latin:6f1c0e1e-0000-4000-8000-000000000000:org:91ab"
    tokens = [encrypt(dek, v, aad) for v in values]
    fernet_tokens = [fernet.encrypt(v) for v in values]

    cipher = DataKeyCipher(dek)  # what a request does: one per subject, reused for its fields
    timings = per_call_us(
        {
            "ours_enc": (lambda v: encrypt(dek, v, aad), values),
            "fern_enc": (fernet.encrypt, values),
            "ours_dec": (lambda t: decrypt(dek, t, aad), tokens),
            "ours_enc_kept": (lambda v: cipher.encrypt(v, aad), values),
            "ours_dec_kept": (lambda t: cipher.decrypt(t, aad), tokens),
            "fern_dec": (fernet.decrypt, fernet_tokens),
        }
    )
    ours_enc, fern_enc, ours_dec = timings["ours_enc"], timings["fern_enc"], timings["ours_dec"]
    ours_enc_kept, ours_dec_kept = timings["ours_enc_kept"], timings["ours_dec_kept"]
    fern_dec = timings["fern_dec"]
    print("per-field cost (same 2,000 values, best of 20), microseconds per value:")
    print(
        f"  encrypt, new cipher per value   {ours_enc:6.2f}   Fernet {fern_enc:6.2f}   "
        f"ratio {fern_enc / ours_enc:4.1f}x"
    )
    print(
        f"  decrypt, new cipher per value   {ours_dec:6.2f}   Fernet {fern_dec:6.2f}   "
        f"ratio {fern_dec / ours_dec:4.1f}x"
    )
    print(
        f"  encrypt, cipher kept (fields)   {ours_enc_kept:6.2f}   Fernet {fern_enc:6.2f}   "
        f"ratio {fern_enc / ours_enc_kept:4.1f}x"
    )
    print(
        f"  decrypt, cipher kept (fields)   {ours_dec_kept:6.2f}   Fernet {fern_dec:6.2f}   "
        f"ratio {fern_dec / ours_dec_kept:4.1f}x  (target >= 4x)"
    )
    speedup = fern_dec / ours_dec_kept
    return {"field_decrypt_speedup_vs_fernet": figure("field_decrypt_speedup_vs_fernet", speedup)}


def bench_unlock() -> dict[str, dict[str, Any]]:
    """What holding the organisation key costs (issue 16): once per sign-in, the member's
    private key unlocked with their password and the organisation key opened with it, as
    members.unlock does; then on every request, the session's copy opened with the cookie's
    key, as vault.opened does. The same crypto calls with the default cost, no database."""
    import base64

    from crypto import decrypt, encrypt, new_data_key
    from crypto.member_keys import (
        KdfParams,
        lock_private_key,
        new_member_key,
        open_sealed_secret,
        seal_to_member,
        unlock_private_key,
    )

    password, lock, grant = b"a long enough passphrase", b"member-key:1", b"organisation-key:o:v1"
    private, public = new_member_key()
    locked = lock_private_key(private, password, lock, KdfParams(64 * 1024, 3, 4))
    sealed = seal_to_member(public, new_data_key(), grant)
    unlocks = []
    for _ in range(7):
        started = time.perf_counter()
        open_sealed_secret(unlock_private_key(locked, password, lock), sealed, grant)
        unlocks.append((time.perf_counter() - started) * 1000)
    unlock_ms = statistics.median(unlocks)

    cookie_key = new_data_key()
    context = b"session-vault:1:org:o:v1"
    cookie = base64.urlsafe_b64encode(cookie_key).decode()
    stored = base64.b64encode(encrypt(cookie_key, new_data_key(), context)).decode()

    def open_copy(_value: bytes) -> object:
        key = base64.urlsafe_b64decode(cookie.encode("ascii"))
        return decrypt(key, base64.b64decode(stored), context)

    per_request = per_call_us({"open": (open_copy, [b""] * 2000)})["open"]
    print(
        f"organisation key: sign-in unlock {unlock_ms:6.1f} ms (median of 7, Argon2id "
        f"64 MiB / 3 / 4); each request's opening {per_request:5.2f} µs"
    )
    return {
        "sign_in_unlock_ms": figure("sign_in_unlock_ms", unlock_ms),
        "organisation_key_per_request_us": figure("organisation_key_per_request_us", per_request),
    }


def seed(count: int, organisation: Any) -> None:
    """Bulk-create ``count`` applicants: DEKs wrapped in bulk, fields encrypted by pre_save."""
    from casework.cases.models import Applicant
    from casework.keystore.models import DataKey
    from casework.lib import datakeys
    from casework.lib.keys import keyring
    from crypto import new_data_key

    ring = keyring()
    batch = 5000
    for start in range(0, count, batch):
        with datakeys.dek_cache():
            applicants, keys = [], []
            for i in range(start, min(start + batch, count)):
                applicant = Applicant(
                    organisation=organisation,
                    legal_name_latin=f"PERSON NUMBER{i}",
                    legal_name_cyrillic=f"Персона Номер{i}",
                    international_passport_no=f"75 {i:07d}",
                )
                dek = new_data_key()
                key = DataKey(
                    subject_id=applicant.pk,
                    subject_type="applicant",
                    organisation_id=organisation.pk,
                    kek_version=ring.active_version,
                )
                key.wrapped = ring.wrap(dek, datakeys.wrap_context(key))
                datakeys._remember(applicant.pk, dek)
                keys.append(key)
                applicants.append(applicant)
            DataKey.objects.bulk_create(keys)
            Applicant.objects.bulk_create(applicants)


def bench_rotation(sizes: list[int], organisation: Any) -> dict[str, dict[str, Any]]:
    """Time rotate_keys --new-kek (a new KEK made active, then every data key re-wrapped
    under it) at each size; the figure is the time at the last (largest) size."""
    from django.core.management import call_command

    from casework.cases.models import Applicant

    print("rotate_keys --new-kek (re-wrap every DEK):")
    seconds = 0.0
    for size in sizes:
        have = Applicant.objects.count()
        if have < size:
            seed(size - have, organisation)
        started = time.perf_counter()
        call_command(
            "rotate_keys",
            "--new-kek",
            "--batch-size",
            "1000",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
        seconds = time.perf_counter() - started
        print(
            f"  {size:>7,} applicants: {seconds:6.2f} s  ({size / seconds:,.0f} keys/s)"
            + ("  (target < 60 s)" if size >= 100_000 else "")
        )
    return {"rotate_keys_100k_seconds": figure("rotate_keys_100k_seconds", seconds)}


def bench_search(count: int, organisation: Any) -> dict[str, dict[str, Any]]:
    from casework.cases.models import Applicant
    from casework.lib import datakeys
    from casework.lib.fields import index_bits, search
    from crypto import normalise_name

    have = Applicant.objects.count()
    if have < count:
        seed(count - have, organisation)
    target = count // 2
    query = f"Персона Номер{target}"
    wanted = normalise_name(query)
    queryset = Applicant.objects.filter(organisation=organisation)

    timings: list[float] = []

    def lookups(times: int) -> None:
        for _ in range(times):
            with datakeys.dek_cache():
                started = time.perf_counter()
                found = search(queryset, Applicant.NAME_FIELDS, organisation.pk, query)
                timings.append(time.perf_counter() - started)
            assert len(found) == 1

    lookups(10)  # half before the scan, half after it: both see the same machine
    with datakeys.dek_cache():
        started = time.perf_counter()
        keys = Applicant.objects.filter(organisation=organisation).only(
            "id", "organisation_id", "legal_name_cyrillic", "legal_name_latin"
        )
        matches = []
        for chunk_start in range(0, count, 5000):
            chunk = list(keys.order_by("pk")[chunk_start : chunk_start + 5000])
            datakeys.preload(a.pk for a in chunk)
            matches += [a for a in chunk if normalise_name(a.legal_name_cyrillic) == wanted]
        scan_ms = (time.perf_counter() - started) * 1000
    assert len(matches) == 1
    lookups(10)
    index_ms = statistics.median(timings) * 1000
    print(
        f"find one applicant among {count:,} by name ({index_bits()}-bit index, "
        f"{settings_rows()} expected rows):"
    )
    print(f"  blind index (median of 20) {index_ms:9.2f} ms")
    print(
        f"  decrypt every row          {scan_ms:9.2f} ms   ratio {scan_ms / index_ms:,.0f}x "
        "(target >= 100x)"
    )
    speedup = scan_ms / index_ms
    return {
        "blind_index_search_speedup_vs_scan": figure("blind_index_search_speedup_vs_scan", speedup)
    }


def settings_rows() -> str:
    from django.conf import settings

    return f"{settings.CASEWORK_BLIND_INDEX_ROWS:,}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--applicants", type=int, default=100_000)
    parser.add_argument(
        "--rotation", help="applicant counts, comma-separated (default: a tenth and all)"
    )
    parser.add_argument("--no-fields", action="store_true", help="skip the per-field costs")
    add_json_argument(parser)
    args = parser.parse_args()
    rotation = args.rotation or f"{max(1, args.applicants // 10)},{args.applicants}"
    sizes = [int(n) for n in rotation.split(",")]
    results = {} if args.no_fields else bench_fields() | bench_unlock()
    with scratch_data_dir() as data_dir:
        os.environ.setdefault("CASEWORK_BLIND_INDEX_ROWS", str(args.applicants))
        scratch_django(data_dir, "encryption")
        from casework.accounts.models import Organisation

        organisation = Organisation.objects.create(name="Bench")
        first = min(10_000, sizes[0])
        started = time.perf_counter()
        seed(first, organisation)
        print(f"seeding: {first / (time.perf_counter() - started):,.0f} applicants/s (bulk)")
        results |= bench_rotation(sizes, organisation)
        results |= bench_search(args.applicants, organisation)
    write_json(args.json, results)


if __name__ == "__main__":
    main()
