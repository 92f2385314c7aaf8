"""Import benchmark: `import-retirees` throughput at two sizes, against a raw-insert ceiling.

    .venv/bin/python bench/bench_import.py [--sizes 10000,100000] [--batch-size 2000]

For each size: write a CSV of valid fictional retirees (demo generator: valid check digits,
real-format community codes, a mix of categories) into a temp dir, then in a fresh child process
and a fresh database (a SQLite file; or, when DATABASE_URL points at PostgreSQL, a private
database created and dropped here, as tests/conftest.py does):
  1. import it through `imports.import_retirees(spreadsheets.iter_rows(path))` (the CLI's path): rows/s,
     seconds, peak RSS (getrusage maxrss, and its growth over the RSS just before the import);
  2. re-import the same file (every row an update);
  3. the ceiling: delete the rows and insert the very same stored (already encrypted) rows with
     the driver's executemany of a one-row INSERT in one transaction (no parsing, validation,
     hashing or encryption) — import/ceiling is what the import adds on top.
Each size runs in its own process, so peak memory is that size's alone.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_PII_KEY = "YmVuY2gtcGlpLWtleS0zMi1ieXRlcy1sb25nLWVub3VnaCE="


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _rss_mb() -> float:
    """Resident memory now (Linux /proc), to measure growth from a baseline below the peak."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def write_csv(path: Path, size: int) -> None:
    from app.domain.demo.seed import DEMO_COMMUNITIES, fictional_retirees

    with path.open("w", encoding="utf-8", newline="") as out:
        writer = None
        for row in fictional_retirees(size, DEMO_COMMUNITIES, seed=size):
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)


def child(size: int, csv_path: str, database_url: str, batch_size: int) -> None:
    """Runs in a fresh process: one size, one fresh database. Prints one JSON line."""
    import logging

    from sqlalchemy import delete, func, select

    from app import create_app
    from app.domain.archives import imports
    from app.domain.demo.seed import DEMO_REGIONS
    from app.domain.files import spreadsheets
    from app.extensions import db
    from app.models import Retiree, RetireeCategory

    app = create_app("testing", {"DATABASE_URL": database_url, "REDIS_URL": "memory://bench",
                                 "PII_KEY": BENCH_PII_KEY, "SECRET_KEY": "bench"})
    logging.getLogger().setLevel(logging.WARNING)
    with app.app_context():
        db.create_all()
        imports.import_regions({"code": c, "name": n, "parent_code": p, "level": lv} for c, n, p, lv in DEMO_REGIONS)
        db.session.remove()
        baseline = _rss_mb()

        started, cpu_started = time.perf_counter(), time.process_time()
        result = imports.import_retirees(spreadsheets.iter_rows(csv_path), batch_size=batch_size)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        peak = _maxrss_mb()
        assert result.imported == size and result.rejected == 0, result.summary()
        assert db.session.scalar(select(func.count()).select_from(Retiree)) == size

        started = time.perf_counter()
        again = imports.import_retirees(spreadsheets.iter_rows(csv_path), batch_size=batch_size)
        reimport_seconds = time.perf_counter() - started
        assert again.updated == size and again.imported == 0, again.summary()

        # The ceiling: the same stored rows (already encrypted), re-inserted with the driver's own
        # executemany and a one-row INSERT, in one transaction.
        table = Retiree.__table__
        names = [c.name for c in table.columns if c.name != "id"]
        raw = db.session.connection().connection.driver_connection
        cursor = raw.cursor()
        cursor.execute(f"SELECT {', '.join(names)} FROM retiree")
        prebuilt = cursor.fetchall()
        db.session.execute(delete(RetireeCategory.__table__))
        db.session.execute(delete(table))
        db.session.commit()
        mark = "?" if db.engine.dialect.name == "sqlite" else "%s"
        sql = f"INSERT INTO retiree ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"
        raw = db.session.connection().connection.driver_connection
        cursor = raw.cursor()
        started = time.perf_counter()
        cursor.executemany(sql, prebuilt)
        db.session.commit()
        ceiling_seconds = time.perf_counter() - started
        assert db.session.scalar(select(func.count()).select_from(Retiree)) == size

    print(json.dumps({"size": size, "seconds": seconds, "cpu_seconds": cpu_seconds,
                      "reimport_seconds": reimport_seconds, "ceiling_seconds": ceiling_seconds,
                      "baseline_mb": baseline, "peak_mb": peak}))


def _private_database(url: str, tmp: Path, size: int) -> tuple[str, Callable[[], None]]:
    """A fresh database: a SQLite file in `tmp`, or a private PostgreSQL database dropped afterwards."""
    if not url.startswith("postgres"):
        path = tmp / f"bench-{size}.db"
        return f"sqlite:///{path}", lambda: None
    from sqlalchemy import create_engine, text

    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://").replace("postgres://", "postgresql://"))
    name = f"{parts.path.lstrip('/') or 'bench'}_bench_{secrets.token_hex(4)}"
    admin = create_engine(urlunsplit(parts._replace(scheme="postgresql+psycopg")), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return urlunsplit(parts._replace(path="/" + name)), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated row counts")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--child", nargs=3, metavar=("SIZE", "CSV", "DATABASE_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), args.child[1], args.child[2], args.batch_size)
        return

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    target = os.environ.get("DATABASE_URL", "")
    engine_name = "postgresql" if target.startswith("postgres") else "sqlite"
    print(f"import-retirees benchmark on {engine_name}, batch size {args.batch_size}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        for size in sizes:
            csv_path = Path(tmp) / f"retirees-{size}.csv"
            write_csv(csv_path, size)
            url, drop = _private_database(target, Path(tmp), size)
            try:
                env = dict(os.environ, PYTHONPATH=str(ROOT))
                out = subprocess.run([sys.executable, __file__, "--batch-size", str(args.batch_size),
                                      "--child", str(size), str(csv_path), url],
                                     check=True, capture_output=True, text=True, env=env, cwd=ROOT)
            except subprocess.CalledProcessError as exc:
                sys.exit(f"size {size} failed:\n{exc.stderr[-3000:]}")
            finally:
                drop()
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(r)
            print(f"{size:>8} rows  import {r['seconds']:6.2f} s (importer CPU {r['cpu_seconds']:5.2f} s)  "
                  f"{size / r['seconds']:6.0f} rows/s  "
                  f"| re-import {r['reimport_seconds']:6.2f} s  {size / r['reimport_seconds']:6.0f} rows/s  "
                  f"| ceiling {r['ceiling_seconds']:5.2f} s  {size / r['ceiling_seconds']:6.0f} rows/s  "
                  f"import/ceiling {r['seconds'] / r['ceiling_seconds']:3.1f}x  "
                  f"| peak RSS {r['peak_mb']:.0f} MB (+{r['peak_mb'] - r['baseline_mb']:.0f} MB over "
                  f"the {r['baseline_mb']:.0f} MB before the import)")
    if len(results) >= 2:
        small, large = results[0], results[-1]
        factor = large["size"] / small["size"]
        print(f"scaling {small['size']} → {large['size']} rows ({factor:.0f}x rows): time x"
              f"{large['seconds'] / small['seconds']:.1f}, rows/s ratio "
              f"{(large['size'] / large['seconds']) / (small['size'] / small['seconds']):.2f} "
              f"(1.00 = linear), peak RSS growth +{large['peak_mb'] - small['peak_mb']:.0f} MB; "
              f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
