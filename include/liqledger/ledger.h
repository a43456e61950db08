#pragma once
// liqledger public API: the RocksDB event log.
//
//   liql::LedgerOptions options;
//   options.read_only = true;           // a reader beside a writer: sees the log as of open()
//   std::unique_ptr<liql::Ledger> ledger;
//   liql::Status status = liql::Ledger::open(path, options, &ledger);
//
// Ledger::append takes finished Event FlatBuffers (liqledger_generated.h);
// liql::append_jsonl (<liqledger/replay.h>) takes JSON Lines text. head()
// gives the last seq and its chain hash; read(from, to) the verified records.

#include <liqledger/status.h>

#include "ledger/ledger.h"  // liql::Ledger, LedgerOptions, Head, LogRecord
