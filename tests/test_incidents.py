"""The incident write-ups this product exists for (public documents, copied in fixtures/)."""

from __future__ import annotations

from pathlib import Path

from rotator.config import ScanSettings
from rotator.scan.scan_files import ScanOptions, scan_paths

INCIDENTS = Path(__file__).parent / "fixtures" / "incidents"


# SHA-256 of the five production credentials pasted into incident 000 (a public write-up);
# the values themselves stay in fixtures/.
INCIDENT_000 = {
    "nextauth-secret": "4e72dce119b972cc79cb7d09fdabfe5f707ec9974902665048495d108e3159ad",
    "jwt-secret": "e68e0d30fd1f1229b1ebb87b259f47eeeb54a6c5163eebc10e949f5d6344c905",
    "postgres-url-password": "f1f670480f8f712b3dbc6a4414841df00b2c9d1a005a86eecd0747258da412c0",
    "resend-api-key": "474e420e3bb0e6fd3534399d081ba246cc3279088a6108c8be270755fccf98bd",
    "secret-key": "67c5f37c2b26fe85be807a468ce521074ef76f48c82a12a0179e22af39ee0b35",
}


def _scan(path: Path):
    return scan_paths([path], ScanSettings(), ScanOptions(jobs=1))


def test_incident_000_every_credential_is_found_in_the_shell_block_and_the_table():
    result = _scan(INCIDENTS / "000_ae2cff7d65658a11.txt")
    by_rule = {f.rule: f for f in result.findings}
    assert set(by_rule) == set(INCIDENT_000)
    for rule, digest in INCIDENT_000.items():
        assert by_rule[rule].secret_sha256 == digest
        # once in `railway variables set … \` and once in the Markdown table
        assert [loc.line for loc in by_rule[rule].locations] in ([53, 73], [54, 74], [56, 76], [57, 77], [63, 83])
    assert sum(len(f.locations) for f in result.findings) == 10


def test_incident_000_names_are_the_variables():
    result = _scan(INCIDENTS / "000_ae2cff7d65658a11.txt")
    names = {f.rule: f.name for f in result.findings}
    assert names == {
        "nextauth-secret": "NEXTAUTH_SECRET",
        "jwt-secret": "JWT_SECRET",
        "postgres-url-password": "DATABASE_URL",
        "resend-api-key": "RESEND_API_KEY",
        "secret-key": "SECRET_KEY",
    }


def test_incident_004_fallbacks_are_insecure_defaults():
    result = _scan(INCIDENTS / "004_cfc4bd6d52ea4172.txt")
    kinds = sorted((f.rule, f.kind, f.locations[0].line) for f in result.findings)
    assert kinds == [
        ("insecure-default-hostname", "insecure_default", 46),
        ("insecure-default-random", "insecure_default", 36),
    ]


def test_incidents_001_to_003_placeholders_are_never_reported():
    for name in ("001_0e8635852b7ecbda.txt", "002_00b817a83828a38c.txt", "003_ecc44c67ee66ac37.txt"):
        result = _scan(INCIDENTS / name)
        assert result.findings == [], (name, [(f.rule, f.redacted) for f in result.findings])


def test_the_python_engine_finds_exactly_the_same(tmp_path):
    hyperscan_result = scan_paths([INCIDENTS], ScanSettings(engine="hyperscan"), ScanOptions(jobs=1))
    python_result = scan_paths([INCIDENTS], ScanSettings(engine="python"), ScanOptions(jobs=1))
    key = lambda r: sorted((f.fingerprint, tuple(l.line for l in f.locations)) for f in r.findings)  # noqa: E731,E741
    assert key(hyperscan_result) == key(python_result)
    assert python_result.engine == "python" and hyperscan_result.engine == "hyperscan"
