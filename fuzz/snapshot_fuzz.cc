// libFuzzer target: arbitrary bytes as the canonical state a snapshot holds
// (docs/STATE_ENCODING.md), through decode_state. A snapshot is checked
// against its SHA-256 only, which anyone can recompute, so these bytes are
// hostile input as much as a record is. decode_state may refuse them
// (std::runtime_error, reported as corruption by restore_snapshot); what it
// accepts must encode back to the same bytes and must survive the engine:
// every kind of event applied to it, the account views and the state hash.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/machine.h"
#include "replay/account_view.h"
#include "replay/replay.h"

namespace {

// One event of every type, for the ids the seed states use (assets 0-2,
// market 1, accounts 1-3, 7-10, 20).
constexpr char kEvents[] =
    R"({"type":"genesis","ts":0,"mode":"observe","quote_symbol":"USDC","quote_decimals":6,"policy":"partial","liquidator_share":"0.5","insurance_share":"0.3"}
{"type":"set_protocol","ts":0,"policy":"close_factor","close_factor":"0.5","full_liquidation_hf":"0.95"}
{"type":"list_asset","ts":0,"asset":2,"symbol":"DAI","decimals":6,"borrowable":true,"max_oracle_age_us":60000000,"asset_weight":{"init":"0.9","target":"0.95","maint":"1"},"liab_weight":{"init":"1.1","target":"1.05","maint":"1.02"},"liquidation_bonus":"0"}
{"type":"set_asset","ts":0,"asset":1,"symbol":"ETH","decimals":18,"borrowable":true,"max_oracle_age_us":60000000,"asset_weight":{"init":"0.8","target":"0.85","maint":"0.9"},"liab_weight":{"init":"1.2","target":"1.15","maint":"1.1"},"liquidation_bonus":"0.05"}
{"type":"list_market","ts":0,"market":2,"symbol":"BTC-PERP","base_decimals":8,"margin":{"init":"0.1","target":"0.075","maint":"0.05"},"liquidation_fee":"0.01","lot_size":"0.001","min_position":"0.01","max_oracle_age_us":60000000,"max_trade_deviation":"0.05"}
{"type":"set_market","ts":0,"market":1,"symbol":"ETH-PERP","base_decimals":9,"margin":{"init":"0.1","target":"0.075","maint":"0.05"},"liquidation_fee":"0.01","lot_size":"0.001","min_position":"0.01","max_oracle_age_us":60000000,"max_trade_deviation":"0.05"}
{"type":"price","ts":1000,"market":1,"price":"1800"}
{"type":"price","ts":1000,"asset":1,"price":"1500"}
{"type":"deposit","ts":1000,"account":7,"asset":1,"amount":"0.5"}
{"type":"withdraw","ts":1000,"account":7,"asset":0,"amount":"100"}
{"type":"trade","ts":1000,"market":1,"taker":7,"maker":8,"base":"-1","price":"1800"}
{"type":"liquidate_perp","ts":1000,"liquidator":8,"account":7,"market":1}
{"type":"liquidate_perp","ts":1000,"liquidator":2,"account":1,"market":1,"executed_base":"1","penalty":"23"}
{"type":"liquidate_token","ts":1000,"liquidator":20,"account":10,"liability_asset":2,"collateral_asset":1}
{"type":"liquidate_token","ts":1000,"liquidator":2,"account":3,"liability_asset":0,"collateral_asset":1,"repaid":"500","seized":"0.65"}
{"type":"insurance_deposit","ts":1000,"asset":0,"amount":"7.25"}
{"type":"sync_balance","ts":1000,"account":1,"asset":0,"amount":"450.5"}
{"type":"sync_position","ts":1000,"account":2,"market":1,"base":"2","quote":"-4000"}
)";

// Event buffers, imported once against a state where every id is listed with
// the decimals above (the importer needs them; the engine does not).
const std::vector<std::string>& events() {
  static const std::vector<std::string>* all = [] {
    auto* out = new std::vector<std::string>;
    liql::State listed;
    liql::JsonlImporter importer(listed);
    liql::InputError error;
    const bool ok = liql::for_each_line(std::string_view(kEvents), [&](std::string_view line, size_t number) {
      return importer.add_line(line, number, &error);
    });
    if (!ok) {
      std::fprintf(stderr, "snapshot_fuzz: the built-in events are refused: %s\n", error.to_string().c_str());
      std::abort();
    }
    *out = importer.events();
    return out;
  }();
  return *all;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "snapshot_fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Conservation and the perp zero-sum after every event (a broken one aborts: a finding).
  liql::Machine::set_invariant_checks(true);
  (void)events();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  liql::Result<liql::State> decoded = liql::decode_state(bytes);
  if (!decoded.is_ok()) {
    if (decoded.status().code() != liql::Status::Code::Corruption) fail("a refused state is not Corruption");
    return 0;  // refused: restore_snapshot reports it as corruption
  }
  const liql::State state = std::move(decoded).value();
  if (liql::encode_state(state) != bytes) fail("a decoded state encodes to other bytes");
  (void)liql::state_hash(state);
  for (liql::AccountId id : state.sorted_account_ids()) {
    (void)liql::account_json(state, id);
    (void)liql::account_text(state, id);
  }
  const std::vector<std::string>& all = events();
  for (size_t i = 0; i < all.size(); ++i) {
    const auto* event = flatbuffers::GetRoot<liql::fb::Event>(all[i].data());
    liql::Machine machine(state);
    if (state.seq == 0 && event->body_type() != liql::fb::Body::Genesis) continue;  // genesis is event 1
    if (state.seq > 0 && event->body_type() == liql::fb::Body::Genesis) continue;
    liql::Outcome outcome;
    if (liql::Status s = machine.apply(*event, state.seq + 1, &outcome); !s.is_ok()) {
      if (s.code() == liql::Status::Code::InvalidArgument) continue;  // an event before the state's ts: refused
      fail(s.to_string().c_str());
    }
    if (machine.state().seq != state.seq + 1) fail("an event did not advance seq");
    liql::Commitment hasher;
    (void)hasher.hash(state);
    hasher.touch(outcome.touched);
    if (hasher.hash(machine.state()) != liql::state_hash(machine.state())) {
      fail("the incremental state hash differs from state_hash");
    }
    const liql::Result<liql::State> again = liql::decode_state(liql::encode_state(machine.state()));
    if (!again.is_ok() || again.value() != machine.state()) {
      fail("the state after an event does not survive encode/decode");
    }
  }
  return 0;
}
