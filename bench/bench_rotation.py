"""The rotation side, timed end to end: `rotator demo` (sandbox start, leak planted, audit,
locate, plan, rotate with two redeploys, verify; target under 60 s) and one rotation per
family against a seeded sandbox (NEXTAUTH_SECRET on Railway + Vercel, the PostgreSQL role
password with a consumer redeploy, a Resend key issued and the old one deleted).

    python bench/bench_rotation.py [--runs 5]

No peer tool rotates credentials, so there is no side-by-side ratio here: the numbers are the
wall time of whole processes (`rotator demo`) and of library calls (per family), and the
sandbox's deploy step delay is part of them (0.02 s per deployment step).
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

from measure import Series, machine_description, run_measured

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def time_demo(runs: int) -> Series:
    series = Series("rotator demo")
    for _ in range(runs):
        run = run_measured([sys.executable, "-m", "rotator", "demo"], cwd=ROOT)
        if run.returncode != 0:
            raise SystemExit(f"rotator demo exited {run.returncode}")
        series.runs.append(run)
    return series


def time_families(runs: int) -> dict[str, list[float]]:
    from rotate_kit import database_group, resend_group

    from rotator.config import load_config
    from rotator.rotate.config import load_rotation_settings
    from rotator.rotate.run import start_rotation
    from rotator.sandbox.health_proxy import BackendHealthProxy
    from rotator.sandbox.rotation_config import sandbox_rotation_config
    from rotator.sandbox.sandbox import Sandbox

    timings: dict[str, list[float]] = {"nextauth": [], "postgres": [], "resend": []}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp, Sandbox(step_delay=0.02) as sandbox:
            sandbox.seed_incident()
            with BackendHealthProxy(sandbox) as health:
                extra = database_group() + resend_group(
                    params=f'key_id = "{sandbox.ids.resend_key_id}"')
                path = Path(tmp) / "rotator.toml"
                path.write_text(sandbox_rotation_config(
                    railway_url=sandbox.railway.graphql_url, vercel_url=sandbox.vercel.url,
                    health_url=health.url, state_dir=Path(tmp) / "state", extra=extra))
                environ = {**os.environ, **sandbox.client_environment(),
                           "ROTATOR_JOURNAL_KEY": base64.b64encode(
                               secrets.token_bytes(32)).decode()}
                settings = load_rotation_settings(load_config(path), environ)
                for group, family in (("nextauth", "nextauth"), ("database", "postgres"),
                                      ("resend", "resend")):
                    started = time.perf_counter()
                    result = start_rotation(settings, group, environ=environ,
                                            echo=lambda _: None)
                    timings[family].append(time.perf_counter() - started)
                    if result.state != "rotated":
                        raise SystemExit(f"{group}: {result.state} {result.account}")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(machine_description())
    demo = time_demo(args.runs)
    print(f"rotator demo      p50 {demo.median:.2f}s  best {demo.best:.2f}s  "
          f"worst {demo.percentile(1.0):.2f}s  peak RSS {demo.peak_rss_mb:.0f} MB "
          f"({len(demo.runs)} runs; target < 60 s)")
    for family, values in time_families(args.runs).items():
        values.sort()
        print(f"rotate {family:9s} p50 {values[len(values) // 2]:.2f}s  best {values[0]:.2f}s "
              f"worst {values[-1]:.2f}s  ({len(values)} runs)")


if __name__ == "__main__":
    main()
