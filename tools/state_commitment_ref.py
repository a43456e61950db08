#!/usr/bin/env python3
"""Reference implementation of the liqledger v2 state commitment (LIQL-STATE-2).

An independent cross-check of the C++ state hasher, written from SPEC.md
§7.1-7.3 only (not from the project's C++ code): the globals hash, the Merkle
sum tree over the accounts in creation order (RFC 6962 shape), the state hash,
and §7.3 inclusion proofs. Python 3, standard library only.

Usage:
  state_commitment_ref.py STATE.json               hashes of a state ("-" = stdin)
  state_commitment_ref.py STATE.json --prove ID    inclusion proof of account ID
  state_commitment_ref.py --verify-proof PROOF.json [--expect STATE_HASH]
  state_commitment_ref.py --self-test

STATE.json: integers are decimal strings (ids, decimals, seq, ts may also be
JSON numbers); amounts in base units, prices and ratios WAD-scaled.
  {"seq": "12", "ts": "6000",
   "assets":  [{"id": 0, "symbol": "USDC", "decimals": 6, "borrowable": false,
                "max_oracle_age_us": "0",
                "asset_weight": {"init": "…", "target": "…", "maint": "…"},
                "liab_weight": {…}, "liquidation_bonus": "0",
                "oracle": null | {"price": "…", "publish_ts": "…"}}],
   "markets": [{"id", "symbol", "base_decimals", "margin": {levels},
                "liquidation_fee", "lot_size", "min_position",
                "max_oracle_age_us", "max_trade_deviation", "oracle"}],
   "funds":   [{"asset", "insurance", "treasury", "bad_debt", "external"}],
   "protocol": {"mode": "enforce"|"observe", "policy": "partial"|"full"|"close_factor",
                "close_factor", "full_liquidation_hf", "liquidator_share",
                "insurance_share", "seize_tolerance"},
   "accounts": [{"id": 7, "balances": [{"asset": 0, "amount": "…"}],
                 "positions": [{"market": 1, "base": "…", "quote": "…"}]}, …]}
Accounts are listed in creation order. Records are sorted by id here; all-zero
funds, zero balances and empty positions are dropped, as §7.1 omits them; an
absent oracle is null or missing; close_factor and full_liquidation_hf are
encoded as 0 unless the policy is close_factor (§7.1).

Output: globals_hash (and each record's hash), each account's leaf hash and
sums, root_hash, totals and state_hash; --prove prints a liqledger-proof-2
object instead. Beyond §7.3, the verifier refuses sums that are not canonical
or hold a negative credit or debit, and hashes not in lowercase hex.
"""
import argparse
import copy
import hashlib
import json
import re
import sys

INT_MIN, INT_MAX = -(1 << 255), (1 << 255) - 1
MODES = {"enforce": 0, "observe": 1}
POLICIES = {"partial": 0, "full": 1, "close_factor": 2}


def H(data):
    return hashlib.sha256(data).digest()


# ---- §7.1 encodings --------------------------------------------------------
def to_int(x):
    if isinstance(x, int) and not isinstance(x, bool):
        return x
    if isinstance(x, str) and re.fullmatch(r"-?[0-9]+", x):
        return int(x)
    raise ValueError(f"not an integer: {x!r}")


def _fixed(x, lo, hi, size, signed=False):
    v = to_int(x)
    if not lo <= v <= hi:
        raise ValueError(f"out of range: {v}")
    return v.to_bytes(size, "big", signed=signed)


def u8(x):  return _fixed(x, 0, 0xFF, 1)
def u32(x): return _fixed(x, 0, 0xFFFFFFFF, 4)
def u64(x): return _fixed(x, 0, 0xFFFFFFFFFFFFFFFF, 8)
def Int(x): return _fixed(x, INT_MIN, INT_MAX, 32, signed=True)


def boolean(b):
    if not isinstance(b, bool):
        raise ValueError(f"not a boolean: {b!r}")
    return u8(int(b))


def text(s):
    b = s.encode("utf-8")
    return u32(len(b)) + b


def levels(lv):
    return Int(lv["init"]) + Int(lv["target"]) + Int(lv["maint"])


def oracle(o):
    if o is None:
        return u8(0) + Int(0) + u64(0)
    return u8(1) + Int(o["price"]) + u64(o["publish_ts"])


def enum(x, names):
    return u8(names[x] if isinstance(x, str) else x)


def asset_record(a):
    if to_int(a["id"]) == 0 and a.get("oracle") is not None:
        raise ValueError("asset 0 never has an oracle")
    return (u32(a["id"]) + text(a["symbol"]) + u32(a["decimals"]) + boolean(a["borrowable"])
            + u64(a["max_oracle_age_us"]) + levels(a["asset_weight"]) + levels(a["liab_weight"])
            + Int(a["liquidation_bonus"]) + oracle(a.get("oracle")))


def market_record(m):
    return (u32(m["id"]) + text(m["symbol"]) + u32(m["base_decimals"]) + levels(m["margin"])
            + Int(m["liquidation_fee"]) + Int(m["lot_size"]) + Int(m["min_position"])
            + u64(m["max_oracle_age_us"]) + Int(m["max_trade_deviation"]) + oracle(m.get("oracle")))


FUND_FIELDS = ("insurance", "treasury", "bad_debt", "external")


def funds_record(f):
    return u32(f["asset"]) + b"".join(Int(f[k]) for k in FUND_FIELDS)


def protocol_record(p):
    policy = enum(p["policy"], POLICIES)
    cf = policy == b"\x02"   # close_factor and full_liquidation_hf are 0 unless close_factor
    return (enum(p["mode"], MODES) + policy
            + Int(p.get("close_factor", "0") if cf else 0)
            + Int(p.get("full_liquidation_hf", "0") if cf else 0)
            + Int(p["liquidator_share"]) + Int(p["insurance_share"]) + u64(p["seize_tolerance"]))


def ascending(keys):
    return all(a < b for a, b in zip(keys, keys[1:]))


def parse_account(a, strict):
    """-> (id, [(asset, amount)], [(market, base, quote)]), canonical as §7.1.
    strict (proofs): the input must already be canonical."""
    bal = [(to_int(b["asset"]), to_int(b["amount"])) for b in a["balances"]]
    pos = [(to_int(p["market"]), to_int(p["base"]), to_int(p["quote"])) for p in a["positions"]]
    if any(b == 0 and q != 0 for _, b, q in pos):
        raise ValueError("a position with base 0 is settled and removed")
    cb, cp = sorted(b for b in bal if b[1]), sorted(p for p in pos if p[1])
    if not (ascending([b[0] for b in cb]) and ascending([p[0] for p in cp])) \
            or (strict and (cb, cp) != (bal, pos)):
        raise ValueError(f"account {a['id']}: balances/positions not canonical")
    return to_int(a["id"]), cb, cp


def account_record(acc):
    aid, bal, pos = acc
    return (u64(aid) + u32(len(bal)) + b"".join(u32(a) + Int(v) for a, v in bal)
            + u32(len(pos)) + b"".join(u32(m) + Int(b) + Int(q) for m, b, q in pos))


# Sums: {asset: (credit, debit)}, never holding a (0, 0) entry.
def account_sums(acc):
    return {a: (max(v, 0), max(-v, 0)) for a, v in acc[1]}


def add_sums(x, y):
    r = dict(x)
    for a, (c, d) in y.items():
        c0, d0 = r.get(a, (0, 0))
        r[a] = (c0 + c, d0 + d)
    return {a: cd for a, cd in r.items() if cd != (0, 0)}


def sums_bytes(s):
    items = sorted(s.items())
    return u32(len(items)) + b"".join(u32(a) + Int(c) + Int(d) for a, (c, d) in items)


def sums_json(s):
    return [{"asset": a, "credit": str(c), "debit": str(d)} for a, (c, d) in sorted(s.items())]


def parse_sums(lst):
    """Strict: ascending assets, credit and debit >= 0, no all-zero entry."""
    s = [(to_int(e["asset"]), to_int(e["credit"]), to_int(e["debit"])) for e in lst]
    if not ascending([a for a, _, _ in s]) or any(c < 0 or d < 0 or c == d == 0 for _, c, d in s):
        raise ValueError("sums not canonical")
    return {a: (c, d) for a, c, d in s}


def parse_hash(x):
    if not (isinstance(x, str) and re.fullmatch(r"[0-9a-f]{64}", x)):
        raise ValueError(f"not a lowercase hex hash: {x!r}")
    return bytes.fromhex(x)


# ---- §7.2 the state hash ---------------------------------------------------
def sorted_unique(items, key):
    items = sorted(items, key=lambda r: to_int(r[key]))
    if not ascending([to_int(r[key]) for r in items]):
        raise ValueError(f"duplicate {key}")
    return items


def globals_parts(st):
    assets = [H(asset_record(a)) for a in sorted_unique(st["assets"], "id")]
    markets = [H(market_record(m)) for m in sorted_unique(st["markets"], "id")]
    funds = [f for f in sorted_unique(st["funds"], "asset") if any(to_int(f[k]) for k in FUND_FIELDS)]
    return assets, markets, [(to_int(f["asset"]), H(funds_record(f))) for f in funds], \
        protocol_record(st["protocol"])


def globals_hash(assets, markets, funds, proto):
    return H(b"LIQL-GLOBALS-2" + u32(len(assets)) + b"".join(assets)
             + u32(len(markets)) + b"".join(markets)
             + u32(len(funds)) + b"".join(h for _, h in funds) + proto)


# A tree node is (hash, sums).
def leaf(acc):
    return H(b"\x00" + account_record(acc)), account_sums(acc)


def node(l, r):
    return H(b"\x01" + l[0] + sums_bytes(l[1]) + r[0] + sums_bytes(r[1])), add_sums(l[1], r[1])


def split(n):
    """RFC 6962: the largest power of two < n (n > 1)."""
    k = 1
    while 2 * k < n:
        k *= 2
    return k


def tree(leaves):
    if not leaves:
        return bytes(32), {}
    if len(leaves) == 1:
        return leaves[0]
    k = split(len(leaves))
    return node(tree(leaves[:k]), tree(leaves[k:]))


def audit_path(m, leaves):
    """RFC 6962 PATH(m, D[n]), leaf level first."""
    if len(leaves) == 1:
        return []
    k = split(len(leaves))
    if m < k:
        return audit_path(m, leaves[:k]) + [tree(leaves[k:])]
    return audit_path(m - k, leaves[k:]) + [tree(leaves[:k])]


def sibling_on_left(m, n):
    """For each level of PATH(m, D[n]), leaf level first: is the sibling the left child?"""
    if n == 1:
        return []
    k = split(n)
    return sibling_on_left(m, k) + [False] if m < k else sibling_on_left(m - k, n - k) + [True]


def state_hash(seq, ts, g, n, root):
    return H(b"LIQL-STATE-2" + u64(seq) + u64(ts) + g + u64(n) + root[0] + sums_bytes(root[1]))


def commit(st):
    """All the figures of a state description, as a JSON-ready dict."""
    parts = globals_parts(st)
    g = globals_hash(*parts)
    accounts = [parse_account(a, strict=False) for a in st["accounts"]]
    if len({a[0] for a in accounts}) != len(accounts):
        raise ValueError("duplicate account id")
    leaves = [leaf(a) for a in accounts]
    root = tree(leaves)
    seq, ts = to_int(st["seq"]), to_int(st["ts"])
    out = {
        "seq": seq, "ts": ts, "globals_hash": g.hex(),
        "globals": {"asset_record_hashes": [h.hex() for h in parts[0]],
                    "market_record_hashes": [h.hex() for h in parts[1]],
                    "funds_record_hashes": [{"asset": a, "hash": h.hex()} for a, h in parts[2]],
                    "protocol_record": parts[3].hex()},
        "account_count": len(accounts),
        "accounts": [{"index": i, "id": a[0], "leaf_hash": l[0].hex(), "sums": sums_json(l[1])}
                     for i, (a, l) in enumerate(zip(accounts, leaves))],
        "root_hash": root[0].hex(), "totals": sums_json(root[1]),
        "state_hash": state_hash(seq, ts, g, len(accounts), root).hex(),
    }
    return out, accounts, leaves


# ---- §7.3 inclusion proofs -------------------------------------------------
def prove(st, account_id):
    out, accounts, leaves = commit(st)
    index = next((i for i, a in enumerate(accounts) if a[0] == account_id), None)
    if index is None:
        raise ValueError(f"no account {account_id}")
    aid, bal, pos = accounts[index]
    return {
        "format": "liqledger-proof-2", "seq": out["seq"], "ts": out["ts"],
        "state_hash": out["state_hash"], "globals_hash": out["globals_hash"],
        "account_count": len(accounts), "index": index,
        "account": {"id": aid, "balances": [{"asset": a, "amount": str(v)} for a, v in bal],
                    "positions": [{"market": m, "base": str(b), "quote": str(q)} for m, b, q in pos]},
        "path": [{"hash": h.hex(), "sums": sums_json(s)} for h, s in audit_path(index, leaves)],
        "totals": out["totals"],
    }


def verify_proof(p, expect=None):
    """None if the proof is valid (and, with expect, for that state hash), else why not."""
    try:
        if p["format"] != "liqledger-proof-2":
            return "unknown format"
        n, index = to_int(p["account_count"]), to_int(p["index"])
        if not 0 <= index < n:
            return "index out of range"
        cur = leaf(parse_account(p["account"], strict=True))
        sides = sibling_on_left(index, n)      # from index and n only, never from the proof
        if len(p["path"]) != len(sides):
            return "path length does not match index and account_count"
        for step, left in zip(p["path"], sides):
            sib = parse_hash(step["hash"]), parse_sums(step["sums"])
            cur = node(sib, cur) if left else node(cur, sib)
        if parse_sums(p["totals"]) != cur[1]:
            return "totals do not match the root sums"
        h = state_hash(to_int(p["seq"]), to_int(p["ts"]), parse_hash(p["globals_hash"]), n, cur).hex()
        if h != p["state_hash"]:
            return "state hash mismatch"
        if expect is not None and h != expect.lower():
            return "not the expected state hash"
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        return f"malformed proof: {e!r}"
    return None


# ---- self-test -------------------------------------------------------------
def rfc9162_sides(m, n, path_len):
    """Sibling sides per the RFC 9162 §2.1.3.2 verification loop (None = rejected)."""
    fn, sn, sides = m, n - 1, []
    for _ in range(path_len):
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            sides.append(True)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sides.append(False)
        fn, sn = fn >> 1, sn >> 1
    return sides if sn == 0 else None


def self_test():
    W = 10 ** 18
    lv = {"init": str(W), "target": str(W), "maint": str(W)}
    st = {"seq": "9", "ts": "99",
          "assets": [{"id": 0, "symbol": "USD", "decimals": 6, "borrowable": False, "max_oracle_age_us": "0",
                      "asset_weight": lv, "liab_weight": lv, "liquidation_bonus": "0", "oracle": None}],
          "markets": [], "funds": [],
          "protocol": {"mode": "enforce", "policy": "partial", "liquidator_share": "0",
                       "insurance_share": "0", "seize_tolerance": "2"},
          "accounts": [{"id": 10 + i, "balances": [{"asset": 0, "amount": str((-1) ** i * 100 * (i + 1))}],
                        "positions": []} for i in range(4)]
                      + [{"id": 3, "balances": [], "positions": []}]}
    assert commit(dict(st, accounts=[]))[0]["root_hash"] == "00" * 32
    for n in range(1, 65):
        for m in range(n):
            assert rfc9162_sides(m, n, len(sibling_on_left(m, n))) == sibling_on_left(m, n), (m, n)
    failures = 0
    for acc in st["accounts"]:
        proof = prove(st, acc["id"])
        assert verify_proof(proof) is None and verify_proof(proof, proof["state_hash"]) is None

        def tampered(name, edit):
            nonlocal failures
            q = copy.deepcopy(proof)
            edit(q)
            if verify_proof(q) is None:
                failures += 1
                print(f"NOT DETECTED: account {acc['id']}: {name}", file=sys.stderr)

        def bump(d, k):
            d[k] = str(to_int(d[k]) + 1)

        for i in range(len(proof["account"]["balances"])):
            tampered("balance", lambda q: bump(q["account"]["balances"][i], "amount"))
        tampered("add a balance", lambda q: q["account"]["balances"].append({"asset": 7, "amount": "1"}))
        tampered("account id", lambda q: q["account"].update(id=q["account"]["id"] + 1))
        for i, step in enumerate(proof["path"]):
            tampered(f"sibling {i} hash", lambda q: q["path"][i].update(
                hash=("1" if step["hash"][0] == "0" else "0") + step["hash"][1:]))
            tampered(f"sibling {i} new sum", lambda q: q["path"][i]["sums"].append(
                {"asset": 9, "credit": "0", "debit": "1"}))
            for j in range(len(step["sums"])):
                tampered(f"sibling {i} credit", lambda q: bump(q["path"][i]["sums"][j], "credit"))
                tampered(f"sibling {i} debit", lambda q: bump(q["path"][i]["sums"][j], "debit"))
        tampered("drop a sibling", lambda q: q["path"].pop())
        for d in (-1, 1):
            tampered(f"index {d:+}", lambda q: q.update(index=q["index"] + d))
            tampered(f"count {d:+}", lambda q: q.update(account_count=q["account_count"] + d))
            tampered(f"seq {d:+}", lambda q: q.update(seq=q["seq"] + d))
            tampered(f"ts {d:+}", lambda q: q.update(ts=q["ts"] + d))
        for j in range(len(proof["totals"])):
            tampered("totals credit", lambda q: bump(q["totals"][j], "credit"))
            tampered("totals debit", lambda q: bump(q["totals"][j], "debit"))
        tampered("totals entry", lambda q: q["totals"].append({"asset": 5, "credit": "1", "debit": "0"}))
        tampered("globals hash", lambda q: q.update(globals_hash="ab" * 32))
        tampered("state hash", lambda q: q.update(state_hash="ab" * 32))
        if verify_proof(proof, "ab" * 32) is None:
            failures += 1
            print(f"NOT DETECTED: account {acc['id']}: unexpected state hash", file=sys.stderr)
    # A dishonest prover hides account 11's debt behind a forged leaf with a
    # negative debit: all hashes agree, the verifier must still refuse it.
    accounts = [parse_account(a, strict=False) for a in st["accounts"][:2]]
    leaves = [leaf(accounts[0]), leaf(accounts[1]), (H(b"forged"), {0: (0, -200)})]
    root = tree(leaves)
    proof = prove(dict(st, accounts=st["accounts"][:3]), 10)
    proof["path"] = [{"hash": h.hex(), "sums": sums_json(s)} for h, s in audit_path(0, leaves)]
    proof["totals"] = sums_json(root[1])
    proof["state_hash"] = state_hash(9, 99, parse_hash(proof["globals_hash"]), 3, root).hex()
    if verify_proof(proof) is None:
        failures += 1
        print("NOT DETECTED: negative sibling sum", file=sys.stderr)
    print("self-test " + ("FAILED" if failures else "passed"))
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description="liqledger LIQL-STATE-2 reference (SPEC §7)")
    ap.add_argument("state", nargs="?", help="state description JSON ('-' = stdin)")
    ap.add_argument("--prove", type=int, metavar="ID", help="print the inclusion proof of account ID")
    ap.add_argument("--verify-proof", metavar="FILE", help="verify a liqledger-proof-2 JSON file")
    ap.add_argument("--expect", metavar="HEX", help="with --verify-proof: the trusted state hash")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    if args.verify_proof:
        with open(args.verify_proof, encoding="utf-8") as f:
            why = verify_proof(json.load(f), args.expect)
        print("proof OK" if why is None else f"proof REJECTED: {why}")
        return 0 if why is None else 1
    if not args.state:
        ap.error("a state file, --verify-proof or --self-test is required")
    with (sys.stdin if args.state == "-" else open(args.state, encoding="utf-8")) as f:
        st = json.load(f)
    try:
        out = prove(st, args.prove) if args.prove is not None else commit(st)[0]
    except (KeyError, TypeError, ValueError) as e:
        sys.exit(f"invalid state description: {e!r}")
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
