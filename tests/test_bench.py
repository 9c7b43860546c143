"""The benchmark's own building blocks still run against the current core (a rename in the core
must not leave ``scripts/bench.py`` broken until someone next measures)."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

from vault.session import Vault

ROOT = Path(__file__).resolve().parent.parent


def _bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench", ROOT / "scripts" / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module
    spec.loader.exec_module(module)
    return module


def test_the_fast_record_builder_makes_records_the_vault_opens(tmp_path: Path) -> None:
    bench = _bench()
    vault, _code = Vault.init(tmp_path / "v", bench.ADMIN, "a throwaway password", roles=("staff",),
                              argon2=bench.CHEAP_ARGON2)
    with vault.unlock(bench.ADMIN, "a throwaway password") as admin:
        admin.add_user(bench.READER, ["safeguarding_officer"])
    with vault.unlock(bench.ADMIN, "a throwaway password") as session:
        bench.build_records(session, 30, lambda _message: None)
        page = session.list_records(limit=50)
        assert len(page) == 30
        submitted = next(r for r in page if r.status == "submitted")
        assert session.view_record(submitted.reference).signed


def test_the_guidance_figure_runs() -> None:
    bench = _bench()
    tiny = dataclasses.replace(bench.QUICK, guidance_runs=2)
    figure = bench.bench_guidance(tiny, lambda _message: None)
    assert figure["words"] >= bench.GUIDANCE_WORDS and figure["findings"] > 0 and figure["ratio"] > 0


def test_the_search_figures_run_and_the_baseline_finds_what_search_finds(tmp_path: Path) -> None:
    bench = _bench()
    tiny = dataclasses.replace(bench.QUICK, search_records=60, search_runs=1)
    figures = bench.bench_search(tmp_path, tiny, lambda _message: None)
    assert set(figures) == {"search_10k_cold", "search_10k_warm"}
    assert all(f["records"] == 60 and f["ratio"] > 0 and f["per_s"] > 0 for f in figures.values())


def test_the_case_and_audit_page_figures_run(tmp_path: Path) -> None:
    bench = _bench()
    tiny = dataclasses.replace(bench.QUICK, case_runs=1, list_runs=1)
    figures = bench.bench_cases(tmp_path, tiny, lambda _message: None)
    assert figures["case_open_20"]["records"] == bench.CASE_RECORDS
    assert figures["chronology_500"]["entries"] == 500 and figures["chronology_500"]["ratio"] > 0
    session = bench.build_log(tmp_path, 500, lambda _message: None)
    try:
        with bench.raw_connection(session.vault.db_path, session.secrets.db_key) as raw:
            page = bench.bench_audit_page(session, raw, tiny, 500, lambda _message: None)
    finally:
        session.lock()
    assert page["events"] == 500 and page["ratio"] > 0 and "rare_action_median_s" in page


def test_the_list_figure_runs_its_caught_page_query_raw(tmp_path: Path) -> None:
    bench = _bench()
    tiny = dataclasses.replace(bench.QUICK, records=1_000, list_runs=1, list_budget_s=0.0)
    figure = bench.bench_list(tmp_path, tiny, lambda _message: None)
    assert figure["records"] == 1_000 and figure["runs"] == 1 and figure["ratio"] > 0


def test_the_growth_figures_run_at_each_size(tmp_path: Path) -> None:
    bench = _bench()
    tiny = dataclasses.replace(bench.QUICK, records=400, search_records=40, list_runs=1, list_budget_s=0.0,
                               search_runs=1, read_runs=1, runs=1)
    measured = {"list_page_100k": {"median_s": 1.0, "baseline_s": 1.0, "ratio": 1.0}}
    grown = bench.growth(tmp_path, tiny, 0, measured, lambda _message: None, records_sizes=(400, 450),
                         search_sizes=(30,), events_sizes=(500,))
    assert grown["list_page"]["400"]["median_s"] == 1.0  # taken from the main run
    assert grown["list_page"]["450"]["ratio"] > 0 and grown["search_cold"]["30"]["per_s"] > 0
    for name in ("audit_verify_hash", "audit_verify_signed", "audit_export", "audit_page"):
        assert grown[name]["500"]["median_s"] > 0, name
    assert any("list_page" in line for line in bench.growth_lines(grown))


def test_the_check_figure_runs_beside_the_raw_page_check(tmp_path: Path) -> None:
    bench = _bench()
    tiny = dataclasses.replace(bench.QUICK, records=300, check_runs=1)
    figure = bench.bench_check(tmp_path, tiny, lambda _message: None)
    assert figure["baseline"] == "raw_cipher_integrity_check" and figure["ratio"] > 0
    assert figure["records"] == 300 and figure["pages"] > 0 and figure["runs"] == 1
    phases = [figure[f"{name}_s"] for name in ("pages", "integrity", "foreign_keys", "audit")]
    assert all(seconds >= 0 for seconds in phases) and sum(phases) <= figure["median_s"] * 1.01
    assert "check_100k" in bench.meta(tiny, 0)["runs"]
