"""The Python module against the CLI on SPEC §8's example (tests/data/spec_example.jsonl).

Needs the built module on PYTHONPATH (build/python) and the CLI: LIQL_CLI, by
default build/cli/liqledger. scripts/test sets both.
"""

import json
import os
import pathlib
import subprocess

import pytest

import liqledger

REPO = pathlib.Path(__file__).resolve().parents[2]
SPEC_EXAMPLE = REPO / "tests" / "data" / "spec_example.jsonl"
CLI = os.environ.get("LIQL_CLI", str(REPO / "build" / "cli" / "liqledger"))


def cli(*args):
    run = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    return run.stdout


def cli_json(*args):
    return liqledger._exact(json.loads(cli(*args)))


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("ledger") / "db"
    assert cli("append", path, SPEC_EXAMPLE).startswith("appended 10 events, head seq 10")
    return path


@pytest.fixture(scope="module")
def ledger(db):
    return liqledger.open(db)


def test_open_reads_the_head(ledger, db):
    assert ledger.head_seq == 10
    assert ledger.head_ts == 5000
    # `verify` prints "chain verified to head <hex>".
    assert f"chain verified to head {ledger.head_chain};" in cli("verify", db)


def test_replay_matches_the_cli(ledger, db):
    state = ledger.replay()
    summary = cli_json("replay", db, "--json")
    assert state.state_hash == summary["state_hash"]
    assert (state.seq, state.ts, state.accounts) == (10, 5000, 2)
    assert state.summary() == summary
    assert state.totals == summary["totals"]
    assert state.account_ids() == [7, 8]
    at5 = ledger.replay(to=5)
    assert at5.seq == 5
    assert at5.state_hash == cli_json("replay", db, "--to", 5, "--json")["state_hash"]


def test_account_matches_the_cli(ledger, db):
    for seq in (8, 10):
        account = ledger.replay(to=seq).account(7)
        assert account == cli_json("account", db, 7, "--at", seq, "--json")
    # After the liquidation: 1000 USDC − 800 loss − 72 penalty = 128 USDC, in base units, as an int.
    account = ledger.replay().account(7)
    assert account["balances"][0]["amount"] == 128_000_000
    assert account["balances"][0]["decimal"] == "128"
    assert account["hf_maint"] == "inf"


def test_audit_has_spec_8s_exact_integers(ledger, db):
    records = ledger.audit()
    assert records == [liqledger._exact(json.loads(line)) for line in cli("audit", db, "--format", "jsonl").splitlines()]
    assert len(records) == 1
    record = records[0]
    assert (record["seq"], record["kind"], record["verdict"]) == (10, "perp", "ALLOWED_EXCESS")
    # SPEC §8 (as tests/cli_test.cc asserts): s* = 2.906 ETH, all 4 ETH allowed and executed,
    # penalty 1 % of 4 · 1800 = 72 USDC split 36 / 21.6 / 14.4.
    assert record["required"] == 2_906_000_000
    assert record["allowed"] == 4_000_000_000
    assert record["executed"] == 4_000_000_000
    assert record["penalty"] == {"total": 72_000_000, "liquidator": 36_000_000, "insurance": 21_600_000,
                                 "treasury": 14_400_000}
    assert record["pre"]["h_maint"] == -160_000_000
    assert record["pre"]["h_target"] == -340_000_000
    assert record["pre"]["status"] == "LIQUIDATABLE"
    # A WAD-scaled price beyond 64 bits stays exact.
    assert record["price"]["price"] == 1800 * 10**18
    assert type(record["price"]["price"]) is int
    assert record["state_hash"] == ledger.replay().state_hash
    assert ledger.audit(to=9) == []


def test_audit_frame_has_the_same_rows(ledger):
    pandas = pytest.importorskip("pandas")
    frame = liqledger.audit_frame(ledger)
    assert isinstance(frame, pandas.DataFrame)
    assert len(frame) == len(ledger.audit()) == 1
    row = frame.iloc[0]
    assert row["seq"] == 10
    assert row["required"] == 2_906_000_000 and type(row["required"]) is int
    assert row["penalty.total"] == 72_000_000
    assert row["price.price"] == 1800 * 10**18 and type(row["price.price"]) is int
    assert row["requested"] is None
    assert frame["required"].dtype == object
    assert not any(kind.kind == "f" for kind in frame.dtypes), frame.dtypes
    assert str(frame["seq"].dtype) == "int64"


def test_a_proof_verifies_and_a_tampered_one_does_not(ledger):
    proof = ledger.prove(7)
    assert proof["format"] == "liqledger-proof-2"
    assert proof["state_hash"] == ledger.replay().state_hash
    ok, message = liqledger.verify_proof(proof)
    assert ok, message
    assert liqledger.verify_proof(json.dumps(proof), state_hash=proof["state_hash"])[0]
    at8 = ledger.prove(7, at=8)
    assert at8["seq"] == 8 and liqledger.verify_proof(at8)[0]

    tampered = json.loads(json.dumps(proof))
    tampered["account"]["balances"][0]["amount"] = str(int(proof["account"]["balances"][0]["amount"]) + 1)
    ok, message = liqledger.verify_proof(tampered)
    assert not ok and message.startswith("proof does not hold")
    ok, message = liqledger.verify_proof(proof, state_hash="00" * 32)
    assert not ok and "not the expected" in message

    malformed = dict(proof, seq="ten")
    with pytest.raises(liqledger.Error):
        liqledger.verify_proof(malformed)


def test_whatif_matches_the_cli(ledger, db):
    policies = ["partial", "full", "close_factor:0.5:0.95"]
    result = ledger.whatif(policies)
    args = [arg for policy in policies for arg in ("--policy", policy)]
    assert result == cli_json("whatif", db, *args, "--format", "json")
    assert [variant["policy"] for variant in result["variants"]] == policies

def test_whatif_with_impact_matches_the_cli(ledger, db, tmp_path):
    impact = {"default": {"depth": "1000", "recovery_per_s": "0.05"}}
    impact_file = tmp_path / "impact.json"
    impact_file.write_text(json.dumps(impact))
    with_impact = ledger.whatif(["full"], impact=impact)
    assert with_impact == ledger.whatif(["full"], impact=json.dumps(impact))
    assert with_impact == cli_json("whatif", db, "--policy", "full", "--impact", impact_file, "--format", "json")
    assert with_impact["variants"][0]["instruments"][0]["max_impact"] > 0


def test_append_through_the_module_gives_the_cli_state(tmp_path, ledger):
    path = tmp_path / "db"
    assert liqledger.append(path, SPEC_EXAMPLE.read_text()) == (10, 10)
    mine = liqledger.open(path)
    assert mine.head_chain == ledger.head_chain
    assert mine.replay().state_hash == ledger.replay().state_hash


def test_errors_raise_liqledger_error(tmp_path, ledger):
    with pytest.raises(liqledger.Error):
        liqledger.open(tmp_path / "missing")
    with pytest.raises(liqledger.Error, match="account 999 does not exist at seq 10"):
        ledger.replay().account(999)
    with pytest.raises(liqledger.Error, match="account 999"):
        ledger.prove(999)
    with pytest.raises(liqledger.Error, match="no-such-rule"):
        ledger.whatif(["no-such-rule"])
    with pytest.raises(liqledger.Error, match="impact"):
        ledger.whatif(["full"], impact="{not json")
    bad = SPEC_EXAMPLE.read_text().replace('"amount":"1000"', '"amount":"lots"')
    with pytest.raises(liqledger.Error, match="line 6"):
        liqledger.append(tmp_path / "refused", bad)
    # Nothing was written: the refused batch left no events.
    with pytest.raises(liqledger.Error):
        liqledger.open(tmp_path / "refused").replay().account(7)
    assert issubclass(liqledger.Error, RuntimeError)
