#pragma once
// liqledger public API: replay of a ledger into a Machine.
//
//   liql::Machine machine;
//   liql::ReplayCounts counts;
//   liql::Status status = liql::replay(*ledger, liql::kHeadSeq, &machine, &counts,
//                                      [](const liql::EventView& view) {
//                                        // view.record (seq, event), view.outcome, view.state, view.hash()
//                                        return liql::Status::ok();  // a non-OK status stops the replay
//                                      });
//
// Also: load_state (newest snapshot, then replay), verify (the whole ledger),
// append_jsonl (JSON Lines into a ledger, atomically) and MemoryRun (events
// applied without a database).

#include <liqledger/ledger.h>
#include <liqledger/machine.h>
#include <liqledger/status.h>

#include "engine/commitment.h"  // liql::state_hash, Commitment
#include "replay/replay.h"      // liql::replay, kHeadSeq, EventView, load_state, verify, append_jsonl, MemoryRun
#include "schemas/sha256.h"     // liql::Hash, to_hex
