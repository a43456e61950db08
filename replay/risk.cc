#include "replay/risk.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "engine/health.h"

namespace liql {

std::optional<Int> parse_percent(std::string_view text) {
  try {
    std::optional<Int> value = parse_units(text, 18);
    if (value && value->sign() > 0) return value;
  } catch (const std::overflow_error&) {
  }
  return std::nullopt;
}

// ---- the pass -------------------------------------------------------------------------

namespace {

bool overflowed(const auto& call) {
  try {
    call();
    return false;
  } catch (const std::overflow_error&) {
  } catch (const std::range_error&) {
  }
  return true;
}

Wide magnitude(const Wide& value) { return value.sign() < 0 ? Wide(-value) : value; }

// |move| of x below |move| of y, exactly.
int compare_moves(const RiskLine& x, const RiskLine& y) {
  return compare_fractions(magnitude(x.move_num), x.move_den, magnitude(y.move_num), y.move_den);
}

// By |move|, then by account id.
bool nearer(const RiskLine& x, const RiskLine& y) {
  const int c = compare_moves(x, y);
  return c != 0 ? c < 0 : x.account < y.account;
}

// P_j's coefficient S_j in N (the header's numerators) of each line, and N.
// Throws std::overflow_error beyond 512 bits.
Wide numerators(const State& state, const Account& account, std::vector<Wide>* slopes) {
  unsigned dmax = 0;
  for (const auto& [asset, balance] : account.balances) {
    if (asset != kQuoteAsset) dmax = std::max(dmax, state.assets.at(asset).params.decimals);
  }
  for (const auto& entry : account.positions) dmax = std::max(dmax, state.markets.at(entry.first).params.base_decimals);
  const Wide denominator = pow10_wide(dmax) * pow10_wide(36);  // D = 10^dmax · WAD²
  const Wide& quote_scale = pow10_wide(state.quote_decimals());
  Wide n = 0;
  for (const auto& [asset, balance] : account.balances) {
    if (asset == kQuoteAsset) {
      n += Wide(balance) * denominator;
      continue;
    }
    const Asset& a = state.assets.at(asset);
    const Int& weight = balance.sign() >= 0 ? a.params.asset_weight.maint : a.params.liab_weight.maint;
    Wide slope = Wide(balance) * quote_scale * Wide(weight) * pow10_wide(dmax - a.params.decimals);
    n += slope * Wide(a.oracle.price);
    slopes->push_back(std::move(slope));
  }
  for (const auto& [market, position] : account.positions) {
    const Market& m = state.markets.at(market);
    const Wide exposure = Wide(position.base) * Wide(wad()) - Wide(abs(position.base)) * Wide(m.params.margin.maint);
    Wide slope = exposure * quote_scale * pow10_wide(dmax - m.params.base_decimals);
    n += slope * Wide(m.oracle.price) + Wide(position.quote) * denominator;
    slopes->push_back(std::move(slope));
  }
  return n;
}

// The crossing of one line, given N and its S (header). Throws beyond 512 bits.
void cross(const Wide& n, const Wide& slope, RiskLine& line) {
  if (slope.is_zero()) return;  // H_maint does not depend on this price
  const Wide price(*line.price);
  const Wide scaled = slope * price;
  // P* = (S·P − N) / S > 0 iff the two have the same sign.
  if ((scaled - n).sign() * slope.sign() <= 0) return;
  // 100·(P* − P)/P = −100·N / (S·P), over a positive denominator.
  Wide move_num = slope.sign() > 0 ? Wide(-n * 100) : Wide(n * 100);
  Wide move_den = magnitude(scaled);
  std::string move_pct = fixed_decimal(move_num, move_den, 4, Rounding::TowardZero);
  // P − N/S with N/S truncated toward 0: the crossing rounded toward P.
  Wide crossing = price - n / slope;
  line.crossing = std::move(crossing);
  line.move_num = std::move(move_num);
  line.move_den = std::move(move_den);
  line.move_pct = std::move(move_pct);
}

}  // namespace

AccountRisk account_risk(const State& state, AccountId id) {
  const Account& account = *state.account(id);
  AccountRisk risk;
  risk.id = id;
  auto add = [&](Instrument instrument, const Oracle& oracle) {
    RiskLine line;
    line.account = id;
    line.instrument = instrument;
    if (oracle.present) line.price = oracle.price;
    risk.lines.push_back(std::move(line));
  };
  for (const auto& entry : account.balances) {
    if (entry.first != kQuoteAsset) add(Instrument::asset(entry.first), state.assets.at(entry.first).oracle);
  }
  for (const auto& entry : account.positions) add(Instrument::market(entry.first), state.markets.at(entry.first).oracle);
  if (risk.lines.empty() || !priced(state, account)) return risk;

  std::optional<HealthReport> report;
  std::vector<Wide> slopes;
  Wide n;
  if (overflowed([&] { report = health_report(state, account); })) {
    for (RiskLine& line : risk.lines) line.overflow = true;
    return risk;
  }
  risk.liquidatable = report->maint.sign() < 0;
  for (RiskLine& line : risk.lines) line.status = report->status;
  if (overflowed([&] { n = numerators(state, account, &slopes); })) {
    for (RiskLine& line : risk.lines) line.overflow = true;
    return risk;
  }
  for (size_t i = 0; i < risk.lines.size(); ++i) {
    RiskLine& line = risk.lines[i];
    if (overflowed([&] { cross(n, slopes[i], line); })) {
      line.overflow = true;  // cross() sets nothing before its last figure is computed
      continue;
    }
    if (line.crossing && (!risk.nearest || compare_moves(line, risk.lines[*risk.nearest]) < 0)) risk.nearest = i;
  }
  return risk;
}

namespace {

// |value| of the holding of `line` (SPEC §1.1), quote base units.
Int holding_value(const State& state, const Account& account, const Instrument& instrument) {
  if (instrument.kind == Instrument::Kind::Asset) {
    return abs(value(state, instrument.id, account.balances.at(instrument.id)));
  }
  return abs(notional(state, instrument.id, account.positions.at(instrument.id).base));
}

void add_to_map(const State& state, const AccountRisk& risk, LiquidationMap& map) {
  const Account& account = *state.account(risk.id);
  for (const RiskLine& line : risk.lines) {
    if (!line.crossing) continue;
    const Wide bucket = divide(line.move_num, line.move_den, Rounding::Floor);  // k: move in [k %, (k+1) %)
    if (bucket < kMapLowestBucket || bucket >= kMapLowestBucket + static_cast<int>(kMapBuckets)) continue;
    const Int holding = holding_value(state, account, line.instrument);
    if (holding.is_zero()) continue;
    auto [it, inserted] = map.try_emplace(line.instrument);
    if (inserted) it->second.fill(Wide(0));
    it->second[static_cast<size_t>(static_cast<int>(bucket) - kMapLowestBucket)] += Wide(holding);
  }
}

}  // namespace

RiskSummary risk_pass(const State& state, const RiskOptions& options,
                      const std::function<void(const AccountRisk&)>& visit) {
  RiskSummary summary;
  summary.seq = state.seq;
  summary.ts = state.ts;
  const std::vector<AccountId> ids = state.sorted_account_ids();
  summary.accounts = ids.size();
  uint64_t done = 0;
  for (AccountId id : ids) {
    const AccountRisk risk = account_risk(state, id);
    if (options.progress != 0 && ++done % options.progress == 0) {
      std::fprintf(stderr, "risk: account %llu of %llu\n", static_cast<unsigned long long>(done),
                   static_cast<unsigned long long>(ids.size()));
    }
    if (risk.lines.empty()) continue;
    summary.with_lines += 1;
    if (std::any_of(risk.lines.begin(), risk.lines.end(), [](const RiskLine& line) { return !line.price; })) {
      summary.unpriced += 1;
    }
    if (risk.liquidatable) summary.liquidatable += 1;
    if (visit) visit(risk);
    if (risk.liquidatable || !risk.lines.front().status) continue;
    add_to_map(state, risk, summary.map);
    if (!risk.nearest) continue;
    const RiskLine& nearest = risk.lines[*risk.nearest];
    // Accounts come in ascending id order: among equal moves the earlier stays first.
    if (summary.nearest.size() < options.nearest_count || nearer(nearest, summary.nearest.back())) {
      summary.nearest.insert(std::upper_bound(summary.nearest.begin(), summary.nearest.end(), nearest, nearer),
                             nearest);
      if (summary.nearest.size() > options.nearest_count) summary.nearest.pop_back();
    }
    if (options.within &&
        compare_fractions(magnitude(nearest.move_num), nearest.move_den, Wide(*options.within), Wide(wad())) <= 0) {
      summary.within.push_back(nearest);
    }
  }
  std::stable_sort(summary.within.begin(), summary.within.end(), nearer);
  return summary;
}

// ---- output ---------------------------------------------------------------------------

namespace {

std::string price_text(const RiskLine& line) { return line.price ? fixed_units(Wide(*line.price), 18) : ""; }
std::string crossing_text(const RiskLine& line) { return line.crossing ? fixed_units(*line.crossing, 18) : ""; }
std::string status_text(const RiskLine& line) { return line.status ? std::string(status_name(*line.status)) : ""; }

// A JSON string, or null for an empty text (every text here is digits, '.',
// '-', ':' or a status name: nothing to escape).
std::string json_text(const std::string& text) { return text.empty() ? "null" : "\"" + text + "\""; }

}  // namespace

std::string risk_json_line(const RiskLine& line, const AccountLabels& labels) {
  const std::string* label = labels.find(line.account);
  return fmt::format(R"({{"account":{},"instrument":"{}","price":{},"crossing_price":{},"move_pct":{},"status":{}{}{}}})",
                     line.account, instrument_name(line.instrument), json_text(price_text(line)),
                     json_text(crossing_text(line)), json_text(line.move_pct), json_text(status_text(line)),
                     line.overflow ? R"(,"overflow":true)" : "",
                     labels.empty() ? "" : R"(,"address":)" + (label ? json_text(*label) : "null"));
}

std::string risk_csv_header(const AccountLabels& labels) {
  return std::string("account,instrument,price,crossing_price,move_pct,status,overflow") +
         (labels.empty() ? "" : ",address");
}

std::string risk_csv_line(const RiskLine& line, const AccountLabels& labels) {
  const std::string* label = labels.find(line.account);
  return fmt::format("{},{},{},{},{},{},{}{}", line.account, instrument_name(line.instrument), price_text(line),
                     crossing_text(line), line.move_pct, status_text(line), line.overflow ? "true" : "false",
                     labels.empty() ? "" : "," + (label ? *label : std::string()));
}

namespace {

std::string table_rows(const std::vector<RiskLine>& lines, const AccountLabels& labels) {
  if (lines.empty()) return "  none\n";
  const size_t w = labels.empty() ? 10 : 42;
  std::string out = fmt::format("  {:<{}} {:<12} {:>32} {:>32} {:>12}\n", "account", w, "instrument", "price",
                                "crossing", "move %");
  for (const RiskLine& line : lines) {
    out += fmt::format("  {:<{}} {:<12} {:>32} {:>32} {:>12}\n", labels.name(line.account), w,
                       instrument_name(line.instrument), price_text(line), crossing_text(line), line.move_pct);
  }
  return out;
}

}  // namespace

std::string risk_table(const State& state, const RiskSummary& summary, const RiskOptions& options,
                       const AccountLabels& labels) {
  std::string out = fmt::format("risk at seq {} (ts {})\n", summary.seq, summary.ts);
  out += fmt::format("accounts examined {}: {} holding instruments ({} of them an unpriced one), {} liquidatable now\n",
                     summary.accounts, summary.with_lines, summary.unpriced, summary.liquidatable);
  out += fmt::format("nearest to liquidation (the {} nearest accounts not liquidatable now, by the |move| of their "
                     "nearest instrument): {}\n",
                     options.nearest_count, summary.nearest.size());
  out += table_rows(summary.nearest, labels);
  if (options.within) {
    out += fmt::format("within {}% (accounts not liquidatable now): {}\n", format_units(*options.within, 18),
                       summary.within.size());
    out += table_rows(summary.within, labels);
  }
  const unsigned qd = state.quote_decimals();
  out += fmt::format("liquidation map (per instrument and 1% of price move: the current value in {} of the holdings "
                     "of accounts not liquidatable now that become liquidatable there):\n",
                     state.assets.at(kQuoteAsset).params.symbol);
  if (summary.map.empty()) out += "  none\n";
  for (const auto& [instrument, buckets] : summary.map) {
    out += fmt::format("  {} {}\n", instrument_name(instrument), instrument_symbol(state, instrument));
    for (size_t i = 0; i < buckets.size(); ++i) {
      if (buckets[i].is_zero()) continue;
      const int low = kMapLowestBucket + static_cast<int>(i);
      out += fmt::format("    {:<12} {:>32}\n", fmt::format("[{}%, {}%)", low, low + 1), fixed_units(buckets[i], qd));
    }
  }
  return out;
}

}  // namespace liql
