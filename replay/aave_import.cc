#include "replay/aave_import.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

#include "engine/liquidation.h"
#include "replay/json_line.h"
#include "replay/price_lines.h"
#include "replay/replay.h"

namespace liql {
namespace {

using Json = nlohmann::json;

constexpr uint64_t kSecondsPerYear = 365ULL * 86400;
constexpr uint64_t kMicros = 1'000'000;
constexpr uint32_t kBps = 10'000;  // Aave's PERCENTAGE_FACTOR
const char* const kZeroAddress = "0x0000000000000000000000000000000000000000";

Int ray_product(const Int& a, const Int& b, const Int& c, Rounding rounding) {
  return narrow(divide(Wide(a) * Wide(b), Wide(c), rounding));
}

// Aave's PercentageMath (half up), on basis points.
Int percent_mul(const Int& value, uint32_t bps) { return (value * bps + kBps / 2) / kBps; }
Int percent_div(const Int& value, uint32_t bps) { return (value * kBps + bps / 2) / bps; }

// ---- MARKET.json -------------------------------------------------------------------

class ConfigReader {
 public:
  explicit ConfigReader(std::string* error) : error_(error) {}
  bool fail(const std::string& field, const std::string& message) {
    if (error_->empty()) *error_ = field + ": " + message;
    return false;
  }
  const Json* member(const Json& object, const std::string& key, const std::string& where, bool required) {
    const auto it = object.find(key);
    if (it == object.end()) {
      if (required) fail(where + key, "missing");
      return nullptr;
    }
    return &*it;
  }
  bool text(const Json& object, const std::string& key, const std::string& where, std::string* out, bool required) {
    const Json* value = member(object, key, where, required);
    if (value == nullptr) return !required;
    if (!value->is_string()) return fail(where + key, "expected a string");
    *out = value->get<std::string>();
    return true;
  }
  bool address(const Json& object, const std::string& key, const std::string& where, std::string* out, bool required) {
    std::string text_value;
    if (!text(object, key, where, &text_value, required)) return false;
    if (text_value.empty() && !required) return true;
    const auto normalized = normalize_address(text_value);
    if (!normalized) return fail(where + key, "not an address (0x and 40 hex digits)");
    *out = *normalized;
    return true;
  }
  template <typename T>
  bool unsigned_number(const Json& object, const std::string& key, const std::string& where, T* out, uint64_t max,
                       bool required) {
    const Json* value = member(object, key, where, required);
    if (value == nullptr) return !required;
    if (!value->is_number_unsigned() || value->get<uint64_t>() > max) {
      return fail(where + key, "expected an integer in [0, " + std::to_string(max) + "]");
    }
    *out = static_cast<T>(value->get<uint64_t>());
    return true;
  }

 private:
  std::string* error_;
};

// The market-wide fields: the quote asset, the policy, the tolerance, the
// pool and treasury addresses, the rounding of the Aave version.
bool read_settings(ConfigReader& read, const Json& json, AaveMarket* m) {
  if (const Json* quote = read.member(json, "quote", "", false)) {
    if (!quote->is_object()) return read.fail("quote", "expected an object {\"symbol\",\"decimals\"}");
    if (!read.text(*quote, "symbol", "quote.", &m->quote_symbol, false) ||
        !read.unsigned_number(*quote, "decimals", "quote.", &m->quote_decimals, 36, false)) {
      return false;
    }
  }
  if (!read.text(json, "policy", "", &m->policy, false) ||
      !read.text(json, "close_factor", "", &m->close_factor, false) ||
      !read.text(json, "full_liquidation_hf", "", &m->full_liquidation_hf, false) ||
      !read.unsigned_number(json, "seize_tolerance", "", &m->seize_tolerance, UINT64_MAX, false) ||
      !read.address(json, "pool", "", &m->pool, false) || !read.address(json, "treasury", "", &m->treasury, false)) {
    return false;
  }
  if (m->policy != "partial" && m->policy != "full" && m->policy != "close_factor") {
    return read.fail("policy", "expected \"partial\", \"full\" or \"close_factor\"");
  }
  for (const auto& [key, value] : {std::pair{"close_factor", &m->close_factor}, {"full_liquidation_hf", &m->full_liquidation_hf}}) {
    if (!parse_units(*value, 18)) return read.fail(key, "expected a decimal ratio such as \"0.5\"");
  }
  std::string rounding = "half_up";
  if (!read.text(json, "rounding", "", &rounding, false)) return false;
  if (rounding != "half_up" && rounding != "directional") {
    return read.fail("rounding", "expected \"half_up\" (v2, v3.0–v3.4) or \"directional\" (v3.5+)");
  }
  m->rounding = rounding == "half_up" ? AaveRounding::HalfUp : AaveRounding::Directional;
  return true;
}

// Calls read_one(element, where) for each element of an array, each of which
// must be an object; `where` is "NAME[i]." for the fields' names.
template <typename ReadOne>
bool each_object(ConfigReader& read, const Json& array, const std::string& name, ReadOne read_one) {
  for (size_t i = 0; i < array.size(); ++i) {
    const std::string where = name + "[" + std::to_string(i) + "].";
    if (!array[i].is_object()) return read.fail(where.substr(0, where.size() - 1), "expected an object");
    if (!read_one(array[i], where)) return false;
  }
  return true;
}

bool read_reserve(ConfigReader& read, const Json& r, const std::string& where, AaveMarket* m) {
  AaveReserve reserve;
  if (!read.address(r, "address", where, &reserve.address, true) ||
      !read.text(r, "symbol", where, &reserve.symbol, true) ||
      !read.unsigned_number(r, "decimals", where, &reserve.decimals, 36, true) ||
      !read.unsigned_number(r, "ltv", where, &reserve.ltv_bps, kBps, true) ||
      !read.unsigned_number(r, "liquidation_threshold", where, &reserve.liquidation_threshold_bps, kBps, true) ||
      !read.unsigned_number(r, "liquidation_bonus", where, &reserve.liquidation_bonus_bps, 2 * kBps, true) ||
      !read.unsigned_number(r, "protocol_fee", where, &reserve.protocol_fee_bps, kBps, false) ||
      !read.address(r, "a_token", where, &reserve.a_token, false) ||
      !read.unsigned_number(r, "max_oracle_age_s", where, &reserve.max_oracle_age_s, UINT64_MAX / kMicros, false)) {
    return false;
  }
  if (reserve.symbol.empty() || reserve.symbol.find_first_of("\"\\") != std::string::npos) {
    return read.fail(where + "symbol", "expected a non-empty symbol without quotes or backslashes");
  }
  if (reserve.ltv_bps > reserve.liquidation_threshold_bps) {
    return read.fail(where + "ltv", "above the liquidation threshold");
  }
  if (reserve.liquidation_bonus_bps < kBps) {
    return read.fail(where + "liquidation_bonus", "below 10000 (Aave's bonus is in basis points: 10500 = 5 %)");
  }
  for (const AaveReserve& other : m->reserves) {
    if (other.address == reserve.address) return read.fail(where + "address", "listed twice");
  }
  m->reserves.push_back(reserve);
  return true;
}

bool read_reserves(ConfigReader& read, const Json& json, AaveMarket* m) {
  const Json* reserves = read.member(json, "reserves", "", true);
  if (reserves == nullptr) return false;
  if (!reserves->is_array() || reserves->empty()) return read.fail("reserves", "expected a non-empty array");
  return each_object(read, *reserves, "reserves",
                     [&](const Json& r, const std::string& where) { return read_reserve(read, r, where, m); });
}

// A feed names one of the reserves read before it.
bool read_feed(ConfigReader& read, const Json& f, const std::string& where, AaveMarket* m) {
  AaveFeed feed;
  std::string reserve;
  if (!read.address(f, "address", where, &feed.address, true) || !read.address(f, "reserve", where, &reserve, true) ||
      !read.unsigned_number(f, "decimals", where, &feed.decimals, 18, false)) {
    return false;
  }
  const auto it = std::find_if(m->reserves.begin(), m->reserves.end(),
                               [&](const AaveReserve& r) { return r.address == reserve; });
  if (it == m->reserves.end()) return read.fail(where + "reserve", "not one of the reserves");
  feed.reserve = static_cast<size_t>(it - m->reserves.begin());
  for (const AaveFeed& other : m->feeds) {
    if (other.address == feed.address) return read.fail(where + "address", "listed twice");
  }
  m->feeds.push_back(feed);
  return true;
}

bool read_feeds(ConfigReader& read, const Json& json, AaveMarket* m) {
  const Json* feeds = read.member(json, "feeds", "", false);
  if (feeds == nullptr) return true;
  if (!feeds->is_array()) return read.fail("feeds", "expected an array");
  return each_object(read, *feeds, "feeds",
                     [&](const Json& f, const std::string& where) { return read_feed(read, f, where, m); });
}

}  // namespace

bool parse_aave_market(std::string_view text, AaveMarket* market, std::string* error) {
  error->clear();
  ConfigReader read(error);
  const Json json = Json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return read.fail("MARKET.json", "not a JSON object");
  AaveMarket m;
  if (!read_settings(read, json, &m) || !read_reserves(read, json, &m) || !read_feeds(read, json, &m)) return false;
  *market = std::move(m);
  return true;
}

// ---- ray arithmetic --------------------------------------------------------------

const Int& Ray::one() {
  static const Int ray = pow10(27);
  return ray;
}
Int Ray::mul(const Int& a, const Int& b, Rounding rounding) { return ray_product(a, b, one(), rounding); }
Int Ray::div(const Int& a, const Int& b, Rounding rounding) { return ray_product(a, one(), b, rounding); }
Int Ray::mul_half_up(const Int& a, const Int& b) {
  return narrow((Wide(a) * Wide(b) + Wide(one() / 2)) / Wide(one()));
}
Int Ray::div_half_up(const Int& a, const Int& b) {
  return narrow((Wide(a) * Wide(one()) + Wide(b / 2)) / Wide(b));
}
Int Ray::linear_interest(const Int& rate, uint64_t seconds) { return one() + rate * seconds / kSecondsPerYear; }
Int Ray::compounded_interest(const Int& rate, uint64_t seconds) {
  if (seconds == 0) return one();
  const Int exp = seconds;
  const Int exp_minus_one = exp - 1;
  const Int exp_minus_two = seconds > 2 ? exp - 2 : Int(0);
  const Int year = kSecondsPerYear;
  const Int base_power_two = mul_half_up(rate, rate) / (year * year);
  const Int base_power_three = mul_half_up(base_power_two, rate) / year;
  const Int second_term = exp * exp_minus_one * base_power_two / 2;
  const Int third_term = exp * exp_minus_one * exp_minus_two * base_power_three / 6;
  return one() + rate * exp / year + second_term + third_term;
}

Int AaveReserveIndex::income(uint64_t now) const {
  if (now <= updated) return liquidity_index;
  return Ray::mul_half_up(Ray::linear_interest(liquidity_rate, now - updated), liquidity_index);
}

Int AaveReserveIndex::debt(uint64_t now) const {
  if (now <= updated) return borrow_index;
  return Ray::mul_half_up(Ray::compounded_interest(borrow_rate, now - updated), borrow_index);
}

namespace {

// ---- the Aave conversion -----------------------------------------------------------

// One account's position in one reserve: Aave's scaled balances (the truth)
// and what the engine holds now (asset 2i+1 and 2i+2).
struct Holding {
  Int supply_scaled = 0, debt_scaled = 0;
  Int engine_supply = 0, engine_debt = 0;  // signed base units, as the engine has them
  bool engine_supply_known = true;
};


class AaveConverter {
 public:
  AaveConverter(const AaveMarket& market, const std::vector<ImportInput>& inputs, ImportResult* out,
                ImportError* error)
      : m_(market), inputs_(inputs), out_(out), error_(error), reserves_(market.reserves.size()) {
    for (size_t i = 0; i < m_.reserves.size(); ++i) {
      reserve_by_address_[m_.reserves[i].address] = i;
      if (!m_.reserves[i].a_token.empty()) a_token_by_address_[m_.reserves[i].a_token] = i;
    }
    for (size_t i = 0; i < m_.feeds.size(); ++i) feed_by_address_[m_.feeds[i].address] = i;
  }

  // Genesis and the listings; the engine's view of them kept for exhausted().
  void header() {
    JsonLine genesis("genesis", 0);
    genesis.text("mode", "observe").text("quote_symbol", m_.quote_symbol).id("quote_decimals", m_.quote_decimals);
    protocol_fields(&genesis, 0);
    genesis.id("seize_tolerance", m_.seize_tolerance);
    std::vector<std::string> lines{genesis.done()};
    for (size_t i = 0; i < m_.reserves.size(); ++i) {
      const AaveReserve& r = m_.reserves[i];
      const std::string lt = format_units(r.liquidation_threshold_bps, 4);
      const std::string one = R"({"init":"1","target":"1","maint":"1"})";
      const std::string age = std::to_string(r.max_oracle_age_s * kMicros);
      // H_init uses the liquidation threshold too: Aave checks withdrawals
      // against HF ≥ 1 (LTV only bounds new borrows, which Aave enforces itself).
      lines.push_back(JsonLine("list_asset", 0)
                          .id("asset", m_.supply_asset(i))
                          .text("symbol", r.symbol)
                          .id("decimals", r.decimals)
                          .flag("borrowable", false)
                          .raw("max_oracle_age_us", age)
                          .raw("asset_weight", R"({"init":")" + lt + R"(","target":")" + lt + R"(","maint":")" + lt + "\"}")
                          .raw("liab_weight", one)
                          .amount("liquidation_bonus", r.liquidation_bonus_bps - kBps, 4)
                          .done());
      lines.push_back(JsonLine("list_asset", 0)
                          .id("asset", m_.debt_asset(i))
                          .text("symbol", r.symbol + "-debt")
                          .id("decimals", r.decimals)
                          .flag("borrowable", true)
                          .raw("max_oracle_age_us", age)
                          .raw("asset_weight", R"({"init":"0","target":"0","maint":"0"})")
                          .raw("liab_weight", one)
                          .amount("liquidation_bonus", 0, 0)
                          .done());
    }
    MemoryRun run;
    for (size_t i = 0; i < lines.size(); ++i) {
      InputError e;
      if (!run.add_line(lines[i], i + 1, &e)) {
        throw std::invalid_argument("MARKET.json gives an invalid listing: " + e.to_string());
      }
      emit(lines[i]);
    }
    state_ = run.machine().state();
  }

  // Price lines (import chainlink's output) to merge by ts.
  bool set_prices(const ImportInput* prices) {
    if (prices == nullptr) return true;
    InputError e;
    const size_t assets = 2 * m_.reserves.size();
    if (!parse_price_lines(prices->text, &prices_, &e, [&](const PriceLineRecord& p, InputError* refusal) {
          if (!p.market && p.id >= 1 && p.id <= assets) return true;
          *refusal = InputError{p.line, p.market ? "market" : "asset", "not an asset of this market"};
          return false;
        })) {
      *error_ = ImportError{prices->name, e};
      return false;
    }
    return true;
  }

  bool run(const std::vector<EvmLog>& logs, bool skip_unknown) {
    for (const EvmLog& log : logs) {
      if (log.timestamp < last_timestamp_) {
        return fail(log, "timestamp", "block " + std::to_string(log.block) + " is older than the block before it");
      }
      if (log.block != block_ && !end_block()) return false;
      block_ = log.block;
      last_timestamp_ = log.timestamp;
      flush_prices(log.timestamp * kMicros);
      try {
        if (!convert(log, skip_unknown)) return false;
      } catch (const std::overflow_error&) {
        return fail(log, "", "arithmetic overflow: a value beyond what the protocol's uint256 arithmetic holds");
      }
    }
    if (!end_block()) return false;
    flush_prices(UINT64_MAX);
    return true;
  }

 private:
  // ---- output ----------------------------------------------------------------------

  void emit(const std::string& line) {
    out_->jsonl += line;
    out_->jsonl += '\n';
    ++out_->lines;
  }

  void protocol_fields(JsonLine* line, uint32_t fee_bps) const {
    line->text("policy", m_.policy);
    if (m_.policy == "close_factor") {
      line->text("close_factor", m_.close_factor).text("full_liquidation_hf", m_.full_liquidation_hf);
    }
    // The bonus is split as Aave splits it: the protocol fee to the treasury.
    line->amount("liquidator_share", kBps - fee_bps, 4).text("insurance_share", "0");
  }

  void price_line(const PriceLineRecord& p) {
    emit(p.text);
    Oracle& oracle = state_.assets.at(p.id).oracle;  // as the engine will have it
    if (p.price.sign() > 0 && (!oracle.present || p.publish_ts >= oracle.publish_ts)) {
      oracle = Oracle{p.price, p.publish_ts, true};
    }
  }

  void flush_prices(uint64_t until_ts) {
    while (next_price_ < prices_.size() && prices_[next_price_].ts <= until_ts) price_line(prices_[next_price_++]);
  }

  bool fail(const EvmLog& log, std::string field, std::string message) {
    error_->file = inputs_[log.file].name;
    error_->error = InputError{log.line, std::move(field), std::string(log.event) + ": " + std::move(message)};
    return false;
  }

  // ---- accounts and balances -----------------------------------------------------

  AccountId account(const std::string& address) {
    const auto [it, added] = ids_.try_emplace(address, ids_.size() + 1);
    if (added) {
      out_->addresses.push_back(address);
      books_.emplace_back();
    }
    return it->second;
  }
  Holding& holding(AccountId id, size_t reserve) { return books_[id - 1][static_cast<uint32_t>(reserve)]; }

  Int a_balance(const Int& scaled, const Int& index) const {
    return m_.rounding == AaveRounding::HalfUp ? Ray::mul_half_up(scaled, index) : Ray::mul(scaled, index, Rounding::Floor);
  }
  Int v_balance(const Int& scaled, const Int& index) const {
    return m_.rounding == AaveRounding::HalfUp ? Ray::mul_half_up(scaled, index) : Ray::mul(scaled, index, Rounding::Ceil);
  }
  // Scaled amounts of a mint or burn; `ceil` is the directional rounding.
  Int scaled(const Int& amount, const Int& index, Rounding directional) const {
    return m_.rounding == AaveRounding::HalfUp ? Ray::div_half_up(amount, index) : Ray::div(amount, index, directional);
  }
  static void burn(Int* scaled_balance, const Int& amount) {
    *scaled_balance = *scaled_balance > amount ? Int(*scaled_balance - amount) : Int(0);
  }

  void balance_line(const char* type, uint64_t ts, AccountId id, uint32_t asset, const Int& amount, unsigned decimals) {
    emit(JsonLine(type, ts).id("account", id).id("asset", asset).amount("amount", amount, decimals).done());
  }

  // Brings every balance of the account to the current indices (lazy accrual).
  void sync(AccountId id, uint64_t now) {
    const uint64_t ts = now * kMicros;
    for (auto& [reserve, h] : books_[id - 1]) {
      const AaveReserveIndex& rs = reserves_[reserve];
      const unsigned d = m_.reserves[reserve].decimals;
      const Int supply = a_balance(h.supply_scaled, rs.income(now));
      if (!h.engine_supply_known || supply != h.engine_supply) {
        balance_line("sync_balance", ts, id, m_.supply_asset(reserve), supply, d);
        h.engine_supply = supply;
        h.engine_supply_known = true;
      }
      const Int debt = -v_balance(h.debt_scaled, rs.debt(now));
      if (debt != h.engine_debt) {
        balance_line("sync_balance", ts, id, m_.debt_asset(reserve), debt, d);
        h.engine_debt = debt;
      }
    }
  }

  bool reserve_arg(ArgReader& args, const EvmLog& log, const char* name, size_t* reserve) {
    const std::string address = args.address(name);
    if (!args.ok()) return false;
    const auto it = reserve_by_address_.find(address);
    if (it == reserve_by_address_.end()) return fail(log, name, address + " is not a reserve in the config");
    *reserve = it->second;
    return true;
  }

  // ---- events ----------------------------------------------------------------------

  bool convert(const EvmLog& log, bool skip_unknown) {
    const std::string_view e = log.event;
    if (e == "AnswerUpdated") return answer(log);
    if (e == "Transfer") return transfer(log);
    static const char* const kPoolEvents[] = {"Supply", "Deposit", "Withdraw", "Borrow", "Repay", "LiquidationCall",
                                              "ReserveDataUpdated", "DeficitCreated"};
    const bool pool_event = std::find(std::begin(kPoolEvents), std::end(kPoolEvents), e) != std::end(kPoolEvents);
    if (pool_event && !m_.pool.empty() && log.address != m_.pool) {
      return fail(log, "address", log.address + " is not the pool in the config (" + m_.pool + ")");
    }
    ++out_->events;
    if (e == "Supply" || e == "Deposit") return supply(log);
    if (e == "Withdraw") return withdraw(log);
    if (e == "Borrow") return borrow(log);
    if (e == "Repay") return repay(log);
    if (e == "LiquidationCall") return liquidation(log);
    if (e == "ReserveDataUpdated") return reserve_update(log);
    if (e == "DeficitCreated") return deficit(log);
    --out_->events;
    // Known Pool and token events that do not change what this model holds (docs/IMPORT.md).
    static const char* const kIgnored[] = {"ReserveUsedAsCollateralEnabled", "ReserveUsedAsCollateralDisabled",
                                           "Mint", "Burn", "BalanceTransfer", "Approval", "FlashLoan",
                                           "MintedToTreasury", "UserEModeSet", "IsolationModeTotalDebtUpdated",
                                           "RebalanceStableBorrowRate", "Swap", "SwapBorrowRateMode",
                                           "NewRound", "DeficitCovered"};
    if (std::find(std::begin(kIgnored), std::end(kIgnored), e) != std::end(kIgnored) || skip_unknown) {
      ++out_->skipped[std::string(e)];
      return true;
    }
    return fail(log, "event",
                "unknown event (known: Supply, Deposit, Withdraw, Borrow, Repay, LiquidationCall, "
                "ReserveDataUpdated, DeficitCreated, AnswerUpdated, Transfer; --skip-unknown counts others)");
  }

  // The reserve, the account (the argument `party`) and the amount of a Pool
  // balance event, the account synced to the current indices first.
  struct Flow {
    size_t reserve = 0;
    AccountId account = 0;
    Int amount;
  };
  bool read_flow(const EvmLog& log, ArgReader& args, const char* party, Flow* flow) {
    if (!reserve_arg(args, log, "reserve", &flow->reserve)) return false;
    const std::string address = args.address(party);
    flow->amount = args.uint256("amount");
    if (!args.ok()) return false;
    flow->account = account(address);
    sync(flow->account, log.timestamp);
    return true;
  }

  // Supply in (a deposit; Aave mints, rounding down) or out (a withdrawal;
  // Aave burns, rounding up), as a line and in the scaled balance.
  void supply_change(const EvmLog& log, const Flow& f, bool in) {
    Holding& h = holding(f.account, f.reserve);
    balance_line(in ? "deposit" : "withdraw", log.timestamp * kMicros, f.account, m_.supply_asset(f.reserve), f.amount,
                 m_.reserves[f.reserve].decimals);
    const Int units = scaled(f.amount, reserves_[f.reserve].income(log.timestamp), in ? Rounding::Floor : Rounding::Ceil);
    if (in) {
      h.engine_supply += f.amount;
      h.supply_scaled += units;
    } else {
      h.engine_supply -= f.amount;
      burn(&h.supply_scaled, units);
    }
  }

  // Debt up (a borrow: a withdrawal of the debt asset; Aave mints, rounding
  // up) or down (a repayment: a deposit of it; Aave burns, rounding down).
  void debt_change(const EvmLog& log, const Flow& f, bool up) {
    Holding& h = holding(f.account, f.reserve);
    balance_line(up ? "withdraw" : "deposit", log.timestamp * kMicros, f.account, m_.debt_asset(f.reserve), f.amount,
                 m_.reserves[f.reserve].decimals);
    const Int units = scaled(f.amount, reserves_[f.reserve].debt(log.timestamp), up ? Rounding::Ceil : Rounding::Floor);
    if (up) {
      h.engine_debt -= f.amount;
      h.debt_scaled += units;
    } else {
      h.engine_debt += f.amount;
      burn(&h.debt_scaled, units);
    }
  }

  bool supply(const EvmLog& log) {
    ArgReader args(log, error_, inputs_);
    Flow f;
    if (!read_flow(log, args, "onBehalfOf", &f)) return false;
    supply_change(log, f, true);
    return true;
  }

  bool withdraw(const EvmLog& log) {
    ArgReader args(log, error_, inputs_);
    Flow f;
    if (!read_flow(log, args, "user", &f)) return false;
    supply_change(log, f, false);
    return true;
  }

  bool borrow(const EvmLog& log) {
    ArgReader args(log, error_, inputs_);
    Flow f;
    if (!read_flow(log, args, "onBehalfOf", &f)) return false;
    for (const char* mode : {"interestRateMode", "borrowRateMode"}) {
      const EvmLog::Arg* arg = log.find(mode);
      if (arg != nullptr && arg->text == "1") {
        return fail(log, mode, "a stable-rate borrow: stable debt is not modelled (docs/IMPORT.md)");
      }
    }
    debt_change(log, f, true);
    return true;
  }

  bool repay(const EvmLog& log) {
    ArgReader args(log, error_, inputs_);
    Flow f;
    if (!read_flow(log, args, "user", &f)) return false;
    const bool use_a_tokens = args.boolean("useATokens", false);
    if (!args.ok()) return false;
    debt_change(log, f, false);
    if (use_a_tokens) supply_change(log, f, false);  // v3: the debt repaid with the same reserve's aTokens
    return true;
  }

  bool reserve_update(const EvmLog& log) {
    ArgReader args(log, error_, inputs_);
    size_t r = 0;
    if (!reserve_arg(args, log, "reserve", &r)) return false;
    AaveReserveIndex next;
    next.liquidity_rate = args.uint256("liquidityRate");
    next.borrow_rate = args.uint256("variableBorrowRate");
    next.liquidity_index = args.uint256("liquidityIndex");
    next.borrow_index = args.uint256("variableBorrowIndex");
    next.updated = log.timestamp;
    if (!args.ok()) return false;
    if (next.liquidity_index.sign() == 0) return fail(log, "liquidityIndex", "0 (an index starts at 1 ray)");
    if (next.borrow_index.sign() == 0) return fail(log, "variableBorrowIndex", "0 (an index starts at 1 ray)");
    reserves_[r] = next;
    return true;
  }

  bool answer(const EvmLog& log) {
    ArgReader args(log, error_, inputs_);
    const auto feed = feed_by_address_.find(log.address);
    if (feed == feed_by_address_.end()) return fail(log, "address", log.address + " is not a feed in the config");
    const Int current = args.int256("current");
    const Int updated_at = args.uint256("updatedAt");
    args.uint256("roundId");
    if (!args.ok()) return false;
    if (current.sign() < 0) return fail(log, "current", "a negative answer cannot be a price");
    if (updated_at > Int(log.timestamp)) return fail(log, "updatedAt", "after the block's timestamp");
    ++out_->events;
    const AaveFeed& f = m_.feeds[feed->second];
    for (uint32_t asset : {m_.supply_asset(f.reserve), m_.debt_asset(f.reserve)}) {
      PriceLineRecord p{log.line, log.timestamp * kMicros, static_cast<uint64_t>(updated_at) * kMicros, false, asset,
                         current * pow10(18 - f.decimals), ""};
      p.text = JsonLine("price", p.ts).id("asset", asset).amount("price", current, f.decimals).id("publish_ts", p.publish_ts).done();
      price_line(p);
    }
    return true;
  }

  // A Transfer of a reserve's aToken from a user to the treasury is the
  // protocol fee of that user's liquidation in the same block.
  bool transfer(const EvmLog& log) {
    const auto reserve = a_token_by_address_.find(log.address);
    if (reserve == a_token_by_address_.end() || m_.treasury.empty()) {
      ++out_->skipped["Transfer"];
      return true;
    }
    ArgReader args(log, error_, inputs_);
    const std::string from = args.address("from"), to = args.address("to");
    const Int value = args.uint256("value");
    if (!args.ok()) return false;
    if (to != m_.treasury || from == kZeroAddress) {
      ++out_->skipped["Transfer"];
      return true;
    }
    ++out_->events;
    pending_fees_[{from, reserve->second}] += value;
    return true;
  }

  bool deficit(const EvmLog& log) {
    ArgReader args(log, error_, inputs_);
    const std::string user = args.address("user");
    size_t r = 0;
    if (!args.ok() || !reserve_arg(args, log, "debtAsset", &r)) return false;
    args.uint256("amountCreated");
    if (!args.ok()) return false;
    pending_deficits_[user].push_back({r, &log});
    return true;
  }

  // Aave v3 computes collateral C, its fee percentMul(C − percentDiv(C, bonus), fee)
  // and reports liquidatedCollateralAmount = C − fee: the smallest C ≥ x with
  // C − fee(C) ≥ x recovers it when the stream does not show the fee.
  static Int inferred_fee(const AaveReserve& r, const Int& x) {
    if (r.protocol_fee_bps == 0 || x.sign() == 0) return 0;
    auto fee = [&](const Int& c) { return percent_mul(c - percent_div(c, r.liquidation_bonus_bps), r.protocol_fee_bps); };
    Int lo = x, hi = 2 * x + 2;
    while (lo < hi) {
      const Int mid = lo + (hi - lo) / 2;
      if (mid - fee(mid) >= x) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo - x;
  }

  bool liquidation(const EvmLog& log) {
    ArgReader args(log, error_, inputs_);
    size_t coll = 0, debt = 0;
    if (!reserve_arg(args, log, "collateralAsset", &coll) || !reserve_arg(args, log, "debtAsset", &debt)) return false;
    const std::string user_address = args.address("user");
    const Int repaid = args.uint256("debtToCover");
    const Int liquidated = args.uint256("liquidatedCollateralAmount");
    const std::string liquidator_address = args.address("liquidator");
    const bool receive_a_token = args.boolean("receiveAToken", false);
    if (!args.ok()) return false;
    const uint64_t now = log.timestamp, ts = now * kMicros;
    const AccountId user = account(user_address);
    const AccountId liquidator = account(liquidator_address);
    sync(user, now);
    sync(liquidator, now);

    const AaveReserve& c = m_.reserves[coll];
    Int fee = 0;
    if (const auto shown = pending_fees_.find({user_address, coll}); shown != pending_fees_.end()) {
      fee = shown->second;
      pending_fees_.erase(shown);
    } else {
      // Capped by the collateral the account holds, as Aave caps C by the balance.
      const Int room = holding(user, coll).engine_supply - liquidated;
      fee = std::min(inferred_fee(c, liquidated), room.sign() > 0 ? room : Int(0));
    }
    const Int seized = liquidated + fee;
    if (c.protocol_fee_bps != fee_in_force_) {
      JsonLine change("set_protocol", ts);
      protocol_fields(&change, c.protocol_fee_bps);
      emit(change.done());
      fee_in_force_ = c.protocol_fee_bps;
    }
    const unsigned dd = m_.reserves[debt].decimals;
    // The liquidator brings the debt asset from outside the pool.
    if (repaid.sign() > 0) balance_line("deposit", ts, liquidator, m_.debt_asset(debt), repaid, dd);
    emit(JsonLine("liquidate_token", ts)
             .id("liquidator", liquidator)
             .id("account", user)
             .id("liability_asset", m_.debt_asset(debt))
             .id("collateral_asset", m_.supply_asset(coll))
             .amount("repaid", repaid, dd)
             .amount("seized", seized, c.decimals)
             .done());

    Holding& user_debt = holding(user, debt);
    user_debt.engine_debt += repaid;
    burn(&user_debt.debt_scaled, scaled(repaid, reserves_[debt].debt(now), Rounding::Floor));
    Holding& user_coll = holding(user, coll);
    user_coll.engine_supply -= seized;
    const Int income = reserves_[coll].income(now);
    burn(&user_coll.supply_scaled, scaled(liquidated, income, Rounding::Ceil));
    burn(&user_coll.supply_scaled, scaled(fee, income, Rounding::Ceil));
    Holding& liq_coll = holding(liquidator, coll);
    if (receive_a_token) liq_coll.supply_scaled += scaled(liquidated, income, Rounding::Ceil);
    liq_coll.engine_supply_known = false;  // the engine credited its share of the bonus split
    sync(liquidator, now);
    close_out(user, user_address, log);
    return true;
  }

  // After a liquidation: the engine closes an exhausted account with debt out
  // by itself (SPEC §5.4); Aave v3.3 writes its debt off (DeficitCreated). An
  // absorb is recorded only when Aave wrote debt off that the engine would not.
  void close_out(AccountId id, const std::string& address, const EvmLog& log) {
    Account engine;
    bool debt = false;
    for (const auto& [reserve, h] : books_[id - 1]) {
      if (h.engine_supply.sign() != 0) engine.balances[m_.supply_asset(reserve)] = h.engine_supply;
      if (h.engine_debt.sign() != 0) engine.balances[m_.debt_asset(reserve)] = h.engine_debt;
      debt = debt || h.engine_debt.sign() < 0;
    }
    const bool closes = debt && exhausted(state_, engine);
    const auto written_off = pending_deficits_.find(address);
    if (written_off != pending_deficits_.end() && !closes) {
      emit(JsonLine("absorb", log.timestamp * kMicros).id("account", id).done());
    }
    if (closes || written_off != pending_deficits_.end()) {
      for (auto& [reserve, h] : books_[id - 1]) h.engine_supply = h.engine_debt = 0;
    }
    if (written_off != pending_deficits_.end()) {
      for (const auto& [reserve, unused] : written_off->second) holding(id, reserve).debt_scaled = 0;
      pending_deficits_.erase(written_off);
    }
  }

  // Fees and write-offs belong to a liquidation of the same block.
  bool end_block() {
    pending_fees_.clear();
    if (pending_deficits_.empty()) return true;
    const auto& [user, entries] = *pending_deficits_.begin();
    return fail(*entries.front().second, "user",
                "DeficitCreated for " + user + " without a LiquidationCall of that user in block " +
                    std::to_string(entries.front().second->block));
  }

  const AaveMarket& m_;
  const std::vector<ImportInput>& inputs_;
  ImportResult* out_;
  ImportError* error_;
  std::vector<AaveReserveIndex> reserves_;
  std::unordered_map<std::string, size_t> reserve_by_address_, a_token_by_address_, feed_by_address_;
  std::unordered_map<std::string, AccountId> ids_;  // lookups only; ids follow first appearance
  std::vector<FlatMap<uint32_t, Holding>> books_;   // account id − 1 → reserve → holding
  State state_;                                     // the engine's listings and prices
  std::vector<PriceLineRecord> prices_;
  size_t next_price_ = 0;
  uint32_t fee_in_force_ = 0;
  uint64_t block_ = 0, last_timestamp_ = 0;
  std::map<std::pair<std::string, size_t>, Int> pending_fees_;
  std::map<std::string, std::vector<std::pair<size_t, const EvmLog*>>> pending_deficits_;
};

// import chainlink: AnswerUpdated logs and getRoundData rows of the feeds in
// the config, checked per feed, into price lines of both assets of the reserve.
class ChainlinkConverter {
 public:
  ChainlinkConverter(const AaveMarket& market, const std::vector<ImportInput>& inputs, ImportResult* out,
                     ImportError* error)
      : m_(market), inputs_(inputs), out_(out), error_(error) {}

  // One log: a new round, or one skipped (never answered, or carried over).
  bool add(const EvmLog& log) {
    const auto feed = std::find_if(m_.feeds.begin(), m_.feeds.end(),
                                   [&](const AaveFeed& f) { return f.address == log.address; });
    if (!log.rounds() && log.event != "AnswerUpdated") {
      return fail(log, "event", std::string(log.event) + ": not a Chainlink event (AnswerUpdated, or getRoundData rows)");
    }
    if (feed == m_.feeds.end()) return fail(log, "address", log.address + " is not a feed in the config");
    ArgReader args(log, error_, inputs_);
    Round round{0, 0, static_cast<size_t>(feed - m_.feeds.begin()), args.uint256("roundId"), 0, &log};
    round.answer = args.int256(log.rounds() ? "answer" : "current");
    const Int updated_at = args.uint256("updatedAt");
    if (!args.ok()) return false;
    if (round.answer.sign() < 0) return fail(log, log.rounds() ? "answer" : "current", "a negative answer cannot be a price");
    if (updated_at > Int(UINT64_MAX / kMicros)) return fail(log, "updatedAt", "beyond any timestamp");
    round.publish_ts = static_cast<uint64_t>(updated_at) * kMicros;
    if (log.rounds()) {
      // A round that was never answered, or that carries an older round's answer, is no new price.
      const Int answered_in = args.uint256("answeredInRound");
      if (!args.ok()) return false;
      if (updated_at.sign() == 0 || answered_in < round.round_id) {
        ++out_->skipped["unanswered or carried-over rounds"];
        return true;
      }
      round.ts = round.publish_ts;
    } else {
      if (updated_at > Int(log.timestamp)) return fail(log, "updatedAt", "after the block's timestamp");
      round.ts = log.timestamp * kMicros;
    }
    rounds_.push_back(std::move(round));
    return true;
  }

  // Per feed, rounds in round order (a proxy's id is phase << 64 | aggregator
  // round) must not go back in time, and no round may appear twice.
  bool check_round_order() const {
    std::vector<size_t> order(rounds_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return rounds_[a].feed != rounds_[b].feed ? rounds_[a].feed < rounds_[b].feed
                                                : rounds_[a].round_id < rounds_[b].round_id;
    });
    for (size_t i = 1; i < order.size(); ++i) {
      const Round& a = rounds_[order[i - 1]];
      const Round& b = rounds_[order[i]];
      if (a.feed != b.feed) continue;
      if (a.round_id == b.round_id && a.log->rounds() == b.log->rounds()) {
        return fail(*b.log, "roundId", "round " + round_name(b.round_id) + " appears twice (also line " +
                                           std::to_string(a.log->line) + ")");
      }
      if (b.publish_ts < a.publish_ts) {
        return fail(*b.log, "updatedAt", "round " + round_name(b.round_id) + " was updated before round " +
                                             round_name(a.round_id));
      }
    }
    return true;
  }

  // The log's order: by ts, then feed, then round (stable for equal keys).
  void write_prices() {
    std::stable_sort(rounds_.begin(), rounds_.end(), [](const Round& a, const Round& b) {
      if (a.ts != b.ts) return a.ts < b.ts;
      return a.feed != b.feed ? a.feed < b.feed : a.round_id < b.round_id;
    });
    for (const Round& round : rounds_) {
      const AaveFeed& feed = m_.feeds[round.feed];
      for (uint32_t asset : {m_.supply_asset(feed.reserve), m_.debt_asset(feed.reserve)}) {
        out_->jsonl += JsonLine("price", round.ts)
                           .id("asset", asset)
                           .amount("price", round.answer, feed.decimals)
                           .id("publish_ts", round.publish_ts)
                           .done();
        out_->jsonl += '\n';
        ++out_->lines;
      }
      ++out_->events;
    }
  }

 private:
  struct Round {
    uint64_t ts, publish_ts;
    size_t feed;
    Int round_id, answer;
    const EvmLog* log;
  };

  static std::string round_name(const Int& id) {
    static const Int low_bits = (Int(1) << 64) - 1;
    return (id >> 64).str() + ":" + (id & low_bits).str() + " (phase:round)";
  }

  bool fail(const EvmLog& log, std::string field, std::string message) const {
    *error_ = ImportError{inputs_[log.file].name, InputError{log.line, std::move(field), std::move(message)}};
    return false;
  }

  const AaveMarket& m_;
  const std::vector<ImportInput>& inputs_;
  ImportResult* out_;
  ImportError* error_;
  std::vector<Round> rounds_;
};

}  // namespace

bool import_aave(const AaveMarket& market, const std::vector<ImportInput>& inputs, const AaveImportOptions& options,
                 ImportResult* result, ImportError* error) {
  *result = ImportResult{};
  EvmLogs logs;
  if (!read_evm_logs(inputs, &logs, error)) return false;
  AaveConverter converter(market, inputs, result, error);
  try {
    converter.header();
    if (!converter.set_prices(options.prices) || !converter.run(logs.logs, options.skip_unknown)) return false;
  } catch (const std::exception& e) {  // the config lists something the engine refuses: nothing is written
    *error = ImportError{"MARKET.json", InputError{0, "", e.what()}};
    return false;
  }
  return true;
}

bool import_chainlink(const AaveMarket& market, const std::vector<ImportInput>& inputs, ImportResult* result,
                      ImportError* error) {
  *result = ImportResult{};
  EvmLogs read;
  if (!read_evm_logs(inputs, &read, error)) return false;
  ChainlinkConverter converter(market, inputs, result, error);
  for (const EvmLog& log : read.logs) {
    if (!converter.add(log)) return false;
  }
  if (!converter.check_round_order()) return false;
  converter.write_prices();
  return true;
}

}  // namespace liql
