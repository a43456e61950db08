#include "bench/aave_history.h"

#include <algorithm>
#include <array>
#include <deque>
#include <stdexcept>
#include <vector>

#include "engine/int.h"
#include "replay/aave_import.h"
#include "tools/rng.h"

namespace liql::bench {
namespace {

constexpr uint64_t kBps = 10'000;
constexpr size_t kReserves = 4;
constexpr uint64_t kQuoteUnit = 100'000'000;  // 1 USD in the feeds' 8 decimals
const char* const kPool = "0x87870bca3f3fd6335c3f4ce8392d69350b4fa4e2";
const char* const kTreasury = "0x464c71f6c2f760dda6093dcb91c24c39e5d6e18c";

struct ReserveSpec {
  const char* address;
  const char* symbol;
  unsigned decimals;
  uint32_t ltv, threshold, bonus, protocol_fee;  // basis points, as MARKET.json has them
  const char* feed;
  uint64_t price;  // the first answer, 8 decimals
  bool volatile_asset;
};

// Mainnet addresses of the tokens and their USD feeds (public constants); the
// risk parameters are Aave-like, not a copy of any deployment's.
constexpr std::array<ReserveSpec, kReserves> kSpecs{{
    {"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", "WETH", 18, 8050, 8300, 10500, 1000,
     "0x5f4ec3df9cbd43714fe2740f5e3616155c5b8419", 2'000 * kQuoteUnit, true},
    {"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", "USDC", 6, 7700, 8000, 10450, 1000,
     "0x8fffffd4afb6115b954bd326cbe7b4ba576818f6", kQuoteUnit, false},
    {"0x2260fac5e5542a773aa44fbcfedf7c193bc2c599", "WBTC", 8, 7300, 7800, 10500, 2000,
     "0xf4030086522a5beea4988f8ca5b36dbc97bee88c", 40'000 * kQuoteUnit, true},
    {"0x6b175474e89094c44da98b954eedeac495271d0f", "DAI", 18, 6300, 7700, 10500, 1000,
     "0xaed0c38402a5d19df6e4c03f4e2dced6e29c1ee9", kQuoteUnit, false},
}};

std::string market_json() {
  std::string out =
      "{\n"
      "  \"quote\": {\"symbol\": \"USD\", \"decimals\": 8},\n"
      "  \"policy\": \"close_factor\", \"close_factor\": \"0.5\", \"full_liquidation_hf\": \"0.95\",\n"
      "  \"seize_tolerance\": 2,\n"
      "  \"rounding\": \"half_up\",\n"
      "  \"pool\": \"" + std::string(kPool) + "\",\n"
      "  \"treasury\": \"" + std::string(kTreasury) + "\",\n"
      "  \"reserves\": [\n";
  for (size_t i = 0; i < kReserves; ++i) {
    const ReserveSpec& r = kSpecs[i];
    out += "    {\"address\": \"" + std::string(r.address) + "\", \"symbol\": \"" + r.symbol +
           "\", \"decimals\": " + std::to_string(r.decimals) + ", \"ltv\": " + std::to_string(r.ltv) +
           ", \"liquidation_threshold\": " + std::to_string(r.threshold) +
           ", \"liquidation_bonus\": " + std::to_string(r.bonus) +
           ", \"protocol_fee\": " + std::to_string(r.protocol_fee) + "}" + (i + 1 < kReserves ? ",\n" : "\n");
  }
  out += "  ],\n  \"feeds\": [\n";
  for (size_t i = 0; i < kReserves; ++i) {
    out += "    {\"address\": \"" + std::string(kSpecs[i].feed) + "\", \"reserve\": \"" + kSpecs[i].address +
           "\", \"decimals\": 8}" + (i + 1 < kReserves ? ",\n" : "\n");
  }
  out += "  ]\n}\n";
  return out;
}

// A reserve as the importer sees it (AaveReserveIndex: its indices, rates and
// normalized income and debt), plus the totals that drive its rates.
struct Reserve : AaveReserveIndex {
  Int total_supply_scaled = 0, total_debt_scaled = 0;
  uint64_t price = 0;  // the feed's last answer
  uint64_t round = 0;
  int64_t walk_bps = 0;  // the random walk around the path
};

struct User {
  std::string address;
  std::array<Int, kReserves> supply{}, debt{};  // scaled balances
  uint8_t collateral = 0, borrows = 0;          // the reserves this user supplies and borrows
  uint16_t target_bps = 0;                      // borrows up to this share of its LTV capacity
  bool active = false, queued = false, borrower = false, closed = false;
};

// A user's position at `now`, in quote units (8 decimals).
struct Position {
  std::array<Int, kReserves> supply{}, debt{};  // base units
  Int collateral_lt = 0, collateral_ltv = 0, debt_value = 0;
  bool unhealthy() const { return debt_value.sign() > 0 && collateral_lt < debt_value; }
};

std::string hex_address(uint64_t tag, uint64_t index) {
  static const char* const kHex = "0123456789abcdef";
  Rng rng(tag * 0x100000001B3ULL + index);
  std::string out = "0x";
  for (int word = 0; word < 3; ++word) {
    uint64_t bits = rng.next();
    for (int i = 0; i < (word < 2 ? 16 : 8); ++i, bits >>= 4) out += kHex[bits & 15];
  }
  return out;
}

class Generator {
 public:
  explicit Generator(const AaveHistoryOptions& options) : options_(options), rng_(options.seed) {
    if (options.crash_pct > 90) throw std::invalid_argument("crash_pct must be at most 90");
    const uint64_t users = options.users != 0 ? options.users : std::clamp<uint64_t>(options.events / 20, 20, 100'000);
    users_.resize(users);
    for (uint64_t i = 0; i < users; ++i) {
      User& u = users_[i];
      u.address = hex_address(1, i);
      const uint64_t pick = rng_.below(100);
      u.collateral = pick < 40 ? 0 : pick < 60 ? 2 : pick < 85 ? 1 : 3;  // WETH, WBTC, USDC, DAI
      const uint64_t debt = rng_.below(100);
      if (kSpecs[u.collateral].volatile_asset) {
        u.borrows = debt < 60 ? 1 : 3;
      } else {
        u.borrows = debt < 60 ? 0 : debt < 80 ? 2 : (u.collateral == 1 ? 3 : 1);
      }
      u.target_bps = static_cast<uint16_t>(rng_.between(5000, 9800));
    }
    for (int i = 0; i < 8; ++i) liquidators_.push_back(hex_address(2, i));
    for (size_t r = 0; r < kReserves; ++r) reserves_[r].price = kSpecs[r].price;
    // Sweeps for unhealthy borrowers: 64 over the history, 512 per history's length during the crash.
    const uint64_t groups = std::max<uint64_t>(options.events / 2, 1);
    sweep_every_ = std::max<uint64_t>(groups / 64, 8);
    crash_sweep_every_ = std::max<uint64_t>(groups / 512, 4);
    out_.reserve(options.events * 340);
  }

  AaveHistory run() {
    new_block();
    for (size_t r = 0; r < kReserves && emitted_ < options_.events; ++r) answer(r);
    while (emitted_ < options_.events) {
      if (rng_.below(100) < 60) new_block();
      ++groups_;
      const uint64_t left = options_.events - emitted_;
      if (left == 1 || rng_.below(25) == 0) {
        answer(pick_feed());
        continue;
      }
      maybe_sweep();
      if (!queue_.empty() && left >= 3 && rng_.below(3) == 0) {
        const uint32_t id = queue_.front();
        queue_.pop_front();
        users_[id].queued = false;
        if (liquidate(id)) continue;
      }
      act(static_cast<uint32_t>(rng_.below(users_.size())));
    }
    AaveHistory history;
    history.market_json = market_json();
    history.events_jsonl = std::move(out_);
    history.events = emitted_;
    history.by_event = std::move(by_event_);
    history.blocks = blocks_;
    history.first_ts = first_ts_;
    history.last_ts = ts_;
    for (const User& u : users_) history.users += u.active ? 1 : 0;
    return history;
  }

 private:
  // ---- time and output -------------------------------------------------------

  void new_block() {
    const uint64_t skip = blocks_ == 0 ? 0 : rng_.between(1, 3);
    block_ += skip;
    ts_ += 12 * skip;
    if (blocks_ == 0) first_ts_ = ts_;
    ++blocks_;
    log_index_ = 0;
  }

  // Opens one log line; the caller appends the arguments and calls end().
  void begin(const char* address, const char* event) {
    out_ += "{\"block\":";
    out_ += std::to_string(block_);
    out_ += ",\"log_index\":";
    out_ += std::to_string(log_index_++);
    out_ += ",\"timestamp\":";
    out_ += std::to_string(ts_);
    out_ += ",\"address\":\"";
    out_ += address;
    out_ += "\",\"event\":\"";
    out_ += event;
    out_ += "\",\"args\":{";
    first_arg_ = true;
    ++by_event_[event];
    ++emitted_;
  }
  void arg(const char* name, std::string_view value, bool quoted = true) {
    if (!first_arg_) out_ += ',';
    first_arg_ = false;
    out_ += '"';
    out_ += name;
    out_ += "\":";
    if (quoted) out_ += '"';
    out_ += value;
    if (quoted) out_ += '"';
  }
  void arg(const char* name, const Int& value) { arg(name, value.str()); }
  void end() { out_ += "}}\n"; }
  // A Pool event of a user on a reserve: its first two arguments.
  void begin_pool_event(const char* event, size_t r, const User& u) {
    begin(kPool, event);
    arg("reserve", kSpecs[r].address);
    arg("user", u.address);
  }

  // ---- prices ------------------------------------------------------------------

  size_t pick_feed() {
    const uint64_t pick = rng_.below(100);
    return pick < 35 ? 0 : pick < 70 ? 2 : pick < 85 ? 1 : 3;
  }

  // The crash's share done, in per mille of crash_pct: 0 before 50 % of the
  // history, 1000 from 60 % on.
  uint64_t crash_permille() const {
    const uint64_t progress = emitted_ * 1000 / options_.events;
    return progress <= 500 ? 0 : std::min<uint64_t>((progress - 500) * 10, 1000);
  }

  void answer(size_t r) {
    Reserve& rs = reserves_[r];
    const ReserveSpec& spec = kSpecs[r];
    uint64_t price = spec.price;
    if (spec.volatile_asset) {
      rs.walk_bps = std::clamp<int64_t>(rs.walk_bps + rng_.signed_between(-60, 60), -800, 800);
      const uint64_t fall = uint64_t(options_.crash_pct) * 10 * crash_permille();  // in 10^-6
      price = spec.price / 1'000'000 * (1'000'000 - fall);
    } else {
      rs.walk_bps = std::clamp<int64_t>(rs.walk_bps + rng_.signed_between(-3, 3), -30, 30);
    }
    price = price / kBps * static_cast<uint64_t>(int64_t(kBps) + rs.walk_bps);
    const uint64_t before = rs.price;
    rs.price = price;
    if (price < before) price_fell_ = true;
    ++rs.round;
    begin(spec.feed, "AnswerUpdated");
    arg("current", std::to_string(price));
    arg("roundId", (Int(uint64_t(r + 1)) << 64) + Int(rs.round));
    arg("updatedAt", std::to_string(ts_));
    end();
  }

  // ---- reserves -----------------------------------------------------------------

  // Aave's updateState + updateInterestRates before an action: the indices
  // accrued to now, new rates from the utilization, and the event.
  void touch(size_t r) {
    Reserve& rs = reserves_[r];
    const Int liquidity_index = rs.income(ts_), borrow_index = rs.debt(ts_);
    const Int supplied = Ray::mul_half_up(rs.total_supply_scaled, liquidity_index);
    const Int borrowed = Ray::mul_half_up(rs.total_debt_scaled, borrow_index);
    uint64_t utilization_bps = 0;
    if (supplied.sign() > 0) utilization_bps = static_cast<uint64_t>(std::min(Int(9500), borrowed * kBps / supplied));
    // Variable rate 2 % + 8 % · U (APR), suppliers get it times U less a 10 % reserve factor.
    const uint64_t borrow_bps = 200 + 800 * utilization_bps / kBps + rng_.below(20);
    rs.borrow_rate = Ray::one() / kBps * borrow_bps;
    rs.liquidity_rate = std::max(Int(1), rs.borrow_rate * utilization_bps / kBps * 9 / 10);
    rs.liquidity_index = liquidity_index;
    rs.borrow_index = borrow_index;
    rs.updated = ts_;
    begin(kPool, "ReserveDataUpdated");
    arg("reserve", kSpecs[r].address);
    arg("liquidityRate", rs.liquidity_rate);
    arg("stableBorrowRate", rs.borrow_rate + Ray::one() / 50);
    arg("variableBorrowRate", rs.borrow_rate);
    arg("liquidityIndex", rs.liquidity_index);
    arg("variableBorrowIndex", rs.borrow_index);
    end();
  }

  // quote units (8 decimals) of `amount` base units of reserve r, at its feed's price
  Int value(size_t r, const Int& amount) const { return amount * reserves_[r].price / pow10(kSpecs[r].decimals); }
  Int amount_of(size_t r, const Int& quote) const {
    return quote * pow10(kSpecs[r].decimals) / reserves_[r].price;
  }

  Position position(const User& u, const std::array<Int, kReserves>& income,
                    const std::array<Int, kReserves>& debt_index) const {
    Position p;
    for (size_t r = 0; r < kReserves; ++r) {
      if (u.supply[r].sign() > 0) {
        p.supply[r] = Ray::mul_half_up(u.supply[r], income[r]);
        const Int v = value(r, p.supply[r]);
        p.collateral_lt += v * kSpecs[r].threshold / kBps;
        p.collateral_ltv += v * kSpecs[r].ltv / kBps;
      }
      if (u.debt[r].sign() > 0) {
        p.debt[r] = Ray::mul_half_up(u.debt[r], debt_index[r]);
        p.debt_value += value(r, p.debt[r]);
      }
    }
    return p;
  }
  Position position(const User& u) const {
    std::array<Int, kReserves> income, debt_index;
    for (size_t r = 0; r < kReserves; ++r) {
      income[r] = reserves_[r].income(ts_);
      debt_index[r] = reserves_[r].debt(ts_);
    }
    return position(u, income, debt_index);
  }

  static void burn(Int* scaled, const Int& amount) { *scaled = *scaled > amount ? Int(*scaled - amount) : Int(0); }

  // Aave's mint and burn: the amount over the reserve's index (half up), on
  // the user's scaled balance and the reserve's total alike.
  enum class Book { Supply, Debt };
  struct ScaledBalances {
    Int& user;
    Int& total;
    const Int& index;
  };
  ScaledBalances balances(User& u, size_t r, Book book) {
    Reserve& rs = reserves_[r];
    if (book == Book::Supply) return {u.supply[r], rs.total_supply_scaled, rs.liquidity_index};
    return {u.debt[r], rs.total_debt_scaled, rs.borrow_index};
  }
  void mint(User& u, size_t r, Book book, const Int& amount) {
    const ScaledBalances b = balances(u, r, book);
    const Int scaled = Ray::div_half_up(amount, b.index);
    b.user += scaled;
    b.total += scaled;
  }
  void burn(User& u, size_t r, Book book, const Int& amount) {
    const ScaledBalances b = balances(u, r, book);
    const Int scaled = Ray::div_half_up(amount, b.index);
    burn(&b.user, scaled);
    burn(&b.total, scaled);
  }

  // ---- user actions ---------------------------------------------------------------

  // One action of a user: written-off users are skipped (the next one acts).
  void act(uint32_t id) {
    for (size_t tries = 0; users_[id].closed; ++tries) {
      if (tries == users_.size()) throw std::logic_error("every user written off");
      id = static_cast<uint32_t>((id + 1) % users_.size());
    }
    if (!users_[id].active) {
      supply(id);
      return;
    }
    const uint64_t pick = rng_.below(100);
    bool done = false;
    if (pick < 50 && pick >= 20) done = borrow(id);
    if (pick >= 50 && pick < 68) done = repay(id) || borrow(id);
    if (pick >= 68 && pick < 80) done = withdraw(id);
    if (!done) supply(id);
  }

  // A deposit of 500 … 50 000 USD (a tenth of them ten times that) into the
  // user's collateral reserve, or another one now and then.
  bool supply(uint32_t id) {
    User& u = users_[id];
    const size_t r = rng_.below(10) == 0 ? rng_.below(kReserves) : u.collateral;
    uint64_t usd = rng_.between(500, 50'000);
    if (rng_.below(10) == 0) usd *= 10;
    const Int amount = std::max(Int(1), amount_of(r, Int(usd) * kQuoteUnit));
    touch(r);
    begin_pool_event("Supply", r, u);
    arg("onBehalfOf", u.address);
    arg("amount", amount);
    arg("referralCode", "0");
    end();
    mint(u, r, Book::Supply, amount);
    u.active = true;
    return true;
  }

  // Up to the user's target share of its LTV capacity, within the reserve's liquidity.
  bool borrow(uint32_t id) {
    User& u = users_[id];
    const size_t r = u.borrows;
    const Position p = position(u);
    const Int target = p.collateral_ltv * u.target_bps / kBps;
    if (p.debt_value >= target) return false;
    const Int quote = (target - p.debt_value) * rng_.between(30, 100) / 100;
    Int amount = amount_of(r, quote);
    const Reserve& rs = reserves_[r];
    const Int available = Ray::mul_half_up(rs.total_supply_scaled, rs.income(ts_)) -
                          Ray::mul_half_up(rs.total_debt_scaled, rs.debt(ts_));
    amount = std::min(amount, available * 9 / 10);
    if (amount.sign() <= 0) return false;
    touch(r);
    begin_pool_event("Borrow", r, u);
    arg("onBehalfOf", u.address);
    arg("amount", amount);
    arg("interestRateMode", "2");
    arg("borrowRate", rs.borrow_rate);
    arg("referralCode", "0");
    end();
    mint(u, r, Book::Debt, amount);
    if (!u.borrower) borrowers_.push_back(id);
    u.borrower = true;
    return true;
  }

  // 20 … 100 % of one debt (the whole of it exactly, as Aave reports a max repay).
  bool repay(uint32_t id) {
    User& u = users_[id];
    size_t r = kReserves;
    for (size_t i = 0; i < kReserves; ++i) {
      if (u.debt[i].sign() > 0) r = i;
    }
    if (r == kReserves) return false;
    touch(r);
    const Int debt = Ray::mul_half_up(u.debt[r], reserves_[r].borrow_index);
    const uint64_t pct = rng_.below(4) == 0 ? 100 : rng_.between(20, 99);
    const Int amount = std::max(Int(1), debt * pct / 100);
    begin_pool_event("Repay", r, u);
    arg("repayer", u.address);
    arg("amount", amount);
    arg("useATokens", "false", false);
    end();
    burn(u, r, Book::Debt, amount);
    return true;
  }

  // 10 … 100 % of one supply, as long as HF stays ≥ 1.1.
  bool withdraw(uint32_t id) {
    User& u = users_[id];
    size_t r = kReserves;
    for (size_t i = 0; i < kReserves; ++i) {
      if (u.supply[i].sign() > 0 && (r == kReserves || rng_.below(2) == 0)) r = i;
    }
    if (r == kReserves) return false;
    const Position p = position(u);
    Int amount = p.supply[r] * rng_.between(10, 100) / 100;
    if (p.debt_value.sign() > 0) {
      const Int room = p.collateral_lt - p.debt_value * 11 / 10;  // LT-weighted quote units
      if (room.sign() <= 0) return false;
      amount = std::min(amount, amount_of(r, room * kBps / kSpecs[r].threshold));
    }
    if (amount.sign() <= 0) return false;
    touch(r);
    begin_pool_event("Withdraw", r, u);
    arg("to", u.address);
    arg("amount", amount);
    end();
    burn(u, r, Book::Supply, amount);
    return true;
  }

  // ---- liquidations -------------------------------------------------------------

  void maybe_sweep() {
    const uint64_t every = crash_permille() > 0 && crash_permille() < 1000 ? crash_sweep_every_ : sweep_every_;
    if (groups_ - last_sweep_ < every || !price_fell_) return;
    last_sweep_ = groups_;
    price_fell_ = false;
    std::array<Int, kReserves> income, debt_index;
    for (size_t r = 0; r < kReserves; ++r) {
      income[r] = reserves_[r].income(ts_);
      debt_index[r] = reserves_[r].debt(ts_);
    }
    for (uint32_t id : borrowers_) {
      User& u = users_[id];
      if (u.queued || u.closed) continue;
      if (position(u, income, debt_index).unhealthy()) {
        u.queued = true;
        queue_.push_back(id);
      }
    }
  }

  // Aave's LiquidationCall on the largest debt against the largest collateral;
  // false (nothing written) when the user is healthy again.
  bool liquidate(uint32_t id) {
    User& u = users_[id];
    Position p = position(u);
    if (!p.unhealthy()) return false;
    size_t d = kReserves, c = kReserves;
    Int best_debt = 0, best_collateral = 0;
    for (size_t r = 0; r < kReserves; ++r) {
      const Int dv = value(r, p.debt[r]), cv = value(r, p.supply[r]);
      if (p.debt[r].sign() > 0 && (d == kReserves || dv > best_debt)) d = r, best_debt = dv;
      if (p.supply[r].sign() > 0 && (c == kReserves || cv > best_collateral)) c = r, best_collateral = cv;
    }
    if (d == kReserves || c == kReserves) return false;
    if (options_.events - emitted_ < (c == d ? 2u : 3u)) return false;
    touch(d);
    if (c != d) touch(c);
    const Int debt = Ray::mul_half_up(u.debt[d], reserves_[d].borrow_index);
    const Int balance = Ray::mul_half_up(u.supply[c], reserves_[c].liquidity_index);
    const ReserveSpec& cs = kSpecs[c];
    const ReserveSpec& ds = kSpecs[d];
    const Int debt_scale = pow10(ds.decimals), coll_scale = pow10(cs.decimals);
    const Int pd = reserves_[d].price, pc = reserves_[c].price;
    Int to_cover = debt * rng_.between(25, 50) / 100;
    // Collateral with the bonus: debtToCover · P_debt / P_coll · bonus, in base units.
    Int collateral = to_cover * pd * coll_scale * cs.bonus / (pc * debt_scale * kBps);
    // Never more than the account holds (less a margin for the importer's fee rounding).
    const Int cap = balance - std::max(Int(2), balance / 1'000'000);
    if (cap.sign() <= 0) return false;
    if (collateral > cap) {
      collateral = cap;
      to_cover = collateral * pc * debt_scale * kBps / (pd * coll_scale * cs.bonus);
    }
    if (to_cover.sign() <= 0 || collateral.sign() <= 0) return false;
    // Aave v3: the protocol's share of the bonus is not part of liquidatedCollateralAmount.
    const Int bonus_part = collateral - (collateral * kBps + cs.bonus / 2) / cs.bonus;
    const Int fee = (bonus_part * cs.protocol_fee + kBps / 2) / kBps;
    const Int liquidated = collateral - fee;
    begin(kPool, "LiquidationCall");
    arg("collateralAsset", cs.address);
    arg("debtAsset", ds.address);
    arg("user", u.address);
    arg("debtToCover", to_cover);
    arg("liquidatedCollateralAmount", liquidated);
    arg("liquidator", liquidators_[rng_.below(liquidators_.size())]);
    arg("receiveAToken", "false", false);
    end();
    burn(u, d, Book::Debt, to_cover);
    // Aave burns the collateral and the fee apart, each rounded: a burn of a
    // saturating balance in two steps is the burn of their sum.
    burn(u, c, Book::Supply, liquidated);
    burn(u, c, Book::Supply, fee);
    p = position(u);
    if (p.collateral_lt.sign() == 0 || p.collateral_lt * 1000 < p.debt_value) {
      u.closed = true;  // bad debt: the user walks away
    } else if (p.unhealthy()) {
      u.queued = true;
      queue_.push_back(id);
    }
    return true;
  }

  const AaveHistoryOptions options_;
  Rng rng_;
  std::vector<User> users_;
  std::vector<std::string> liquidators_;
  std::array<Reserve, kReserves> reserves_;
  std::vector<uint32_t> borrowers_;
  std::deque<uint32_t> queue_;
  std::string out_;
  std::map<std::string, uint64_t> by_event_;
  uint64_t emitted_ = 0, groups_ = 0, blocks_ = 0;
  uint64_t block_ = 18'000'000, log_index_ = 0, ts_ = 1'700'000'000, first_ts_ = 0;
  uint64_t sweep_every_ = 0, crash_sweep_every_ = 0, last_sweep_ = 0;
  bool price_fell_ = false, first_arg_ = true;
};

}  // namespace

AaveHistory generate_aave_history(const AaveHistoryOptions& options) { return Generator(options).run(); }

}  // namespace liql::bench
