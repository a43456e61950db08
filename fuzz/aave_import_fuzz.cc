// libFuzzer target: arbitrary bytes as an Aave export (JSON Lines or CSV)
// through `import aave` and `import chainlink` (replay/aave_import.h), with the
// market of tests/data/aave/market.json. A refusal is fine; a crash, a leak,
// undefined behaviour, or an accepted input whose output the input boundary
// of `liqledger append` refuses is not: the importer must only ever write logs
// that append takes whole.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "replay/aave_import.h"
#include "replay/replay.h"

namespace {

const char kMarket[] = R"({
  "quote": {"symbol": "USD", "decimals": 8},
  "policy": "close_factor", "close_factor": "0.5", "full_liquidation_hf": "0.95",
  "treasury": "0x464c71f6c2f760dda6093dcb91c24c39e5d6e18c",
  "reserves": [
    {"address": "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", "symbol": "WETH", "decimals": 18,
     "ltv": 8000, "liquidation_threshold": 8250, "liquidation_bonus": 10500, "protocol_fee": 0,
     "a_token": "0x4d5f47fa6a74757f35c14fd3a6ef8e3c9bc514e8"},
    {"address": "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", "symbol": "USDC", "decimals": 6,
     "ltv": 7500, "liquidation_threshold": 7800, "liquidation_bonus": 10450, "protocol_fee": 1000,
     "a_token": "0x98c23e9d8f34fefb1b7bd6a91b7ff122f4e16f5c"}
  ],
  "feeds": [
    {"address": "0x5f4ec3df9cbd43714fe2740f5e3616155c5b8419", "reserve": "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"},
    {"address": "0x8fffffd4afb6115b954bd326cbe7b4ba576818f6", "reserve": "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"}
  ]
})";

void check_appendable(const liql::ImportResult& result, const char* importer) {
  liql::MemoryRun run;
  liql::InputError error;
  if (!run.add_text(result.jsonl, &error)) {
    std::fprintf(stderr, "aave_import_fuzz: %s wrote a line append refuses: %s\n", importer, error.to_string().c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Conservation and the perp zero-sum after every event (a broken one aborts: a finding).
  liql::Machine::set_invariant_checks(true);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const liql::AaveMarket market = [] {
    liql::AaveMarket m;
    std::string error;
    if (!liql::parse_aave_market(kMarket, &m, &error)) std::abort();
    return m;
  }();
  const std::vector<liql::ImportInput> inputs{{"fuzz.jsonl", std::string(reinterpret_cast<const char*>(data), size)}};
  liql::ImportResult result;
  liql::ImportError error;
  liql::AaveImportOptions options;
  options.skip_unknown = size % 2 == 0;
  if (liql::import_aave(market, inputs, options, &result, &error)) check_appendable(result, "import aave");
  if (liql::import_chainlink(market, inputs, &result, &error)) {
    // Price lines only: after a genesis and the listings they must append too.
    liql::ImportResult header;
    if (!liql::import_aave(market, {}, {}, &header, &error)) std::abort();
    header.jsonl += result.jsonl;
    check_appendable(header, "import chainlink");
  }
  return 0;
}
