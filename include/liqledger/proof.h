#pragma once
// liqledger public API: the state commitment and inclusion proofs (SPEC §7).
//
// liql::state_hash(state) is the commitment to a whole state; an
// InclusionProof shows one account and the per-asset totals are in it,
// without any other account. proof_json / parse_proof are the wire format
// `liqledger prove` prints and `liqledger verify-proof` reads.

#include <liqledger/status.h>

#include "engine/commitment.h"  // liql::state_hash, InclusionProof, verify_inclusion
#include "replay/proof.h"       // liql::proof_json, parse_proof
