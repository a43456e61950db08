#include "tools/generate.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/health.h"
#include "engine/keeper.h"
#include "engine/liquidation.h"
#include "engine/machine.h"
#include "replay/json_line.h"
#include "replay/jsonl_import.h"
#include "schemas/event_check.h"
#include "schemas/status.h"
#include "tools/rng.h"

namespace liql {
namespace {

// ---- the protocol the market runs on ----------------------------------------------

constexpr AssetId kUsdc = 0;
constexpr AssetId kEth = 1;
constexpr AssetId kBtc = 2;
constexpr MarketId kEthPerp = 1;
constexpr MarketId kBtcPerp = 2;
constexpr unsigned kQuoteDecimals = 6;
constexpr unsigned kPriceDecimals = 18;

// Fixed account ids: makers take the other side of every trade, liquidators
// run the keeper; ordinary traders start at kFirstTrader.
constexpr std::array<AccountId, 2> kMakers = {1, 2};
constexpr std::array<AccountId, 3> kLiquidators = {11, 12, 13};
constexpr AccountId kFirstTrader = 1000;

// Listed at ts 0. max_oracle_age_us is one hour: every price is republished
// each round (tens of seconds apart), so nothing ever goes stale.
constexpr std::string_view kListings[] = {
    R"({"type":"list_asset","ts":0,"asset":1,"symbol":"ETH","decimals":18,"borrowable":true,"max_oracle_age_us":3600000000,"asset_weight":{"init":"0.8","target":"0.85","maint":"0.9"},"liab_weight":{"init":"1.2","target":"1.15","maint":"1.1"},"liquidation_bonus":"0.05"})",
    R"({"type":"list_asset","ts":0,"asset":2,"symbol":"BTC","decimals":8,"borrowable":true,"max_oracle_age_us":3600000000,"asset_weight":{"init":"0.8","target":"0.85","maint":"0.9"},"liab_weight":{"init":"1.2","target":"1.15","maint":"1.1"},"liquidation_bonus":"0.04"})",
    R"({"type":"list_market","ts":0,"market":1,"symbol":"ETH-PERP","base_decimals":9,"margin":{"init":"0.1","target":"0.075","maint":"0.05"},"liquidation_fee":"0.01","lot_size":"0.001","min_position":"0.01","max_oracle_age_us":3600000000,"max_trade_deviation":"0.05"})",
    R"({"type":"list_market","ts":0,"market":2,"symbol":"BTC-PERP","base_decimals":8,"margin":{"init":"0.08","target":"0.06","maint":"0.04"},"liquidation_fee":"0.008","lot_size":"0.0001","min_position":"0.001","max_oracle_age_us":3600000000,"max_trade_deviation":"0.05"})",
};
constexpr std::string_view kGenesis =
    R"({"type":"genesis","ts":0,"mode":"enforce","quote_symbol":"USDC","quote_decimals":6,"policy":"partial","liquidator_share":"0.5","insurance_share":"0.3","seize_tolerance":2})";

// The four prices that move: a coin's spot asset and its perp carry the same
// price, so each coin (0 = ETH, 1 = BTC) moves as one.
struct Feed {
  bool market;
  uint32_t id;
  int coin;
};
constexpr std::array<Feed, 4> kFeeds = {{{false, kEth, 0}, {false, kBtc, 1}, {true, kEthPerp, 0}, {true, kBtcPerp, 1}}};

// Amounts are written with a realistic granularity (cents, micro-ETH, satoshi).
Int granularity(AssetId asset) {
  if (asset == kUsdc) return pow10(4);
  if (asset == kEth) return pow10(12);
  return Int(1);
}
Int round_down(const Int& amount, const Int& step) { return amount - amount % step; }
Int whole(uint64_t units, unsigned decimals) { return Int(units) * pow10(decimals); }

// ---- the lines ---------------------------------------------------------------------

// A line the generator wrote that the engine's own input path refuses, or an
// exception of the engine: a bug of the generator, never of its options.
Status internal_error(const std::string& what) { return Status::internal("generate: " + what); }

// One JSON object per line (replay/json_line.h); keys in the order they are
// added (that of SPEC §8's example).
// Applies lines exactly as MemoryRun does (import, verify, apply), without
// keeping the history (an Outcome is ~2 KB and a run can have 10^6 events),
// and keeps the engine's keeper index (engine/keeper.h) in step with the
// state. The index tracks the ordinary traders only: the makers and the
// liquidators are touched by nearly every event and never liquidated.
class Tracker {
 public:
  Result<Outcome> apply(std::string_view line, uint64_t line_number) {
    JsonlImporter importer(machine_.state());
    InputError error;
    if (!importer.add_line(line, line_number, &error) || importer.events().size() != 1) {
      return internal_error("the importer refused generated line " + std::to_string(line_number) + ": " +
                            error.to_string());
    }
    const std::string& bytes = importer.events().front();
    std::string field, message;
    const fb::Event* event =
        verify_event_buffer(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &field, &message);
    if (event == nullptr) {
      return internal_error("generated line " + std::to_string(line_number) + ": invalid event buffer: " + field +
                            ": " + message);
    }
    Outcome outcome;
    if (Status s = machine_.apply(*event, machine_.state().seq + 1, &outcome); !s.is_ok()) {
      return internal_error("generated line " + std::to_string(line_number) + ": " + s.message());
    }
    std::erase_if(outcome.touched, [](AccountId id) { return id < kFirstTrader; });
    index_.on_event(machine_.state(), *event, outcome);
    return outcome;
  }
  const State& state() const { return machine_.state(); }
  const KeeperIndex& index() const { return index_; }

 private:
  Machine machine_;
  KeeperIndex index_;
};

// ---- the price path ------------------------------------------------------------------

// The story of both coins: a random walk pulled towards an anchor, a crash of
// crash_pct (half of it for BTC, so ETH collateral against BTC debt suffers
// too) in nine uneven steps, then a recovery of half the fall. At 40% a step
// is 3–7% of the price: it pushes the accounts the keeper brought back to their
// target below maintenance again, and those it did not reach in time (or
// whose penalty exceeds what is left) into bankruptcy.
constexpr std::array<uint32_t, 9> kCrashWeights = {8, 10, 12, 16, 14, 12, 10, 10, 8};  // percent of the fall, Σ = 100
constexpr uint32_t kRecoverySteps = 10;

class PricePath {
 public:
  explicit PricePath(uint32_t crash_pct)
      : price_{whole(2000, kPriceDecimals), whole(40000, kPriceDecimals)},
        base_(price_),
        anchor_(price_),
        start_(price_),
        bottom_(price_),
        depth_bp_{crash_pct * 100, crash_pct * 50} {}

  const Int& price(int coin) const { return price_[coin]; }

  // ±0.8% per round, plus 1% of the way back to the anchor: a few percent
  // of wander, enough to catch the accounts at the edge of their limit.
  void drift(Rng& rng) {
    for (int coin = 0; coin < 2; ++coin) {
      const Int move = Int(static_cast<int64_t>(rng.below(16001)) - 8000);
      set(coin, price_[coin] * (Int(1'000'000) + move) / 1'000'000 + (anchor_[coin] - price_[coin]) / 100);
    }
  }

  // Step `step` of the crash: the price is start · (1 − depth · Σ weights so far).
  void crash_step(size_t step) {
    if (step == 0) start_ = price_;
    uint32_t done = 0;
    for (size_t i = 0; i <= step; ++i) done += kCrashWeights[i];
    for (int coin = 0; coin < 2; ++coin) {
      set(coin, start_[coin] * (Int(10'000) - Int(depth_bp_[coin]) * done / 100) / 10'000);
    }
    bottom_ = anchor_ = price_;
  }

  // Step `step` of the recovery: linearly back up half of the fall.
  void recovery_step(size_t step) {
    for (int coin = 0; coin < 2; ++coin) {
      const Int gain = (start_[coin] - bottom_[coin]) / 2;
      set(coin, bottom_[coin] + gain * Int(step + 1) / kRecoverySteps);
    }
    anchor_ = price_;
  }

  // A real path (GenerateOptions::price_path): the coin's base price moved as
  // its instrument moved from p0 to p, ⌊base · p / p0⌋ down to the tick.
  void follow(int coin, const Int& p, const Int& p0) { set(coin, muldiv_floor(base_[coin], p, p0)); }

 private:
  // Prices have 4 decimals and stay positive.
  void set(int coin, const Int& price) {
    const Int tick = pow10(14);
    price_[coin] = price < tick ? tick : round_down(price, tick);
  }

  std::array<Int, 2> price_, base_, anchor_, start_, bottom_;
  std::array<uint32_t, 2> depth_bp_;
};

// ---- ordinary accounts ----------------------------------------------------------------

enum class Style : uint8_t {
  PerpUsdc,        // USDC collateral, perps
  PerpCollateral,  // ETH or BTC collateral, perps
  EthBorrowsBtc,   // the classic loan that the crash (ETH falls twice as far) hurts
  BtcBorrowsEth,   // hurt by the recovery
  UsdcBorrowsEth,  // a short through the lending side
  Hybrid,          // ETH and USDC, a BTC loan and perps: cross margin
};

struct Trader {
  AccountId id = 0;
  Style style = Style::PerpUsdc;
  uint32_t appetite = 0;  // per mille of its free initial margin a new risk may use
  bool goes_long = true;
  MarketId market = kEthPerp;   // the perp it trades
  AssetId collateral = kUsdc;   // what it deposits first
  AssetId loan = kUsdc;         // what it borrows; kUsdc: nothing
  // A gambler at the edge of its limit that, once below maintenance, may dump
  // its position into the book at a fire-sale price before the keeper gets to
  // it (Generator::capitulate): the loss can exceed everything it holds.
  bool panics = false;
};

bool liquidatable(AccountStatus status) {
  return status == AccountStatus::Liquidatable || status == AccountStatus::Bankrupt;
}

// ---- the generator ------------------------------------------------------------------------

enum class Phase { Drift, Crash, Bottom, Recovery, Calm };

// Progress (per mille of the events) at which the story moves on.
constexpr uint64_t kOnboardingEnd = 400;
constexpr uint64_t kCrashStart = 550;
constexpr uint64_t kRecoveryStart = 680;
// The last stretch: prices hold, nobody trades, the keeper settles what is
// left, so the log ends with no account BANKRUPT.
constexpr uint64_t kWindDownStart = 985;

// Per mille of the perp traders (USDC or spot collateral) who panic
// (Trader::panics), and per mille of their falls below maintenance on which
// they do.
constexpr uint64_t kPanicPerMille = 60;
constexpr uint64_t kPanicChance = 500;
// Per mille of the keeper's turns on a bankrupt account without positions that
// start with a premature absorb (→ NOT_EXHAUSTED).
constexpr uint64_t kEarlyAbsorbPerMille = 30;

class Generator {
 public:
  Generator(const GenerateOptions& options, const std::function<void(std::string_view)>& sink)
      : options_(options), sink_(sink), rng_(options.seed), path_(options.crash_pct) {
    // Enough for the crash rounds, when a large part of the book falls through at once.
    keeper_budget_ = 32 + options.accounts / 4;
  }

  // OK, or why the run stopped before options.events lines (a bug: internal_error).
  Status run() {
    setup();
    while (!full()) round();
    if (options_.progress && status_.is_ok()) report();
    return status_;
  }

 private:
  // ---- output ----
  // Also true once a line failed: every step checks it before it writes.
  bool full() const { return written_ >= options_.events || !status_.is_ok(); }
  uint64_t progress() const { return written_ * 1000 / options_.events; }
  void pass_time(uint64_t min_ms, uint64_t max_ms) { ts_ += rng_.between(min_ms, max_ms) * 1000; }

  // Writes one line and applies it. REQUIRES !full(). When the line cannot be
  // applied, nothing is written, status_ says why (so full() holds) and the
  // Outcome is empty.
  Outcome emit(const std::string& line) {
    Result<Outcome> applied = tracker_.apply(line, written_ + 1);
    if (!applied.is_ok()) {
      status_ = applied.status();
      return Outcome{};
    }
    Outcome outcome = std::move(applied).value();
    sink_(line);
    ++written_;
    if (options_.progress && written_ % std::max<uint64_t>(1, options_.events / 10) == 0) {
      std::fprintf(stderr, "generate: %llu of %llu events\n", static_cast<unsigned long long>(written_),
                   static_cast<unsigned long long>(options_.events));
    }
    count(outcome);
    return outcome;
  }

  void count(const Outcome& outcome) {
    if (!outcome.audit) return;
    if (!outcome.applied()) {
      ++stats_.liquidations_rejected;
      return;
    }
    if (outcome.audit->kind == LiquidationKind::Absorb) {
      ++stats_.absorbed;
      return;
    }
    ++stats_.liquidations;
    if (outcome.audit->verdict == Verdict::Minimal) ++stats_.minimal;
    if (!outcome.audit->bankrupt) return;
    ++stats_.bankruptcies;
    if (outcome.audit->kind != LiquidationKind::Token) return;
    const auto& lines = outcome.audit->bankrupt->lines;
    if (std::any_of(lines.begin(), lines.end(), [](const BankruptcyLine& line) { return line.dust.sign() > 0; })) {
      ++stats_.dust_closeouts;
    }
  }

  void report() const {
    std::fprintf(stderr,
                 "generate: %llu liquidations applied (%llu minimal, %llu bankruptcies, %llu token close-outs "
                 "with dust), %llu absorbed, %llu rejected\n",
                 static_cast<unsigned long long>(stats_.liquidations), static_cast<unsigned long long>(stats_.minimal),
                 static_cast<unsigned long long>(stats_.bankruptcies),
                 static_cast<unsigned long long>(stats_.dust_closeouts), static_cast<unsigned long long>(stats_.absorbed),
                 static_cast<unsigned long long>(stats_.liquidations_rejected));
  }

  // ---- state ----
  const State& state() const { return tracker_.state(); }
  const Account* account(AccountId id) const { return state().account(id); }
  Int init_health(AccountId id) const {
    const Account* a = account(id);
    return a == nullptr ? Int(0) : account_health(state(), *a, Level::Init).value;
  }
  const Int& oracle(MarketId market) const { return state().markets.at(market).oracle.price; }

  // Base units of `market` worth `quote` quote units at the oracle, down to whole lots.
  Int lots_worth(MarketId market, const Int& quote) const {
    const MarketParams& params = state().markets.at(market).params;
    const Int base = muldiv_floor(quote, pow10(params.base_decimals + 18), oracle(market) * pow10(kQuoteDecimals));
    return round_down(base, params.lot_size);
  }
  // Units of `asset` worth `quote` quote units, down to the asset's granularity.
  Int units_worth(AssetId asset, const Int& quote) const {
    const Int units = muldiv_floor(quote, pow10(state().assets.at(asset).params.decimals + 18),
                                   asset_price(state(), asset) * pow10(kQuoteDecimals));
    return round_down(units, granularity(asset));
  }

  // ---- setup ----
  void setup() {
    for (std::string_view line : {kGenesis, kListings[0], kListings[1], kListings[2], kListings[3]}) {
      if (full()) return;
      emit(std::string(line));
    }
    ts_ = 1000;
    publish_prices();
    // Sized by the crowd: the makers carry the traders' whole net exposure
    // through a crash and a recovery (up to ×10 after a 95% fall).
    const uint64_t n = std::min<uint64_t>(options_.accounts, 1'000'000'000);
    insurance_deposit(kUsdc, whole(std::max<uint64_t>(1000, n * 20), kQuoteDecimals));
    insurance_deposit(kEth, whole(5, 18));
    for (AccountId maker : kMakers) deposit(maker, kUsdc, whole(std::max<uint64_t>(1'000'000'000, n * 10'000'000), 6));
    for (AccountId liquidator : kLiquidators) {
      deposit(liquidator, kUsdc, whole(std::max<uint64_t>(10'000'000, n * 100'000), 6));
      deposit(liquidator, kEth, whole(100, 18));
      deposit(liquidator, kBtc, whole(5, 8));
    }
  }

  void insurance_deposit(AssetId asset, const Int& amount) {
    if (full()) return;
    pass_time(10, 100);
    emit(JsonLine("insurance_deposit", ts_).id("asset", asset).amount("amount", amount, decimals(asset)).done());
  }
  unsigned decimals(AssetId asset) const { return state().assets.at(asset).params.decimals; }

  // ---- one round: prices, the keeper, the liquidators' hedging, then the traders ----
  void round() {
    ++round_;
    advance_prices();
    publish_prices();
    capitulate();
    keeper();
    unwind_liquidators();
    const bool crash = phase_ == Phase::Crash;
    const uint64_t actions = crash ? rng_.between(2, 5) : rng_.between(6, 20);
    for (uint64_t i = 0; i < actions && !full(); ++i) act();
  }

  bool winding_down() const { return progress() >= kWindDownStart; }

  void advance_prices() {
    if (real_ != nullptr) return follow_real_path();
    if (winding_down()) return;  // republished as they are: nothing new falls through
    switch (phase_) {
      case Phase::Drift:
        if (progress() < kCrashStart || options_.crash_pct == 0) return path_.drift(rng_);
        phase_ = Phase::Crash;
        step_ = 0;
        [[fallthrough]];
      case Phase::Crash:
        path_.crash_step(step_++);
        if (step_ == kCrashWeights.size()) phase_ = Phase::Bottom;
        return;
      case Phase::Bottom:
        if (progress() < kRecoveryStart) return path_.drift(rng_);
        phase_ = Phase::Recovery;
        step_ = 0;
        [[fallthrough]];
      case Phase::Recovery:
        path_.recovery_step(step_++);
        if (step_ == kRecoverySteps) phase_ = Phase::Calm;
        return;
      case Phase::Calm: return path_.drift(rng_);
    }
  }

  // The real path's point for a round starting after n = written_ lines of E
  // (tools/generate.h): 0 while accounts onboard, M − 1 in the wind-down,
  // 1 + ⌊(1000·n − 400·E)·(M − 1) / (585·E)⌋ in between; the points up to it
  // are taken in order, each coin at its instrument's latest price.
  void follow_real_path() {
    const auto& points = real_->points;
    const Int n(written_), e(options_.events), m(points.size());
    size_t target = 0;
    if (winding_down()) {
      target = points.size() - 1;
    } else if (progress() >= kOnboardingEnd) {
      const Int stretch = e * (kWindDownStart - kOnboardingEnd);
      target = 1 + static_cast<size_t>((n * 1000 - e * kOnboardingEnd) * (m - 1) / stretch);
    }
    for (; real_next_ <= target; ++real_next_) {
      const RealPricePath::Point& point = points[real_next_];
      if (!real_first_[point.instrument]) real_first_[point.instrument] = point.price;
      real_latest_[point.instrument] = point.price;
    }
    path_.follow(0, *real_latest_[0], *real_first_[0]);
    const int btc = real_->instruments.size() > 1 ? 1 : 0;  // one instrument: BTC follows it too
    if (real_first_[btc]) path_.follow(1, *real_latest_[btc], *real_first_[btc]);
  }

  // All four feeds at one ts (publish_ts = ts: fresh); after each, the
  // traders it took under maintenance are rechecked.
  void publish_prices() {
    pass_time(500, 1500);
    for (int feed = 0; feed < 4 && !full(); ++feed) {
      const Feed& f = kFeeds[feed];
      emit(JsonLine("price", ts_)
               .id(f.market ? "market" : "asset", f.id)
               .amount("price", path_.price(f.coin), kPriceDecimals)
               .id("publish_ts", ts_)
               .done());
      recheck_fallen();
    }
  }

  // The watched traders (watched_) the last price took under maintenance, as
  // the keeper index finds them (exactly, without a scan: engine/keeper.h),
  // rechecked in ascending id order. Nothing to look at when that price
  // crossed none of the index's bands.
  void recheck_fallen() {
    const KeeperIndex& index = tracker_.index();
    if (index.stats().last_update_reevaluated == 0) return;
    std::vector<AccountId> fallen;
    for (AccountId id : index.liquidatable()) {
      if (watched_.contains(id)) fallen.push_back(id);
    }
    for (AccountId id : fallen) recheck(id);
  }

  // ---- risk bookkeeping ----
  bool is_trader(AccountId id) const { return id >= kFirstTrader; }

  AccountStatus assess(const Account& a) const { return health_report(state(), a).status; }

  // BANKRUPT with nothing a liquidation could still seize (SPEC §5.4): only an absorb closes it out.
  bool absorbable(const Account& a, AccountStatus status) const {
    return status == AccountStatus::Bankrupt && exhausted(state(), a);
  }

  // After an event touched an ordinary account, or a price took a watched
  // one under: it waits for the keeper (to be liquidated, or absorbed from the
  // next round on), or it is watched again.
  void recheck(AccountId id) {
    if (!is_trader(id)) return;
    pending_.erase(id);
    absorbable_.erase(id);
    watched_.erase(id);
    const Account* a = account(id);
    if (a == nullptr) return;
    const AccountStatus status = assess(*a);
    if (absorbable(*a, status)) {
      absorbable_.emplace(id, round_);
    } else if (liquidatable(status)) {
      pending_.insert(id);
    } else {
      watched_.insert(id);
    }
  }

  // ---- the gamblers' capitulation ----

  // Right after a price hit, before the keeper runs: a gambler (Trader::panics)
  // that fell below maintenance may dump its largest position into the book.
  void capitulate() {
    if (winding_down()) return;
    const std::vector<AccountId> ids(pending_.begin(), pending_.end());
    for (AccountId id : ids) {
      if (full()) return;
      if (!traders_[id - kFirstTrader].panics) continue;
      const Account& a = *account(id);
      if (a.positions.empty() || !rng_.chance(kPanicChance)) continue;
      fire_sale(id, largest_position(a));
    }
  }

  // Closes the whole position by a trade 4–5% off the oracle (against it,
  // inside max_trade_deviation). The slippage is smaller than the initial
  // margin the position frees, so H_init does not fall and the engine accepts
  // it (SPEC §4.1) even when the loss exceeds everything the account holds.
  // Then its quote balance goes negative (a realised loss is a debt): with
  // only USDC left, it is BANKRUPT and exhausted and the keeper absorbs it next
  // round; with spot collateral left, the keeper seizes it all (r* = cap, the
  // target is out of reach) and the engine closes out the dust.
  void fire_sale(AccountId id, MarketId market) {
    const Position position = *account(id)->position(market);
    const MarketParams& params = state().markets.at(market).params;
    const Int& p = oracle(market);
    const Int tick = pow10(12);
    Int off = muldiv_floor(p, Int(rng_.between(400, 500)), Int(10'000));
    const Int band = muldiv_floor(p, params.max_trade_deviation, wad());
    off = round_down(off < band ? off : band, tick);
    const bool buys = position.base.sign() < 0;
    const Int price = buys ? p + off : p - off;
    // H_init changes by requirement(init) − slippage against the oracle; never issue a trade it would refuse.
    const Int size = abs(position.base);
    const Int scale = pow10(params.base_decimals) * wad();
    const Int at_oracle = notional(state(), market, position.base);
    const Int quote_price = price * pow10(kQuoteDecimals);
    const Int slippage = buys ? muldiv_ceil(size, quote_price, scale) + at_oracle
                              : at_oracle - muldiv_floor(size, quote_price, scale);
    if (slippage > perp_term(state(), market, position, Level::Init).requirement) return;
    pass_time(20, 200);
    trade(id, market, -position.base, price);
    recheck(id);
  }

  // ---- the keeper ----

  // First absorbs the exhausted bankrupt accounts found in earlier rounds, then
  // works through the pending accounts from a rotating cursor, with a bounded
  // number of events per round: in a crash it falls behind, like a real one.
  void keeper() {
    uint64_t budget = keeper_budget_;
    absorb_accounts(&budget);
    while (budget > 0 && !pending_.empty() && !full()) {
      auto it = pending_.lower_bound(cursor_);
      if (it == pending_.end()) it = pending_.begin();
      const AccountId id = *it;
      pending_.erase(it);
      cursor_ = id + 1;
      liquidate_account(id, &budget);
    }
  }

  // `absorb` for every account recheck() found BANKRUPT and exhausted before
  // this round (a trader who realised a loss by trading; no liquidation leaves
  // one: the engine closes those out itself), checked again against the state
  // now, so the engine never rejects one.
  void absorb_accounts(uint64_t* budget) {
    for (auto it = absorbable_.begin(); it != absorbable_.end() && *budget > 0 && !full();) {
      if (it->second >= round_) {
        ++it;
        continue;
      }
      const AccountId id = it->first;
      it = absorbable_.erase(it);
      const Account* a = account(id);
      if (absorbable(*a, assess(*a))) {
        --*budget;
        pass_time(20, 200);
        emit(JsonLine("absorb", ts_).id("account", id).done());
      }
      recheck(id);  // absorbed: empty and watched; otherwise back to the keeper's queue
    }
  }

  // Liquidates one account until it is no longer liquidatable (at most 4 events a round).
  void liquidate_account(AccountId id, uint64_t* budget) {
    for (int attempt = 0; attempt < 4; ++attempt) {
      const Account* a = account(id);
      const AccountStatus status = assess(*a);
      if (!liquidatable(status)) {
        watched_.insert(id);
        return;
      }
      if (absorbable(*a, status)) return recheck(id);  // absorbed next round
      if (*budget == 0 || full()) break;
      --*budget;
      pass_time(20, 200);
      // Rarely, a keeper that absorbs a bankrupt account too early, while it
      // still holds seizable collateral: → NOT_EXHAUSTED.
      if (status == AccountStatus::Bankrupt && a->positions.empty() && rng_.chance(kEarlyAbsorbPerMille)) {
        emit(JsonLine("absorb", ts_).id("account", id).done());
        continue;
      }
      const bool capped = rng_.chance(25);  // a keeper with limited inventory: → UNDER
      const std::optional<Outcome> outcome =
          a->positions.empty() ? liquidate_token(id, capped) : liquidate_perp(id, capped);
      // Nothing to seize, or a rejection: left alone until an event touches it again.
      if (!outcome || !outcome->applied()) return;
    }
    pending_.insert(id);  // still liquidatable: next round
  }

  AccountId next_liquidator() { return kLiquidators[next_liquidator_++ % kLiquidators.size()]; }

  // The largest position first (by notional).
  MarketId largest_position(const Account& a) const {
    MarketId best = a.positions.begin()->first;
    Int best_size = -1;
    for (const auto& [market, position] : a.positions) {
      const Int size = abs(notional(state(), market, position.base));
      if (size > best_size) best = market, best_size = size;
    }
    return best;
  }

  Outcome liquidate_perp(AccountId id, bool capped) {
    const Account& a = *account(id);
    const MarketId market = largest_position(a);
    JsonLine line("liquidate_perp", ts_);
    line.id("liquidator", next_liquidator()).id("account", id).id("market", market);
    if (capped) {
      const MarketParams& params = state().markets.at(market).params;
      const Int half = round_down(perp_required(state(), a, market).size / 2, params.lot_size);
      if (half.sign() > 0) line.amount("max_base", half, params.base_decimals);
    }
    return emit(line.done());
  }

  // Repays the largest debt, seizing the most valuable collateral that can
  // still be seized against it, else the next debt; nullopt when nothing can
  // be seized (SPEC §5.2: cap < 1 would be NOTHING_TO_LIQUIDATE, e.g. a few
  // wei of collateral left by earlier seizures).
  std::optional<Outcome> liquidate_token(AccountId id, bool capped) {
    const Account& a = *account(id);
    std::vector<std::pair<Int, AssetId>> debts;        // (value, asset): largest debt first
    std::vector<std::pair<Int, AssetId>> collaterals;  // (−value, asset): most valuable first
    for (const auto& [asset, balance] : a.balances) {
      const Int v = value(state(), asset, balance);
      if (balance.sign() < 0) debts.emplace_back(v, asset);
      if (balance.sign() > 0) collaterals.emplace_back(-v, asset);
    }
    std::sort(debts.begin(), debts.end());
    std::sort(collaterals.begin(), collaterals.end());
    for (const auto& [debt_value, liability] : debts) {
      for (const auto& [minus_value, collateral] : collaterals) {
        const Int cap = token_repay_cap(state(), a, liability, collateral);
        if (cap.sign() > 0) return token_liquidation(id, liability, collateral, capped ? cap : Int(0));
      }
    }
    return std::nullopt;
  }

  // With a cap (> 0), repays only half of the required r* (→ UNDER).
  Outcome token_liquidation(AccountId id, AssetId liability, AssetId collateral, const Int& cap) {
    JsonLine line("liquidate_token", ts_);
    line.id("liquidator", next_liquidator()).id("account", id);
    line.id("liability_asset", liability).id("collateral_asset", collateral);
    if (cap.sign() > 0) {
      const Int half = token_required(state(), *account(id), liability, collateral, cap) / 2;
      if (half.sign() > 0) line.amount("max_repay", half, decimals(liability));
    }
    return emit(line.done());
  }

  // Liquidators hand the positions they took over to a maker at the oracle
  // price, so their own risk stays flat.
  void unwind_liquidators() {
    for (AccountId liquidator : kLiquidators) {
      const Account* a = account(liquidator);
      if (a == nullptr) continue;
      const std::vector<std::pair<MarketId, Position>> positions(a->positions.begin(), a->positions.end());
      for (const auto& [market, position] : positions) {
        if (full()) return;
        pass_time(50, 300);
        trade(liquidator, market, -position.base, oracle(market));
      }
    }
  }

  // ---- trading ----
  Outcome trade(AccountId taker, MarketId market, const Int& base, const Int& price) {
    const MarketParams& params = state().markets.at(market).params;
    const AccountId maker = kMakers[rng_.below(kMakers.size())];
    return emit(JsonLine("trade", ts_)
                    .id("market", market)
                    .id("taker", taker)
                    .id("maker", maker)
                    .amount("base", base, params.base_decimals)
                    .amount("price", price, kPriceDecimals)
                    .done());
  }

  // The taker pays the maker's spread: up to 0.1% off the oracle, against it.
  Int taker_price(MarketId market, bool buys) {
    const Int spread_ppm = Int(rng_.below(1001));
    const Int& p = oracle(market);
    const Int tick = pow10(12);
    return buys ? round_down(p + muldiv_ceil(p, spread_ppm, Int(1'000'000)) + tick - 1, tick)
                : round_down(p - muldiv_ceil(p, spread_ppm, Int(1'000'000)), tick);
  }

  // Opens or grows a position using `per_mille` of the free initial margin:
  // a notional N costs about N·(margin.init + spread) of it.
  void open(Trader& t, MarketId market, uint32_t per_mille, bool goes_long) {
    const Int free = init_health(t.id);
    if (free.sign() <= 0 || full()) return;
    const MarketParams& params = state().markets.at(market).params;
    const Int budget = free * per_mille / 1000;
    const Int size = lots_worth(market, muldiv_floor(budget, wad(), params.margin.init + pow10(15)));
    if (size < params.lot_size) return;
    pass_time(200, 3000);
    trade(t.id, market, goes_long ? size : Int(-size), taker_price(market, goes_long));
    recheck(t.id);
  }

  // Closes `per_mille` of a position (all of it at 1000 or when less than a lot is left).
  void reduce(Trader& t, MarketId market, uint32_t per_mille) {
    const Position* position = account(t.id)->position(market);
    if (position == nullptr || full()) return;
    const Int size = abs(position->base);
    Int part = round_down(size * per_mille / 1000, state().markets.at(market).params.lot_size);
    if (part.is_zero() || part > size) part = size;
    const bool buys = position->base.sign() < 0;
    pass_time(200, 3000);
    trade(t.id, market, buys ? part : Int(-part), taker_price(market, buys));
    recheck(t.id);
  }

  // ---- money in and out ----
  void deposit(AccountId id, AssetId asset, const Int& amount) { transfer("deposit", id, asset, amount); }
  void withdraw(AccountId id, AssetId asset, const Int& amount) { transfer("withdraw", id, asset, amount); }

  void transfer(std::string_view type, AccountId id, AssetId asset, const Int& amount) {
    if (full() || amount.sign() <= 0) return;
    pass_time(200, 3000);
    emit(JsonLine(type, ts_).id("account", id).id("asset", asset).amount("amount", amount, decimals(asset)).done());
    recheck(id);
  }

  // A deposit size in USDC: 100 to ~1M, most in the thousands.
  Int deposit_value() {
    const uint64_t roll = rng_.below(100);
    const unsigned exponent = roll < 30 ? 2 : roll < 70 ? 3 : roll < 95 ? 4 : 5;
    uint64_t low = 1;
    for (unsigned i = 0; i < exponent; ++i) low *= 10;
    return whole(rng_.between(low, low * 10 - 1), kQuoteDecimals);
  }

  // Borrows (withdraws beyond the balance) `loan` for `per_mille` of the free
  // initial margin; each unit of debt costs its value · liab_weight.init.
  void borrow(Trader& t, uint32_t per_mille) {
    if (t.loan == kUsdc || account(t.id)->balance(t.loan).sign() > 0) return;
    const Int free = init_health(t.id);
    if (free.sign() <= 0) return;
    const Int budget = free * per_mille / 1000;
    const Int& weight = state().assets.at(t.loan).params.liab_weight.init;
    withdraw(t.id, t.loan, units_worth(t.loan, muldiv_floor(budget, wad(), weight)));
  }

  // Takes out part of the free margin: USDC first, else collateral.
  void take_profit(Trader& t) {
    const Int free = init_health(t.id);
    if (free.sign() <= 0) return;
    const Int budget = free * rng_.between(100, 800) / 1000;
    const Int usdc = account(t.id)->balance(kUsdc);
    if (usdc.sign() > 0) {
      return withdraw(t.id, kUsdc, round_down(budget < usdc ? budget : usdc, granularity(kUsdc)));
    }
    const Int held = account(t.id)->balance(t.collateral);
    if (t.collateral == kUsdc || held.sign() <= 0) return;
    const Int& weight = state().assets.at(t.collateral).params.asset_weight.init;
    const Int amount = units_worth(t.collateral, muldiv_floor(budget, wad(), weight));
    withdraw(t.id, t.collateral, amount < held ? amount : held);
  }

  // Adds collateral, or repays part of a loan.
  void add_funds(Trader& t) {
    const Int debt = account(t.id)->balance(t.loan);
    if (t.loan != kUsdc && debt.sign() < 0 && rng_.chance(500)) {
      const Int part = round_down(-debt * rng_.between(200, 1000) / 1000, granularity(t.loan));
      return deposit(t.id, t.loan, part.is_zero() ? Int(-debt) : part);
    }
    const Int amount = deposit_value() / 5;
    if (t.collateral == kUsdc) return deposit(t.id, kUsdc, round_down(amount, granularity(kUsdc)));
    deposit(t.id, t.collateral, units_worth(t.collateral, amount));
  }

  // ---- ordinary accounts' life ----
  Trader new_trader() {
    Trader t;
    t.id = kFirstTrader + traders_.size();
    const uint64_t roll = rng_.below(1000);
    t.style = roll < 480   ? Style::PerpUsdc
              : roll < 630 ? Style::PerpCollateral
              : roll < 790 ? Style::EthBorrowsBtc
              : roll < 860 ? Style::BtcBorrowsEth
              : roll < 930 ? Style::UsdcBorrowsEth
                           : Style::Hybrid;
    // Half are careful, a third bold, the rest at the edge of their limit.
    const uint64_t temper = rng_.below(100);
    t.appetite = temper < 50 ? rng_.between(200, 700) : temper < 85 ? rng_.between(700, 950) : rng_.between(950, 990);
    t.goes_long = rng_.chance(600);
    t.market = rng_.chance(700) ? kEthPerp : kBtcPerp;
    switch (t.style) {
      case Style::PerpUsdc: break;
      case Style::PerpCollateral: t.collateral = rng_.chance(600) ? kEth : kBtc; break;
      case Style::EthBorrowsBtc: t.collateral = kEth, t.loan = kBtc; break;
      case Style::BtcBorrowsEth: t.collateral = kBtc, t.loan = kEth; break;
      case Style::UsdcBorrowsEth: t.loan = kEth; break;
      case Style::Hybrid: t.collateral = kEth, t.loan = kBtc; break;
    }
    if ((t.style == Style::PerpUsdc || t.style == Style::PerpCollateral) && rng_.chance(kPanicPerMille)) {
      t.panics = true;
      t.appetite = static_cast<uint32_t>(rng_.between(950, 990));
    }
    return t;
  }

  // A new account: its collateral, then its loan and/or its first position.
  void onboard() {
    traders_.push_back(new_trader());
    Trader& t = traders_.back();
    const Int size = deposit_value();
    if (t.collateral == kUsdc) {
      deposit(t.id, kUsdc, size);
    } else {
      deposit(t.id, t.collateral, units_worth(t.collateral, size));
    }
    if (t.style == Style::PerpCollateral || t.style == Style::Hybrid) {
      deposit(t.id, kUsdc, round_down(size / 10, granularity(kUsdc)));
    }
    const bool trades = t.style == Style::PerpUsdc || t.style == Style::PerpCollateral || t.style == Style::Hybrid;
    if (t.loan != kUsdc) borrow(t, trades ? t.appetite / 2 : t.appetite);
    if (trades) open(t, t.market, t.appetite, t.goes_long);
  }

  bool onboarding() const { return traders_.size() < options_.accounts && progress() < kOnboardingEnd; }

  // One action of the crowd: new accounts early on, then trading, funding,
  // withdrawals, loans and, rarely, a keeper poking a healthy account.
  void act() {
    if (onboarding() && (traders_.empty() || rng_.chance(800))) return onboard();
    if (traders_.empty()) return;
    Trader& t = traders_[rng_.below(traders_.size())];
    const AccountStatus status = assess(*account(t.id));
    const bool healthy = status == AccountStatus::Healthy;
    const uint64_t roll = rng_.below(1000);
    if (roll < 6) return probe(t, status);
    if (winding_down()) {  // money in and out only: neither can make an account bankrupt
      return roll < 500 || !healthy ? add_funds(t) : take_profit(t);
    }
    if (roll < 450) return trade_more(t, healthy);
    if (roll < 580) return add_funds(t);
    if (roll < 730) return healthy ? take_profit(t) : add_funds(t);
    if (roll < 830 && healthy) return borrow(t, rng_.between(t.appetite / 3, t.appetite));
    if (healthy) open(t, t.market == kEthPerp ? kBtcPerp : kEthPerp, t.appetite / 2, rng_.chance(500));
  }

  void trade_more(Trader& t, bool healthy) {
    const Position* position = account(t.id)->position(t.market);
    if (position == nullptr) {
      if (healthy) open(t, t.market, rng_.between(t.appetite / 2, t.appetite), t.goes_long);
      return;
    }
    const uint64_t roll = rng_.below(100);
    const bool goes_long = position->base.sign() > 0;
    if (roll < 45 && healthy) return open(t, t.market, rng_.between(t.appetite / 2, t.appetite), goes_long);
    reduce(t, t.market, roll < 80 ? static_cast<uint32_t>(rng_.between(100, 700)) : 1000);
  }

  // A keeper trying an account that is not liquidatable: → NOT_LIQUIDATABLE.
  void probe(Trader& t, AccountStatus status) {
    if (liquidatable(status) || full()) return;
    const Account& a = *account(t.id);
    pass_time(20, 200);
    if (!a.positions.empty()) {
      emit(JsonLine("liquidate_perp", ts_)
               .id("liquidator", next_liquidator())
               .id("account", t.id)
               .id("market", a.positions.begin()->first)
               .done());
    } else if (t.loan != kUsdc && a.balance(t.loan).sign() < 0 && a.balance(t.collateral).sign() > 0) {
      emit(JsonLine("liquidate_token", ts_)
               .id("liquidator", next_liquidator())
               .id("account", t.id)
               .id("liability_asset", t.loan)
               .id("collateral_asset", t.collateral)
               .done());
    }
  }

  struct Stats {
    uint64_t liquidations = 0, minimal = 0, bankruptcies = 0, dust_closeouts = 0, absorbed = 0;
    uint64_t liquidations_rejected = 0;
  };

  const GenerateOptions& options_;
  const std::function<void(std::string_view)>& sink_;
  Rng rng_;
  Tracker tracker_;
  PricePath path_;
  // The real path, if any, and how far it has been followed.
  const RealPricePath* real_ = options_.price_path ? &*options_.price_path : nullptr;
  size_t real_next_ = 0;
  std::array<std::optional<Int>, 2> real_first_, real_latest_;
  // Traders the keeper last found above maintenance (recheck()): a price may
  // take one under, and recheck_fallen() then finds it. The pending and
  // absorbable ones are not watched; neither is one the keeper left alone
  // (nothing to seize, or its liquidation refused) until an event touches it.
  std::set<AccountId> watched_;
  uint64_t written_ = 0;
  uint64_t ts_ = 0;
  Phase phase_ = Phase::Drift;
  size_t step_ = 0;
  std::vector<Trader> traders_;        // index = id − kFirstTrader
  std::set<AccountId> pending_;        // liquidatable, waiting for the keeper
  std::map<AccountId, uint64_t> absorbable_;  // BANKRUPT and exhausted → the round it was found
  uint64_t round_ = 0;
  AccountId cursor_ = 0;
  uint64_t keeper_budget_ = 0;
  uint64_t next_liquidator_ = 0;
  Stats stats_;
  Status status_;
};

// The options generate_market refuses, named as GenerateOptions names them.
Status check_options(const GenerateOptions& options) {
  if (options.crash_pct > 95) {
    return Status::invalid_argument("crash_pct " + std::to_string(options.crash_pct) + ": not between 0 and 95");
  }
  if (options.price_path) return check_price_path(*options.price_path);
  return Status::ok();
}

}  // namespace

Status generate_market(const GenerateOptions& options, const std::function<void(std::string_view line)>& sink) {
  if (Status s = check_options(options); !s.is_ok()) return s;
  if (options.events == 0) return Status::ok();
  try {
    return Generator(options, sink).run();
  } catch (const std::exception& e) {  // the engine's arithmetic (std::overflow_error, …), or the sink's
    return internal_error(e.what());
  }
}

}  // namespace liql
