"""liqledger from Python: open a ledger read-only, replay it, audit it, prove
and verify accounts, and run what-if variants.

Every result is the C++ library's own JSON (the CLI's ``--json`` output)
parsed with exact integers: amounts, sizes, prices (WAD-scaled) and health
values in base units become Python ``int``; never ``float``. Strings that only
look like integers stay strings: hashes (``*hash``), addresses, ``decimal``
renderings in whole units, and ``"inf"``. Proofs are the exception: they stay
in their wire format (``liqledger-proof-2``, integer strings) so that they can
be stored, sent and passed back to :func:`verify_proof` as they are.

A failure of the library (a missing ledger, corruption, a bad argument, an
unknown account) raises :class:`Error` with the library's message.

    import liqledger
    ledger = liqledger.open("demo-data/ledger")
    state = ledger.replay()                     # or replay(to=SEQ)
    state.state_hash, state.account(7)["h_maint"]
    frame = liqledger.audit_frame(ledger)       # pandas, object dtype for amounts
"""

import json as _json
import re as _re

from . import _liqledger
from ._liqledger import Error

__all__ = ["Error", "Ledger", "State", "open", "append", "verify_proof", "audit_frame"]

_INTEGER = _re.compile(r"-?[0-9]+\Z")
_TEXT_KEY_SUFFIXES = ("hash", "address", "decimal", "symbol")


def _exact(value, key=""):
    """The library's JSON with integer strings made ints (see the module doc)."""
    if isinstance(value, dict):
        return {k: _exact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v, key) for v in value]
    if isinstance(value, str) and _INTEGER.match(value) and not key.endswith(_TEXT_KEY_SUFFIXES):
        return int(value)
    return value


def _parse(text):
    # parse_float: the library prints no JSON numbers with a fraction; if one
    # ever appears it must not silently become a float.
    return _exact(_json.loads(text, parse_float=_refuse_float))


def _refuse_float(text):
    raise Error(f"unexpected fractional number {text} in the library's JSON")


class State:
    """The state after a replay: ``seq``, ``ts``, ``state_hash`` (hex),
    ``accounts`` (count), ``events_applied``, ``events_rejected``, ``totals``
    (what all accounts are owed and owe, per asset), ``account(id)``."""

    def __init__(self, core):
        self._core = core
        self._summary = _parse(core.summary_json())

    seq = property(lambda self: self._core.seq)
    ts = property(lambda self: self._core.ts)
    state_hash = property(lambda self: self._core.state_hash)
    accounts = property(lambda self: self._core.accounts)
    events_applied = property(lambda self: self._summary["events_applied"])
    events_rejected = property(lambda self: self._summary["events_rejected"])
    totals = property(lambda self: self._summary["totals"])

    def summary(self):
        """What ``liqledger replay DB --json`` prints, as a dict."""
        return dict(self._summary)

    def account(self, account_id):
        """What ``liqledger account DB ID --json`` prints, as a dict."""
        return _parse(self._core.account_json(account_id))

    def account_ids(self):
        """Every account id, in creation order."""
        return self._core.account_ids()

    def __repr__(self):
        return f"<liqledger.State seq={self.seq} accounts={self.accounts} state_hash={self.state_hash}>"


class Ledger:
    """A ledger opened read-only (it may be open beside a writer; it sees the
    log as of :func:`open`). ``head_seq``, ``head_chain`` (hex), ``head_ts``."""

    def __init__(self, path):
        self.path = str(path)
        self._core = _liqledger.Ledger(self.path)

    head_seq = property(lambda self: self._core.head_seq)
    head_chain = property(lambda self: self._core.head_chain)
    head_ts = property(lambda self: self._core.head_ts)

    def replay(self, to=None):
        """The :class:`State` at seq ``to`` (default: the head), from the newest snapshot before it."""
        return State(self._core.replay(to))

    def audit(self, to=None):
        """The audit records (SPEC §5.6) of every liquidation up to ``to``, as a list of dicts:
        what ``liqledger audit DB --format jsonl`` prints."""
        return [_parse(line) for line in self._core.audit_lines(to)]

    def prove(self, account, at=None):
        """The inclusion proof of ``account`` in the state hash at ``at`` (default: the head),
        as a dict in the proof's wire format (integer strings)."""
        return _json.loads(self._core.prove(account, at))

    def whatif(self, policies, impact=None, to=None):
        """The log replayed under other liquidation rules (docs/WHATIF.md): what
        ``liqledger whatif DB --policy P ... --format json`` prints, as a dict.
        ``impact`` is the impact file's content: a dict or JSON text."""
        if impact is None:
            impact_text = ""
        elif isinstance(impact, str):
            impact_text = impact
        else:
            impact_text = _json.dumps(impact)
        return _parse(self._core.whatif(list(policies), impact_text, to))

    def __repr__(self):
        return f"<liqledger.Ledger {self.path!r} head_seq={self.head_seq}>"


def open(path):  # noqa: A001 (the module's verb, as in liqledger.open)
    """Opens the ledger at ``path`` read-only; :class:`Error` when it is missing or corrupt."""
    return Ledger(path)


def append(path, jsonl_text, sync=False):
    """Appends JSON Lines (one event per line) in one atomic batch, creating the
    ledger when missing: returns ``(appended, head_seq)``. A bad line refuses
    the whole batch with an :class:`Error` naming line and field."""
    return _liqledger.append(str(path), jsonl_text, sync)


def verify_proof(proof, state_hash=""):
    """``(ok, message)``: whether the proof (a dict from :meth:`Ledger.prove` or its
    JSON text) holds, and, with ``state_hash``, reaches that hash. Needs no ledger.
    A malformed proof raises :class:`Error` naming the field."""
    text = proof if isinstance(proof, str) else _json.dumps(proof)
    return _liqledger.verify_proof(text, state_hash)


def _flatten(record, prefix=""):
    row = {}
    for key, value in record.items():
        name = prefix + key
        if isinstance(value, dict):
            row.update(_flatten(value, name + "."))
        else:
            row[name] = value
    return row


def audit_frame(ledger, to=None):
    """The audit as a ``pandas.DataFrame``, one row per record, nested fields
    flattened with dots (``penalty.total``, ``pre.h_maint``). Every column has
    object dtype, so amounts stay exact Python ints (a missing value is None,
    never NaN); ``seq`` and ``ts`` are int64. Needs pandas (Debian python3-pandas)."""
    import pandas

    rows = [_flatten(record) for record in ledger.audit(to)]
    columns = list(dict.fromkeys(name for row in rows for name in row))  # first-seen order
    frame = pandas.DataFrame({name: [row.get(name) for row in rows] for name in columns}, dtype=object)
    for column in ("seq", "ts"):
        if column in frame:
            frame[column] = frame[column].astype("int64")
    return frame
