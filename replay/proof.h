#pragma once
// Inclusion proofs as JSON (SPEC §7.3): what `liqledger prove` prints and
// `liqledger verify-proof` reads. The format, one object:
//   {"format":"liqledger-proof-2","seq":S,"ts":T,"state_hash":"<hex>","globals_hash":"<hex>",
//    "account_count":N,"index":I,
//    "account":{"id":A,"balances":[{"asset":a,"amount":"<int>"}],
//               "positions":[{"market":m,"base":"<int>","quote":"<int>"}]},
//    "path":[{"hash":"<hex>","sums":[{"asset":a,"credit":"<int>","debit":"<int>"}]}],
//    "totals":[{"asset":a,"credit":"<int>","debit":"<int>"}]}
// Amounts are integer strings in base units; the path goes from the leaf level up.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "engine/commitment.h"
#include "schemas/formats.h"
#include "schemas/status.h"

namespace liql {

// [{"asset":a,"credit":"<int>","debit":"<int>"}], ascending by asset.
nlohmann::ordered_json sums_json(const Sums& sums);

std::string proof_json(const InclusionProof& proof);
// Parses a proof; a malformed one is InvalidArgument naming the field
// (e.g. "path[1].sums[0].credit: expected an integer string").
Status parse_proof(std::string_view text, InclusionProof* proof);

}  // namespace liql
