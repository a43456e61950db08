#pragma once
// Listing and governance parameters: parsing from the log's records and the
// validity rules of SPEC §2 and §5.3. The input boundary calls the same
// functions, so it knows exactly which listings the engine will accept.
//
// Each returns Reason::None or Reason::InvalidParams, and may throw
// std::overflow_error for a number too large for Int.

#include "engine/state.h"
#include "liqledger_generated.h"

namespace liql {

Reason parse_asset_spec(const fb::AssetSpec& spec, AssetParams* out);
Reason parse_market_spec(const fb::MarketSpec& spec, MarketParams* out);
// The protocol and the quote asset (id 0) that genesis creates. When given,
// *bad_field names the first invalid field (the input boundary reports it).
Reason parse_genesis(const fb::Genesis& genesis, Protocol* protocol, AssetParams* quote,
                     const char** bad_field = nullptr);
// `current` is the protocol in force; absent fields keep their value.
Reason parse_set_protocol(const fb::SetProtocol& change, const Protocol& current, Protocol* out);

// Extra rules for asset 0: weights exactly WAD, bonus 0, quote decimals.
bool valid_quote_params(const AssetParams& params, uint32_t quote_decimals);

// The rules the parsers above apply, on values already parsed. A decoded
// snapshot is held to them too (decode_state), so that a forged one cannot
// give the engine parameters no event could have set.
bool valid_asset_params(const AssetParams& params);
bool valid_market_params(const MarketParams& params);
bool valid_protocol(const Protocol& protocol);

}  // namespace liql
