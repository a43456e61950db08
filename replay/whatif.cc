#include "replay/whatif.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <thread>
#include <set>

#include "engine/liquidation.h"
#include "engine/machine.h"

namespace liql {
namespace {

constexpr uint32_t kMaxStepsPerAccount = 16;  // keeper liquidations of one account in one round

const Int& max_level() {  // |impact| ≤ 99 %: an effective price stays > 0
  static const Int value = wad() * 99 / 100;
  return value;
}

Int clamp_level(const Int& level) {
  if (level > max_level()) return max_level();
  if (level < -max_level()) return -max_level();
  return level;
}

// ---- impact file ----------------------------------------------------------------

std::optional<Instrument> parse_instrument(std::string_view name) {
  Instrument instrument;
  std::string_view id;
  if (name.starts_with("market:")) {
    instrument.kind = Instrument::Kind::Market;
    id = name.substr(7);
  } else if (name.starts_with("asset:")) {
    instrument.kind = Instrument::Kind::Asset;
    id = name.substr(6);
  } else {
    return std::nullopt;
  }
  if (id.empty() || id.size() > 10 || !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const uint64_t value = std::stoull(std::string(id));
  if (value > UINT32_MAX) return std::nullopt;
  instrument.id = static_cast<uint32_t>(value);
  return instrument;
}

bool decimal_field(const nlohmann::json& object, const char* key, const std::string& where, bool positive, Int* out,
                   std::string* error) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) {
    *error = where + "." + key + ": expected a decimal string";
    return false;
  }
  std::optional<Int> value;
  try {
    value = parse_units(it->get<std::string>(), 18);
  } catch (const std::overflow_error&) {
  }
  if (!value || value->sign() < 0 || (positive && value->is_zero())) {
    *error = where + "." + key + ": expected a " + (positive ? "positive" : "non-negative") +
             " decimal (at most 18 fractional digits), got " + it->dump();
    return false;
  }
  *out = *value;
  return true;
}

bool impact_params(const nlohmann::json& object, const std::string& where, ImpactParams* out, std::string* error) {
  if (!object.is_object()) {
    *error = where + ": expected an object {\"depth\":…,\"recovery_per_s\":…}";
    return false;
  }
  for (const auto& [key, value] : object.items()) {
    if (key != "depth" && key != "recovery_per_s") {
      *error = where + ": unknown field '" + key + "'";
      return false;
    }
  }
  return decimal_field(object, "depth", where, true, &out->depth, error) &&
         decimal_field(object, "recovery_per_s", where, false, &out->recovery, error);
}

// ---- building the keeper's events ------------------------------------------------

class EventBuilder {
 public:
  const fb::Event& liquidate_perp(uint64_t ts, AccountId account, MarketId market) {
    builder_.Clear();
    auto body = fb::CreateLiquidatePerp(builder_, kKeeperAccount, account, market);
    return finish(ts, fb::Body::LiquidatePerp, body.Union());
  }
  const fb::Event& liquidate_token(uint64_t ts, AccountId account, AssetId liability, AssetId collateral) {
    builder_.Clear();
    auto body = fb::CreateLiquidateToken(builder_, kKeeperAccount, account, liability, collateral);
    return finish(ts, fb::Body::LiquidateToken, body.Union());
  }
  const fb::Event& absorb(uint64_t ts, AccountId account) {
    builder_.Clear();
    auto body = fb::CreateAbsorb(builder_, account);
    return finish(ts, fb::Body::Absorb, body.Union());
  }
  const fb::Event& price(uint64_t ts, Instrument instrument, const Int& price, uint64_t publish_ts) {
    builder_.Clear();
    const std::string text = format_units(price, 18);
    flatbuffers::Optional<uint32_t> asset, market;
    (instrument.kind == Instrument::Kind::Asset ? asset : market) = instrument.id;
    auto body = fb::CreatePriceDirect(builder_, asset, market, text.c_str(), publish_ts);
    return finish(ts, fb::Body::Price, body.Union());
  }

 private:
  const fb::Event& finish(uint64_t ts, fb::Body type, flatbuffers::Offset<void> body) {
    builder_.Finish(fb::CreateEvent(builder_, ts, type, body));
    return *flatbuffers::GetRoot<fb::Event>(builder_.GetBufferPointer());
  }
  flatbuffers::FlatBufferBuilder builder_{256};
};

// HF_maint ascending (WAD·A/L compared exactly), then id.
struct Candidate {
  AccountId id;
  Int assets, liabilities;
  bool operator<(const Candidate& other) const {
    const Wide left = Wide(assets) * Wide(other.liabilities);
    const Wide right = Wide(other.assets) * Wide(liabilities);
    if (left != right) return left < right;
    return id < other.id;
  }
};

// One what-if variant: its machine, keeper index, rule, impact and figures.
class Variant {
 public:
  using Observer = std::function<void(const fb::Event&, const Outcome&, const State&, bool keeper)>;
  Variant(std::unique_ptr<LiquidationRule> rule, const ImpactConfig& impact, bool series, Observer observer)
      : rule_(std::move(rule)), impact_(impact), series_(series), observer_(std::move(observer)) {
    machine_.pin_rule(rule_);
    result_.policy = rule_->name();
  }

  // One event of the log. InvalidArgument when the log cannot be replayed with
  // a keeper; Machine::apply's status when the machine cannot process an event
  // (the log's or the keeper's).
  Status on_log_event(const LogRecord& record) {
    const fb::Event& logged = *record.event;
    switch (logged.body_type()) {
      case fb::Body::LiquidatePerp:
      case fb::Body::LiquidateToken:
      case fb::Body::Absorb: return Status::ok();  // endogenous: the keeper decides
      default: break;
    }
    seq_ = record.seq;
    const fb::Event* event = &logged;
    std::optional<Instrument> priced;
    Int oracle_price;
    if (logged.body_type() == fb::Body::Price) {
      const fb::Price& price = *logged.body_as_Price();
      std::optional<Int> parsed;
      try {
        if (price.price() != nullptr) parsed = parse_units(price.price()->string_view(), 18);
      } catch (const std::overflow_error&) {
      }
      if (parsed && parsed->sign() > 0 && (price.asset().has_value() != price.market().has_value())) {
        priced = instrument_of(price);
        oracle_price = *parsed;
        const Int effective = effective_price(*priced, oracle_price, logged.ts());
        if (effective != oracle_price) {
          event = &builder_.price(logged.ts(), *priced, effective, price.publish_ts());
        }
      }
    }
    Outcome outcome;
    if (Status s = machine_.apply(*event, record.seq, &outcome); !s.is_ok()) return s;
    index_.on_event(machine_.state(), *event, outcome);
    if (observer_ && outcome.applied()) observer_(*event, outcome, machine_.state(), false);
    if (!outcome.applied()) {
      ++result_.exogenous_rejected;
      return Status::ok();
    }
    ++result_.exogenous_applied;
    if (std::binary_search(outcome.touched.begin(), outcome.touched.end(), kKeeperAccount)) {
      return Status::invalid_argument(fmt::format("seq {}: the log uses account {}, the what-if keeper's reserved id",
                                                  record.seq, kKeeperAccount));
    }
    if (priced) {
      flows_[*priced].oracle = oracle_price;
      note_price(*priced, true);
    }
    return keep(logged.ts());
  }

  VariantResult finish() {
    const State& state = machine_.state();
    for (const auto& [asset, funds] : state.funds) {
      result_.bad_debt[asset] = funds.bad_debt;
      result_.insurance[asset] = funds.insurance;
    }
    result_.bad_debt_value = funds_value(state, &Funds::bad_debt);
    result_.user_equity = 0;
    for (const auto& [id, account] : state.accounts) {
      if (id == kKeeperAccount || !priced(state, account)) continue;
      result_.user_equity += account_health(state, account, Level::Equity).value;
    }
    result_.accounts_liquidated = liquidated_.size();
    result_.accounts_closed = closed_.size();
    result_.accounts_kept_position = liquidated_.size() - closed_.size();
    result_.bankruptcies = bankrupt_.size();
    for (auto& [instrument, stats] : stats_) {
      stats.symbol = instrument_symbol(state, instrument);
      result_.instruments.push_back(stats);
    }
    result_.state_hash = state_hash(state);
    return std::move(result_);
  }

  const State& state() const { return machine_.state(); }

 private:
  // Outstanding impact of one instrument (docs/WHATIF.md).
  struct Flow {
    Int level;          // WAD-scaled fraction, signed
    uint64_t since = 0; // ts the level was last brought up to date
    Int oracle;         // the log's last oracle price
  };

  // Brings the impact of `instrument` to `ts`: |level| recovers linearly.
  void decay(Instrument instrument, Flow& flow, uint64_t ts) {
    const ImpactParams* params = impact_.params(instrument);
    if (params != nullptr && !flow.level.is_zero() && ts > flow.since) {
      // recovery pp/s → fraction/µs: recovery · Δt / (100 · 10^6)
      const Int recovered = muldiv_floor(params->recovery, Int(ts - flow.since), Int(100'000'000));
      if (recovered >= abs(flow.level)) {
        flow.level = 0;
      } else {
        flow.level += flow.level.sign() > 0 ? -recovered : recovered;
      }
    }
    flow.since = ts;
  }

  static Int apply_level(const Int& oracle, const Int& level) {
    const Int price = muldiv_floor(oracle, wad() + level, wad());
    return price.sign() > 0 ? price : Int(1);
  }

  // The price the variant applies for a new oracle price: under the impact still outstanding.
  Int effective_price(Instrument instrument, const Int& oracle, uint64_t ts) {
    auto it = flows_.find(instrument);
    if (it == flows_.end()) return oracle;
    decay(instrument, it->second, ts);
    return apply_level(oracle, it->second.level);
  }

  // A new price of `instrument` reached the state: statistics and the series.
  void note_price(Instrument instrument, bool from_log) {
    const State& state = machine_.state();
    const Int& price = oracle_of(state, instrument).price;
    const Flow& flow = flows_[instrument];
    InstrumentStats& stats = stats_[instrument];
    stats.instrument = instrument;
    if (from_log && (stats.lowest_oracle.is_zero() || flow.oracle < stats.lowest_oracle)) {
      stats.lowest_oracle = flow.oracle;
    }
    if (stats.lowest_effective.is_zero() || price < stats.lowest_effective) stats.lowest_effective = price;
    if (price > stats.highest_effective) stats.highest_effective = price;
    if (abs(flow.level) > stats.max_impact) stats.max_impact = abs(flow.level);
    if (!series_) return;
    result_.series.push_back(SeriesPoint{seq_, state.ts, instrument, flow.oracle, price, result_.closed_notional,
                                         funds_value(state, &Funds::insurance), funds_value(state, &Funds::bad_debt),
                                         result_.liquidations});
  }

  static Int funds_value(const State& state, Int Funds::*field) {
    Int total = 0;
    for (const auto& [asset, funds] : state.funds) {
      const Int& amount = funds.*field;
      if (!amount.is_zero() && (asset == kQuoteAsset || state.assets.at(asset).oracle.present)) {
        total += value(state, asset, amount);
      }
    }
    return total;
  }

  // ---- the backstop keeper ----

  std::vector<Candidate> candidates(uint64_t ts) const {
    const State& state = machine_.state();
    std::vector<Candidate> out;
    for (AccountId id : index_.liquidatable()) {
      const Account& account = state.accounts.at(id);
      if (!evaluable(state, account, ts)) continue;  // the engine would refuse: STALE_ORACLE
      const Health maint = account_health(state, account, Level::Maint);
      out.push_back(Candidate{id, maint.assets, maint.liabilities});
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // After every applied event of the log: rounds until nobody is left to
  // liquidate, the impact of each round applied at its end.
  Status keep(uint64_t ts) {
    uint32_t round = 0;
    for (; round < impact_.max_rounds; ++round) {
      std::map<Instrument, Int> flow;  // signed notional the keeper sold (−) or bought (+) this round
      bool acted = false;
      for (const Candidate& candidate : candidates(ts)) {
        if (Status s = work_on(candidate.id, ts, round, flow, &acted); !s.is_ok()) return s;
      }
      if (!acted) return Status::ok();
      if (round > 0) {
        ++result_.cascade_rounds;
        result_.max_cascade_depth = std::max(result_.max_cascade_depth, round);
      }
      bool moved = false;
      if (Status s = apply_flow(flow, ts, &moved); !s.is_ok()) return s;
      if (!moved) return Status::ok();  // no price moved: nothing new can be liquidatable
    }
    if (!candidates(ts).empty()) ++result_.truncated_cascades;
    return Status::ok();
  }

  struct Action {
    enum class Kind { None, Perp, Token, Absorb } kind = Kind::None;
    MarketId market = 0;
    AssetId liability = 0, collateral = 0;
  };

  // The account's largest position, else its largest seizable (debt, collateral)
  // pair by value, else an absorb when it is BANKRUPT and exhausted.
  Action choose(const Account& account) const {
    const State& state = machine_.state();
    Action action;
    Int best;
    for (const auto& [market, position] : account.positions) {
      const Int size = abs(notional(state, market, position.base));
      if (action.kind == Action::Kind::None || size > best) {
        action = Action{Action::Kind::Perp, market, 0, 0};
        best = size;
      }
    }
    if (action.kind != Action::Kind::None) return action;
    Int best_debt, best_collateral;
    for (const auto& [l, debt] : account.balances) {
      if (debt.sign() >= 0) continue;
      const Int debt_value = value(state, l, abs(debt));
      for (const auto& [c, held] : account.balances) {
        if (held.sign() <= 0 || c == l || token_repay_cap(state, account, l, c).sign() < 1) continue;
        const Int held_value = value(state, c, held);
        const bool better = action.kind == Action::Kind::None || debt_value > best_debt ||
                            (debt_value == best_debt && held_value > best_collateral);
        if (better) {
          action = Action{Action::Kind::Token, 0, l, c};
          best_debt = debt_value;
          best_collateral = held_value;
        }
      }
    }
    if (action.kind != Action::Kind::None) return action;
    if (account_health(state, account, Level::Equity).value.sign() < 0 && exhausted(state, account)) {
      action.kind = Action::Kind::Absorb;
    }
    return action;
  }

  // Liquidates one account until it is no longer liquidatable (or the rule
  // makes it wait). *acted becomes true when the keeper did something.
  Status work_on(AccountId id, uint64_t ts, uint32_t round, std::map<Instrument, Int>& flow, bool* acted) {
    for (uint32_t step = 0; step < kMaxStepsPerAccount; ++step) {
      if (!index_.liquidatable().contains(id)) break;
      const State& state = machine_.state();
      const Account& account = state.accounts.at(id);
      const Action action = choose(account);
      if (action.kind == Action::Kind::None) break;
      if (action.kind != Action::Kind::Absorb && !rule_->ready(id, ts)) break;
      const fb::Event* event = nullptr;
      bool long_position = false;
      switch (action.kind) {
        case Action::Kind::Perp:
          long_position = account.positions.at(action.market).base.sign() > 0;
          event = &builder_.liquidate_perp(ts, id, action.market);
          break;
        case Action::Kind::Token: event = &builder_.liquidate_token(ts, id, action.liability, action.collateral); break;
        case Action::Kind::Absorb: event = &builder_.absorb(ts, id); break;
        case Action::Kind::None: break;
      }
      Outcome outcome;
      if (Status s = keeper_apply(*event, &outcome); !s.is_ok()) return s;
      if (!outcome.applied()) {
        ++result_.keeper_rejected;
        break;
      }
      *acted = true;
      record(*outcome.audit, action, long_position, ts, round, flow);
    }
    return Status::ok();
  }

  void record(const LiquidationAudit& audit, const Action& action, bool long_position, uint64_t ts, uint32_t round,
              std::map<Instrument, Int>& flow) {
    const State& state = machine_.state();
    if (audit.pre && audit.pre->status == AccountStatus::Bankrupt) bankrupt_.insert(audit.account);
    if (audit.bankrupt) ++result_.close_outs;
    if (action.kind == Action::Kind::Absorb) {
      ++result_.absorbed;
      return;
    }
    ++result_.liquidations;
    liquidated_.insert(audit.account);
    const Account& account = state.accounts.at(audit.account);
    const Int& closed_value = *audit.closed_value;
    result_.closed_notional += closed_value;
    bool closed = false;
    Instrument marked;
    if (action.kind == Action::Kind::Perp) {
      result_.penalties += audit.penalty->total;
      closed = account.position(action.market) == nullptr;
      marked = Instrument::market(action.market);
      flow[marked] += long_position ? -closed_value : closed_value;  // the keeper sells a long, buys back a short
    } else {
      result_.penalties += value(state, action.collateral, audit.penalty->total);
      closed = account.balance(action.liability).sign() >= 0 || account.balance(action.collateral).sign() <= 0;
      marked = Instrument::asset(action.collateral);
      if (action.collateral != kQuoteAsset) flow[marked] -= value(state, action.collateral, *audit.seized);
      if (action.liability != kQuoteAsset) flow[Instrument::asset(action.liability)] += closed_value;
    }
    if (closed) closed_.insert(audit.account);
    rule_->liquidated(audit.account, ts, closed);
    if (series_) result_.marks.push_back(LiquidationMark{seq_, ts, marked, audit.account, closed_value, round});
  }

  // The round's flow moves each instrument's impact and so its effective
  // price. *moved: some price changed.
  Status apply_flow(const std::map<Instrument, Int>& flow, uint64_t ts, bool* moved) {
    const State& state = machine_.state();
    const Int denominator_unit = Int(100) * pow10(state.quote_decimals());
    for (const auto& [instrument, notional_flow] : flow) {
      const ImpactParams* params = impact_.params(instrument);
      if (params == nullptr || notional_flow.is_zero()) continue;
      Flow& f = flows_[instrument];
      if (f.oracle.is_zero()) f.oracle = oracle_of(state, instrument).price;
      decay(instrument, f, ts);
      // Δlevel = N · WAD / (100 · depth in quote base units), rounded away from 0.
      const Int moved_by = narrow(cdiv(Wide(abs(notional_flow)) * Wide(wad()) * Wide(wad()),
                                       Wide(denominator_unit) * Wide(params->depth)));
      f.level = clamp_level(f.level + (notional_flow.sign() > 0 ? moved_by : -moved_by));
      const Int price = apply_level(f.oracle, f.level);
      const Oracle& oracle = oracle_of(state, instrument);
      if (price == oracle.price) continue;
      const fb::Event& event = builder_.price(ts, instrument, price, oracle.publish_ts);
      Outcome outcome;
      if (Status s = keeper_apply(event, &outcome); !s.is_ok()) return s;
      if (!outcome.applied()) continue;
      *moved = true;
      note_price(instrument, false);
    }
    return Status::ok();
  }

  Status keeper_apply(const fb::Event& event, Outcome* outcome) {
    if (Status s = machine_.apply_keeper(event, outcome); !s.is_ok()) return s;
    // The keeper is never a candidate: the index does not track its account
    // (a large one, touched by every action and crossed by many price moves).
    std::erase(outcome->touched, kKeeperAccount);
    index_.on_event(machine_.state(), event, *outcome);
    if (observer_ && outcome->applied()) observer_(event, *outcome, machine_.state(), true);
    return Status::ok();
  }

  std::shared_ptr<LiquidationRule> rule_;
  const ImpactConfig& impact_;
  const bool series_;
  Observer observer_;
  Machine machine_;
  KeeperIndex index_;
  EventBuilder builder_;
  std::map<Instrument, Flow> flows_;
  std::map<Instrument, InstrumentStats> stats_;
  std::set<AccountId> liquidated_, closed_, bankrupt_;
  VariantResult result_;
  uint64_t seq_ = 0;
};

// Assets and markets the log lists up to `last`, for checking the impact file.
Status listed_instruments(Ledger& ledger, uint64_t last, std::set<Instrument>* out) {
  std::unique_ptr<LogReader> reader = ledger.read(1, last);
  LogRecord record;
  while (reader->next(&record)) {
    const fb::Event& event = *record.event;
    if (event.body_type() == fb::Body::ListAsset) out->insert(Instrument::asset(event.body_as_ListAsset()->asset()));
    if (event.body_type() == fb::Body::ListMarket) {
      out->insert(Instrument::market(event.body_as_ListMarket()->market()));
    }
  }
  return reader->status();
}

// Records copied out of a reader (8-byte aligned, as FlatBuffers reads them in
// place), a batch at a time, so that several threads can read the same ones.
class RecordBatch {
 public:
  static constexpr size_t kRecords = 16'384;
  // Refills the batch; false once the reader is exhausted.
  bool fill(LogReader& reader) {
    words_.clear();
    entries_.clear();
    LogRecord record;
    while (entries_.size() < kRecords) {
      if (!reader.next(&record)) return false;
      const size_t offset = words_.size();
      words_.resize(offset + (record.event_bytes.size() + 7) / 8);
      std::memcpy(words_.data() + offset, record.event_bytes.data(), record.event_bytes.size());
      entries_.push_back(Entry{record.seq, offset, record.event_bytes.size()});
    }
    return true;
  }
  size_t size() const { return entries_.size(); }
  uint64_t last_seq() const { return entries_.back().seq; }
  LogRecord record(size_t i) const {
    const Entry& entry = entries_[i];
    LogRecord record;
    record.seq = entry.seq;
    const auto* bytes = reinterpret_cast<const uint8_t*>(words_.data() + entry.offset);
    record.event_bytes = std::span<const uint8_t>(bytes, entry.size);
    record.event = flatbuffers::GetRoot<fb::Event>(bytes);
    return record;
  }

 private:
  struct Entry {
    uint64_t seq;
    size_t offset;  // in words
    size_t size;    // in bytes
  };
  std::vector<uint64_t> words_;
  std::vector<Entry> entries_;
};

using Variants = std::vector<std::unique_ptr<Variant>>;

// One variant per policy, in their order; a policy make_rule refuses is named.
Status make_variants(const WhatIfOptions& options, Variants* variants) {
  for (const std::string& spec : options.policies) {
    std::string error;
    std::unique_ptr<LiquidationRule> rule = make_rule(spec, &error);
    if (!rule) return Status::invalid_argument("--policy " + spec + ": " + error);
    Variant::Observer observer;
    if (options.observer) {
      observer = [&options, i = variants->size()](const fb::Event& event, const Outcome& outcome, const State& state,
                                                  bool keeper) { options.observer(i, event, outcome, state, keeper); };
    }
    variants->push_back(
        std::make_unique<Variant>(std::move(rule), options.impact, options.series, std::move(observer)));
  }
  return Status::ok();
}

// Every instrument the impact file names is listed by the log up to `last`.
Status check_impact_instruments(Ledger& ledger, const ImpactConfig& impact, uint64_t last) {
  if (impact.instruments.empty()) return Status::ok();
  std::set<Instrument> listed;
  if (Status s = listed_instruments(ledger, last, &listed); !s.is_ok()) return s;
  for (const auto& [instrument, params] : impact.instruments) {
    if (!listed.contains(instrument)) {
      return Status::invalid_argument("impact file: instrument " + instrument_name(instrument) +
                                      " is not listed by the log (up to seq " + std::to_string(last) + ")");
    }
  }
  return Status::ok();
}

// One batch through every variant, variant v on thread v mod `threads`. A
// number beyond the engine's integers outside Machine::apply (a figure of the
// lab itself) stops that variant with an error, never the process.
Status apply_batch(const RecordBatch& batch, const Variants& variants, size_t threads,
                   const std::vector<std::string>& policies) {
  std::vector<Status> errors(variants.size());
  // A number beyond the engine's integers outside Machine::apply (a figure
  // of the lab itself) stops that variant with an error, never the process.
  auto work = [&](size_t group) {
    for (size_t v = group; v < variants.size(); v += threads) {
      for (size_t i = 0; i < batch.size() && errors[v].is_ok(); ++i) {
        const LogRecord record = batch.record(i);
        try {
          errors[v] = variants[v]->on_log_event(record);
        } catch (const std::exception& e) {
          errors[v] = Status::invalid_argument(fmt::format("seq {}: {}: {}", record.seq, policies[v], e.what()));
        }
      }
    }
  };
  std::vector<std::thread> helpers;
  for (size_t group = 1; group < threads; ++group) helpers.emplace_back(work, group);
  work(0);
  for (std::thread& helper : helpers) helper.join();
  for (const Status& error : errors) {
    if (!error.is_ok()) return error;
  }
  return Status::ok();
}

// The log up to `last` through every variant, a batch at a time.
Status replay_variants(Ledger& ledger, const WhatIfOptions& options, uint64_t last, const Variants& variants) {
  // Variants are independent: they are spread over threads (never with an
  // observer, which expects one), fed the same batch of records copied out of
  // the reader. Threads change the wall time only, never a figure.
  // One thread per variant (at most 16): on fewer cores the system shares
  // them out evenly, where a fixed split of 3 variants over 2 threads would
  // leave one thread twice the work.
  const size_t threads = options.observer ? 1 : std::min<size_t>(variants.size(), 16);
  RecordBatch batch;
  std::unique_ptr<LogReader> reader = ledger.read(1, last);
  const uint64_t tenth = std::max<uint64_t>(1, last / 10);
  uint64_t next_progress = tenth;
  bool more = true;
  while (more) {
    more = batch.fill(*reader);
    if (Status s = apply_batch(batch, variants, threads, options.policies); !s.is_ok()) return s;
    if (options.progress && batch.size() != 0 && batch.last_seq() >= next_progress) {
      std::fprintf(stderr, "whatif: seq %llu of %llu (%zu variants, %zu threads)\n",
                   static_cast<unsigned long long>(batch.last_seq()), static_cast<unsigned long long>(last),
                   variants.size(), threads);
      while (next_progress <= batch.last_seq()) next_progress += tenth;
    }
  }
  return reader->status();
}

// Every variant's figures at `last`, with the listings of the first one's state.
Status collect_results(const Variants& variants, uint64_t last, WhatIfResult* out) {
  out->seq = last;
  const State& state = variants.front()->state();
  out->ts = state.ts;
  out->quote_decimals = state.has_genesis() ? state.quote_decimals() : 0;
  for (const auto& [id, asset] : state.assets) {
    out->assets[id] = asset.params.symbol;
    out->decimals[id] = asset.params.decimals;
  }
  try {
    for (const auto& variant : variants) out->variants.push_back(variant->finish());
  } catch (const std::exception& e) {
    return Status::invalid_argument(std::string("the lab's final figures: ") + e.what());
  }
  return Status::ok();
}

// Per asset, keyed by the asset id: {"0":"<int>",…}.
nlohmann::ordered_json per_asset_json(const std::map<AssetId, Int>& amounts) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [asset, amount] : amounts) out[std::to_string(asset)] = to_string(amount);
  return out;
}

}  // namespace

const ImpactParams* ImpactConfig::params(Instrument instrument) const {
  auto it = instruments.find(instrument);
  if (it != instruments.end()) return &it->second;
  return fallback ? &*fallback : nullptr;
}

bool parse_impact(std::string_view json, ImpactConfig* config, std::string* error) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(json);
  } catch (const nlohmann::json::parse_error& e) {
    *error = std::string("not JSON: ") + e.what();
    return false;
  }
  if (!root.is_object()) {
    *error = "expected a JSON object {\"default\":…,\"instruments\":…,\"max_rounds\":…}";
    return false;
  }
  ImpactConfig parsed;
  for (const auto& [key, value] : root.items()) {
    if (key == "default") {
      ImpactParams params;
      if (!impact_params(value, "default", &params, error)) return false;
      parsed.fallback = params;
    } else if (key == "instruments") {
      if (!value.is_object()) {
        *error = "instruments: expected an object keyed by \"market:M\" or \"asset:X\"";
        return false;
      }
      for (const auto& [name, params_json] : value.items()) {
        const std::optional<Instrument> instrument = parse_instrument(name);
        if (!instrument) {
          *error = "instruments: '" + name + "' is not \"market:M\" or \"asset:X\"";
          return false;
        }
        if (instrument->kind == Instrument::Kind::Asset && instrument->id == kQuoteAsset) {
          *error = "instruments: asset:0 is the quote asset, whose price never moves";
          return false;
        }
        ImpactParams params;
        if (!impact_params(params_json, "instruments." + name, &params, error)) return false;
        parsed.instruments[*instrument] = params;
      }
    } else if (key == "max_rounds") {
      if (!value.is_number_unsigned() || value.get<uint64_t>() < 1 || value.get<uint64_t>() > 1000) {
        *error = "max_rounds: expected an integer in [1, 1000], got " + value.dump();
        return false;
      }
      parsed.max_rounds = value.get<uint32_t>();
    } else {
      *error = "unknown field '" + key + "' (known: default, instruments, max_rounds)";
      return false;
    }
  }
  *config = std::move(parsed);
  return true;
}

Status run_whatif(Ledger& ledger, const WhatIfOptions& options, WhatIfResult* result) {
  if (options.policies.empty()) return Status::invalid_argument("give at least one --policy");
  Variants variants;
  if (Status s = make_variants(options, &variants); !s.is_ok()) return s;
  const uint64_t last = std::min(options.to_seq, ledger.head().seq);
  if (last == 0) return Status::invalid_argument("the ledger is empty");
  if (Status s = check_impact_instruments(ledger, options.impact, last); !s.is_ok()) return s;
  if (Status s = replay_variants(ledger, options, last, variants); !s.is_ok()) return s;
  WhatIfResult out;
  if (Status s = collect_results(variants, last, &out); !s.is_ok()) return s;
  *result = std::move(out);
  return Status::ok();
}

// ---- output ---------------------------------------------------------------------------

std::string whatif_json(const WhatIfResult& result) {
  nlohmann::ordered_json root;
  root["seq"] = result.seq;
  root["ts"] = result.ts;
  nlohmann::ordered_json variants = nlohmann::ordered_json::array();
  for (const VariantResult& v : result.variants) {
    nlohmann::ordered_json out;
    // The keys first, in its order, then the other figures.
    out["policy"] = v.policy;
    out["liquidations"] = v.liquidations;
    out["accounts_liquidated"] = v.accounts_liquidated;
    out["accounts_kept_position"] = v.accounts_kept_position;
    out["accounts_closed"] = v.accounts_closed;
    out["closed_notional"] = to_string(v.closed_notional);
    out["penalties"] = to_string(v.penalties);
    out["bankruptcies"] = v.bankruptcies;
    out["absorbed"] = v.absorbed;
    out["bad_debt"] = per_asset_json(v.bad_debt);
    out["insurance"] = per_asset_json(v.insurance);
    out["max_cascade_depth"] = v.max_cascade_depth;
    out["user_equity"] = to_string(v.user_equity);
    out["close_outs"] = v.close_outs;
    out["bad_debt_value"] = to_string(v.bad_debt_value);
    nlohmann::ordered_json instruments = nlohmann::ordered_json::array();
    for (const InstrumentStats& s : v.instruments) {
      nlohmann::ordered_json i;
      i["instrument"] = instrument_name(s.instrument);
      i["symbol"] = s.symbol;
      i["max_impact"] = to_string(s.max_impact);
      i["lowest_oracle"] = to_string(s.lowest_oracle);
      i["lowest_effective"] = to_string(s.lowest_effective);
      i["highest_effective"] = to_string(s.highest_effective);
      instruments.push_back(std::move(i));
    }
    out["instruments"] = instruments;
    out["cascade_rounds"] = v.cascade_rounds;
    out["truncated_cascades"] = v.truncated_cascades;
    out["exogenous_applied"] = v.exogenous_applied;
    out["exogenous_rejected"] = v.exogenous_rejected;
    out["keeper_rejected"] = v.keeper_rejected;
    out["state_hash"] = to_hex(v.state_hash);
    variants.push_back(std::move(out));
  }
  root["variants"] = variants;
  return root.dump();
}

namespace {

struct Row {
  std::string label;
  std::vector<std::string> cells;
};

// Base units in whole units with exactly `shown` fractional digits, rounded
// toward zero (the table is for reading; the JSON keeps every digit).
std::string fixed(const Int& units, unsigned decimals, unsigned shown) {
  return fixed_decimal(Wide(units), pow10_wide(decimals), shown, Rounding::TowardZero);
}

std::vector<Row> table_rows(const WhatIfResult& result) {
  const unsigned qd = result.quote_decimals;
  auto quote = [&](const Int& amount) { return fixed(amount, qd, 2); };
  std::vector<Row> rows;
  auto add = [&](std::string label, auto cell) {
    Row row{std::move(label), {}};
    for (const VariantResult& v : result.variants) row.cells.push_back(cell(v));
    rows.push_back(std::move(row));
  };
  auto count = [](uint64_t n) { return std::to_string(n); };
  add("liquidations", [&](const VariantResult& v) { return count(v.liquidations); });
  add("accounts liquidated", [&](const VariantResult& v) { return count(v.accounts_liquidated); });
  add("  kept a position", [&](const VariantResult& v) { return count(v.accounts_kept_position); });
  add("  fully closed", [&](const VariantResult& v) { return count(v.accounts_closed); });
  add("closed notional", [&](const VariantResult& v) { return quote(v.closed_notional); });
  add("penalties paid by users", [&](const VariantResult& v) { return quote(v.penalties); });
  add("bankruptcies", [&](const VariantResult& v) { return count(v.bankruptcies); });
  add("close-outs", [&](const VariantResult& v) { return count(v.close_outs); });
  add("absorbed", [&](const VariantResult& v) { return count(v.absorbed); });
  // Per asset: the id and decimals captured as plain variables (clang 14
  // does not capture structured bindings).
  auto per_asset = [&](const std::string& what, std::map<AssetId, Int> VariantResult::*field) {
    for (const auto& entry : result.assets) {
      const AssetId asset = entry.first;
      const unsigned d = result.decimals.at(asset);
      add(what + " " + entry.second, [&, asset, d](const VariantResult& v) { return fixed((v.*field).at(asset), d, 4); });
    }
  };
  per_asset("bad debt", &VariantResult::bad_debt);
  add("bad debt (value)", [&](const VariantResult& v) { return quote(v.bad_debt_value); });
  per_asset("insurance", &VariantResult::insurance);
  if (!result.variants.empty()) {
    for (size_t i = 0; i < result.variants.front().instruments.size(); ++i) {
      const InstrumentStats& first = result.variants.front().instruments[i];
      add("largest impact % " + first.symbol, [&](const VariantResult& v) {
        return i < v.instruments.size() ? fixed(v.instruments[i].max_impact * 100, 18, 2) : std::string("-");
      });
      add("lowest price " + first.symbol, [&](const VariantResult& v) {
        return i < v.instruments.size() ? fixed(v.instruments[i].lowest_effective, 18, 2) : std::string("-");
      });
    }
  }
  add("deepest cascade (rounds)", [&](const VariantResult& v) { return count(v.max_cascade_depth); });
  add("cascade rounds", [&](const VariantResult& v) { return count(v.cascade_rounds); });
  add("users' equity at the end", [&](const VariantResult& v) { return quote(v.user_equity); });
  add("log events rejected", [&](const VariantResult& v) { return count(v.exogenous_rejected); });
  return rows;
}

}  // namespace

std::string whatif_table(const WhatIfResult& result) {
  const std::vector<Row> rows = table_rows(result);
  size_t label_width = 0;
  for (const Row& row : rows) label_width = std::max(label_width, row.label.size());
  std::vector<size_t> widths;
  for (const VariantResult& v : result.variants) widths.push_back(v.policy.size());
  for (const Row& row : rows) {
    for (size_t i = 0; i < row.cells.size(); ++i) widths[i] = std::max(widths[i], row.cells[i].size());
  }
  std::string out = fmt::format(
      "what-if up to seq {}: {} variant(s); amounts in whole units, rounded toward 0 (--format json: exact)\n",
      result.seq, result.variants.size());
  out += fmt::format("{:<{}}", "", label_width);
  for (size_t i = 0; i < result.variants.size(); ++i) out += fmt::format("  {:>{}}", result.variants[i].policy, widths[i]);
  out += '\n';
  for (const Row& row : rows) {
    out += fmt::format("{:<{}}", row.label, label_width);
    for (size_t i = 0; i < row.cells.size(); ++i) out += fmt::format("  {:>{}}", row.cells[i], widths[i]);
    out += '\n';
  }
  return out;
}

std::string whatif_csv(const WhatIfResult& result) {
  std::string out =
      "policy,liquidations,accounts_liquidated,accounts_kept_position,accounts_closed,closed_notional,penalties,"
      "bankruptcies,close_outs,absorbed,bad_debt_value,max_cascade_depth,cascade_rounds,truncated_cascades,"
      "user_equity,exogenous_applied,exogenous_rejected,keeper_rejected,state_hash\n";
  for (const VariantResult& v : result.variants) {
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", v.policy, v.liquidations,
                       v.accounts_liquidated, v.accounts_kept_position, v.accounts_closed, to_string(v.closed_notional),
                       to_string(v.penalties), v.bankruptcies, v.close_outs, v.absorbed, to_string(v.bad_debt_value),
                       v.max_cascade_depth, v.cascade_rounds, v.truncated_cascades, to_string(v.user_equity),
                       v.exogenous_applied, v.exogenous_rejected, v.keeper_rejected, to_hex(v.state_hash));
  }
  return out;
}

std::string series_csv(const VariantResult& variant) {
  std::string out =
      "seq,ts,instrument,oracle_price,effective_price,closed_notional,insurance_value,bad_debt_value,liquidations\n";
  for (const SeriesPoint& p : variant.series) {
    out += fmt::format("{},{},{},{},{},{},{},{},{}\n", p.seq, p.ts, instrument_name(p.instrument), to_string(p.oracle),
                       to_string(p.effective), to_string(p.closed_notional), to_string(p.insurance_value),
                       to_string(p.bad_debt_value), p.liquidations);
  }
  return out;
}

std::string series_file_name(const VariantResult& variant) {
  std::string name = variant.policy;
  std::replace(name.begin(), name.end(), ':', '_');
  return name + ".csv";
}

}  // namespace liql
